"""Instances: start, lock, run, persist with projections — one transaction per state change (rule 4)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app import clock
from app.engine import SPEC_CACHE, Runner, StepResult, make_script_engine
from app.errors import Conflict, NotFound
from app.models.runtime import HumanTask, Incident, Instance, Job, MessageSubscription, ProcessVersion
from app.roles import ROLES
from app.services import audit
from app.services.operators import OPERATORS, OperatorContext
from app.services.registry import operations

SERVICE_RETRIES = 3
SERVICE_BACKOFF_SECONDS = 10.0
SCRIPT_TIMEOUT = 2.0
SUMMARY_KEYS = ("project_id", "project_name", "region_code", "tier", "stage", "chain_code", "enterprise_name")


def configure(config) -> None:
    global SERVICE_RETRIES, SERVICE_BACKOFF_SECONDS, SCRIPT_TIMEOUT
    SERVICE_RETRIES = config.SERVICE_RETRIES
    SERVICE_BACKOFF_SECONDS = config.SERVICE_BACKOFF_SECONDS
    SCRIPT_TIMEOUT = config.SCRIPT_TIMEOUT_SECONDS


@dataclass
class Unit:
    """A locked instance with its restored workflow and the operator context of this change."""

    session: Session
    instance: Instance
    runner: Runner
    ctx: OperatorContext
    open_tasks: list | None = None  # the open task rows after persist()
    prior_attempts: int = 0  # failed attempts of the service task this change retries


def _bundle(session: Session, version_id: int):
    def load() -> str:
        return session.scalar(select(ProcessVersion.spec_json).where(ProcessVersion.id == version_id))

    return SPEC_CACHE.get(version_id, load)


def _script_engine(ctx: OperatorContext):
    ops = operations()

    def services(name: str, params: dict, _data: dict):
        fn = ops.get(name)
        if fn is None:
            raise LookupError(f"未注册的处理器 / no handler registered for '{name}'")
        if name in OPERATORS:
            ctx.element_id = engine.environment.current_element
            return fn(ctx, **params)
        return fn(**params)

    engine = make_script_engine(services, timeout=SCRIPT_TIMEOUT)
    return engine


def lock_instance(session: Session, instance_id: int) -> Instance:
    """Lock the instance row for this transaction (FOR UPDATE on PostgreSQL; SQLite writers are serial)."""
    stmt = select(Instance).where(Instance.id == instance_id).execution_options(populate_existing=True)
    if session.get_bind().dialect.name != "sqlite":
        stmt = stmt.with_for_update()
    instance = session.scalar(stmt)
    if instance is None:
        raise NotFound(f"流程实例 {instance_id} 不存在 / instance {instance_id} not found")
    return instance


# Hot-path statements are built once with bind parameters (no per-request statement construction).
_SELECT_INSTANCE = select(Instance.__table__).where(Instance.__table__.c.id == bindparam("instance_id"))
_LOCK_INSTANCE = _SELECT_INSTANCE.with_for_update()
_UPDATE_INSTANCE = (update(Instance.__table__)
                    .where(Instance.__table__.c.id == bindparam("_id"),
                           Instance.__table__.c.lock_version == bindparam("_lock_version"))
                    .values(state=bindparam("state"), lock_version=bindparam("lock_version"),
                            updated_at=bindparam("updated_at"), summary=bindparam("summary"),
                            status=bindparam("status"), ended_at=bindparam("ended_at")))
_OPEN_TASKS = select(HumanTask.__table__).where(HumanTask.__table__.c.instance_id == bindparam("instance_id"),
                                                HumanTask.__table__.c.state == "open")


def lock_row(session: Session, instance_id: int) -> None:
    """Take the instance row lock without loading the row (PostgreSQL; SQLite writers are serial already)."""
    if session.get_bind().dialect.name != "sqlite":
        session.execute(select(Instance.id).where(Instance.id == instance_id).with_for_update())


def _lock_snapshot(session: Session, instance_id: int) -> Instance:
    """Lock the instance row and return it as a detached snapshot (plain SQL; persist() writes it back)."""
    stmt = _SELECT_INSTANCE if session.get_bind().dialect.name == "sqlite" else _LOCK_INSTANCE
    row = session.execute(stmt, {"instance_id": instance_id}).mappings().first()
    if row is None:
        raise NotFound(f"流程实例 {instance_id} 不存在 / instance {instance_id} not found")
    return Instance(**row)


def open_unit(session: Session, instance_id: int, actor: str) -> Unit:
    instance = _lock_snapshot(session, instance_id)
    ctx = OperatorContext(session=session, instance_id=instance.id, process_key=instance.process_key,
                          business_key=instance.business_key, now=clock.now(), actor=actor)
    engine = _script_engine(ctx)
    runner = Runner.restore(instance.state, _bundle(session, instance.version_id), engine,
                            instance.serializer_version)
    return Unit(session, instance, runner, ctx)


def resolve_version(session: Session, process_key: str, version: int | None = None) -> ProcessVersion:
    stmt = select(ProcessVersion).where(ProcessVersion.process_key == process_key)
    stmt = stmt.where(ProcessVersion.version == version) if version else stmt.order_by(ProcessVersion.version.desc())
    found = session.scalars(stmt.limit(1)).first()
    if found is None:
        what = f"{process_key} v{version}" if version else process_key
        raise NotFound(f"流程 {what} 未部署 / process {what} is not deployed")
    return found


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
    ctx = OperatorContext(session=session, instance_id=instance.id, process_key=pv.process_key,
                          business_key=business_key, now=now, actor=actor)
    runner = Runner.new(_bundle(session, pv.id), data, _script_engine(ctx))
    unit = Unit(session, instance, runner, ctx)
    audit.record(session, "instance_started", actor, instance_id=instance.id,
                 detail={"process_key": pv.process_key, "version": pv.version, "business_key": business_key})
    result = runner.fire_start_timers() if fire_start_timer else runner.step()
    persist(unit, result, new=True)
    return describe(session, instance, with_data=False, open_tasks=unit.open_tasks)


def persist(unit: Unit, result: StepResult, new: bool = False) -> None:
    """Write the workflow back and bring every projection in step, in the caller's transaction.

    Projections that did not change are not touched: the instance summary remembers the timer and
    message signatures it last wrote, so a plain task completion costs few statements.
    """
    session, instance, runner = unit.session, unit.instance, unit.runner
    now = clock.now()
    for element in result.fired_timers:
        audit.record(session, "timer_fired", "system", instance_id=instance.id, element_id=element)
    data = runner.data
    summary = {k: data.get(k) for k in SUMMARY_KEYS if data.get(k) is not None}
    done = runner.completed
    views = [] if done else runner.user_tasks()
    timers = [] if done else runner.timers()
    waiting = [] if done else runner.waiting_messages()
    marks = {"_timers": sorted(f"{t.task_id}@{t.due_at.isoformat()}" for t in timers), "_messages": sorted(waiting)}
    previous = instance.summary or {}
    unit.open_tasks = _sync_tasks(session, instance, views, summary, new)
    if previous.get("_timers", []) != marks["_timers"]:
        _sync_timers(session, instance, timers, new)
    if previous.get("_messages", []) != marks["_messages"]:
        _sync_subscriptions(session, instance, waiting, new)
    _flush_outbox(session, unit.ctx)
    incident = _handle_failure(session, instance, result, unit.prior_attempts) if result.failure else False
    if done:
        status = "cancelled" if instance.status == "cancelled" else "completed"
    elif instance.status in ("suspended", "cancelled"):
        status = instance.status
    elif incident or (instance.status == "error" and session.scalar(
            select(Incident.id).where(Incident.instance_id == instance.id, Incident.status == "open").limit(1))):
        status = "error"
    else:
        status = "running" if views else "waiting"
    summary.update(marks)
    state = runner.dump()
    ended = now if status in ("completed", "cancelled") else None
    if status == "completed" and instance.status != "completed":
        audit.record(session, "instance_completed", unit.ctx.actor, instance_id=instance.id)
    if new:
        instance.state, instance.summary, instance.status, instance.updated_at = state, summary, status, now
        instance.ended_at = ended
        session.flush()
        return
    updated = session.connection().execute(_UPDATE_INSTANCE, {
        "_id": instance.id, "_lock_version": instance.lock_version, "state": state,
        "lock_version": instance.lock_version + 1, "updated_at": now, "summary": summary, "status": status,
        "ended_at": ended})
    if updated.rowcount != 1:
        raise Conflict("实例已被他人修改,请刷新后重试 / the instance changed meanwhile; reload and retry")
    for key, value in (("state", state), ("summary", summary), ("status", status), ("updated_at", now),
                       ("ended_at", ended), ("lock_version", instance.lock_version + 1)):
        set_committed_value(instance, key, value)
    session.flush()


def _recompute_status(session: Session, instance: Instance) -> None:
    if instance.status in ("completed", "cancelled", "suspended"):
        return
    has_incident = session.scalar(select(Incident.id).where(Incident.instance_id == instance.id,
                                                            Incident.status == "open").limit(1))
    if has_incident:
        instance.status = "error"
        return
    has_task = session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance.id,
                                                         HumanTask.state == "open").limit(1))
    instance.status = "running" if has_task else "waiting"
    session.execute(update(Instance).where(Instance.id == instance.id).values(status=instance.status)
                    .execution_options(synchronize_session=False))


def _sync_tasks(session: Session, instance: Instance, views, summary: dict, new: bool) -> list[SimpleNamespace]:
    """Bring the instance's open task rows in step with the engine; returns the open rows.

    Plain SQL (no ORM unit of work): this runs on every state change. The returned objects are
    transient snapshots for the response, not attached to the session.
    """
    ready = {v.id: v for v in views}
    result: list[SimpleNamespace] = []
    new_rows: list[dict] = []
    open_rows = {} if new else {row["id"]: dict(row) for row in session.execute(
        _OPEN_TASKS, {"instance_id": instance.id}).mappings()}
    now = clock.now()
    gone = [task_id for task_id in open_rows if task_id not in ready]
    if gone:
        session.execute(update(HumanTask).where(HumanTask.id.in_(gone), HumanTask.state == "open")
                        .values(state="cancelled", completed_at=now).execution_options(synchronize_session=False))
    for task_id, view in ready.items():
        row = open_rows.get(task_id)
        scope = {**summary, **{k: view.data.get(k) for k in SUMMARY_KEYS if view.data.get(k) is not None}}
        if row is None:
            lane = (view.lane or "").strip() or None
            row = dict(
                id=task_id, instance_id=instance.id, process_key=instance.process_key, element_id=view.element_id,
                name=view.name, lane=lane, candidate_roles=[lane] if lane else [], state="open",
                assignee=getattr(view, "assignee", None),
                form_file=view.form_file, ui_file=view.ui_file, due_at=view.due_at, warning=view.warning,
                project_id=_int(scope.get("project_id")), project_name=_str(scope.get("project_name")),
                region_code=_str(scope.get("region_code")), tier=_str(scope.get("tier")),
                stage=_str(scope.get("stage")), draft=None, created_at=now, completed_at=None, completed_by=None)
            new_rows.append(row)
        else:
            changes = {"due_at": view.due_at, "warning": view.warning,
                       "stage": _str(scope.get("stage")) or row["stage"], "tier": _str(scope.get("tier")) or row["tier"]}
            changes = {k: v for k, v in changes.items() if row[k] != v}
            if changes:
                session.execute(update(HumanTask).where(HumanTask.id == task_id).values(**changes)
                                .execution_options(synchronize_session=False))
                row.update(changes)
        result.append(SimpleNamespace(**row))
    if new_rows:  # one multi-row INSERT
        session.execute(insert(HumanTask), new_rows)
    return result


def _int(value):
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _str(value):
    return None if value is None else str(value)[:300]


def _sync_timers(session: Session, instance: Instance, timers, new: bool) -> None:
    """One job row per waiting timer of the instance, keyed by the engine's task id (plain SQL)."""
    current = {t.task_id: t for t in timers}
    rows = {} if new else {r.task_id: r for r in session.execute(
        select(Job.id, Job.task_id, Job.due_at).where(Job.instance_id == instance.id, Job.kind == "timer"))}
    gone = [r.id for task_id, r in rows.items() if task_id not in current]
    if gone:
        session.execute(delete(Job).where(Job.id.in_(gone)).execution_options(synchronize_session=False))
    for task_id, r in rows.items():
        timer = current.get(task_id)
        if timer is not None and r.due_at != timer.due_at:  # a cycle moved on: a fresh, unleased row
            session.execute(update(Job).where(Job.id == r.id).values(
                due_at=timer.due_at, lease_owner=None, lease_until=None, attempts=0)
                .execution_options(synchronize_session=False))
    fresh = [{"kind": "timer", "due_at": t.due_at, "instance_id": instance.id, "task_id": task_id,
              "element_id": t.element_id, "payload": {"cycle": t.cycle}, "attempts": 0, "created_at": clock.now()}
             for task_id, t in current.items() if task_id not in rows]
    if fresh:
        session.execute(insert(Job), fresh)


