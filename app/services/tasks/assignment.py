"""Reassign, delegate and stand in (Camunda Tasklist habits).

- ``assign_task``: the office (``zsw_office``), an admin, or a leader (role ``leader``) of the unit that
  holds the task hands an open task to a named candidate (422 naming why someone is not a candidate).
- ``delegate_task``: the current holder passes it to a colleague of the same org unit.
- ``set_absence``: 代理人 from/to dates; while it runs, *new* tasks that name the absent person go to
  the deputy (``runtime.candidates.named``).
A task held by a person can be completed only by that person (``access.check_act_on_task``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app import clock
from app.errors import Conflict, Invalid, NotAllowed
from app.models.auth import OrgUnit, User, UserAbsence
from app.models.domain import Notification
from app.models.runtime import HumanTask
from app.services import access, audit
from app.services.runtime.instances import task_summary
from app.services.tasks.commands import get_task

ASSIGNER_ROLES = access.TASK_OVERSEERS


def _invalid(field: str, message: str) -> Invalid:
    return Invalid(message, [{"field": field, "message": message}])


def _target(session: Session, username, field: str) -> User:
    name = str(username or "").strip()
    if not name:
        raise _invalid(field, "请指定办理人 / a username is required")
    user = session.scalar(select(User).where(User.username == name))
    if user is None or not user.active:
        raise _invalid(field, f"用户 {name} 不存在或已停用 / user {name} not found or inactive")
    return user


def _ancestors(session: Session, org_id: int | None) -> set[int]:
    seen: set[int] = set()
    while org_id is not None and org_id not in seen:
        seen.add(org_id)
        org_id = session.scalar(select(OrgUnit.parent_id).where(OrgUnit.id == org_id))
    return seen


def leads_unit_of(session: Session, leader: User, member: User) -> bool:
    """Is ``leader`` a 领导 of ``member``'s unit (same unit or a parent unit)?"""
    return ("leader" in (leader.roles or []) and leader.org_unit_id is not None
            and leader.org_unit_id in _ancestors(session, member.org_unit_id))


def may_assign(session: Session, user: User, task: HumanTask) -> bool:
    """Office and admins anywhere in their jurisdiction; leaders for tasks their unit's people may do."""
    if user.is_admin:
        return True
    if not access.in_jurisdiction(user, task.region_code):
        return False
    if ASSIGNER_ROLES & set(user.roles or []):
        return True
    if "leader" not in (user.roles or []):
        return False
    return any(leads_unit_of(session, user, c) for c in candidates(session, task))


def candidates(session: Session, task: HumanTask) -> list[User]:
    """Active users who are candidates of ``task`` (named people, named units, or role + county)."""
    named = [k for k in (task.candidate_users or "").split(",") if k]
    stmt = select(User).where(User.active.is_not(False)).order_by(User.username)
    if named:
        stmt = stmt.where(User.username.in_(named))
    rows = session.scalars(stmt).all()
    free = HumanTask(lane=task.lane, region_code=task.region_code, candidate_orgs=task.candidate_orgs,
                     candidate_users=task.candidate_users)
    return [u for u in rows if not u.is_admin and access.is_candidate(u, free)]


def _notify(session: Session, user: User, task: HumanTask, title: str) -> None:
    session.add(Notification(user_id=user.id, role=None, title=title[:200], body=task.name or "",
                             link=f"/tasks/{task.id}", level="info", project_id=task.project_id,
                             instance_id=task.instance_id, created_at=clock.now()))


