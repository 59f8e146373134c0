"""A project changes hands (issue #12): a sealed project is reactivated (解封), a transferred project
(优质项目流转) moves to the receiving county together with its running work.

- :func:`reactivate_project` — reference/domain.md P06-A "解封: office approval → new P05 instance
  resumes from the stored stage": the 市招商委办公室 (or an admin) gives a reason; the project goes back
  to ``active`` (conditional update: two concurrent reactivations, one wins) and a new
  ``project_lifecycle`` instance starts at the stage it had. Audited and on the timeline.
- :func:`transfer_project` — the project's running instances (its lifecycle and any instance with an
  open task of the project) get ``region_code`` = the receiving county through
  ``runtime.set_instance_data`` (under each instance's lock, in the caller's transaction); units and
  people named in the old county (``*_org`` / ``*_user`` data, the task rows' named candidates) are
  cleared so the receiving county's holders of each lane own the work; the open task rows' county
  moves too. Called by the ``transfer_complete`` operator once the office approves the transfer.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.errors import Conflict, Invalid, NotAllowed, NotFound
from app.models.auth import OrgUnit, User
from app.models.domain import STAGE_LIBRARY_STATUS, STAGES, Project, TimelineEvent
from app.models.runtime import HumanTask, Instance
from app.services import access, audit
from app.services.runtime import instances as runtime_instances

REACTIVATORS = frozenset({"zsw_office"})  # 办公室 decides (reference P06-A 解封 [A]); admins always may
LIVE = ("running", "suspended", "error")


def may_reactivate(user) -> bool:
    return user is not None and (user.is_admin or bool(REACTIVATORS & set(user.roles or [])))


def _lifecycle_data(p: Project, stage: str, reason: str) -> dict:
    return {"project_id": p.id, "project_name": p.name, "region_code": p.region_code, "tier": p.tier,
            "chain_code": p.chain_code, "enterprise_name": p.enterprise.name if p.enterprise is not None else "",
            "stage": stage, "responsible_unit": p.responsible_unit or "", "commissioner_name": p.commissioner_name or "",
            "assign_basis": "解封", "reactivated": True, "reactivation_reason": reason}


def reactivate_project(session: Session, user, project_id: int, reason) -> dict:
    """Sealed → active with a reason; starts a new lifecycle at the stored stage. 403/404/409/422."""
    p = session.get(Project, project_id)
    if p is None:
        raise NotFound(f"项目 {project_id} 不存在 / project {project_id} not found")
    access.check_region(user, p.region_code)
    if not may_reactivate(user):
        raise NotAllowed("只有市招商委办公室可以重新激活封存项目 / only the committee office may reactivate")
    reason = reason.strip() if isinstance(reason, str) else ""
    if len(reason) < 5:
        raise Invalid("请填写重新激活的理由(至少 5 个字)/ a reason is required",
                      [{"field": "reason", "message": "请填写重新激活的理由(至少 5 个字)/ reason: at least 5 characters"}])
    key = f"project-{p.id}"
    if session.scalar(select(Instance.id).where(Instance.process_key == "project_lifecycle",
                                                Instance.business_key == key, Instance.status.in_(LIVE)).limit(1)):
        raise Conflict("该项目的全程调度流程仍在进行,无需重新激活 / the project's lifecycle is still running")
    stage = p.stage if p.stage in STAGES else STAGES[0]
    moved = session.execute(update(Project).where(Project.id == p.id, Project.status == "sealed").values(
        status="active", light="green", library_status=STAGE_LIBRARY_STATUS[stage], stage=stage)
        .execution_options(synchronize_session=False))
    if moved.rowcount != 1:
        raise Conflict(f"只有已封存的项目可以重新激活(当前状态:{p.status})/ only a sealed project can be reactivated")
    session.refresh(p)
    session.add(TimelineEvent(project_id=p.id, kind="status", title="项目重新激活(解封)", actor=user.username,
                              detail={"from": "sealed", "to": "active", "stage": stage, "reason": reason}))
    audit.record(session, "project_reactivated", user.username,
                 detail={"project_id": p.id, "stage": stage, "reason": reason})
    started = runtime_instances.start_instance(session, "project_lifecycle", data=_lifecycle_data(p, stage, reason),
                                               business_key=key, actor=user.username)
    return {"project_id": p.id, "status": p.status, "stage": stage, "library_status": p.library_status,
            "instance_id": started["id"]}


# ---------------------------------------------------------------- transfer


def _project_instances(session: Session, project_id: int, exclude: int | None) -> list[int]:
    by_key = session.scalars(select(Instance.id).where(Instance.business_key == f"project-{project_id}",
                                                       Instance.status.in_(LIVE)))
    by_task = session.scalars(select(HumanTask.instance_id).join(Instance, Instance.id == HumanTask.instance_id)
                              .where(HumanTask.project_id == project_id, HumanTask.state == "open",
                                     Instance.status.in_(LIVE)))
    return sorted({*by_key, *by_task} - {exclude})


def _old_county_names(session: Session, region: str | None) -> tuple[set[str], set[str]]:
    """Org unit keys and usernames of the county the project leaves."""
    if not region:
        return set(), set()
    orgs = set(session.scalars(select(OrgUnit.key).where(OrgUnit.region_code == region)))
    users = set(session.scalars(select(User.username).join(OrgUnit, OrgUnit.id == User.org_unit_id)
                                .where(OrgUnit.region_code == region)))
    return orgs, users


def _cleared(data: dict, orgs: set[str], users: set[str]) -> dict:
    """The ``L_org`` / ``L_user`` variables naming the old county's units or people → None."""
    out = {}
    for key, value in data.items():
        names = orgs if key.endswith("_org") else users if key.endswith("_user") else None
        if names is None or value in (None, "", []):
            continue
        values = value if isinstance(value, list) else [value]
        if any(str(v) in names for v in values):
            kept = [v for v in values if str(v) not in names]
            out[key] = kept if isinstance(value, list) else None
    return out


