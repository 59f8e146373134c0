"""``investflow doctor``: consistency between engine state and its projections, and their repair.

The engine state (the serialized workflow of each instance) is the truth; the inbox rows, timer jobs
and message subscriptions are projections of it that every state change rebuilds in the same
transaction (``instances.persist``). The doctor restores each unfinished instance in its own
snapshot and compares; ``--repair`` locks each affected instance and runs that same projection sync
(``instances.persist``) in one transaction per instance. Domain rows whose ``instance_id`` names no
instance lose the dangling link (set to NULL), the row itself is kept.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import delete, func, select, text, update

ACTIVE = ("running", "waiting", "error", "suspended")
ENDED = ("completed", "cancelled")
_UNKNOWN = "<doctor: unknown>"
REBUILD = "investflow doctor --repair(按引擎状态重建该实例的投影 / rebuilds the instance's projections)"


@dataclass
class Problem:
    code: str
    instance_id: int | None
    message: str
    repair: str
    repairable: bool = True
    table: str | None = None  # domain table of a dangling reference

    def line(self) -> str:
        where = f"instance={self.instance_id}" if self.instance_id is not None else "instance=-"
        return f"{where} {self.code}: {self.message} → 修复 / repair: {self.repair}"


# -- the three places the doctor touches the change path (app.services.runtime.change) -----------------
def _restore(session, instance):
    """The instance's workflow, restored without a script engine (read only)."""
    from app.engine import Runner
    from app.services.definitions.versions import spec_for_version

    return Runner.restore(instance.state, spec_for_version(session, instance.version_id), None,
                          instance.serializer_version)


def _open_locked(session, instance_id: int):
    """Lock and restore an instance for a change (the change path's own opener)."""
    from app.services.runtime.change import open_change

    return open_change(session, instance_id, "doctor")


def _save_projections(unit) -> None:
    """Write the instance back and rebuild its projections (the same sync every state change runs)."""
    from app.engine import StepResult
    from app.services.runtime.change import save_change

    save_change(unit, StepResult())


def _snapshot(db, session) -> None:
    """One consistent snapshot per check (PostgreSQL: REPEATABLE READ; SQLite read transactions are snapshots)."""
    if not db.is_sqlite:
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


@dataclass
class _Projections:
    """What the database says about one instance, read in the same snapshot as its engine state."""

    tasks: dict  # open task id -> element id
    timer_jobs: dict  # engine task id -> job row (id, task_id, due_at, element_id)
    other_jobs: int
    subscriptions: Counter
    incidents: int


def _projections(session, instance_id: int) -> _Projections:
    from app.models.runtime import HumanTask, Incident, Job, MessageSubscription

    return _Projections(
        tasks={r.id: r.element_id for r in session.execute(select(HumanTask.id, HumanTask.element_id).where(
            HumanTask.instance_id == instance_id, HumanTask.state == "open"))},
        timer_jobs={r.task_id: r for r in session.execute(select(Job.id, Job.task_id, Job.due_at, Job.element_id)
                                                          .where(Job.instance_id == instance_id, Job.kind == "timer"))},
        other_jobs=session.scalar(select(func.count()).select_from(Job).where(Job.instance_id == instance_id,
                                                                              Job.kind != "timer")),
        subscriptions=Counter(session.scalars(select(MessageSubscription.name).where(
            MessageSubscription.instance_id == instance_id))),
        incidents=session.scalar(select(func.count()).select_from(Incident).where(
            Incident.instance_id == instance_id, Incident.status == "open")))


def _check_ended(status: str, p: _Projections, add) -> None:
    if p.tasks:
        add("ended_with_open_tasks", f"已结束({status})的实例仍有 {len(p.tasks)} 条开放待办 / "
            f"{status} instance still has {len(p.tasks)} open task row(s)")
    if p.timer_jobs or p.other_jobs:
        add("ended_with_jobs", f"已结束({status})的实例仍有 {len(p.timer_jobs) + p.other_jobs} 个作业 / "
            f"{status} instance still has job row(s)")
    if p.subscriptions:
        add("ended_with_subscriptions", f"已结束({status})的实例仍有消息订阅 / "
            f"{status} instance still has message subscription(s)")


