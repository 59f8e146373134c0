"""Instances: start, cancel, suspend, resume, and the instance as the API and pages show it."""

from __future__ import annotations

import datetime as dt
import math

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app import clock
from app.db import database_of
from app.engine import Runner, StepResult
from app.errors import BadRequest, Conflict, NotFound
from app.models.runtime import HumanTask, Incident, Instance, Job
from app.params import check_value
from app.roles import ROLES
from app.services import access, audit
from app.services.definitions.versions import resolve_version, spec_for_version, version_number
from app.services.runtime.change import (
    InstanceChange,
    apply_change,
    lock_instance,
    new_context,
    save_change,
    set_status,
    status_from_projections,
)
from app.services.runtime.failures import incident_view
from app.services.runtime.service_calls import script_engine


def start_instance(session: Session, process_key: str, *, data: dict | None = None, business_key: str | None = None,
                   version: int | None = None, actor: str = "system", fire_start_timer: bool = False) -> dict:
    pv = resolve_version(session, process_key, version)
    data = dict(data or {})
    # a process that normally starts on a timer, started by hand (API, 补做 a period), starts now
    fire_start_timer = fire_start_timer or bool(pv.timer_start)
    now = clock.now()
    instance = Instance(version_id=pv.id, process_key=pv.process_key, business_key=business_key, status="running",
                        state="{}", serializer_version=pv.serializer_version, lock_version=0,
                        started_by=actor, created_at=now, updated_at=now, summary={})
    session.add(instance)
    session.flush()
    ctx = new_context(session, instance, actor, now)
    engine = script_engine(ctx, database_of(session).settings.script_timeout_seconds)
    runner = Runner.new(spec_for_version(session, pv.id), data, engine)
    runner.compact_after = database_of(session).settings.compact_after
    unit = InstanceChange(session, instance, runner, ctx)
    audit.record(session, "instance_started", actor, instance_id=instance.id,
                 detail={"process_key": pv.process_key, "version": pv.version, "business_key": business_key})
    result = runner.fire_start_timers() if fire_start_timer else runner.step()
    save_change(unit, result, new=True)
    return instance_view(session, instance, with_data=False, open_tasks=unit.open_tasks)


BUSINESS_KEY_MAX = 200  # the column's length
LIVE = ("running", "suspended", "error")


def check_business_key(business_key) -> str | None:
    if business_key is None:
        return None
    if not isinstance(business_key, str) or isinstance(business_key, bool):
        raise BadRequest("business_key 必须是字符串 / business_key must be a string")
    if len(business_key) > BUSINESS_KEY_MAX:
        raise BadRequest(f"business_key 不能超过 {BUSINESS_KEY_MAX} 个字符 / business_key is too long")
    return business_key


def start_by_hand(session: Session, user, process_key: str, *, data: dict, business_key: str | None = None,
                  version: int | None = None) -> dict:
    """A start by a person (API, pages): permission, jurisdiction, references and duplicates are checked
    before anything is stored (403 / 422 / 409)."""
    business_key = check_business_key(business_key)
    check_value(data)
    pv = resolve_version(session, process_key, version)
    access.check_start(session, user, pv.process_key, data, timer_start=bool(pv.timer_start),
                       message_start=bool(pv.message_starts))
    if business_key is not None and session.scalar(select(Instance.id).where(
            Instance.process_key == pv.process_key, Instance.business_key == business_key,
            Instance.status.in_(LIVE)).limit(1)):
        raise Conflict(f"流程 {pv.process_key} 已有业务键为 {business_key} 的进行中实例 / a running instance with "
                       f"this business key exists", [{"message": "duplicate", "business_key": business_key}])
    return start_instance(session, pv.process_key, data=data, business_key=business_key, version=version,
                          actor=user.username)


def set_instance_data(session: Session, instance_id: int, values: dict, actor: str, reason: str = "") -> Instance:
    """Overwrite variables of a live instance under its lock, in the caller's transaction: every task of
    the workflow (and of its subprocesses) that holds one of ``values``' keys gets the new value, so
    the next steps and the instance summary see it (a project moved to another county, issue #12).
    Task rows of the projection are the caller's business (their columns are not derived here)."""
    values = check_value(dict(values))

    def change(unit: InstanceChange) -> StepResult:
        wf = unit.runner.wf
        for flow in (wf, *wf.subprocesses.values()):
            flow.data.update({k: v for k, v in values.items() if k in flow.data})
            for task in flow.tasks.values():
                task.data.update({k: v for k, v in values.items() if k in task.data})
        return StepResult()

    unit = apply_change(session, instance_id, actor, change, allow_suspended=True)
    audit.record(session, "instance_data_set", actor, instance_id=instance_id,
                 detail={"keys": sorted(values), "reason": reason})
    return unit.instance


