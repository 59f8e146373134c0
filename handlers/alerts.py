"""挂图作战 warnings — stage deadlines and the warning colour (reference/domain.md §3.4 D6/D7, P05, W01).

Pure functions, no ``app`` imports.

* ``stage_deadlines``: from a stage limit (D7, natural days) the reminder (80 %), yellow (100 %) and
  red (``max(limit × 1.5, limit + 30)``) thresholds as ISO 8601 durations for boundary timers, and
  as dates when the stage start is known. ``project_lifecycle`` computes the same two durations in
  a script task; this handler is for evaluators and dashboards.
* ``stage_warning_colour``: D6 — colour of an open stage from the elapsed days.
* ``milestone_warning``: D6's second part — contract milestones (overdue → 黄, > 90 days → 红 and
  a breach candidate).
"""

from __future__ import annotations

import datetime as dt
import math

from handlers import dates
from handlers.registry import handler

COLOURS = {"green": "绿", "blue": "蓝", "yellow": "黄", "red": "红"}
RED_FACTOR = 1.5
RED_MIN_EXTRA_DAYS = 30
REMIND_RATIO = 0.8
MILESTONE_RED_DAYS = 90


def _days(value, name: str) -> float:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{name} 应为天数 / {name} must be a number of days, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} 应为天数 / {name} must be a number of days, got {value!r}") from None
    if number < 0:
        raise ValueError(f"{name} 不能为负数 / {name} must not be negative")
    return number


def _date(value, name: str) -> dt.date:
    day = dates.parse_date(value, name)
    if day is None:
        raise ValueError(f"{name} 不能为空 / {name} is required")
    return day


def red_days_for(limit_days: float) -> int:
    """Red threshold in whole days: ``max(limit × 1.5, limit + 30)`` (D6), rounded down."""
    limit = _days(limit_days, "limit_days")
    return int(max(math.floor(limit * RED_FACTOR), limit + RED_MIN_EXTRA_DAYS))


@handler("stage_deadlines")
def stage_deadlines(limit_days, started_on=None) -> dict:
    """ISO durations (and dates when ``started_on`` is given) for the blue/yellow/red thresholds."""
    limit = int(_days(limit_days, "limit_days"))
    remind = math.ceil(limit * REMIND_RATIO)
    red = red_days_for(limit)
    out = {
        "limit_days": limit,
        "remind_days": remind,
        "red_days": red,
        "remind_after": f"P{remind}D",
        "yellow_after": f"P{limit}D",
        "red_after": f"P{red}D",
    }
    if started_on not in (None, ""):
        start = _date(started_on, "started_on")
        out.update(
            {
                "started_on": start.isoformat(),
                "remind_on": (start + dt.timedelta(days=remind)).isoformat(),
                "yellow_on": (start + dt.timedelta(days=limit)).isoformat(),
                "red_on": (start + dt.timedelta(days=red)).isoformat(),
            }
        )
    return out


@handler("stage_warning_colour")
def stage_warning_colour(elapsed_days, limit_days, rect_overdue: bool = False, use_blue: bool = True) -> dict:
    """D6 (first match): > red threshold → 红; > limit and the W01 plan overdue → 红; > limit → 黄;
    ≥ 80 % → 蓝 (optional); otherwise 绿."""
    elapsed = _days(elapsed_days, "elapsed_days")
    limit = _days(limit_days, "limit_days")
    red = max(limit * RED_FACTOR, limit + RED_MIN_EXTRA_DAYS)
    if elapsed > red:
        light, rule = "red", 1
    elif elapsed > limit and rect_overdue:
        light, rule = "red", 2
    elif elapsed > limit:
        light, rule = "yellow", 3
    elif use_blue and elapsed >= REMIND_RATIO * limit:
        light, rule = "blue", 4
    else:
        light, rule = "green", 5
    return {
        "light": light,
        "colour": COLOURS[light],
        "rule": rule,
        "red_days": red,
        "days_left": round(limit - elapsed, 2),
    }


@handler("milestone_warning")
def milestone_warning(due_date, as_of, done: bool = False) -> dict:
    """Contract milestone: overdue → 黄; overdue more than 90 days → 红 and a breach candidate."""
    due = _date(due_date, "due_date")
    today = _date(as_of, "as_of")
    overdue = 0 if done else max((today - due).days, 0)
    if done or overdue == 0:
        light = "green"
    elif overdue > MILESTONE_RED_DAYS:
        light = "red"
    else:
        light = "yellow"
    return {"light": light, "colour": COLOURS[light], "overdue_days": overdue, "breach": light == "red"}
