"""Deadlines in 工作日 (working days) for BPMN timers — the one working-day rule (docs/CONTRACTS.md "Settings").

A limit in working days is an integer setting (unit "工作日"); this operator turns it into a due date with
:func:`settings.add_working_days` (weekends and ``calendar.holidays`` skipped, ``calendar.workdays`` 调休上班日
counted), starting from the instance's clock in 普洱 local time (UTC+8). The task is due at the end of that
local day (``due_at``, a timeDate for a yellow boundary timer); ``late_at`` is the end of the day as many
working days again later (a red boundary timer: seriously overdue).

``due_within`` takes either kind of limit — an integer (工作日, as above) or an ISO ``PnD`` (calendar days,
due exactly n days from now) — for a timer whose limit may be either (complaint handling: 15 日 or 60 个工作日).
"""

from __future__ import annotations

import datetime as dt
import re

from app.services.domain import settings
from app.services.domain.queries import LOCAL_TZ as LOCAL
from app.services.runtime.service_calls import OperatorContext, operator

_END_OF_DAY = dt.time(23, 59, 59)


def _count(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value or value < 1:
        raise ValueError(f"{name} 应为正整数工作日 / {name} must be a positive whole number of working days, "
                         f"got {value!r}")
    return int(value)


def _end_of(day: dt.date) -> str:
    return dt.datetime.combine(day, _END_OF_DAY, tzinfo=LOCAL).isoformat()


def due_in_working_days(start: dt.datetime, days: int, holidays=(), workdays=()) -> dict:
    """``{"days", "due_on", "due_at", "late_on", "late_at"}`` for ``days`` working days after ``start``."""
    today = start.astimezone(LOCAL).date()
    due = settings.add_working_days(today, days, holidays, workdays)
    late = settings.add_working_days(due, days, holidays, workdays)
    return {"days": days, "due_on": due.isoformat(), "due_at": _end_of(due),
            "late_on": late.isoformat(), "late_at": _end_of(late)}


def _each(ctx: OperatorContext, limits, name: str, one) -> dict:
    """``one(now, limit, holidays, workdays, label)`` for a single limit, or per key of a ``{name: limit}`` dict,
    with the current ``calendar.*`` settings."""
    cfg = settings.values(ctx.session)
    holidays, workdays = cfg["calendar.holidays"], cfg["calendar.workdays"]
    if isinstance(limits, dict):
        if not limits:
            raise ValueError(f"{name} 不能为空 / {name} must name at least one deadline")
        return {str(k): one(ctx.now, v, holidays, workdays, f"{name}[{k}]") for k, v in limits.items()}
    return one(ctx.now, limits, holidays, workdays, name)


def _working(now: dt.datetime, days, holidays, workdays, name: str) -> dict:
    return due_in_working_days(now, _count(days, name), holidays, workdays)


@operator("working_days_due")
def working_days_due(ctx: OperatorContext, days) -> dict:
    """Due dates ``days`` working days from now: ``days`` an integer, or ``{name: integer}`` for several
    (→ ``{name: {...}}``). The holiday calendar is the current ``calendar.*`` settings."""
    return _each(ctx, days, "days", _working)


_CALENDAR = re.compile(r"^P(\d+)D$")


def _due_within(now: dt.datetime, within, holidays, workdays, name: str) -> dict:
    if isinstance(within, str) and _CALENDAR.match(within):
        days = int(_CALENDAR.match(within).group(1))
        due, late = now + dt.timedelta(days=days), now + dt.timedelta(days=2 * days)
        return {"days": days, "unit": "日", "label": f"{days} 日", "due_on": due.astimezone(LOCAL).date().isoformat(),
                "due_at": due.isoformat(), "late_on": late.astimezone(LOCAL).date().isoformat(),
                "late_at": late.isoformat()}
    out = due_in_working_days(now, _count(within, name), holidays, workdays)
    return {**out, "unit": "工作日", "label": f"{out['days']} 个工作日"}


@operator("due_within")
def due_within(ctx: OperatorContext, within) -> dict:
    """Like ``working_days_due``, but ``within`` may also be an ISO ``PnD`` (calendar days); a dict names several.
    Each result carries ``unit`` ("工作日" or "日") and ``label`` ("60 个工作日", "15 日") for the task text."""
    return _each(ctx, within, "within", _due_within)