def _set_assignee(session: Session, task: HumanTask, assignee: str, previous: str | None) -> None:
    cond = [HumanTask.id == task.id, HumanTask.state == "open"]
    cond.append(HumanTask.assignee.is_(None) if previous is None else HumanTask.assignee == previous)
    done = session.execute(update(HumanTask).where(*cond).values(assignee=assignee)
                           .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise Conflict("任务已被他人处理,请刷新后重试 / the task changed meanwhile; reload and retry")
    session.refresh(task)


def assign_task(session: Session, user: User, task_id: str, assignee) -> dict:
    task = get_task(session, task_id)
    if task.state != "open":
        raise Conflict("任务已完成或已取消 / task is no longer open")
    if not may_assign(session, user, task):
        raise NotAllowed("只有市招商委办公室、管理员或本单位领导可以指派任务 / only the office, an admin or a "
                         "leader of the unit may assign this task")
    target = _target(session, assignee, "assignee")
    free = HumanTask(lane=task.lane, region_code=task.region_code, candidate_orgs=task.candidate_orgs,
                     candidate_users=task.candidate_users)
    if not access.is_candidate(target, free):
        raise _invalid("assignee", "不能指派给非候选人:" + access.why_not_candidate(target, free))
    if not (user.is_admin or ASSIGNER_ROLES & set(user.roles or [])) and not leads_unit_of(session, user, target):
        raise _invalid("assignee", f"{target.username} 不在您领导的单位 / {target.username} is not in a unit you lead")
    previous = task.assignee
    _set_assignee(session, task, target.username, previous)
    audit.record(session, "task_assigned", user.username, instance_id=task.instance_id, element_id=task.element_id,
                 detail={"task_id": task.id, "assignee": target.username, "previous": previous})
    _notify(session, target, task, f"{user.display_name or user.username} 指派给您的任务:{task.name}")
    return task_summary(task)


def delegate_task(session: Session, user: User, task_id: str, to) -> dict:
    task = get_task(session, task_id)
    if task.state != "open":
        raise Conflict("任务已完成或已取消 / task is no longer open")
    if task.assignee != user.username:
        raise NotAllowed("只有当前办理人可以转交此任务 / only the current assignee may delegate"
                         + (f"(当前办理人:{task.assignee})" if task.assignee else ""))
    target = _target(session, to, "assignee")
    if target.username == user.username:
        raise _invalid("assignee", "不能转交给自己 / cannot delegate to yourself")
    if user.org_unit_id is None or target.org_unit_id != user.org_unit_id:
        raise _invalid("assignee", f"只能转交给本单位同事,{target.username} 不在您的单位 / "
                                   f"{target.username} is not a colleague of your unit")
    _set_assignee(session, task, target.username, user.username)
    audit.record(session, "task_delegated", user.username, instance_id=task.instance_id, element_id=task.element_id,
                 detail={"task_id": task.id, "assignee": target.username})
    _notify(session, target, task, f"{user.display_name or user.username} 转交给您的任务:{task.name}")
    return task_summary(task)


def colleagues(session: Session, user: User) -> list[User]:
    if user.org_unit_id is None:
        return []
    return list(session.scalars(select(User).where(User.org_unit_id == user.org_unit_id, User.active.is_not(False),
                                                   User.id != user.id).order_by(User.username)))


# ------------------------------------------------------------------ absence (代理人)


def _date(value, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value))
    except (TypeError, ValueError):
        raise _invalid(field, "日期格式应为 YYYY-MM-DD / date expected") from None


def absence_dict(row: UserAbsence) -> dict:
    return {"id": row.id, "username": row.username, "deputy": row.deputy, "from": row.starts_on.isoformat(),
            "to": row.ends_on.isoformat()}


def set_absence(session: Session, user: User, deputy, starts_on, ends_on) -> dict:
    """Replace the user's absence with one from ``starts_on`` to ``ends_on`` (inclusive) and a deputy of
    the same unit."""
    target = _target(session, deputy, "deputy")
    if target.username == user.username:
        raise _invalid("deputy", "代理人不能是本人 / the deputy must be someone else")
    if user.org_unit_id is None or target.org_unit_id != user.org_unit_id:
        raise _invalid("deputy", f"代理人须为本单位同事,{target.username} 不在您的单位 / the deputy must be a "
                                 f"colleague of your unit")
    start, end = _date(starts_on, "from"), _date(ends_on, "to")
    if end < start:
        raise _invalid("to", "结束日期不能早于开始日期 / 'to' must not be before 'from'")
    session.execute(delete(UserAbsence).where(UserAbsence.username == user.username))
    row = UserAbsence(username=user.username, deputy=target.username, starts_on=start, ends_on=end)
    session.add(row)
    session.flush()
    audit.record(session, "absence_set", user.username, detail=absence_dict(row))
    return absence_dict(row)


def get_absence(session: Session, user: User) -> dict | None:
    row = session.scalar(select(UserAbsence).where(UserAbsence.username == user.username).order_by(UserAbsence.id.desc()))
    return absence_dict(row) if row is not None else None


def clear_absence(session: Session, user: User) -> None:
    session.execute(delete(UserAbsence).where(UserAbsence.username == user.username))
    audit.record(session, "absence_cleared", user.username)