def cancel_instance(session: Session, instance_id: int, actor: str) -> dict:
    def change(unit: InstanceChange) -> StepResult:
        unit.runner.cancel()
        unit.instance.status = "cancelled"
        return StepResult()

    unit = apply_change(session, instance_id, actor, change, allow_suspended=True)
    session.execute(delete(Job).where(Job.instance_id == instance_id))
    session.execute(update(Incident).where(Incident.instance_id == instance_id, Incident.status == "open")
                    .values(status="cancelled", resolved_at=clock.now()))
    audit.record(session, "instance_cancelled", actor, instance_id=instance_id)
    return instance_view(session, unit.instance)


def suspend_instance(session: Session, instance_id: int, actor: str) -> dict:
    instance = lock_instance(session, instance_id)
    if instance.status in ("completed", "cancelled"):
        raise Conflict(f"实例已结束 / instance is {instance.status}")
    set_status(session, instance, "suspended")
    audit.record(session, "instance_suspended", actor, instance_id=instance_id)
    return instance_view(session, instance)


def resume_instance(session: Session, instance_id: int, actor: str) -> dict:
    instance = lock_instance(session, instance_id)
    if instance.status != "suspended":
        raise Conflict("实例未挂起 / instance is not suspended")
    set_status(session, instance, status_from_projections(session, instance))
    # timers that fell due while suspended fire now
    session.execute(update(Job).where(Job.instance_id == instance_id, Job.due_at < clock.now())
                    .values(lease_owner=None, lease_until=None))
    audit.record(session, "instance_resumed", actor, instance_id=instance_id)
    return instance_view(session, instance)


def instance_view(session: Session, instance: Instance, with_data: bool = True, open_tasks: list | None = None) -> dict:
    version = version_number(session, instance.version_id)
    tasks = open_tasks if open_tasks is not None else session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.state == "open")
        .order_by(HumanTask.created_at)).all()
    incidents = [] if instance.status != "error" else session.scalars(
        select(Incident).where(Incident.instance_id == instance.id, Incident.status == "open")).all()
    out = {
        "id": instance.id, "process_key": instance.process_key, "version": version,
        "business_key": instance.business_key, "status": instance.status,
        "created_at": instance.created_at.isoformat(), "updated_at": instance.updated_at.isoformat(),
        "tasks": [task_summary(t) for t in tasks],
        "incidents": [incident_view(i) for i in incidents],
        "summary": instance.summary or {},
    }
    if with_data:
        out["data"] = instance_data(session, instance)
    return out


def _restore_readonly(session: Session, instance: Instance) -> Runner:
    return Runner.restore(instance.state, spec_for_version(session, instance.version_id), None,
                          instance.serializer_version)


def instance_data(session: Session, instance: Instance) -> dict:
    """The instance's current data (restores the workflow: detail views only, never lists)."""
    return _jsonable(_restore_readonly(session, instance).data)


def element_states(session: Session, instance: Instance) -> dict[str, str]:
    return _restore_readonly(session, instance).element_states()


def _jsonable(value):
    if isinstance(value, dict):
        return {_jsonable(str(k)): _jsonable(v) for k, v in value.items() if not callable(v)}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None  # NaN / Infinity are not JSON
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8") if _has_surrogate(value) else value
    if isinstance(value, int | float | bool) or value is None:
        return value
    return str(value)


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def task_summary(task: HumanTask) -> dict:
    return {"id": task.id, "instance_id": task.instance_id, "process_key": task.process_key,
            "element_id": task.element_id, "name": task.name, "lane": task.lane, "assignee": task.assignee,
            "due_at": task.due_at.isoformat() if task.due_at else None, "warning": task.warning,
            "state": task.state, "project_id": task.project_id, "project_name": task.project_name,
            "region_code": task.region_code, "tier": task.tier, "stage": task.stage,
            "role_name": ROLES[task.lane].name if task.lane in ROLES else None,
            "candidate_orgs": [k for k in (getattr(task, "candidate_orgs", None) or "").split(",") if k],
            "candidate_users": [k for k in (getattr(task, "candidate_users", None) or "").split(",") if k],
            "completed_by": getattr(task, "completed_by", None),
            "created_at": task.created_at.isoformat() if task.created_at else None}


def get_instance(session: Session, instance_id: int) -> Instance:
    instance = session.get(Instance, instance_id)
    if instance is None:
        raise NotFound(f"流程实例 {instance_id} 不存在 / instance {instance_id} not found")
    return instance
