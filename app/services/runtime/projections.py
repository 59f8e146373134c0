"""Projections: the SQL rows (open tasks, timer jobs, message subscriptions, outbox jobs) kept in step
with the engine state on every change. Plain Core statements: this runs on every request."""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from app import clock
from app.models.runtime import HumanTask, Instance, Job, MessageSubscription
from app.services.runtime import candidates
from app.services.runtime.service_calls import OperatorContext

SUMMARY_KEYS = ("project_id", "project_name", "region_code", "tier", "stage", "chain_code", "enterprise_name")

_OPEN_TASKS = select(HumanTask.__table__).where(HumanTask.__table__.c.instance_id == bindparam("instance_id"),
                                                HumanTask.__table__.c.state == "open")


def summary_of(data: dict) -> dict:
    return {k: data.get(k) for k in SUMMARY_KEYS if data.get(k) is not None}


def signatures(timers, waiting: list[str]) -> dict:
    """What the instance summary remembers, so unchanged timer/message projections are not rewritten."""
    return {"_timers": sorted(f"{t.task_id}@{t.element_id}@{t.due_at.isoformat()}" for t in timers),
            "_messages": sorted(waiting)}


def sync_tasks(session: Session, instance: Instance, views, summary: dict, new: bool) -> list[SimpleNamespace]:
    """Bring the instance's open task rows in step with the engine; returns the open rows.

    The returned objects are transient snapshots for the response, not attached to the session.
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
        scope = {**summary, **summary_of(view.data)}
        if row is None:
            row = _new_task_row(instance, view, scope, now)
            row["candidate_orgs"], row["candidate_users"] = candidates.named(session, row["lane"], view.data or {})
            new_rows.append(row)
        else:
            _update_task_row(session, row, view, scope)
        result.append(SimpleNamespace(**row))
    if new_rows:  # one multi-row INSERT
        session.connection().execute(insert(HumanTask.__table__), new_rows)
    return result


def _new_task_row(instance: Instance, view, scope: dict, now) -> dict:
    lane = (view.lane or "").strip() or None
    return dict(
        id=view.id, instance_id=instance.id, process_key=instance.process_key, element_id=view.element_id,
        name=view.name, lane=lane, state="open", assignee=getattr(view, "assignee", None),
        form_file=view.form_file, ui_file=view.ui_file, due_at=view.due_at, warning=view.warning,
        project_id=_int(scope.get("project_id")), project_name=_str(scope.get("project_name")),
        region_code=_str(scope.get("region_code")), tier=_str(scope.get("tier")),
        stage=_str(scope.get("stage")), draft=None, created_at=now, completed_at=None, completed_by=None)


def _update_task_row(session: Session, row: dict, view, scope: dict) -> None:
    """An open task after a change: deadlines and warning move, and after a migration the element's
    id, name, lane and forms are the target version's."""
    changes = {"due_at": view.due_at, "warning": view.warning, "name": view.name, "element_id": view.element_id,
               "lane": (view.lane or "").strip() or None, "form_file": view.form_file, "ui_file": view.ui_file,
               "stage": _str(scope.get("stage")) or row["stage"], "tier": _str(scope.get("tier")) or row["tier"]}
    changes = {k: v for k, v in changes.items() if row[k] != v}
    if changes:
        session.execute(update(HumanTask).where(HumanTask.id == row["id"]).values(**changes)
                        .execution_options(synchronize_session=False))
        row.update(changes)


def _int(value):
    """A project id for the 32-bit column, or None (data may hold anything)."""
    try:
        number = int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError, OverflowError):
        return None
    return number if number is not None and -2**31 <= number < 2**31 else None


def _str(value):
    return None if value is None else str(value)[:300]


def sync_timers(session: Session, instance: Instance, timers, new: bool) -> None:
    """One job row per waiting timer of the instance, keyed by the engine's task id."""
    current = {t.task_id: t for t in timers}
    rows = {} if new else {r.task_id: r for r in session.execute(
        select(Job.id, Job.task_id, Job.due_at, Job.element_id).where(Job.instance_id == instance.id,
                                                                       Job.kind == "timer"))}
    gone = [r.id for task_id, r in rows.items() if task_id not in current]
    if gone:
        session.execute(delete(Job).where(Job.id.in_(gone)).execution_options(synchronize_session=False))
    for task_id, r in rows.items():
        timer = current.get(task_id)
        if timer is not None and r.due_at != timer.due_at:  # a cycle moved on: a fresh, unleased row
            session.execute(update(Job).where(Job.id == r.id).values(
                due_at=timer.due_at, element_id=timer.element_id, lease_owner=None, lease_until=None, attempts=0)
                .execution_options(synchronize_session=False))
        elif timer is not None and r.element_id != timer.element_id:  # renamed by a migration
            session.execute(update(Job).where(Job.id == r.id).values(element_id=timer.element_id)
                            .execution_options(synchronize_session=False))
    fresh = [{"kind": "timer", "due_at": t.due_at, "instance_id": instance.id, "task_id": task_id,
              "element_id": t.element_id, "payload": {"cycle": t.cycle}, "attempts": 0, "created_at": clock.now()}
             for task_id, t in current.items() if task_id not in rows]
    if fresh:
        session.connection().execute(insert(Job.__table__), fresh)


def sync_subscriptions(session: Session, instance: Instance, wanted: list[str], new: bool) -> None:
    if not new:
        session.execute(delete(MessageSubscription).where(MessageSubscription.instance_id == instance.id))
    for name in wanted:
        session.add(MessageSubscription(instance_id=instance.id, name=name, business_key=instance.business_key,
                                        correlation={}))


def flush_outbox(session: Session, ctx: OperatorContext) -> None:
    """Messages and starts queued by operators become jobs, delivered after this transaction commits."""
    for item in ctx.outbox:
        session.add(Job(kind=item["kind"], due_at=clock.now(), payload=item, created_at=clock.now()))
    ctx.outbox.clear()
