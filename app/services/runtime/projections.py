"""Projections: the SQL rows (open tasks, timer jobs, message subscriptions, outbox jobs) kept in step
with the engine state on every change. Plain Core statements: this runs on every request."""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from app import clock, write_behind
from app.models.runtime import HumanTask, Instance, Job, MessageSubscription
from app.services.runtime import candidates
from app.services.runtime.service_calls import OperatorContext

SUMMARY_KEYS = ("project_id", "project_name", "region_code", "tier", "stage", "chain_code", "enterprise_name")

_HT = HumanTask.__table__
_OPEN_TASKS = select(_HT).where(_HT.c.instance_id == bindparam("instance_id"), _HT.c.state == "open")
_OPEN_TASKS_BY_ID = select(_HT).where(_HT.c.id.in_(bindparam("ids", expanding=True)), _HT.c.state == "open")
_CANCEL_TASKS = (update(_HT).where(_HT.c.id.in_(bindparam("b_ids", expanding=True)), _HT.c.state == "open")
                 .values(state="cancelled", completed_at=bindparam("b_now")))
_INSERT_TASKS = insert(_HT)
_JOB = Job.__table__
_INSERT_JOBS = insert(_JOB)
_TIMER_JOB = (_JOB.c.instance_id == bindparam("b_instance"), _JOB.c.kind == "timer")
_DELETE_TIMERS = delete(_JOB).where(*_TIMER_JOB, _JOB.c.task_id.in_(bindparam("b_task_ids", expanding=True)))
_MOVE_TIMER = (update(_JOB).where(*_TIMER_JOB, _JOB.c.task_id == bindparam("b_task"))
               .values(due_at=bindparam("b_due"), element_id=bindparam("b_element"), lease_owner=None,
                       lease_until=None, attempts=0))
_RENAME_TIMER = (update(_JOB).where(*_TIMER_JOB, _JOB.c.task_id == bindparam("b_task"))
                 .values(element_id=bindparam("b_element")))


def summary_of(data: dict) -> dict:
    return {k: data.get(k) for k in SUMMARY_KEYS if data.get(k) is not None}


def signatures(timers, waiting: list[str]) -> dict:
    """What the instance summary remembers, so unchanged timer/message projections are not rewritten."""
    return {"_timers": sorted(f"{t.task_id}@{t.element_id}@{t.due_at.isoformat()}" for t in timers),
            "_messages": sorted(waiting)}


# -- a batch of changes under locks taken together (the job sweep) ----------------------------
# The sweep locks a batch's instances in one statement and then changes them one after the other in
# the same transaction. It may read their open task rows in one query beforehand (each instance's
# entry serves the first change of that instance only: sync_tasks pops it) and tell which timer rows
# its jobs deleted (their rows need no DELETE or UPDATE when the change removes or moves the timer).
_PREFETCHED, _CONSUMED = "open_task_rows", "consumed_timer_rows"
_OPEN_TASKS_OF = select(_HT).where(_HT.c.instance_id.in_(bindparam("ids", expanding=True)), _HT.c.state == "open")


def prefetch_open_tasks(session: Session, instance_ids) -> None:
    """Read the open task rows of instances this transaction holds locked, for their next change.

    Only rows of locked instances: what ``sync_tasks`` compares (due, warning, element, name, lane,
    forms, stage, tier) and which rows are open change only under the instance's lock."""
    ids = sorted(set(instance_ids))
    rows: dict[int, dict[str, dict]] = {i: {} for i in ids}
    if ids:
        for row in session.connection().execute(_OPEN_TASKS_OF, {"ids": ids}).mappings():
            rows[row["instance_id"]][row["id"]] = dict(row)
    session.info[_PREFETCHED] = rows


def timer_row_consumed(session: Session, instance_id: int, task_id: str) -> None:
    """This transaction deleted the timer job row of ``task_id`` (the sweep took the job to fire it)."""
    session.info.setdefault(_CONSUMED, set()).add((instance_id, task_id))


def end_batch(session: Session) -> None:
    session.info.pop(_PREFETCHED, None)
    session.info.pop(_CONSUMED, None)


