"""Date parsing shared by handlers and operators (pure; no app imports)."""

from __future__ import annotations

import datetime as dt
from typing import Any


def parse_date(value: Any, field: str = "") -> dt.date | None:
    """Accept ``date``, ``datetime`` or ISO text ``YYYY-MM-DD[...]``; None/'' → None; else ValueError."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        label = f"{field} " if field else ""
        raise ValueError(f"{label}日期格式应为 YYYY-MM-DD / {field or 'date'}: invalid date {value!r}") from None