def _sync_subscriptions(session: Session, instance: Instance, wanted: list[str], new: bool) -> None:
    if not new:
        session.execute(delete(MessageSubscription).where(MessageSubscription.instance_id == instance.id))
    for name in wanted:
        session.add(MessageSubscription(instance_id=instance.id, name=name, business_key=instance.business_key,
                                        correlation={}))


def _flush_outbox(session: Session, ctx: OperatorContext) -> None:
    for item in ctx.outbox:
        session.add(Job(kind=item["kind"], due_at=clock.now(), payload=item, created_at=clock.now()))
    ctx.outbox.clear()


def _handle_failure(session: Session, instance: Instance, result: StepResult, prior_attempts: int = 0) -> bool:
    """Schedule a retry (False) or, after the last attempt, open an incident (True)."""
    failure = result.failure
    retry = session.scalar(select(Job).where(Job.instance_id == instance.id, Job.kind == "retry",
                                             Job.task_id == failure.task_id))
    attempts = max(retry.attempts if retry else 0, prior_attempts) + 1
    audit.record(session, "service_failed", "system", instance_id=instance.id, element_id=failure.element_id,
                 detail={"message": failure.message, "attempt": attempts})
    if attempts < SERVICE_RETRIES and failure.task_id:
        due = clock.now() + dt.timedelta(seconds=SERVICE_BACKOFF_SECONDS * (2 ** (attempts - 1)))
        if retry is None:
            session.add(Job(kind="retry", due_at=due, instance_id=instance.id, task_id=failure.task_id,
                            element_id=failure.element_id, attempts=attempts, last_error=failure.message,
                            created_at=clock.now()))
        else:
            retry.due_at, retry.attempts, retry.last_error = due, attempts, failure.message
            retry.lease_owner = retry.lease_until = None
        return False
    if retry is not None:
        session.delete(retry)
    session.add(Incident(instance_id=instance.id, task_id=failure.task_id or None, element_id=failure.element_id,
                         message=failure.message, stack=failure.stack[-20000:], attempts=attempts,
                         created_at=clock.now()))
    audit.record(session, "incident_opened", "system", instance_id=instance.id, element_id=failure.element_id,
                 detail={"message": failure.message})
    return True