def _prefetched(session: Session, instance_id: int) -> dict[str, dict] | None:
    cache = session.info.get(_PREFETCHED)
    return None if cache is None else cache.pop(instance_id, None)


def sync_tasks(session: Session, instance: Instance, views, summary: dict, new: bool,
               known_open: set[str] | None = None) -> list[SimpleNamespace]:
    """Bring the instance's open task rows in step with the engine; returns the open rows.

    ``known_open``: the ids whose rows are open when the engine result is all that is needed (the
    change path knows them from the workflow it restored: the projection of the previous change).
    Then only rows that stay open are read (none in a sequential flow; none at all when the sweep
    prefetched them), rows that left are closed by id, new ones inserted. Without it every open row
    of the instance is read and diffed (doctor repair, migration). The returned objects are
    transient snapshots for the response.
    """
    ready = {v.id: v for v in views}
    conn = session.connection()
    now = clock.now()
    prefetched = _prefetched(session, instance.id)  # consumed by this change whichever branch runs
    if new:
        open_rows, gone = {}, []
    elif known_open is None:
        open_rows = {row["id"]: dict(row) for row in conn.execute(_OPEN_TASKS, {"instance_id": instance.id})
                     .mappings()}
        gone = [task_id for task_id in open_rows if task_id not in ready]
    else:
        kept = [task_id for task_id in ready if task_id in known_open]
        if prefetched is not None:
            open_rows = {task_id: prefetched[task_id] for task_id in kept if task_id in prefetched}
        else:
            open_rows = {row["id"]: dict(row) for row in conn.execute(_OPEN_TASKS_BY_ID, {"ids": kept})
                         .mappings()} if kept else {}
        gone = sorted(task_id for task_id in known_open if task_id not in ready)
    if gone:
        conn.execute(_CANCEL_TASKS, {"b_ids": gone, "b_now": now})
    result: list[SimpleNamespace] = []
    new_rows: list[dict] = []
    for task_id, view in ready.items():
        row = open_rows.get(task_id)
        scope = {**summary, **summary_of(view.data)}
        if row is None:
            row = _new_task_row(instance, view, scope, now)
            row["candidate_orgs"], row["candidate_users"] = candidates.named(session, row["lane"], view.data or {})
            new_rows.append(row)
        else:
            _update_task_row(conn, row, view, scope)
        result.append(SimpleNamespace(**row))
    if new_rows:  # one multi-row INSERT
        write_behind.execute(conn, _INSERT_TASKS, new_rows, rows=[("human_task", r["id"]) for r in new_rows])
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


def _update_task_row(conn, row: dict, view, scope: dict) -> None:
    """An open task after a change: deadlines and warning move, and after a migration the element's
    id, name, lane and forms are the target version's."""
    changes = {"due_at": view.due_at, "warning": view.warning, "name": view.name, "element_id": view.element_id,
               "lane": (view.lane or "").strip() or None, "form_file": view.form_file, "ui_file": view.ui_file,
               "stage": _str(scope.get("stage")) or row["stage"], "tier": _str(scope.get("tier")) or row["tier"]}
    changes = {k: v for k, v in changes.items() if row[k] != v}
    if changes:
        write_behind.execute(conn, _update_task_statement(tuple(changes)),
                             {"b_id": row["id"], **{f"b_{k}": v for k, v in changes.items()}},
                             rows=[("human_task", row["id"])])
        row.update(changes)


_UPDATE_TASK: dict[tuple[str, ...], object] = {}  # one statement per set of changed columns (≤ 2^10)


def _update_task_statement(columns: tuple[str, ...]):
    stmt = _UPDATE_TASK.get(columns)
    if stmt is None:
        stmt = _UPDATE_TASK[columns] = (update(_HT).where(_HT.c.id == bindparam("b_id"))
                                        .values({c: bindparam(f"b_{c}") for c in columns}))
    return stmt


def _int(value):
    """A project id for the 32-bit column, or None (data may hold anything)."""
    try:
        number = int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError, OverflowError):
        return None
    return number if number is not None and -2**31 <= number < 2**31 else None


