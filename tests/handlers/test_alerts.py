"""挂图作战预警:阶段时限与灯色 (domain.md §3.4 D6/D7)."""

from __future__ import annotations

import pytest

from handlers.alerts import milestone_warning, red_days_for, stage_deadlines, stage_warning_colour
from handlers.registry import load_all


def test_registered():
    handlers = load_all()
    for name in ("stage_deadlines", "stage_warning_colour", "milestone_warning"):
        assert name in handlers


@pytest.mark.parametrize(
    "limit, red",
    [
        (30, 60),  # S1 一般: 30 × 1.5 = 45 < 30 + 30
        (45, 75),  # S1 重大 / S5 重点
        (60, 90),  # both rules give 90
        (90, 135),  # S2 重大, S4/S6/S7 一般
        (120, 180),  # S4/S6/S7 重点
        (180, 270),  # S4/S6/S7 重大
    ],
)
def test_red_threshold_is_max_of_150_percent_and_limit_plus_30_days(limit, red):
    assert red_days_for(limit) == red


def test_stage_deadlines_as_durations_and_dates():
    r = stage_deadlines(30, started_on="2026-03-02")
    assert r["yellow_after"] == "P30D" and r["red_after"] == "P60D" and r["remind_after"] == "P24D"
    assert (r["remind_on"], r["yellow_on"], r["red_on"]) == ("2026-03-26", "2026-04-01", "2026-05-01")
    r = stage_deadlines(45)
    assert (r["remind_days"], r["limit_days"], r["red_days"]) == (36, 45, 75)
    assert "yellow_on" not in r


@pytest.mark.parametrize(
    "elapsed, overdue, light, colour",
    [
        (50, False, "green", "绿"),
        (72, False, "blue", "蓝"),  # 80 % of 90
        (90, False, "blue", "蓝"),  # on the limit itself: not yet overdue
        (91, False, "yellow", "黄"),
        (91, True, "red", "红"),  # overdue and the W01 plan date missed
        (135, False, "yellow", "黄"),  # red only *beyond* 135
        (136, False, "red", "红"),
    ],
)
def test_d6_colour_for_a_90_day_stage(elapsed, overdue, light, colour):
    r = stage_warning_colour(elapsed, 90, rect_overdue=overdue)
    assert (r["light"], r["colour"]) == (light, colour)
    assert r["red_days"] == 135


def test_blue_is_optional():
    assert stage_warning_colour(80, 90, use_blue=False)["light"] == "green"


def test_days_left():
    assert stage_warning_colour(20, 30)["days_left"] == 10


@pytest.mark.parametrize(
    "due, as_of, done, light, breach, overdue",
    [
        ("2026-06-01", "2026-05-20", False, "green", False, 0),
        ("2026-06-01", "2026-06-11", False, "yellow", False, 10),
        ("2026-06-01", "2026-08-30", False, "yellow", False, 90),
        ("2026-06-01", "2026-08-31", False, "red", True, 91),
        ("2026-06-01", "2026-12-31", True, "green", False, 0),
    ],
)
def test_contract_milestones(due, as_of, done, light, breach, overdue):
    r = milestone_warning(due, as_of, done=done)
    assert (r["light"], r["breach"], r["overdue_days"]) == (light, breach, overdue)


@pytest.mark.parametrize(
    "call",
    [
        lambda: stage_deadlines(None),
        lambda: stage_deadlines("三十"),
        lambda: stage_deadlines(-1),
        lambda: stage_warning_colour(True, 30),
        lambda: milestone_warning("2026/06/01", "2026-06-02"),
    ],
)
def test_bad_inputs_raise_value_error(call):
    with pytest.raises(ValueError):
        call()