def run_change(session: Session, instance_id: int, actor: str, change: Callable[[Unit], StepResult],
               allow_suspended: bool = False) -> Unit:
    unit = open_unit(session, instance_id, actor)
    if unit.instance.status in ("completed", "cancelled"):
        raise Conflict(f"实例已结束({unit.instance.status}) / instance is {unit.instance.status}")
    if unit.instance.status == "suspended" and not allow_suspended:
        raise Conflict("实例已挂起 / instance is suspended")
    result = change(unit)
    persist(unit, result)
    return unit


def cancel_instance(session: Session, instance_id: int, actor: str) -> dict:
    def change(unit: Unit) -> StepResult:
        unit.runner.cancel()
        unit.instance.status = "cancelled"
        return StepResult()

    unit = run_change(session, instance_id, actor, change, allow_suspended=True)
    session.execute(delete(Job).where(Job.instance_id == instance_id))
    session.execute(update(Incident).where(Incident.instance_id == instance_id, Incident.status == "open")
                    .values(status="cancelled", resolved_at=clock.now()))
    audit.record(session, "instance_cancelled", actor, instance_id=instance_id)
    return describe(session, unit.instance)


def suspend_instance(session: Session, instance_id: int, actor: str) -> dict:
    instance = lock_instance(session, instance_id)
    if instance.status in ("completed", "cancelled"):
        raise Conflict(f"实例已结束 / instance is {instance.status}")
    instance.status = "suspended"
    audit.record(session, "instance_suspended", actor, instance_id=instance_id)
    return describe(session, instance)


