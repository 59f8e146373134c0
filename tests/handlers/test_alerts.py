"""挂图作战预警:阶段灯色与定时器时限都从 D6 的行得出 (domain.md §3.4 D6/D7; handlers/alerts.py).

The rows here are what ``processes/dmn/warning_colour.dmn`` gives for a limit and the settings' defaults
(its output entries evaluated the way the COLLECT table is in the lifecycle), so these tests also pin the
table itself. tests/processes/test_warning_rule.py checks the same through the deployed process."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from app.services.domain import settings
from handlers.alerts import milestone_warning, stage_deadlines, stage_warning_colour
from handlers.registry import load_all

D6 = Path(__file__).resolve().parents[2] / "processes" / "dmn" / "warning_colour.dmn"


def d6_rows(limit_days: float, rect_overdue: bool = False, cfg: dict | None = None) -> list[dict]:
    """The D6 rows that apply (COLLECT, table order) for ``limit_days``."""
    env = {"limit_days": limit_days, "cfg": {**settings.defaults(), **(cfg or {})}, "max": max, "min": min}
    rows = []
    for rule in etree.parse(str(D6)).getroot().iter("{*}rule"):
        [entry] = [e.findtext("{*}text").strip() for e in rule.iter("{*}inputEntry")]
        if entry not in ("-", str(rect_overdue)):
            continue
        light, colour, from_days = (eval(e.findtext("{*}text"), {}, env) for e in rule.iter("{*}outputEntry"))  # noqa: S307
        rows.append({"light": light, "colour": colour, "from_days": from_days})
    return rows


def test_registered():
    handlers = load_all()
    for name in ("stage_deadlines", "stage_warning_colour", "milestone_warning"):
        assert name in handlers


def test_the_rule_is_written_once():
    source = (Path(__file__).resolve().parents[2] / "handlers" / "alerts.py").read_text(encoding="utf-8")
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("#", "*", '"')))
    for literal in ("1.5", "0.8", "+ 30", "30)"):
        assert literal not in code


@pytest.mark.parametrize(
    "limit, red",
    [
        (30, 60),  # S1 一般: 30 × 1.5 = 45 < 30 + 30
        (45, 75),  # S1 重大 / S5 重点
        (60, 90),  # both rules give 90
        (61, 92),  # 91.5 rounded up: the timer fires on the first whole day D6 shows red
        (90, 135),  # S2 重大, S4/S6/S7 一般
        (120, 180),  # S4/S6/S7 重点
        (180, 270),  # S4/S6/S7 重大
    ],
)
def test_red_threshold_with_the_default_settings(limit, red):
    assert stage_deadlines(d6_rows(limit))["red_days"] == red


def test_stage_deadlines_as_durations_and_dates():
    r = stage_deadlines(d6_rows(30), started_on="2026-03-02")
    assert r["yellow_after"] == "P30D" and r["red_after"] == "P60D" and r["remind_after"] == "P24D"
    assert (r["remind_on"], r["yellow_on"], r["red_on"]) == ("2026-03-26", "2026-04-01", "2026-05-01")
    r = stage_deadlines(d6_rows(45))
    assert (r["remind_days"], r["yellow_days"], r["red_days"]) == (36, 45, 75)
    assert "yellow_on" not in r


def test_settings_change_the_thresholds():
    rows = d6_rows(30, cfg={"warning.red_factor": 1.2, "warning.red_extra_days": 10, "warning.remind_ratio": 0.5})
    r = stage_deadlines(rows)
    assert (r["remind_days"], r["yellow_days"], r["red_days"]) == (15, 30, 40)
    assert stage_warning_colour(rows, 39)["light"] == "yellow"
    assert stage_warning_colour(rows, 40)["light"] == "red"


def test_a_table_without_a_reminder_row_has_no_blue_timer():
    rows = [r for r in d6_rows(30) if r["light"] != "blue"]
    r = stage_deadlines(rows)
    assert (r["remind_after"], r["yellow_after"], r["red_after"]) == (None, "P30D", "P60D")
    assert stage_warning_colour(rows, 29)["light"] == "green"


@pytest.mark.parametrize(
    "elapsed, overdue, light, colour",
    [
        (50, False, "green", "绿"),
        (72, False, "blue", "蓝"),  # 80 % of 90
        (89.9, False, "blue", "蓝"),
        (90, False, "yellow", "黄"),  # the limit reached: the yellow timer fires now
        (91, True, "red", "红"),  # overdue and the W01 plan date missed
        (134, False, "yellow", "黄"),
        (135, False, "red", "红"),
    ],
)
def test_d6_colour_for_a_90_day_stage(elapsed, overdue, light, colour):
    r = stage_warning_colour(d6_rows(90, rect_overdue=overdue), elapsed)
    assert (r["light"], r["colour"]) == (light, colour)
    assert r["red_days"] == (90 if overdue else 135)


def test_days_to_red():
    assert stage_warning_colour(d6_rows(30), 20)["days_to_red"] == 40


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
        lambda: stage_deadlines([]),
        lambda: stage_deadlines([{"light": "purple", "from_days": 3}]),
        lambda: stage_deadlines([{"light": "red", "from_days": -1}]),
        lambda: stage_deadlines([{"light": "green", "from_days": 0}]),  # no yellow/red: no timers possible
        lambda: stage_warning_colour(d6_rows(30), True),
        lambda: milestone_warning("2026/06/01", "2026-06-02"),
    ],
)
def test_bad_inputs_raise_value_error(call):
    with pytest.raises(ValueError):
        call()
