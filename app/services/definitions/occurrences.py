"""Occurrences of timer start events: the app, not the engine, starts one instance per occurrence."""

from __future__ import annotations

import ast
import datetime as dt
import re

_DURATION = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


def _literal(expression: str) -> str:
    try:
        value = ast.literal_eval(expression)
    except (ValueError, SyntaxError):
        raise ValueError("定时启动事件的表达式必须是带引号的 ISO 8601 字面量 / a timer start expression must be a "
                         "quoted ISO 8601 literal") from None
    if not isinstance(value, str):
        raise ValueError("定时启动事件的表达式必须是字符串 / a timer start expression must be a string")
    return value


def add_duration(start: dt.datetime, duration: str, times: int = 1) -> dt.datetime:
    m = _DURATION.match(duration)
    if not m or duration in ("P", "PT"):
        raise ValueError(f"无效的 ISO 8601 时长 / invalid ISO 8601 duration: {duration}")
    y, mo, w, d, h, mi, s = (int(x or 0) for x in m.groups())
    months = (y * 12 + mo) * times
    result = start
    if months:
        month_index = result.month - 1 + months
        year = result.year + month_index // 12
        month = month_index % 12 + 1
        day = min(result.day, [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30,
                               31, 31, 30, 31, 30, 31][month - 1])
        result = result.replace(year=year, month=month, day=day)
    return result + dt.timedelta(weeks=w * times, days=d * times, hours=h * times, minutes=mi * times,
                                 seconds=s * times)


def _parse_dt(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


def parse(timer: dict, now: dt.datetime) -> tuple[int | None, dt.datetime, str | None]:
    """Return (repetitions or None for unbounded, first due, period) for a timer start definition."""
    value = _literal(timer["expression"])
    kind = timer["kind"]
    if kind == "timeDate":
        return 1, _parse_dt(value), None
    if kind == "timeDuration":
        return 1, add_duration(now, value), None
    parts = value.split("/")
    if not parts[0].startswith("R"):
        raise ValueError(f"无效的 ISO 8601 循环 / invalid ISO 8601 cycle: {value}")
    reps = int(parts[0][1:]) if parts[0][1:] else None
    if len(parts) == 2:
        return reps, add_duration(now, parts[1]), parts[1]
    if len(parts) == 3:
        if parts[1].startswith("P"):  # R/duration/end
            return reps, add_duration(now, parts[1]), parts[1]
        return reps, _parse_dt(parts[1]), parts[2]
    raise ValueError(f"无效的 ISO 8601 循环 / invalid ISO 8601 cycle: {value}")


def first_occurrence(timer: dict, now: dt.datetime) -> dt.datetime | None:
    reps, due, period = parse(timer, now)
    if period:
        add_duration(due, period)  # validates the period
    return due


def next_occurrence(timer: dict, due: dt.datetime, occurrence: int, now: dt.datetime) -> dt.datetime | None:
    """The due time after occurrence number ``occurrence`` (1-based) has fired, or None when done."""
    reps, first, period = parse(timer, now)
    if period is None or (reps is not None and occurrence >= reps):
        return None
    return add_duration(due, period)