def resume_instance(session: Session, instance_id: int, actor: str) -> dict:
    instance = lock_instance(session, instance_id)
    if instance.status != "suspended":
        raise Conflict("实例未挂起 / instance is not suspended")
    instance.status = "running"
    _recompute_status(session, instance)
    # timers that fell due while suspended fire now
    session.execute(update(Job).where(Job.instance_id == instance_id, Job.due_at < clock.now())
                    .values(lease_owner=None, lease_until=None))
    audit.record(session, "instance_resumed", actor, instance_id=instance_id)
    return describe(session, instance)


_VERSION_NUMBERS: dict[tuple[str, int], int] = {}


def version_number(session: Session, version_id: int) -> int | None:
    """Versions are immutable: their number is cached per database."""
    key = (str(session.get_bind().url), version_id)
    if key not in _VERSION_NUMBERS:
        number = session.scalar(select(ProcessVersion.version).where(ProcessVersion.id == version_id))
        if number is None:
            return None
        _VERSION_NUMBERS[key] = number
    return _VERSION_NUMBERS[key]


def describe(session: Session, instance: Instance, with_data: bool = True, open_tasks: list | None = None) -> dict:
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
        "incidents": [{"id": i.id, "element_id": i.element_id, "message": i.message, "attempts": i.attempts,
                       "created_at": i.created_at.isoformat()} for i in incidents],
        "summary": instance.summary or {},
    }
    if with_data:
        out["data"] = instance_data(session, instance)
    return out


