"""The one path every state change takes (ARCHITECTURE rule 4).

``apply_change`` locks the instance row, restores the workflow, lets the caller change it, and
``save_change`` writes it back with a ``lock_version`` guard while bringing every projection in
step — all inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, configure_mappers
from sqlalchemy.orm.attributes import set_committed_value

from app import clock, write_behind
from app.db import HOT_PENDING, database_of
from app.engine import Runner, StepResult
from app.errors import AppError, Conflict, NotFound, StepFailed
from app.models.runtime import HumanTask, Incident, Instance, Job
from app.services import audit
from app.services.caches import HotInstances
from app.services.definitions.versions import spec_for_version
from app.services.runtime import projections
from app.services.runtime.failures import handle_service_failure, open_engine_incident
from app.services.runtime.service_calls import OperatorContext, script_engine


@dataclass
class InstanceChange:
    """A locked instance with its restored workflow and the operator context of this change."""

    session: Session
    instance: Instance
    runner: Runner
    ctx: OperatorContext
    open_tasks: list | None = None  # the open task rows after save_change()
    prior_attempts: int = 0  # failed attempts of the service task this change retries
    # apply_change: the READY user tasks of the restored workflow (= the open rows the previous change
    # wrote), so save_change derives the task and timer projections instead of reading them back
    open_before: set[str] | None = None
    closed: set[str] = field(default_factory=set)  # task rows the change closed itself (a completion)
    events: list[dict] = field(default_factory=list)  # audit events, written with the state (one INSERT)
    from_hot: bool = False  # the workflow came from the hot cache rather than from the row
    # offer the saved workflow to the hot cache (jobs: only one that was there already, see fire_timer)
    keep_hot: bool = True


# Hot-path statements are built once with bind parameters.
_T = Instance.__table__
_SELECT_INSTANCE = select(_T).where(_T.c.id == bindparam("instance_id"))
_LOCK_INSTANCE = _SELECT_INSTANCE.with_for_update()
_LOCK_ONLY = select(_T.c.id).where(_T.c.id == bindparam("instance_id")).with_for_update()
_UPDATE_INSTANCE = (update(_T)
                    .where(_T.c.id == bindparam("_id"), _T.c.lock_version == bindparam("_lock_version"))
                    .values(state=bindparam("state"), lock_version=bindparam("lock_version"),
                            updated_at=bindparam("updated_at"), summary=bindparam("summary"),
                            status=bindparam("status"), ended_at=bindparam("ended_at")))


def snapshot(values) -> Instance:
    """An Instance holding a row's values as if loaded (no change history), attached to no session:
    cheaper than ``Instance(**row)``, which runs every attribute through the change tracking."""
    configure_mappers()  # a no-op once configured; the first request may come before any ORM use
    instance = _NEW_INSTANCE()
    instance.__dict__.update(values)
    return instance


_NEW_INSTANCE = Instance.__mapper__.class_manager.new_instance


def adopt_locked(session: Session, instance: Instance) -> None:
    """The caller read and locked this instance row itself (``SELECT … FOR UPDATE`` on PostgreSQL, inside
    the SQLite write transaction): the next ``open_change`` of this transaction uses it."""
    session.info["prelocked"] = instance


def lock_instance(session: Session, instance_id: int, load: bool = True) -> Instance | None:
    """Lock the instance row for this transaction; return it as a detached snapshot.

    PostgreSQL takes ``SELECT … FOR UPDATE``; SQLite writers already hold the database's write lock
    (``BEGIN IMMEDIATE``). With ``load=False`` only the lock is taken (PostgreSQL) and nothing is read.
    """
    sqlite = session.get_bind().dialect.name == "sqlite"
    if not load:
        if not sqlite:
            session.connection().execute(_LOCK_ONLY, {"instance_id": instance_id})
        return None
    row = session.connection().execute(_SELECT_INSTANCE if sqlite else _LOCK_INSTANCE,
                                       {"instance_id": instance_id}).mappings().first()
    if row is None:
        raise NotFound(f"流程实例 {instance_id} 不存在 / instance {instance_id} not found")
    return snapshot(row)


def prelock_instance(session: Session, instance_id: int) -> None:
    """Lock and load the instance for the next ``open_change`` of this transaction (the job sweep
    must hold the lock before its lease check; this spares the change a second locking read)."""
    try:
        session.info["prelocked"] = lock_instance(session, instance_id)
    except NotFound:
        session.info.pop("prelocked", None)


def adopt_prelock(session: Session, instance: Instance) -> None:
    """Like ``prelock_instance`` for a row the caller has locked and read itself (the sweep locks the
    instance and takes the job's lease in one statement)."""
    session.info["prelocked"] = instance


def release_prelock(session: Session) -> None:
    session.info.pop("prelocked", None)


def new_context(session: Session, instance: Instance, actor: str, now=None) -> OperatorContext:
    return OperatorContext(session=session, instance_id=instance.id, process_key=instance.process_key,
                           business_key=instance.business_key, now=now or clock.now(), actor=actor)


def open_change(session: Session, instance_id: int, actor: str) -> InstanceChange:
    """Lock and restore an instance for a change (callers normally use ``apply_change``)."""
    instance = session.info.pop("prelocked", None)
    if instance is None or instance.id != instance_id:
        instance = lock_instance(session, instance_id)
    ctx = new_context(session, instance, actor)
    db = database_of(session)
    engine = script_engine(ctx, db.settings.script_timeout_seconds)
    runner = db.caches.hot.take(instance.id, _stamp(instance))
    hot = runner is not None
    if hot:
        if db.settings.hot_verify:
            _verify_hot(session, instance, runner)
        runner.use_script_engine(engine)
    else:
        runner = Runner.restore(instance.state, spec_for_version(session, instance.version_id), engine,
                                instance.serializer_version)
    runner.compact_after = db.settings.compact_after
    return InstanceChange(session, instance, runner, ctx, from_hot=hot)


def _stamp(instance: Instance) -> tuple:
    """What identifies the stored state of an instance row: every state write bumps ``lock_version``."""
    return instance.lock_version, instance.version_id, instance.serializer_version


def _keep_hot(session: Session, instance: Instance, runner: Runner) -> None:
    """Offer the saved workflow to the hot cache once this transaction commits (``Database`` events)."""
    if "db" in session.info:  # a session of a Database, whose events publish it
        session.info.setdefault(HOT_PENDING, {})[instance.id] = (_stamp(instance), runner)


def _verify_hot(session: Session, instance: Instance, runner: Runner) -> None:
    """Test-suite check: a kept workflow dumps to the stored row and has the open state a restore gives."""
    restored = Runner.restore(instance.state, spec_for_version(session, instance.version_id), None,
                              instance.serializer_version)
    problem = runner.differs_from(instance.state, restored)
    if problem:
        raise RuntimeError(f"hot workflow of instance {instance.id} differs from its row: {problem}")


def apply_change(session: Session, instance_id: int, actor: str, change: Callable[[InstanceChange], StepResult],
                 allow_suspended: bool = False) -> InstanceChange:
    unit = open_change(session, instance_id, actor)
    unit.open_before = unit.runner.ready_user_task_ids()
    if unit.instance.status in ("completed", "cancelled"):
        raise Conflict(f"实例已结束({unit.instance.status}) / instance is {unit.instance.status}")
    if unit.instance.status == "suspended" and not allow_suspended:
        raise Conflict("实例已挂起 / instance is suspended")
    try:
        result = change(unit)
        save_change(unit, result)
    except (AppError, SQLAlchemyError):
        raise
    except Exception as exc:  # RecursionError, an engine exception outside a step, a compaction mismatch
        failure = Runner.describe_failure(exc)
        raise refuse_step(instance_id, failure.element_id, failure.message, failure.stack) from exc
    return unit


def refuse_step(instance_id: int, element_id: str, message: str, stack: str = "") -> StepFailed:
    """The error for a change that must not be saved; its incident is written after the rollback."""
    error = StepFailed(instance_id, element_id, message)
    error.after_rollback = lambda session: open_engine_incident(session, instance_id, element_id, message, stack)
    return error


def _has_pending_work(session: Session, instance: Instance, runner: Runner, timers, waiting) -> bool:
    """Something will move the instance on: a timer, a message subscription, an engine event or a job."""
    if timers or waiting or runner.waiting_events():
        return True
    return session.scalar(select(Job.id).where(Job.instance_id == instance.id).limit(1)) is not None


def derive_status(session: Session, instance: Instance, *, done: bool, has_tasks: bool, incident: bool) -> str:
    """The status an instance has after a change (one rule for every path)."""
    if done:
        return "cancelled" if instance.status == "cancelled" else "completed"
    if instance.status in ("suspended", "cancelled"):
        return instance.status
    if incident or (instance.status == "error" and session.scalar(
            select(Incident.id).where(Incident.instance_id == instance.id, Incident.status == "open").limit(1))):
        return "error"
    return "running" if has_tasks else "waiting"


def save_change(unit: InstanceChange, result: StepResult, new: bool = False) -> None:
    """Write the workflow back and bring every projection in step, in the caller's transaction.

    Projections that did not change are not touched: the instance summary remembers the timer and
    message signatures it last wrote, so a plain task completion costs few statements.
    """
    session, instance, runner = unit.session, unit.instance, unit.runner
    stall = runner.stall_reason(result)
    if stall:
        raise refuse_step(instance.id, "", stall)
    now = clock.now()
    events = unit.events
    events.extend(audit.event("timer_fired", "system", instance_id=instance.id, element_id=element)
                  for element in result.fired_timers)
    summary = projections.summary_of(runner.data)
    done = runner.completed
    views = [] if done else runner.user_tasks()
    timers = [] if done else runner.timers()
    waiting = [] if done else runner.waiting_messages()
    marks = projections.signatures(timers, waiting)
    previous = instance.summary or {}
    derived = unit.open_before is not None and not new
    unit.open_tasks = projections.sync_tasks(session, instance, views, summary, new,
                                             unit.open_before - unit.closed if derived else None)
    if previous.get("_timers", []) != marks["_timers"]:
        projections.sync_timers(session, instance, timers, new, previous.get("_timers") if derived else None)
    if previous.get("_messages", []) != marks["_messages"]:
        projections.sync_subscriptions(session, instance, waiting, new)
    projections.flush_outbox(session, unit.ctx)
    incident = _failure(session, unit, result) if result.failure else False
    status = derive_status(session, instance, done=done, has_tasks=bool(views), incident=incident)
    if status == "waiting" and not _has_pending_work(session, instance, runner, timers, waiting):
        raise refuse_step(instance.id, "", "流程未结束,却没有待办、定时器、消息订阅或事故 / the process is not "
                                           "finished but nothing is open: no task, timer, message or incident")
    summary.update(marks)
    reusable = runner.prepare_reuse()  # before the dump: the row then lists subprocesses as a restore has them
    state = runner.dump()
    ended = now if status in ("completed", "cancelled") else None
    if status == "completed" and instance.status != "completed":
        events.append(audit.event("instance_completed", unit.ctx.actor, instance_id=instance.id))
    audit.record_many(session, events)
    events.clear()
    if new:
        instance.state, instance.summary, instance.status, instance.updated_at = state, summary, status, now
        instance.ended_at = ended
        session.flush()
    else:
        _write_back(session, instance, {"state": state, "summary": summary, "status": status, "updated_at": now,
                                        "ended_at": ended})
    if (reusable and unit.keep_hot and status not in ("completed", "cancelled")
            and len(state) <= HotInstances.MAX_STATE_BYTES):
        _keep_hot(session, instance, runner)


def _failure(session: Session, unit: InstanceChange, result: StepResult) -> bool:
    """A failed service task: retry or incident (its audit rows come after the change's own)."""
    audit.record_many(session, unit.events)
    unit.events.clear()
    return handle_service_failure(session, unit.instance, result, unit.prior_attempts)


def _write_back(session: Session, instance: Instance, values: dict) -> None:
    updated = write_behind.execute(session.connection(), _UPDATE_INSTANCE, {
        "_id": instance.id, "_lock_version": instance.lock_version, "lock_version": instance.lock_version + 1,
        **values}, rows=[("instance", instance.id)], expect=1)
    if updated is not None and updated != 1:  # None: queued (the sweep), checked when it is sent
        raise Conflict("实例已被他人修改,请刷新后重试 / the instance changed meanwhile; reload and retry")
    for key, value in {**values, "lock_version": instance.lock_version + 1}.items():
        set_committed_value(instance, key, value)
    session.flush()


def set_status(session: Session, instance: Instance, status: str) -> None:
    """Change only the status of a locked instance (suspend, resume)."""
    session.execute(update(Instance).where(Instance.id == instance.id).values(status=status)
                    .execution_options(synchronize_session=False))
    set_committed_value(instance, "status", status)


def status_from_projections(session: Session, instance: Instance) -> str:
    """The status of a running instance judged from its open incidents and tasks (after resume)."""
    if session.scalar(select(Incident.id).where(Incident.instance_id == instance.id,
                                                Incident.status == "open").limit(1)):
        return "error"
    has_task = session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance.id,
                                                         HumanTask.state == "open").limit(1))
    return "running" if has_task else "waiting"
