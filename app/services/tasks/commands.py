"""Commands on human tasks: claim / unclaim / save_draft / complete_task (conditional updates), task_view."""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session

from app import clock
from app.engine import StepResult, element_instructions
from app.errors import Conflict, NotAllowed, NotFound
from app.models.auth import User
from app.models.runtime import HumanTask, Instance
from app.params import check_value
from app.services import audit
from app.services.access import can_act_on_task, can_see_task, check_act_on_task
from app.services.definitions.versions import load_form, spec_for_version
from app.services.runtime.change import InstanceChange, adopt_locked, apply_change, snapshot
from app.services.runtime.instances import instance_view, task_summary
from app.services.tasks import forms, options


def get_task(session: Session, task_id: str) -> HumanTask:
    task = session.get(HumanTask, task_id)
    if task is None:
        raise NotFound(f"任务 {task_id} 不存在 / task not found")
    return task


def task_view(session: Session, user: User, task_id: str) -> dict:
    task = get_task(session, task_id)
    if not can_see_task(user, task):
        raise NotAllowed("无权查看此任务 / you may not see this task")
    instance = session.get(Instance, task.instance_id)
    out = task_summary(task)
    out["form"] = _expanded_form(session, instance, task, load_form(session, instance.version_id, task.form_file))
    out["ui_schema"] = load_form(session, instance.version_id, task.ui_file)
    out["draft"] = task.draft or {}
    out["instructions"] = element_instructions(spec_for_version(session, instance.version_id), task.element_id)
    out["version_id"] = instance.version_id
    out["business_key"] = instance.business_key
    out["completed_by"] = task.completed_by
    out["can_act"] = task.state == "open" and can_act_on_task(user, task)
    out["note"] = _server_note(session, instance, task) if task.state == "open" else None
    if out["note"]:  # shown with the instructions on the task page
        out["instructions"] = f"{out['instructions'] or ''}\n\n**{out['note']}**".strip()
    return out


def _server_note(session: Session, instance: Instance, task) -> str | None:
    from app.services.runtime.change import new_context

    return forms.server_note(new_context(session, instance, "system"), task)


def _expanded_form(session: Session, instance: Instance, task, schema: dict | None) -> dict | None:
    """The form with its ``x-options`` lists filled for this task (county, D2 category from the data)."""
    if not schema or "x-options" not in str(schema):
        return schema
    data = {"region_code": task.region_code}
    if "supervisors" in str(schema):
        from app.services.runtime.instances import instance_data

        data.update({k: v for k, v in instance_data(session, instance).items() if k in ("supervisor_role", "region_code")})
    return options.expand(session, schema, data)


