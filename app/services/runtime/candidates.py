"""Who a lane names: the unit and person the instance data designates for it (docs/CONTRACTS.md
"Named units and people").

For a lane ``L`` the instance data may hold ``L_org`` (an org unit key or a list of keys) and
``L_user`` (a username or a list). :func:`named` reads them for a new task row; a named user who is
away (an absence row covering today, 代理人) is replaced by the deputy. The columns are stored as
``,a,b,`` so that one ``LIKE '%,key,%'`` answers "does this row name me" on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.models.auth import UserAbsence


def _keys(value) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple, set)):
        return [str(v).strip() for v in value if v not in (None, "") and str(v).strip()]
    return [str(value).strip()] if str(value).strip() else []


def encode(keys: list[str]) -> str | None:
    keys = [k for k in dict.fromkeys(keys) if "," not in k]
    text = "," + ",".join(keys) + "," if keys else None
    return text if text is None or len(text) <= 1000 else None


def decode(text: str | None) -> list[str]:
    return [k for k in (text or "").split(",") if k]


def deputies(session: Session, usernames: list[str]) -> dict[str, str]:
    """{absent user: deputy} for absences covering today (local calendar day)."""
    if not usernames:
        return {}
    today = (clock.now() + dt.timedelta(hours=8)).date()  # the calendar day in 普洱 (UTC+8)
    rows = session.execute(select(UserAbsence.username, UserAbsence.deputy).where(
        UserAbsence.username.in_(usernames), UserAbsence.starts_on <= today, UserAbsence.ends_on >= today)
        .order_by(UserAbsence.id)).all()
    return {u: d for u, d in rows}


def named(session: Session, lane: str | None, data: dict) -> tuple[str | None, str | None]:
    """(candidate_orgs, candidate_users) column values for a new task of ``lane`` with ``data``."""
    if not lane:
        return None, None
    orgs = _keys(data.get(f"{lane}_org"))
    users = _keys(data.get(f"{lane}_user"))
    if users:
        away = deputies(session, users)
        users = [away.get(u, u) for u in users]
    return encode(orgs), encode(users)
