"""The inbox: open tasks a user may see, as SQL over the task projection (filters, search, counts)."""

from __future__ import annotations

from sqlalchemy import func, select
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
               search: str | None = None, sort: str = "due", mine: bool = False) -> dict:
    filters = filters or {}
    cond = [visible_tasks(user)]
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
        if len(search) > MAX_SEARCH:
            raise BadRequest(f"搜索内容不能超过 {MAX_SEARCH} 个字符 / search text is too long")
        cond.append(HumanTask.project_name.contains(search, autoescape=True)
                    | HumanTask.name.contains(search, autoescape=True))
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
    rows = session.execute(select(col, func.count()).where(visible_tasks(user))
                           .group_by(col)).all()
    return {str(k) if k is not None else "": n for k, n in rows}
