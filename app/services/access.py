"""Who may see or act — one rule, used by every page and API route (ARCHITECTURE "Roles and jurisdiction").

- Jurisdiction: ``user_region(user)`` is the county a user is confined to; ``None`` means city-wide
  (admins and city roles of an org without region); ``NO_REGION`` means no county at all (external
  roles, or an org without region and no city role). ``check_region`` refuses objects of another county.
- Tasks: ``visible_tasks(user)`` is the SQL condition of the inbox; ``can_act_on_task`` and
  ``can_see_task`` decide for one task row: role (the lane), jurisdiction (lane-less tasks too), and
  the assignee once a task is claimed. External roles see only tasks assigned to them.
- Instances: ``can_see_instance`` / ``check_instance`` — city-wide cycles (roles.CITY_WIDE_PROCESSES)
  for city roles only; otherwise the instance's county, or a task of it the user may see, or its starter.
- Starts and messages: ``check_start`` (declared roles, start-data region, project exists and is
  visible) and ``check_message`` (declared roles, jurisdiction over every target, broadcast admin only).
- Named units and people: a task row may name its candidates (``candidate_users``, ``candidate_orgs``
  from the lane's ``L_user`` / ``L_org`` data, docs/CONTRACTS.md); those narrow the role + county rule.
- Projects: ``check_project_write`` (editor roles, own county).
A leaf: imports models and roles only.
"""

from __future__ import annotations

from sqlalchemy import and_, exists, or_, select

from app.errors import Invalid, NotAllowed
from app.models.runtime import HumanTask, Instance
from app.roles import CITY_WIDE_PROCESSES, MESSAGE_PERMISSIONS, ROLES, START_PERMISSIONS

NO_REGION = "-"  # matches no county: what a user outside every jurisdiction is confined to
OUTSIDE = "该对象不在您的管辖县区 / this is outside your jurisdiction"


def _roles(user):
    return [ROLES[r] for r in (user.roles or []) if r in ROLES]


def is_city(user) -> bool:
    """Admin, or a city role in an org without region: every county."""
    if user is None:
        return False
    if user.is_admin:
        return True
    return not user.region_code and any(r.city for r in _roles(user))


def is_external(user) -> bool:
    """Only external roles (investor, expert, investment representative)."""
    roles = _roles(user)
    return bool(roles) and all(r.external for r in roles) and not user.is_admin


def user_region(user) -> str | None:
    """The county a user is confined to: ``None`` city-wide, ``NO_REGION`` for no county."""
    if user is None or user.is_admin:
        return None
    if is_external(user):
        return NO_REGION
    if user.region_code:
        return user.region_code
    return None if is_city(user) else NO_REGION


def in_jurisdiction(user, region_code: str | None) -> bool:
    region = user_region(user)
    if region is None:
        return True
    return region != NO_REGION and region_code == region


def check_region(user, region_code: str | None) -> None:
    """Refuse an object of another county (403)."""
    if not in_jurisdiction(user, region_code):
        raise NotAllowed(OUTSIDE)


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


def org_key(user) -> str | None:
    """The key of the user's org unit (what ``L_org`` names)."""
    return user.org_unit.key if user is not None and getattr(user, "org_unit", None) is not None else None


def _named(text: str | None) -> list[str]:
    return [k for k in (text or "").split(",") if k]


# -- tasks -------------------------------------------------------------------------------------------
def visible_tasks(user):
    """SQL condition: the open tasks ``user`` may see and act on.

    A task row that names its candidates (``candidate_users`` → exactly those people, else
    ``candidate_orgs`` → holders of the lane's role in those units) is visible to them; other tasks by
    role + jurisdiction. Written as a top-level OR of branches that each start with ``state = 'open'``
    so that SQLite and PostgreSQL can answer every branch from an index (multi-index OR / bitmap OR).
    """
    open_ = HumanTask.state == "open"
    if user.is_admin:
        return open_
    # ``x IS NOT NULL`` next to ``x LIKE …`` changes no result; it lets SQLite use the partial indexes
    # ix_human_task_named_users / _named_orgs instead of reading every open task for the LIKE
    branches = [and_(open_, HumanTask.assignee == user.username),
                and_(open_, HumanTask.candidate_users.is_not(None),
                     HumanTask.candidate_users.contains(f",{user.username},", autoescape=True))]
    unnamed, no_org = HumanTask.candidate_users.is_(None), HumanTask.candidate_orgs.is_(None)
    region = user_region(user)
    if region is None:
        branches.append(and_(open_, HumanTask.lane.is_(None), unnamed))
    elif region != NO_REGION:
        branches.append(and_(open_, HumanTask.lane.is_(None), unnamed, HumanTask.region_code == region))
    roles = [meta.key for meta in _roles(user) if not meta.external]  # external: only what names them
    org = org_key(user)
    if org and roles:
        branches.append(and_(open_, HumanTask.lane.in_(roles), unnamed, HumanTask.candidate_orgs.is_not(None),
                             HumanTask.candidate_orgs.contains(f",{org},", autoescape=True)))
    if roles and region is None:
        branches.append(and_(open_, HumanTask.lane.in_(roles), unnamed, no_org))
    elif roles:
        if region != NO_REGION:
            branches.append(and_(open_, HumanTask.lane.in_(roles), HumanTask.region_code == region, unnamed, no_org))
        branches.append(and_(open_, HumanTask.lane.in_(roles), HumanTask.region_code.is_(None), unnamed, no_org))
    return or_(*branches)


