"""Human tasks: inbox queries over the projection, claim/unclaim/complete as conditional updates."""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from app import clock
from app.engine import element_instructions
from app.errors import Conflict, NotAllowed, NotFound
from app.models.auth import User
from app.models.runtime import HumanTask, Instance
from app.roles import ROLES
from app.services import audit, forms
from app.services.instances import StepResult, Unit, _bundle, describe, run_change, task_summary


def visibility(user: User):
    """SQL condition: the open tasks ``user`` may see and act on (role + jurisdiction).

    Written as a top-level OR of branches that each start with ``state = 'open'`` so that SQLite and
    PostgreSQL can answer every branch from an index (multi-index OR / bitmap OR).
    """
    open_ = HumanTask.state == "open"
    if user.is_admin:
        return open_
    branches = [and_(open_, HumanTask.assignee == user.username), and_(open_, HumanTask.lane.is_(None))]
    region = user.region_code
    unscoped = []
    for role in user.roles or []:
        meta = ROLES.get(role)
        if meta is None:
            continue
        if meta.scoped and region:
            branches.append(and_(open_, HumanTask.lane == role, HumanTask.region_code == region))
            branches.append(and_(open_, HumanTask.lane == role, HumanTask.region_code.is_(None)))
        else:
            unscoped.append(role)
    if unscoped:
        branches.append(and_(open_, HumanTask.lane.in_(unscoped)))
    return or_(*branches)


def can_act(user: User, task: HumanTask) -> bool:
    if user.is_admin:
        return True
    if task.assignee and task.assignee != user.username:
        return False
    if task.lane is None or task.assignee == user.username:
        return True
    if task.lane not in (user.roles or []):
        return False
    meta = ROLES.get(task.lane)
    if meta and meta.scoped and user.region_code and task.region_code and task.region_code != user.region_code:
        return False
    return True


def can_see(user: User, task: HumanTask) -> bool:
    if user.is_admin or task.assignee == user.username:
        return True
    unassigned = HumanTask(**{c: getattr(task, c) for c in ("lane", "region_code")})
    return can_act(user, unassigned)


FILTERS = ("process_key", "instance_id", "element_id", "stage", "region_code", "tier", "warning", "lane")


def list_tasks(session: Session, user: User, *, filters: dict | None = None, page: int = 1, per_page: int = 20,
               search: str | None = None, sort: str = "due", mine: bool = False) -> dict:
    filters = filters or {}
    cond = [visibility(user)]
    for key in FILTERS:
        value = filters.get(key)
        if value not in (None, ""):
            column = getattr(HumanTask, key)
            cond.append(column == (int(value) if key == "instance_id" else value))
    if filters.get("due") == "overdue":
        cond.append(HumanTask.due_at < clock.now())
    if mine:
        cond.append(HumanTask.assignee == user.username)
    if search:
        cond.append(HumanTask.project_name.contains(search) | HumanTask.name.contains(search))
    total = session.scalar(select(func.count()).select_from(HumanTask).where(*cond))
    order = [HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.created_at] if sort == "due" \
        else [HumanTask.created_at.desc()]
    per_page = max(1, min(int(per_page or 20), 200))
    page = max(1, int(page or 1))
    rows = session.scalars(select(HumanTask).where(*cond).order_by(*order, HumanTask.id)
                           .offset((page - 1) * per_page).limit(per_page)).all()
    return {"items": [task_summary(t) for t in rows], "total": total, "page": page, "per_page": per_page}


def counts(session: Session, user: User, column: str) -> dict:
    col = getattr(HumanTask, column)
    rows = session.execute(select(col, func.count()).where(visibility(user))
                           .group_by(col)).all()
    return {str(k) if k is not None else "": n for k, n in rows}


def get_task(session: Session, task_id: str) -> HumanTask:
    task = session.get(HumanTask, task_id)
    if task is None:
        raise NotFound(f"任务 {task_id} 不存在 / task not found")
    return task


def task_detail(session: Session, user: User, task_id: str) -> dict:
    task = get_task(session, task_id)
    if not can_see(user, task):
        raise NotAllowed("无权查看此任务 / you may not see this task")
    instance = session.get(Instance, task.instance_id)
    out = task_summary(task)
    out["form"] = forms.load_form(session, instance.version_id, task.form_file)
    out["ui_schema"] = forms.load_form(session, instance.version_id, task.ui_file)
    out["draft"] = task.draft or {}
    out["instructions"] = element_instructions(_bundle(session, instance.version_id), task.element_id)
    out["version_id"] = instance.version_id
    out["business_key"] = instance.business_key
    out["completed_by"] = task.completed_by
    return out


def claim_task(session: Session, user: User, task_id: str) -> dict:
    task = get_task(session, task_id)
    if task.state != "open":
        raise Conflict("任务已完成或已取消 / task is no longer open")
    if task.assignee and task.assignee != user.username:
        raise Conflict(f"任务已被 {task.assignee} 认领 / task already claimed by someone else")
    if not can_act(user, task):
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
    if not can_act(user, task):
        raise NotAllowed("你不是此任务的候选人 / you are not a candidate for this task")
    task.draft = data


_TASK_WITH_VERSION = (select(HumanTask.__table__, Instance.version_id.label("_version_id"))
                      .join(Instance, Instance.id == HumanTask.__table__.c.instance_id)
                      .where(HumanTask.__table__.c.id == bindparam("task_id")))
_MARK_COMPLETED = (update(HumanTask.__table__)
                   .where(HumanTask.__table__.c.id == bindparam("task_id"), HumanTask.__table__.c.state == "open")
                   .values(state="completed", completed_at=bindparam("completed_at"),
                           completed_by=bindparam("completed_by"), draft=None))


def complete_task(session: Session, user: User, task_id: str, data: dict | None) -> dict:
    """Validate against the version's form, then complete under the instance lock (one transaction)."""
    found = session.execute(_TASK_WITH_VERSION, {"task_id": task_id}).mappings().first()
    if found is None:
        raise NotFound(f"任务 {task_id} 不存在 / task not found")
    row = dict(found)
    version_id = row.pop("_version_id")
    task = SimpleNamespace(**row)  # a read-only snapshot (plain SQL on the hot path)
    if task.state != "open":
        raise Conflict("任务已完成或已取消 / task is no longer open")
    if not can_act(user, task):
        raise NotAllowed("你不是此任务的候选人 / you are not a candidate for this task")
    instance_id = task.instance_id
    schema = forms.load_form(session, version_id, task.form_file)
    data = forms.validate(schema, data if data is not None else {})

    def change(unit: Unit) -> StepResult:
        # conditional update under the lock: a concurrent completion may have won meanwhile
        if unit.instance.version_id != version_id or not unit.runner.task_exists(task_id):
            raise Conflict("任务已完成或已取消 / task is no longer open")
        marked = session.connection().execute(_MARK_COMPLETED, {
            "task_id": task_id, "completed_at": clock.now(), "completed_by": user.username})
        if marked.rowcount != 1:
            raise Conflict("任务已完成或已取消 / task is no longer open")
        element_id, name = task.element_id, task.name
        unit.ctx.actor = user.username
        result = unit.runner.complete(task_id, data)
        audit.record(session, "task_completed", user.username, instance_id=instance_id, element_id=element_id,
                     detail={"task_id": task_id, "name": name})
        return result

    unit = run_change(session, instance_id, user.username, change)

    return describe(session, unit.instance, with_data=False, open_tasks=unit.open_tasks)
