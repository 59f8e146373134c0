"""Who may see or act — one rule, used by every page and API route (ARCHITECTURE "Roles and jurisdiction").

- Jurisdiction: ``user_region(user)`` is the county a user is confined to; ``None`` means city-wide
  (admins and users of city-level org units). ``check_region`` refuses objects of another county.
- Tasks: ``visible_tasks(user)`` is the SQL condition of the inbox; ``can_act_on_task`` and
  ``can_see_task`` decide for one task row: role (the lane), the county of county-scoped roles,
  and the assignee once a task is claimed.
- Instances: ``check_instance`` applies the county rule to an instance's summary.
A leaf: imports models and roles only.
"""

from __future__ import annotations

from sqlalchemy import and_, or_

from app.errors import NotAllowed
from app.models.runtime import HumanTask, Instance
from app.roles import ROLES

EXTERNAL_ROLES = frozenset({"investor", "investment_rep", "expert"})


def is_external(user) -> bool:
    """Investors, investment representatives and experts: they see only what is explicitly theirs."""
    roles = set(user.roles or [])
    return not user.is_admin and bool(roles) and roles <= EXTERNAL_ROLES


def user_region(user) -> str | None:
    """The county a user is confined to (``None``: admin or city level, sees every county)."""
    if user is None or user.is_admin:
        return None
    return user.region_code


def in_jurisdiction(user, region_code: str | None) -> bool:
    region = user_region(user)
    return not region or region_code == region


def check_region(user, region_code: str | None) -> None:
    """Refuse an object of another county (403)."""
    if not in_jurisdiction(user, region_code):
        raise NotAllowed("该对象不在您的管辖县区 / this is outside your jurisdiction")


def check_instance(user, instance: Instance) -> Instance:
    """Refuse an instance of another county; instances without a county follow the same rule."""
    check_region(user, (instance.summary or {}).get("region_code"))
    return instance


def visible_tasks(user):
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


def can_act_on_task(user, task) -> bool:
    """May ``user`` claim, save or complete ``task`` (a row or snapshot with lane, region_code, assignee)?"""
    if user.is_admin:
        return True
    if task.assignee and task.assignee != user.username:
        return False
    if task.lane is None or task.assignee == user.username:
        return True
    if task.lane not in (user.roles or []):
        return False
    meta = ROLES.get(task.lane)
    return not (meta and meta.scoped and user.region_code and task.region_code
                and task.region_code != user.region_code)


def can_see_task(user, task) -> bool:
    """Candidates see a task whoever claimed it; others see only tasks assigned to them."""
    if user.is_admin or task.assignee == user.username:
        return True
    unassigned = HumanTask(**{c: getattr(task, c) for c in ("lane", "region_code")})
    return can_act_on_task(user, unassigned)