def is_candidate(user, task) -> bool:
    """Is ``user`` a candidate of ``task`` (ignoring who holds it)? Named people, named units, role + county."""
    users = _named(getattr(task, "candidate_users", None))
    if users:
        return user.username in users
    if task.lane is None:
        return in_jurisdiction(user, task.region_code)
    meta = ROLES.get(task.lane)
    if task.lane not in (user.roles or []) or meta is None or meta.external:
        return False
    orgs = _named(getattr(task, "candidate_orgs", None))
    if orgs:
        return org_key(user) in orgs
    region = user_region(user)
    return region is None or task.region_code is None or task.region_code == region


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


# -- instances -----------------------------------------------------------------------------------------
def can_see_instance(session, user, instance: Instance) -> bool:
    if user is None:
        return False
    if user.is_admin:
        return True
    if instance.process_key in CITY_WIDE_PROCESSES:
        return is_city(user)
    region = (instance.summary or {}).get("region_code")
    if region is not None and not is_external(user) and in_jurisdiction(user, str(region)):
        return True
    if region is None and is_city(user):
        return True
    if instance.started_by == user.username:
        return True
    return bool(session.scalar(select(exists().where(HumanTask.instance_id == instance.id, visible_tasks(user)))))


def check_instance(session, user, instance: Instance) -> Instance:
    """Refuse an instance the user may not read (403)."""
    if not can_see_instance(session, user, instance):
        raise NotAllowed("无权查看该流程实例 / this instance is outside your jurisdiction")
    return instance


# -- starts and messages ---------------------------------------------------------------------------------
def _has_role(user, allowed) -> bool:
    return user.is_admin or bool(set(allowed) & set(user.roles or []))


def may_start(user, process_key: str, *, timer_start: bool = False, message_start: bool = False) -> bool:
    if user.is_admin:
        return True
    if process_key in START_PERMISSIONS:
        return _has_role(user, START_PERMISSIONS[process_key])
    if timer_start or message_start:
        return False
    return not is_external(user) and bool(_roles(user))


def check_start(session, user, process_key: str, data: dict, *, timer_start: bool = False,
                message_start: bool = False) -> None:
    """Refuse a start by hand the user may not make: role (403), start-data county (403), project (422)."""
    if not may_start(user, process_key, timer_start=timer_start, message_start=message_start):
        raise NotAllowed(f"您的角色不能发起流程 {process_key} / your role may not start this process")
    region = data.get("region_code")
    if region not in (None, "") and not in_jurisdiction(user, str(region)):
        raise NotAllowed(OUTSIDE, [{"message": OUTSIDE, "field": "region_code"}])
    if "project_id" in data:
        check_project_ref(session, user, data.get("project_id"))


def check_project_ref(session, user, project_id) -> None:
    """A ``project_id`` in data must be an existing project the user may see (422 otherwise)."""
    from app.models.domain import Project

    if isinstance(project_id, bool) or not isinstance(project_id, int | str):
        raise Invalid("project_id 必须是项目编号 / project_id must be a project id",
                      [{"field": "project_id", "message": "project_id 必须是项目编号 / must be a project id"}])
    try:
        pid = int(project_id)
    except ValueError:
        pid = None
    project = session.get(Project, pid) if pid is not None and 0 < pid < 2**31 else None
    if project is None or not in_jurisdiction(user, project.region_code):
        message = f"项目 {project_id} 不存在或不在您的管辖范围 / project {project_id} not found"
        raise Invalid(message, [{"field": "project_id", "message": message}])


def check_message(session, user, name: str, targets: list[Instance], *, broadcast: bool = False,
                  start_data: dict | None = None) -> None:
    """Refuse a message the user may not send (403, nothing delivered)."""
    if user is None or user.is_admin:
        return
    if broadcast:
        raise NotAllowed("仅流程管理员或系统可广播消息 / broadcast is admin/system only")
    if not _has_role(user, MESSAGE_PERMISSIONS.get(name, ())):
        raise NotAllowed(f"您的角色不能发送消息 {name} / your role may not send this message")
    for instance in targets:
        region = (instance.summary or {}).get("region_code")
        if instance.process_key in CITY_WIDE_PROCESSES and not is_city(user) or not in_jurisdiction(user, region):
            raise NotAllowed(OUTSIDE, [{"message": OUTSIDE, "instance_id": instance.id}])
    if start_data is not None and start_data.get("region_code") not in (None, ""):
        check_region(user, str(start_data["region_code"]))
