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


# Who may create and edit projects and target enterprises (项目库, 目标企业库). County-level users of these
# roles write only in their own county; city-level users of the office/IPB and admins anywhere.
PROJECT_EDITORS = frozenset({"zsw_office", "city_ipb", "county_ipb", "county_gov", "park_admin"})


def may_edit_projects(user) -> bool:
    return user is not None and (user.is_admin or bool(PROJECT_EDITORS & set(user.roles or [])))


def check_project_write(user, region_code: str | None) -> None:
    """Refuse a project write without an editor role (403), or in another county (403)."""
    if not may_edit_projects(user):
        raise NotAllowed("无权登记或修改项目 / you may not create or edit projects")
    if region_code is not None:
        check_region(user, region_code)


# Who may start which process from the 发起流程 page (admins: every process). A declared table until the
# access issue's start permissions land; processes not listed are started by admins only (or by timers).
START_PERMISSIONS: dict[str, frozenset[str]] = {
    "library_admission": frozenset({"county_ipb", "park_admin", "zsw_office", "city_ipb"}),
    "project_lifecycle": frozenset({"zsw_office", "city_ipb"}),
    "visitor_routing": frozenset({"zsw_office", "city_ipb", "county_ipb"}),
    "complaint_handling": frozenset({"zsw_office"}),
    "project_prereview": frozenset({"zsw_office"}),
    "project_exit": frozenset({"zsw_office"}),
}


def can_start(user, process_key: str) -> bool:
    if user is None:
        return False
    if user.is_admin:
        return True
    return bool(START_PERMISSIONS.get(process_key, frozenset()) & set(user.roles or []))


def check_start(user, process_key: str) -> None:
    if not can_start(user, process_key):
        raise NotAllowed(f"无权发起流程 {process_key} / you may not start {process_key}")


def check_instance(user, instance: Instance) -> Instance:
    """Refuse an instance of another county; instances without a county follow the same rule."""
    check_region(user, (instance.summary or {}).get("region_code"))
    return instance


def org_key(user) -> str | None:
    """The key of the user's org unit (what ``L_org`` names)."""
    return user.org_unit.key if user is not None and getattr(user, "org_unit", None) is not None else None


def _named(text: str | None) -> list[str]:
    return [k for k in (text or "").split(",") if k]


def visible_tasks(user):
    """SQL condition: the open tasks ``user`` may see and act on.

    A task row names its candidates (docs/CONTRACTS.md "Named units and people"): ``candidate_users``
    set → exactly those people; else ``candidate_orgs`` set → holders of the lane's role in those units;
    else role + jurisdiction. Written as a top-level OR of branches that each start with
    ``state = 'open'`` so that SQLite and PostgreSQL can answer every branch from an index.
    """
    open_ = HumanTask.state == "open"
    if user.is_admin:
        return open_
    branches = [and_(open_, HumanTask.assignee == user.username),
                and_(open_, HumanTask.candidate_users.contains(f",{user.username},", autoescape=True)),
                and_(open_, HumanTask.lane.is_(None))]
    unnamed = HumanTask.candidate_users.is_(None)
    no_org = HumanTask.candidate_orgs.is_(None)
    org = org_key(user)
    region = user.region_code
    roles = [r for r in (user.roles or []) if r in ROLES]
    if org and roles:
        branches.append(and_(open_, HumanTask.lane.in_(roles), unnamed,
                             HumanTask.candidate_orgs.contains(f",{org},", autoescape=True)))
    unscoped = []
    for role in roles:
        if ROLES[role].scoped and region:
            branches.append(and_(open_, HumanTask.lane == role, HumanTask.region_code == region, unnamed, no_org))
            branches.append(and_(open_, HumanTask.lane == role, HumanTask.region_code.is_(None), unnamed, no_org))
        else:
            unscoped.append(role)
    if unscoped:
        branches.append(and_(open_, HumanTask.lane.in_(unscoped), unnamed, no_org))
    return or_(*branches)


def is_candidate(user, task) -> bool:
    """Is ``user`` a candidate of ``task`` (ignoring who holds it)? Named people, named units, role + county."""
    users = _named(getattr(task, "candidate_users", None))
    if users:
        return user.username in users
    if task.lane is None:
        return True
    if task.lane not in (user.roles or []):
        return False
    orgs = _named(getattr(task, "candidate_orgs", None))
    if orgs:
        return org_key(user) in orgs
    meta = ROLES.get(task.lane)
    return not (meta and meta.scoped and user.region_code and task.region_code
                and task.region_code != user.region_code)


def why_not_candidate(user, task) -> str:
    """A Chinese-first reason why ``user`` is not a candidate (for 422 messages)."""
    users = _named(getattr(task, "candidate_users", None))
    if users:
        return f"此任务指定由 {'、'.join(users)} 办理 / the task names {', '.join(users)}"
    if task.lane not in (user.roles or []):
        role = ROLES.get(task.lane)
        return f"{user.username} 没有角色“{role.name if role else task.lane}” / lacks role {task.lane}"
    orgs = _named(getattr(task, "candidate_orgs", None))
    if orgs:
        return (f"{user.username} 不属于指定单位 {'、'.join(orgs)} / not a member of the named unit(s) "
                f"{', '.join(orgs)}")
    return f"{user.username} 不在此任务的县(区) / outside the task's county"


def can_act_on_task(user, task) -> bool:
    """May ``user`` claim, save or complete ``task``? A task held by a person is theirs alone."""
    if task.assignee:
        return task.assignee == user.username
    return user.is_admin or is_candidate(user, task)


def check_act_on_task(user, task) -> None:
    """Raise 403 naming the holder, or saying the user is no candidate."""
    if task.assignee and task.assignee != user.username:
        raise NotAllowed(f"此任务已指派给 {task.assignee},只能由其办理 / the task is assigned to {task.assignee}")
    if not can_act_on_task(user, task):
        raise NotAllowed("你不是此任务的候选人 / you are not a candidate for this task")


# Roles that oversee and (re)assign every task in their jurisdiction (the office coordinates the city's work).
TASK_OVERSEERS = frozenset({"zsw_office"})


def can_see_task(user, task) -> bool:
    """Candidates see a task whoever holds it; the office sees tasks in its jurisdiction (to assign them);
    others see only tasks assigned to them."""
    if user.is_admin or task.assignee == user.username:
        return True
    if TASK_OVERSEERS & set(user.roles or []) and in_jurisdiction(user, task.region_code):
        return True
    return is_candidate(user, task)
