"""``due_within`` (app/services/domain/operators/deadlines.py): an integer is working days (the calendar
settings apply), an ISO ``PnD`` calendar days; bad limits are refused."""

from __future__ import annotations

import datetime as dt

import pytest

from app.services.domain import settings
from app.services.domain.operators.deadlines import LOCAL

FRIDAY = dt.datetime(2026, 10, 9, 10, 0, tzinfo=LOCAL)


def end_of(day: str) -> str:
    return f"{day}T23:59:59+08:00"


def test_working_days_skip_the_weekend_and_the_holidays(db, make_ctx, ops):
    ctx = make_ctx(FRIDAY)
    assert ops["due_within"](ctx, 2)["due_at"] == end_of("2026-10-13")  # Friday + 2 wd = Tuesday
    settings.put(db, "calendar.holidays", ["2026-10-12"], "admin")  # Monday off
    assert ops["due_within"](ctx, 2)["due_on"] == "2026-10-14"
    settings.put(db, "calendar.workdays", ["2026-10-10"], "admin")  # 调休: Saturday worked
    due = ops["due_within"](ctx, 2)
    assert (due["due_on"], due["unit"], due["label"]) == ("2026-10-13", "工作日", "2 个工作日")


def test_calendar_days_are_exact_and_a_dict_names_several(make_ctx, ops):
    due = ops["due_within"](make_ctx(FRIDAY), {"handle": "P15D", "accept": 3})
    assert due["handle"]["due_at"] == (FRIDAY + dt.timedelta(days=15)).isoformat()
    assert (due["handle"]["label"], due["accept"]["due_on"]) == ("15 日", "2026-10-14")


@pytest.mark.parametrize("bad", [0, -1, 1.5, "3", "P3W", None, True, {}])
def test_a_bad_limit_is_refused(make_ctx, ops, bad):
    with pytest.raises(ValueError):
        ops["due_within"](make_ctx(FRIDAY), bad)


def test_visit_route_takes_a_due_date(db, make_ctx, ops):
    from app.models.domain import Visit

    row = Visit(visit_date=FRIDAY.date(), enterprise_name="某企业", status="registered")
    db.add(row)
    db.flush()
    ops["visit_route"](make_ctx(FRIDAY), row.id, "交办", "市投资促进局", due_at=end_of("2026-10-13"))
    assert row.handling_due_at.replace(tzinfo=row.handling_due_at.tzinfo or dt.UTC) == \
        dt.datetime(2026, 10, 13, 23, 59, 59, tzinfo=LOCAL)
