"""挂图作战 warnings — the stage lights and their timers, derived from ONE rule (reference/domain.md §3.4 D6/D7, P05, W01).

Single source of truth
----------------------
The red-light rule lives only in the D6 decision table ``processes/dmn/warning_colour.dmn``; its numbers
(red = ``max(limit × warning.red_factor, limit + warning.red_extra_days)``, reminder at
``warning.remind_ratio`` of the limit) are settings (``app/services/domain/settings.py``, read by the
lifecycle through ``settings_values`` into ``cfg``). D6 is a COLLECT table: each row says from how
many days after the stage start (``from_days``) a light applies; the first row (table order) whose
``from_days`` has been reached gives the colour.

At every stage entry ``project_lifecycle`` evaluates D7 (``limit_days``), then D6 (→ ``d6``, the rows that
apply, with ``rect_overdue`` false), then calls :func:`stage_deadlines` with those rows. This module holds
no threshold number: it only reads the rows, so editing a D6 row (DMN editor) or a setting changes the
boundary-timer deadlines and the light the timers set, together (new stages / new instances; a stage keeps
what it read when it began).

* ``stage_deadlines``: the first whole day on which each light (blue/yellow/red) is shown, as ISO 8601
  durations for the boundary timers (``remind_after``/``yellow_after``/``red_after``) and as dates when
  the stage start is known.
* ``stage_warning_colour``: the colour D6 gives after ``elapsed_days`` (same rows, same order).
* ``case_deadlines``: the second rule, for cases with their own answer limit (联办协办, 优质项目流转 acceptance,
  meeting 交办 items): yellow when the limit passes, red ``max(warning.case_red_min_days,
  ceil(limit × warning.case_red_ratio))`` days after it — one function, the numbers are settings.
* ``milestone_warning``: D6's second part — contract milestones (overdue → 黄, > ``red_days`` → 红 and
  a breach candidate).
"""

from __future__ import annotations

import datetime as dt
import math

from handlers import dates
from handlers.registry import handler

COLOURS = {"green": "绿", "blue": "蓝", "yellow": "黄", "red": "红"}
TIMER_LIGHTS = ("blue", "yellow", "red")
MILESTONE_RED_DAYS = 90


def _days(value, name: str) -> float:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{name} 应为天数 / {name} must be a number of days, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} 应为天数 / {name} must be a number of days, got {value!r}") from None
    if number < 0 or math.isnan(number) or math.isinf(number):
        raise ValueError(f"{name} 不能为负数 / {name} must be a non-negative number")
    return number


def _date(value, name: str) -> dt.date:
    day = dates.parse_date(value, name)
    if day is None:
        raise ValueError(f"{name} 不能为空 / {name} is required")
    return day


def _rows(d6) -> list[dict]:
    """The D6 rows (``{"light", "colour", "from_days"}``) in table order, checked."""
    if isinstance(d6, dict):  # a single matching row: SpiffWorkflow COLLECT still gives lists, be lenient
        d6 = [d6]
    if not isinstance(d6, list | tuple) or not d6:
        raise ValueError(f"D6 预警规则应为非空的行列表 / d6 must be a non-empty list of rows, got {d6!r}")
    rows = []
    for n, row in enumerate(d6, 1):
        if not isinstance(row, dict) or row.get("light") not in COLOURS:
            raise ValueError(f"D6 第 {n} 行灯色无效 / d6 row {n}: light must be one of {sorted(COLOURS)}")
        rows.append({"rule": n, "light": row["light"], "colour": row.get("colour") or COLOURS[row["light"]],
                     "from_days": _days(row.get("from_days"), f"d6[{n}].from_days")})
    return rows


def _first(rows: list[dict], elapsed: float) -> dict | None:
    return next((r for r in rows if elapsed >= r["from_days"]), None)


def _first_shown(rows: list[dict]) -> dict[str, float]:
    """{light: the first elapsed instant at which D6 shows it}. The colour only changes where some row's
    ``from_days`` is reached, so checking those instants in order is exact."""
    shown: dict[str, float] = {}
    for instant in sorted({r["from_days"] for r in rows}):
        row = _first(rows, instant)
        if row is not None and row["light"] not in shown:
            shown[row["light"]] = instant
    return shown


