"""发起流程: the processes a user may start (declared in ``roles.START_PERMISSIONS``) and their start forms.

A start form is a JSON Schema built here per process (the city's diagrams have no start-event form):
project-bound processes pick a project of the user's jurisdiction (``project_id`` with a ``oneOf`` list);
the lifecycle only offers admitted projects (a 入库 record on the timeline) without a running lifecycle.
The instance data carries the standard keys of docs/CONTRACTS.md and the business key of
processes/README.md (``project-<id>``, ``library-<id>``, ``prereview-<id>``, ``exit-<id>``).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import NotAllowed, NotFound
from app.models.domain import Project, TimelineEvent
from app.models.runtime import Instance
from app.roles import START_PERMISSIONS
from app.services import access
from app.services.definitions.deploy import list_processes
from app.services.runtime.instances import start_by_hand
from app.services.tasks import forms

PROJECT_PROCESSES = {"library_admission": "library", "project_lifecycle": "project", "project_prereview": "prereview",
                     "project_exit": "exit"}
EXTRA_FIELDS = {
    "project_exit": {"path": {"type": "string", "title": "退出路径",
                              "oneOf": [{"const": "seal", "title": "封存(效能评价)"},
                                        {"const": "breach", "title": "违约退出"}]},
                     "trigger": {"type": "string", "title": "启动原因", "minLength": 2, "maxLength": 200}},
}


def startable(session: Session, user) -> list[dict]:
    """Processes with a declared start permission the user holds (roles.START_PERMISSIONS)."""
    return [p for p in list_processes(session)
            if p["process_key"] in START_PERMISSIONS and access.may_start(user, p["process_key"])]


def _projects(session: Session, user, process_key: str) -> list[Project]:
    stmt = select(Project).where(Project.status == "active").order_by(Project.id.desc()).limit(300)
    region = access.user_region(user)
    if region:
        stmt = stmt.where(Project.region_code == region)
    rows = list(session.scalars(stmt))
    if process_key == "project_lifecycle":
        admitted = set(session.scalars(select(TimelineEvent.project_id).where(TimelineEvent.kind == "library")))
        running = set(session.scalars(select(Instance.business_key).where(
            Instance.process_key == "project_lifecycle", Instance.status.in_(("running", "suspended")))))
        rows = [p for p in rows if p.id in admitted and f"project-{p.id}" not in running]
    return rows


def start_form(session: Session, user, process_key: str) -> dict:
    if process_key not in START_PERMISSIONS or not access.may_start(user, process_key):
        raise NotAllowed(f"您的角色不能发起流程 {process_key} / your role may not start this process")
    if process_key not in {p["process_key"] for p in list_processes(session)}:
        raise NotFound(f"流程 {process_key} 未部署 / process {process_key} is not deployed")
    props: dict = {}
    required: list[str] = []
    if process_key in PROJECT_PROCESSES:
        options = [{"const": p.id, "title": f"{p.code} {p.name}"} for p in _projects(session, user, process_key)]
        props["project_id"] = {"type": "integer", "title": "项目", "oneOf": options or [{"const": 0, "title": "(无可选项目)"}]}
        required.append("project_id")
    for key, prop in EXTRA_FIELDS.get(process_key, {}).items():
        props[key] = prop
        required.append(key)
    return {"type": "object", "title": "发起流程", "properties": props, "required": required}


def start(session: Session, user, process_key: str, data: dict) -> dict:
    schema = start_form(session, user, process_key)
    data = forms.validate(schema, data or {})
    business_key = None
    payload = dict(data)
    if "project_id" in data:
        p = session.get(Project, int(data["project_id"]))
        if p is None:
            raise NotFound("项目不存在 / project not found")
        access.check_region(user, p.region_code)
        payload.update({"project_id": p.id, "project_name": p.name, "region_code": p.region_code, "tier": p.tier,
                        "stage": p.stage if p.stage != "DONE" else "S7_START", "chain_code": p.chain_code,
                        "enterprise_name": p.enterprise.name if p.enterprise is not None else ""})
        if process_key == "library_admission":
            payload["entry_type"] = "project"
        if process_key == "project_lifecycle":
            payload["stage"] = "S1_PLAN" if p.stage == "DONE" else p.stage
        business_key = f"{PROJECT_PROCESSES[process_key]}-{p.id}"
    return start_by_hand(session, user, process_key, data=payload, business_key=business_key)