def _keep(text: str | None, names: set[str]) -> str | None:
    kept = [k for k in (text or "").split(",") if k and k not in names]
    return "," + ",".join(kept) + "," if kept else None


def transfer_project(session: Session, project_id: int, target_region: str, actor: str,
                     exclude_instance_id: int | None = None) -> dict:
    """Move the project and its running work to ``target_region`` (one transaction; each instance
    changed under its own lock). Returns the moved instance ids and how many open tasks moved."""
    p = session.get(Project, project_id)
    if p is None:
        raise NotFound(f"项目 {project_id} 不存在 / project {project_id} not found")
    origin = p.region_code
    orgs, users = _old_county_names(session, origin if origin != target_region else None)
    p.region_code = target_region
    moved, tasks = [], 0
    for instance_id in _project_instances(session, project_id, exclude_instance_id):
        instance = session.get(Instance, instance_id)
        data = runtime_instances.instance_data(session, instance)
        values = {"region_code": target_region, **_cleared(data, orgs, users)}
        runtime_instances.set_instance_data(session, instance_id, values, actor, reason=f"项目流转至 {target_region}")
        rows = session.execute(select(HumanTask.id, HumanTask.candidate_orgs, HumanTask.candidate_users)
                               .where(HumanTask.instance_id == instance_id, HumanTask.state == "open")).all()
        for task_id, named_orgs, named_users in rows:
            session.execute(update(HumanTask).where(HumanTask.id == task_id).values(
                region_code=target_region, candidate_orgs=_keep(named_orgs, orgs),
                candidate_users=_keep(named_users, users)).execution_options(synchronize_session=False))
        tasks += len(rows)
        moved.append(instance_id)
    session.add(TimelineEvent(project_id=p.id, kind="transfer", title="项目在办流程随项目转入承接地", actor=actor,
                              instance_id=exclude_instance_id,
                              detail={"from": origin, "to": target_region, "instances": moved, "open_tasks": tasks}))
    audit.record(session, "project_work_moved", actor, instance_id=exclude_instance_id,
                 detail={"project_id": p.id, "from": origin, "to": target_region, "instances": moved,
                         "open_tasks": tasks})
    session.flush()
    return {"project_id": p.id, "region_code": target_region, "instances": moved, "open_tasks": tasks}