def claim_task(session: Session, user: User, task_id: str) -> dict:
    task = get_task(session, task_id)
    if not can_see_task(user, task):  # before any conflict: who claimed it is not for everyone to learn
        raise NotAllowed("你不是此任务的候选人 / you are not a candidate for this task")
    if task.state != "open":
        raise Conflict("任务已完成或已取消 / task is no longer open")
    if task.assignee and task.assignee != user.username:
        raise Conflict(f"任务已被 {task.assignee} 认领 / task already claimed by someone else")
    if not can_act_on_task(user, task):
        raise NotAllowed("你不是此任务的候选人 / you are not a candidate for this task")
    result = session.execute(update(HumanTask).where(
        HumanTask.id == task_id, HumanTask.state == "open",
        or_(HumanTask.assignee.is_(None), HumanTask.assignee == user.username)).values(assignee=user.username)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise Conflict("任务已被他人认领 / task already claimed by someone else")
    audit.record(session, "task_claimed", user.username, instance_id=task.instance_id, element_id=task.element_id,
                 detail={"task_id": task_id})
    session.refresh(task)
    return task_summary(task)


def unclaim_task(session: Session, user: User, task_id: str) -> dict:
    task = get_task(session, task_id)
    if not can_see_task(user, task):
        raise NotAllowed("你不是此任务的候选人 / you are not a candidate for this task")
    if task.state != "open":
        raise Conflict("任务已完成或已取消 / task is no longer open")
    if task.assignee is None:
        raise Conflict("任务未被认领 / task is not claimed")
    if task.assignee != user.username and not user.is_admin:
        raise NotAllowed("只能退回自己认领的任务 / you can only unclaim your own task")
    session.execute(update(HumanTask).where(HumanTask.id == task_id, HumanTask.state == "open")
                    .values(assignee=None).execution_options(synchronize_session=False))
    audit.record(session, "task_unclaimed", user.username, instance_id=task.instance_id, element_id=task.element_id,
                 detail={"task_id": task_id})
    session.refresh(task)
    return task_summary(task)


def save_draft(session: Session, user: User, task_id: str, data: dict) -> None:
    task = get_task(session, task_id)
    if task.state != "open":
        raise Conflict("任务已完成或已取消 / task is no longer open")
    check_act_on_task(user, task)
    task.draft = check_value(data or {})


_TASK_COLUMNS = list(HumanTask.__table__.c)
_INSTANCE_COLUMNS = list(Instance.__table__.c)
_INSTANCE_NAMES = [c.name for c in _INSTANCE_COLUMNS]
_TASK_AND_INSTANCE = (select(*_TASK_COLUMNS, *[c.label(f"_i_{c.name}") for c in _INSTANCE_COLUMNS])
                      .join_from(HumanTask.__table__, Instance.__table__,
                                 Instance.__table__.c.id == HumanTask.__table__.c.instance_id)
                      .where(HumanTask.__table__.c.id == bindparam("task_id")))
_TASK_AND_LOCKED_INSTANCE = _TASK_AND_INSTANCE.with_for_update(of=Instance.__table__)


def _locked_task(session: Session, task_id: str) -> tuple[SimpleNamespace, Instance]:
    """The task row and its instance row in one statement, the instance locked for this transaction
    (``FOR UPDATE OF instance`` on PostgreSQL; SQLite writers hold the write lock): snapshots."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    found = session.connection().execute(_TASK_AND_INSTANCE if sqlite else _TASK_AND_LOCKED_INSTANCE,
                                         {"task_id": task_id}).first()
    if found is None:
        raise NotFound(f"任务 {task_id} 不存在 / task not found")
    values = tuple(found)
    split = len(_TASK_COLUMNS)
    task = SimpleNamespace(**{c.name: v for c, v in zip(_TASK_COLUMNS, values[:split], strict=True)})
    instance = snapshot(zip(_INSTANCE_NAMES, values[split:], strict=True))
    return task, instance


_MARK_COMPLETED = (update(HumanTask.__table__)
                   .where(HumanTask.__table__.c.id == bindparam("task_id"), HumanTask.__table__.c.state == "open")
                   .values(state="completed", completed_at=bindparam("completed_at"),
                           completed_by=bindparam("completed_by"), draft=None))


def complete_task(session: Session, user: User, task_id: str, data: dict | None, authorised: bool = False) -> dict:
    """Validate against the version's form, then complete under the instance lock (one transaction).
    ``authorised``: the caller has already decided this user may act (揭牌认领 by a unit outside the lane)."""
    check_value(data or {})
    task, instance = _locked_task(session, task_id)
    if task.state != "open":
        raise Conflict("任务已完成或已取消 / task is no longer open")
    if not authorised:
        check_act_on_task(user, task)
    instance_id, version_id = instance.id, instance.version_id
    schema = load_form(session, version_id, task.form_file)
    if schema and "x-options" in str(schema):  # fields chosen from the org tree (tasks.options)
        schema = _expanded_form(session, instance, task, schema)
    data = forms.validate(schema, data if data is not None else {})
    options.check_reasons(schema, data)
    adopt_locked(session, instance)  # the change uses the row read (and locked) with the task

    def change(unit: InstanceChange) -> StepResult:
        # conditional update under the lock: a concurrent completion may have won meanwhile
        if unit.instance.version_id != version_id or not unit.runner.task_exists(task_id):
            raise Conflict("任务已完成或已取消 / task is no longer open")
        unit.ctx.actor = user.username
        checked = forms.server_check(unit.ctx, task, data)  # e.g. stage evidence (422, nothing changes)
        marked = session.connection().execute(_MARK_COMPLETED, {
            "task_id": task_id, "completed_at": clock.now(), "completed_by": user.username})
        if marked.rowcount != 1:
            raise Conflict("任务已完成或已取消 / task is no longer open")
        unit.closed.add(task_id)
        result = unit.runner.complete(task_id, checked)
        unit.events.append(audit.event("task_completed", user.username, instance_id=instance_id,
                                       element_id=task.element_id, detail={"task_id": task_id, "name": task.name}))
        return result

    unit = apply_change(session, instance_id, user.username, change)

    return instance_view(session, unit.instance, with_data=False, open_tasks=unit.open_tasks)