def _check_tasks(ready: dict, p: _Projections, add) -> None:
    for task_id, element in sorted(p.tasks.items()):
        if task_id not in ready:
            add("stale_task", f"开放待办 {task_id}({element})在引擎中没有就绪任务 / open task row "
                f"{task_id} ({element}) has no READY task in the engine")
    for task_id, element in sorted(ready.items()):
        if task_id not in p.tasks:
            add("missing_task", f"引擎就绪任务 {task_id}({element})没有待办行 / READY task {task_id} "
                f"({element}) has no inbox row")


def _check_timers(timers: dict, p: _Projections, add) -> None:
    for task_id, job in sorted(p.timer_jobs.items(), key=lambda kv: str(kv[0])):
        timer = timers.get(task_id)
        if timer is None:
            add("orphan_timer_job", f"定时作业 {job.id}({job.element_id})没有等待中的定时器 / timer job "
                f"{job.id} ({job.element_id}) has no waiting timer")
        elif _utc(job.due_at) != _utc(timer.due_at):
            add("timer_due_mismatch", f"定时作业 {job.id}({job.element_id})到期 {_utc(job.due_at).isoformat()}"
                f",引擎为 {_utc(timer.due_at).isoformat()} / timer job due time differs from the engine")
    for task_id, timer in sorted(timers.items()):
        if task_id not in p.timer_jobs:
            add("missing_timer_job", f"等待中的定时器 {timer.element_id}(到期 {_utc(timer.due_at).isoformat()})"
                f"没有作业 / waiting timer {timer.element_id} has no job")


def _check_messages(waiting: Counter, p: _Projections, add) -> None:
    for name, count in sorted((p.subscriptions - waiting).items()):
        add("orphan_subscription", f"消息订阅 {name}×{count} 没有等待中的消息事件 / subscription to '{name}' "
            "matches no waiting message event")
    for name in sorted((waiting - p.subscriptions).keys()):
        add("missing_subscription", f"等待中的消息事件 {name} 没有订阅 / waiting message event '{name}' "
            "has no subscription")


def _check_status(instance_id: int, status: str, engine_has_work: bool, p: _Projections, add) -> None:
    if status == "error" and not p.incidents:
        add("error_without_incident", "状态为 error 但没有未处理的事件 / status is error without an open incident")
    if status in ("running", "waiting") and not (engine_has_work or p.incidents or p.other_jobs):
        add("stuck", "运行中的实例没有待办、作业、订阅或事件 / running instance without an open task, job, "
            "subscription or incident",
            f"查看 GET /api/v1/instances/{instance_id}/events 后取消或迁移 / inspect its events, then cancel or "
            "migrate it", False)


def check_instance(db, instance_id: int) -> list[Problem]:
    """The problems of one instance: its engine state and its projections, read in one snapshot."""
    from app.models.runtime import Instance

    problems: list[Problem] = []

    def add(code, message, repair=REBUILD, repairable=True):
        problems.append(Problem(code, instance_id, message, repair, repairable))

    with db.read_scope() as s:
        _snapshot(db, s)
        inst = s.get(Instance, instance_id)
        if inst is None:
            return problems
        p = _projections(s, instance_id)
        if inst.status in ENDED:
            _check_ended(inst.status, p, add)
            return problems
        try:
            runner = _restore(s, inst)
        except Exception as exc:  # a state that cannot be restored cannot be repaired from itself
            add("restore_failed", f"引擎状态无法恢复 / the engine state cannot be restored: {type(exc).__name__}: "
                f"{exc}"[:300], "从备份恢复或取消该实例 / restore from a backup or cancel the instance", False)
            return problems
        if runner.completed:
            add("engine_completed", f"引擎中已完成但状态为 {inst.status} / the workflow is complete but the "
                f"instance is {inst.status}")
            return problems
        ready = {v.id: v.element_id for v in runner.user_tasks()}
        timers = {t.task_id: t for t in runner.timers()}
        waiting = Counter(runner.waiting_messages())
        _check_tasks(ready, p, add)
        _check_timers(timers, p, add)
        _check_messages(waiting, p, add)
        _check_status(instance_id, inst.status, bool(ready or timers or waiting), p, add)
    return problems


def _utc(value):
    import datetime as dt

    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _domain_reference_columns():
    """(table, instance_id column) of every table outside the runtime schema that names an instance by id."""
    import app.models  # noqa: F401  (every table registered)
    from app.models.base import Base

    runtime = {"instance", "human_task", "job", "message_subscription", "incident", "audit_event"}
    out = []
    for table in Base.metadata.sorted_tables:
        column = table.c.get("instance_id")
        if table.name in runtime or column is None or column.foreign_keys:
            continue
        out.append((table, column))
    return out


