"""The inbox: open tasks a user may see, as SQL over the task projection (filters, search, counts)."""

from __future__ import annotations

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from app import clock
from app.errors import BadRequest
from app.models.auth import User
from app.models.runtime import HumanTask
from app.services.access import visible_tasks
from app.services.runtime.instances import task_summary

FILTERS = ("process_key", "instance_id", "element_id", "stage", "region_code", "tier", "warning", "lane")


MAX_SEARCH = 100


def list_tasks(session: Session, user: User, *, filters: dict | None = None, page: int = 1, per_page: int = 20,
               search: str | None = None, sort: str = "due", mine: bool = False, scope: str = "unit") -> dict:
    """``scope``: ``unit`` (every open task I may see: my unit's and role's queue), ``mine`` (held by me or
    naming me), ``done`` (tasks I completed, 已办)."""
    filters = filters or {}
    cond = [scope_condition(user, "mine" if mine else scope)]
    for key in FILTERS:
        value = filters.get(key)
        if value not in (None, ""):
            column = getattr(HumanTask, key)
            cond.append(column == (int(value) if key == "instance_id" else value))
    if filters.get("due") == "overdue":
        cond.append(HumanTask.due_at < clock.now())
    if search:
        if len(search) > MAX_SEARCH:
            raise BadRequest(f"搜索内容不能超过 {MAX_SEARCH} 个字符 / search text is too long")
        cond.append(HumanTask.project_name.contains(search, autoescape=True)
                    | HumanTask.name.contains(search, autoescape=True))
    total = session.scalar(select(func.count()).select_from(HumanTask).where(*cond))
    order = [HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.created_at] if sort == "due" \
        else [HumanTask.created_at.desc()]
    if scope == "done" and not mine:
        order = [HumanTask.completed_at.desc()]
    per_page = max(1, min(int(per_page or 20), 200))
    page = max(1, int(page or 1))
    rows = session.scalars(select(HumanTask).where(*cond).order_by(*order, HumanTask.id)
                           .offset((page - 1) * per_page).limit(per_page)).all()
    return {"items": [task_summary(t) for t in rows], "total": total, "page": page, "per_page": per_page}


SCOPES = ("mine", "unit", "done")


def scope_condition(user: User, scope: str):
    if scope == "done":
        return and_(HumanTask.state == "completed", HumanTask.completed_by == user.username)
    if scope == "mine":
        return and_(visible_tasks(user), or_(
            HumanTask.assignee == user.username,
            and_(HumanTask.assignee.is_(None),
                 HumanTask.candidate_users.contains(f",{user.username},", autoescape=True))))
    return visible_tasks(user)


def scope_counts(session: Session, user: User) -> dict:
    """{scope: number of tasks} for the inbox tabs 我的 / 本单位 / 已办."""
    return {s: session.scalar(select(func.count()).select_from(HumanTask).where(scope_condition(user, s))) or 0
            for s in SCOPES}


def counts(session: Session, user: User, column: str) -> dict:
    col = getattr(HumanTask, column)
    rows = session.execute(select(col, func.count()).where(visible_tasks(user))
                           .group_by(col)).all()
    return {str(k) if k is not None else "": n for k, n in rows}
