"""Moving the demo/test clock. Refused unless demo mode is on (never in production)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from app import clock
from app.errors import BadRequest, NotAllowed
from app.models.runtime import AppSetting
from app.services import audit
from app.services.definitions.occurrences import add_duration


def stored_offset(session: Session, lock: bool = False) -> dt.timedelta:
    """The offset every process shares (the database row), not this process's cached copy."""
    row = session.get(AppSetting, clock.OFFSET_KEY, with_for_update=lock or None)
    return dt.timedelta(seconds=float(row.value or 0.0)) if row is not None else dt.timedelta(0)


def current(session: Session) -> dict:
    """What the admin page shows: application time, real time and the offset between them."""
    offset = stored_offset(session)
    real = clock.real_now()
    return {"now": real + offset, "real_now": real, "offset_seconds": offset.total_seconds(),
            "offset_days": round(offset.total_seconds() / 86400, 2)}


def _store(session: Session, offset: dt.timedelta, actor: str) -> dt.datetime:
    row = session.get(AppSetting, clock.OFFSET_KEY)
    if row is None:
        session.add(AppSetting(key=clock.OFFSET_KEY, value=offset.total_seconds()))
    else:
        row.value = offset.total_seconds()
    clock.set_local_offset(offset)
    audit.record(session, "clock_moved", actor, detail={"offset_seconds": offset.total_seconds()})
    return clock.now()


def _check(demo: bool) -> None:
    if not demo:
        raise NotAllowed("仅演示/测试模式可调整时钟(设置 INVESTFLOW_DEMO=1) / the clock can only be moved in demo "
                         "mode (INVESTFLOW_DEMO=1)")


def advance(session: Session, duration: str, demo: bool, actor: str = "cli") -> dt.datetime:
    """Move the shared clock forward by an ISO 8601 duration, from the offset stored in the database.

    Reading the stored offset (under a row lock) is what makes a CLI process, a worker and the web
    server agree: the in-process copy may be stale or never loaded.
    """
    _check(demo)
    text = (duration or "").strip().upper()
    if text.startswith("-"):
        raise BadRequest("时钟只能向前拨,时长必须为正 / the clock only moves forward: the duration must be positive")
    offset = stored_offset(session, lock=True)
    now = clock.real_now() + offset
    try:
        target = add_duration(now, text)
    except ValueError:
        raise BadRequest(f"无效的 ISO 8601 时长 {duration!r}(例如 P31D、PT2H) / invalid duration") from None
    if target <= now:
        raise BadRequest("时长必须大于零,时钟只能向前拨 / the duration must be greater than zero; the clock only "
                         "moves forward")
    return _store(session, offset + (target - now), actor)


def set_to(session: Session, when: str, demo: bool, actor: str = "cli") -> dt.datetime:
    _check(demo)
    try:
        target = dt.datetime.fromisoformat(when.strip())
    except ValueError:
        raise BadRequest(f"无效的时间 {when!r}(例如 2027-03-01T09:00+08:00) / invalid date-time") from None
    if target.tzinfo is None:
        target = target.replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))
    return _store(session, target - clock.real_now(), actor)