def check_domain(db) -> list[Problem]:
    from app.models.runtime import Instance

    problems = []
    with db.read_scope() as s:
        for table, column in _domain_reference_columns():
            rows = s.execute(select(column, func.count()).where(column.is_not(None), column.not_in(
                select(Instance.id))).group_by(column)).all()
            for instance_id, count in rows:
                problems.append(Problem(
                    "dangling_domain_row", instance_id,
                    f"{table.name} 有 {count} 行指向不存在的实例 / {count} {table.name} row(s) name a missing instance",
                    f"investflow doctor --repair(将 {table.name}.instance_id 置空,保留记录 / sets it to NULL, "
                    "keeps the rows)", True, table=table.name))
    return problems


def check(db) -> list[Problem]:
    from app.models.runtime import HumanTask, Instance, Job, MessageSubscription

    with db.read_scope() as s:
        active = list(s.scalars(select(Instance.id).where(Instance.status.in_(ACTIVE)).order_by(Instance.id)))
        ended = select(Instance.id).where(Instance.status.in_(ENDED))
        leftovers = set(s.scalars(select(HumanTask.instance_id).where(HumanTask.state == "open",
                                                                     HumanTask.instance_id.in_(ended))))
        leftovers |= set(s.scalars(select(Job.instance_id).where(Job.instance_id.in_(ended))))
        leftovers |= set(s.scalars(select(MessageSubscription.instance_id).where(
            MessageSubscription.instance_id.in_(ended))))
    problems: list[Problem] = []
    for instance_id in sorted(set(active) | leftovers):
        problems.extend(check_instance(db, instance_id))
    problems.extend(check_domain(db))
    return problems


def repair_instance(db, instance_id: int) -> None:
    """Rebuild one instance's projections from its engine state, in one transaction under its lock."""
    from app import clock
    from app.models.runtime import HumanTask, Job, MessageSubscription
    from app.services import audit

    with db.session_scope() as s:
        unit = _open_locked(s, instance_id)
        inst = unit.instance
        if inst.status in ENDED:  # an ended instance projects nothing
            s.execute(update(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.state == "open")
                      .values(state="cancelled", completed_at=clock.now()))
            s.execute(delete(Job).where(Job.instance_id == instance_id))
            s.execute(delete(MessageSubscription).where(MessageSubscription.instance_id == instance_id))
        else:
            # signatures that match nothing the engine can produce: save_change() rewrites timers and subscriptions
            inst.summary = {**(inst.summary or {}), "_timers": [_UNKNOWN], "_messages": [_UNKNOWN]}
            _save_projections(unit)
        audit.record(s, "doctor_repaired", "doctor", instance_id=instance_id)


def repair_domain(db, problems: list[Problem]) -> int:
    tables = {t.name: (t, c) for t, c in _domain_reference_columns()}
    fixed = 0
    with db.session_scope() as s:
        for p in problems:
            if p.code != "dangling_domain_row" or p.table not in tables:
                continue
            table, column = tables[p.table]
            fixed += s.execute(update(table).where(column == p.instance_id).values({column.name: None})).rowcount
    return fixed


def repair(db, problems: list[Problem]) -> tuple[int, int, list[str]]:
    """Repair what can be repaired; returns (instances rebuilt, domain rows unlinked, errors)."""
    ids = sorted({p.instance_id for p in problems
                  if p.repairable and p.instance_id is not None and p.code != "dangling_domain_row"})
    errors = []
    rebuilt = 0
    for instance_id in ids:
        try:
            repair_instance(db, instance_id)
            rebuilt += 1
        except Exception as exc:  # one instance must not stop the others; it stays in the report
            errors.append(f"instance={instance_id} 修复失败 / repair failed: {type(exc).__name__}: {exc}")
    return rebuilt, repair_domain(db, problems), errors


def count_rows(db) -> dict[str, int]:
    """Row counts of every table (used to compare a restored copy with its backup)."""
    import app.models  # noqa: F401
    from app.models.base import Base

    with db.read_scope() as s:
        return {t.name: s.execute(text(f'SELECT COUNT(*) FROM "{t.name}"')).scalar_one()
                for t in Base.metadata.sorted_tables}
