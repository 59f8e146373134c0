"""The inbox: open tasks a user may see, as SQL over the task projection (filters, search, counts).

Every query here is answered from an index of ``human_task`` (docs/ARCHITECTURE-NOTES.md "Sweep and
inbox at scale"): the visibility rule is a top-level OR whose branches each have an index, the page
ordered by due date reads ``ix_human_task_open_due`` in order, and the facet counts of the page
come from one grouped pass (``inbox_summary``) instead of one COUNT per facet and tab.
"""

from __future__ import annotations

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session, defer

from app import clock
from app.errors import BadRequest
from app.models.auth import User
from app.models.runtime import HumanTask
from app.services.access import visible_tasks
from app.services.runtime.instances import task_summary

FILTERS = ("process_key", "instance_id", "element_id", "stage", "region_code", "tier", "warning", "lane")
FACETS = ("process_key", "stage", "region_code", "tier", "warning")

MAX_SEARCH = 100
COUNT_LIMIT = 1000  # the inbox shows "1000+" instead of counting every matching row
_UNSHOWN = (defer(HumanTask.draft), defer(HumanTask.form_file), defer(HumanTask.ui_file),
            defer(HumanTask.completed_at))


def _conditions(user: User, filters: dict, search: str | None, scope: str) -> list:
    cond = [scope_condition(user, scope)]
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
    return cond


def count_matching(session: Session, cond: list, limit: int | None = None) -> int:
    """COUNT of the rows matching ``cond``; with ``limit`` it stops after ``limit + 1`` rows."""
    if limit is None:
        return session.scalar(select(func.count()).select_from(HumanTask).where(*cond)) or 0
    sub = select(HumanTask.id).where(*cond).limit(limit + 1).subquery()
    return session.scalar(select(func.count()).select_from(sub)) or 0


def list_tasks(session: Session, user: User, *, filters: dict | None = None, page: int = 1, per_page: int = 20,
               search: str | None = None, sort: str = "due", mine: bool = False, scope: str = "unit",
               count_limit: int | None = None, count: bool = True) -> dict:
    """``scope``: ``unit`` (every open task I may see: my unit's and role's queue), ``mine`` (held by me or
    naming me), ``done`` (tasks I completed, 已办).

    ``total`` is exact unless ``count_limit`` is given: then it is at most ``count_limit`` and
    ``total_capped`` says that more rows match. ``count=False`` skips the count (``total`` is None).
    """
    scope = "mine" if mine else scope
    cond = _conditions(user, filters or {}, search, scope)
    per_page = max(1, min(int(per_page or 20), 200))
    page = max(1, int(page or 1))
    total, capped = None, False
    if count:
        total = count_matching(session, cond, count_limit)
        if count_limit is not None and total > count_limit:
            total, capped = count_limit, True
    rows = _page_rows(session, cond, sort, scope, (page - 1) * per_page, per_page)
    result = {"items": [task_summary(t) for t in rows], "total": total, "page": page, "per_page": per_page}
    if count_limit is not None:
        result["total_capped"] = capped
    return result


def _page_rows(session: Session, cond: list, sort: str, scope: str, offset: int, limit: int) -> list[HumanTask]:
    base = select(HumanTask).options(*_UNSHOWN).where(*cond)
    if scope == "done" or sort != "due":
        order = HumanTask.completed_at.desc() if scope == "done" else HumanTask.created_at.desc()
        return list(session.scalars(base.order_by(order, HumanTask.id).offset(offset).limit(limit)))
    # by due date, tasks without one last — as ORDER BY due_at IS NULL, due_at, created_at, id, but in two
    # index-ordered reads (dated, then undated) so that no read sorts every visible row
    dated = HumanTask.due_at.is_not(None)
    rows = list(session.scalars(base.where(dated).order_by(HumanTask.due_at, HumanTask.created_at, HumanTask.id)
                                .offset(offset).limit(limit)))
    if len(rows) == limit:
        return rows
    skip = 0
    if not rows and offset:  # the page starts past the dated rows: how many of them precede it
        sub = select(HumanTask.id).where(*cond, dated).limit(offset).subquery()
        skip = offset - (session.scalar(select(func.count()).select_from(sub)) or 0)
    rows += session.scalars(base.where(HumanTask.due_at.is_(None)).order_by(HumanTask.created_at, HumanTask.id)
                            .offset(skip).limit(limit - len(rows)))
    return rows


SCOPES = ("mine", "unit", "done")


def scope_condition(user: User, scope: str):
    if scope == "done":
        return and_(HumanTask.state == "completed", HumanTask.completed_by == user.username)
    if scope == "mine":
        return and_(visible_tasks(user), or_(
            HumanTask.assignee == user.username,
            and_(HumanTask.assignee.is_(None), HumanTask.candidate_users.is_not(None),  # (partial index)
                 HumanTask.candidate_users.contains(f",{user.username},", autoescape=True))))
    return visible_tasks(user)


def scope_counts(session: Session, user: User, unit: int | None = None) -> dict:
    """{scope: number of tasks} for the inbox tabs 我的 / 本单位 / 已办 (``unit`` when already known)."""
    return {s: unit if s == "unit" and unit is not None else
            session.scalar(select(func.count()).select_from(HumanTask).where(scope_condition(user, s))) or 0
            for s in SCOPES}


def inbox_summary(session: Session, user: User) -> dict:
    """The inbox's counts in one grouped pass over the visible tasks.

    ``{"total": n, "overdue": n, "by": {facet: {value: n}}}`` — what ``counts`` gives per facet, for
    every facet of FACETS at once ('' for no value), plus the total and the overdue count.
    """
    cols = [getattr(HumanTask, k) for k in FACETS]
    overdue = func.sum(case((HumanTask.due_at < clock.now(), 1), else_=0))
    rows = session.execute(select(*cols, func.count(), overdue).where(visible_tasks(user)).group_by(*cols)).all()
    by: dict[str, dict[str, int]] = {k: {} for k in FACETS}
    total = late = 0
    for row in rows:
        n = row[-2]
        total, late = total + n, late + (row[-1] or 0)
        for key, value in zip(FACETS, row[:len(FACETS)], strict=True):
            label = str(value) if value is not None else ""
            by[key][label] = by[key].get(label, 0) + n
    return {"total": total, "overdue": late, "by": by}


def counts(session: Session, user: User, column: str) -> dict:
    col = getattr(HumanTask, column)
    rows = session.execute(select(col, func.count()).where(visible_tasks(user))
                           .group_by(col)).all()
    return {str(k) if k is not None else "": n for k, n in rows}
