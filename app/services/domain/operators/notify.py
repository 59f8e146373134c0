"""``notify``: in-app notification rows addressed by role, plus an e-mail copy to the users who
hold the role (within the project's county for county-scoped roles, see app/roles.py)."""

from __future__ import annotations

import logging

from sqlalchemy import select

from app.models.auth import OrgUnit, User
from app.models.domain import Notification
from app.roles import ROLES
from app.services.domain import notifications
from app.services.domain.operators.projects import add_event, get_project
from app.services.runtime.service_calls import OperatorContext, operator

log = logging.getLogger(__name__)

LEVELS = ("info", "success", "warning", "danger")


def role_recipients(session, role: str, region_code: str | None) -> list[str]:
    """E-mail addresses of users holding ``role``; for a county-scoped role with a region, only
    users whose org unit is in that county or at city level (org region NULL)."""
    stmt = (select(User.email, User.roles, OrgUnit.region_code)
            .outerjoin(OrgUnit, OrgUnit.id == User.org_unit_id)
            .where(User.email.is_not(None), User.email != ""))
    stmt = stmt.where(User.active.is_not(False))
    scoped = ROLES[role].scoped and region_code
    out = []
    for email, roles, org_region in session.execute(stmt):
        if role not in (roles or []):
            continue
        if scoped and org_region not in (None, region_code):
            continue
        out.append(email)
    return out


@operator("notify")
def notify(ctx: OperatorContext, roles: list[str] | str, title: str, body: str = "", project_id: int | None = None,
           level: str = "info", link: str | None = None) -> dict:
    if isinstance(roles, str):
        roles = [roles]
    roles = list(dict.fromkeys(roles or []))
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise ValueError(f"未知角色 / unknown role(s): {', '.join(map(str, unknown))}")
    if level not in LEVELS:
        raise ValueError(f"未知级别 / unknown level {level!r}; expected one of {', '.join(LEVELS)}")
    project = get_project(ctx, project_id) if project_id not in (None, "") else None
    region = project.region_code if project is not None else None
    if link is None and project is not None:
        link = f"/projects/{project.id}"
    title = str(title)[:200]
    addresses: set[str] = set()
    for role in roles:
        scoped_region = region if ROLES[role].scoped else None
        ctx.session.add(Notification(role=role, region_code=scoped_region, title=title, body=str(body or ""),
                                     link=link, level=level, project_id=project.id if project else None,
                                     instance_id=ctx.instance_id, created_at=ctx.now))
        addresses.update(role_recipients(ctx.session, role, scoped_region))
    if project is not None:
        add_event(ctx, project.id, "notify", f"通知:{title}", {"roles": roles, "level": level})
    ctx.session.flush()
    # e-mail leaves only after this transaction commits: a durable "mail" job (retried on failure);
    # nothing is mailed for a change that rolls back, and no SMTP wait holds the instance lock
    if addresses and notifications.mail_settings()["host"]:
        ctx.outbox.append({"kind": "mail", "recipients": sorted(addresses), "subject": title,
                           "body": str(body or "")})
    else:
        addresses = set()
    return {"count": len(roles), "mail_queued": len(addresses)}