def instance_data(session: Session, instance: Instance) -> dict:
    """The instance's current data (restores the workflow: detail views only, never lists)."""
    runner = Runner.restore(instance.state, _bundle(session, instance.version_id), None, instance.serializer_version)
    return _jsonable(runner.data)


def element_states(session: Session, instance: Instance) -> dict[str, str]:
    runner = Runner.restore(instance.state, _bundle(session, instance.version_id), None, instance.serializer_version)
    return runner.element_states()


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items() if not callable(v)}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def task_summary(task: HumanTask) -> dict:
    return {"id": task.id, "instance_id": task.instance_id, "process_key": task.process_key,
            "element_id": task.element_id, "name": task.name, "lane": task.lane, "assignee": task.assignee,
            "due_at": task.due_at.isoformat() if task.due_at else None, "warning": task.warning,
            "state": task.state, "project_id": task.project_id, "project_name": task.project_name,
            "region_code": task.region_code, "tier": task.tier, "stage": task.stage,
            "role_name": ROLES[task.lane].name if task.lane in ROLES else None,
            "created_at": task.created_at.isoformat() if task.created_at else None}


def get_instance(session: Session, instance_id: int) -> Instance:
    instance = session.get(Instance, instance_id)
    if instance is None:
        raise NotFound(f"流程实例 {instance_id} 不存在 / instance {instance_id} not found")
    return instance