@handler("stage_deadlines")
def stage_deadlines(d6, started_on=None) -> dict:
    """Boundary-timer durations (whole days, rounded up) and, with ``started_on``, the dates, for the
    lights D6 shows: ``{remind_days, yellow_days, red_days, remind_after, yellow_after, red_after, …}``.
    Yellow and red are required (the lifecycle's timers); a blue reminder may be absent (``None``)."""
    shown = _first_shown(_rows(d6))
    for light in ("yellow", "red"):
        if light not in shown:
            raise ValueError(f"D6 预警规则中{COLOURS[light]}灯永不出现,无法设定阶段定时器 / "
                             f"d6 never shows {light}: the stage timers cannot be set")
    out: dict = {}
    names = {"blue": "remind", "yellow": "yellow", "red": "red"}
    start = _date(started_on, "started_on") if started_on not in (None, "") else None
    if start is not None:
        out["started_on"] = start.isoformat()
    for light in TIMER_LIGHTS:
        days = math.ceil(shown[light] - 1e-9) if light in shown else None
        name = names[light]
        out[f"{name}_days"] = days
        out[f"{name}_after"] = f"P{days}D" if days is not None else None
        if start is not None:
            out[f"{name}_on"] = (start + dt.timedelta(days=days)).isoformat() if days is not None else None
    return out


@handler("stage_warning_colour")
def stage_warning_colour(d6, elapsed_days) -> dict:
    """The colour D6 shows ``elapsed_days`` after the stage start (first row reached, table order)."""
    rows = _rows(d6)
    elapsed = _days(elapsed_days, "elapsed_days")
    row = _first(rows, elapsed) or {"rule": None, "light": "green", "colour": COLOURS["green"], "from_days": 0}
    shown = _first_shown(rows)
    red = shown.get("red")
    return {"light": row["light"], "colour": row["colour"], "rule": row["rule"],
            "red_days": red, "days_to_red": round(red - elapsed, 2) if red is not None else None}


@handler("milestone_warning")
def milestone_warning(due_date, as_of, done: bool = False, red_days=MILESTONE_RED_DAYS) -> dict:
    """Contract milestone: overdue → 黄; overdue more than ``red_days`` → 红 and a breach candidate."""
    due = _date(due_date, "due_date")
    today = _date(as_of, "as_of")
    limit = _days(red_days, "red_days")
    overdue = 0 if done else max((today - due).days, 0)
    if done or overdue == 0:
        light = "green"
    elif overdue > limit:
        light = "red"
    else:
        light = "yellow"
    return {"light": light, "colour": COLOURS[light], "overdue_days": overdue, "breach": light == "red"}


CASE_RULE_DEFAULTS = {"warning.case_red_min_days": 3, "warning.case_red_ratio": 0.5}


@handler("case_deadlines")
def case_deadlines(limit_days, cfg: dict | None = None) -> dict:
    """A case with an answer limit of ``limit_days`` (whole days): yellow once the limit has passed, red
    ``max(min_days, ceil(limit × ratio))`` days later (``warning.case_red_min_days`` /
    ``warning.case_red_ratio`` of ``cfg``, the settings). ``{limit_days, yellow_days, red_days,
    yellow_after, red_after}`` with ISO 8601 day durations for the boundary timers."""
    limit = _days(limit_days, "limit_days")
    if limit != int(limit) or limit < 1:
        raise ValueError(f"时限应为至少 1 的整天数 / limit_days must be a whole number ≥ 1, got {limit_days!r}")
    cfg = {**CASE_RULE_DEFAULTS, **{k: v for k, v in (cfg or {}).items() if k in CASE_RULE_DEFAULTS}}
    min_days = _days(cfg["warning.case_red_min_days"], "warning.case_red_min_days")
    ratio = _days(cfg["warning.case_red_ratio"], "warning.case_red_ratio")
    limit = int(limit)
    red = limit + max(math.ceil(min_days - 1e-9), math.ceil(limit * ratio - 1e-9))
    return {"limit_days": limit, "yellow_days": limit, "red_days": red,
            "yellow_after": f"P{limit}D", "red_after": f"P{red}D"}