def _str(value):
    return None if value is None else str(value)[:300]


def sync_timers(session: Session, instance: Instance, timers, new: bool, previous: list[str] | None = None) -> None:
    """One job row per waiting timer of the instance, keyed by the engine's task id.

    ``previous``: the timer signature the last change wrote (:func:`signatures`), trusted on the change
    path; the rows are then changed by task id without reading them first. Without it (or when it
    does not parse) the instance's timer rows are read and diffed.
    """
    marks = None if new or previous is None else _parse_marks(previous)
    if marks is None:
        _sync_timers_by_rows(session, instance, timers, new)
        return
    conn = session.connection()
    current = {t.task_id: t for t in timers}
    consumed = {task_id for i, task_id in session.info.get(_CONSUMED, ()) if i == instance.id}
    gone = sorted(task_id for task_id in marks if task_id not in current and task_id not in consumed)
    if gone:
        conn.execute(_DELETE_TIMERS, {"b_instance": instance.id, "b_task_ids": gone})
    fresh = []
    for task_id, timer in current.items():
        mark = marks.get(task_id)
        if mark is None or task_id in consumed:  # no row (yet, or any more: the firing job deleted it)
            fresh.append(timer)
            continue
        values = {"b_instance": instance.id, "b_task": task_id, "b_element": timer.element_id}
        if mark[1] != timer.due_at.isoformat():  # a cycle moved on: a fresh, unleased row
            moved = conn.execute(_MOVE_TIMER, {**values, "b_due": timer.due_at})
        elif mark[0] != timer.element_id:  # renamed by a migration
            moved = conn.execute(_RENAME_TIMER, values)
        else:
            continue
        if moved.rowcount == 0:  # the firing job consumed the row in this transaction
            fresh.append(timer)
    _insert_timers(session, instance, fresh)


def _parse_marks(previous: list[str]) -> dict[str, tuple[str, str]] | None:
    """task id → (element id, due iso) of a stored signature; None when any entry is not one."""
    marks = {}
    for entry in previous:
        parts = entry.split("@") if isinstance(entry, str) else ()
        if len(parts) != 3 or not all(parts):
            return None
        marks[parts[0]] = (parts[1], parts[2])
    return marks


def _insert_timers(session: Session, instance: Instance, timers) -> None:
    if timers:
        consumed = session.info.get(_CONSUMED)
        if consumed:  # the timer has a row again
            consumed.difference_update((instance.id, t.task_id) for t in timers)
        conn = session.connection()
        now = clock.now()
        conn.execute(_INSERT_JOBS, [{"kind": "timer", "due_at": t.due_at, "instance_id": instance.id,
                                     "task_id": t.task_id, "element_id": t.element_id, "payload": {"cycle": t.cycle},
                                     "attempts": 0, "created_at": now} for t in timers])


def _sync_timers_by_rows(session: Session, instance: Instance, timers, new: bool) -> None:
    conn = session.connection()
    current = {t.task_id: t for t in timers}
    rows = {} if new else {r.task_id: r for r in conn.execute(
        select(_JOB.c.id, _JOB.c.task_id, _JOB.c.due_at, _JOB.c.element_id).where(
            _JOB.c.instance_id == instance.id, _JOB.c.kind == "timer"))}
    gone = [r.id for task_id, r in rows.items() if task_id not in current]
    if gone:
        conn.execute(delete(_JOB).where(_JOB.c.id.in_(gone)))
    for task_id, r in rows.items():
        timer = current.get(task_id)
        values = {"b_instance": instance.id, "b_task": task_id, "b_element": getattr(timer, "element_id", None)}
        if timer is not None and r.due_at != timer.due_at:  # a cycle moved on: a fresh, unleased row
            conn.execute(_MOVE_TIMER, {**values, "b_due": timer.due_at})
        elif timer is not None and r.element_id != timer.element_id:  # renamed by a migration
            conn.execute(_RENAME_TIMER, values)
    _insert_timers(session, instance, [t for task_id, t in current.items() if task_id not in rows])


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
