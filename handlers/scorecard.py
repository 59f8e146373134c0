"""考核计分 — quarterly 日常考评 and annual 年度考核 scorecards (reference/domain.md §4.3, D12).

Pure functions: no ``app`` imports, no database. Called from ``processes/supervision_quarterly.bpmn``
(``quarterly_scorecard``) and ``processes/supervision_annual.bpmn`` (``annual_scorecard``).

Input: one dict per assessed unit (县(区) or 工业园区; a 市直部门 with ``"unit_kind": "department"`` is
scored on the §4.3 (B) table of its ``"profile"`` — ``chain`` 产业链牵头单位, ``factor`` 要素保障部门 or
``department`` (default) 其他市直部门, see :mod:`handlers.scorecard_profiles`)::

    {"unit_key": "530802", "unit_name": "思茅区",
     "funds_target_rate_pct": 92.0,      # K-F3, YTD completion of the annual target, in %
     "signed_1e8_rate_pct": 80.0,        # K-P4 vs target, in %
     "landing_rate_pct": 48.0, "start_rate_pct": 40.0, "funds_arrival_rate_pct": 27.0,
     "big_10e8_count": 2, "top_firm_count": 1,
     "on_time_transition_rate_pct": 80.0, "warning_rectified_rate_pct": 75.0,
     "monthly_report_timely_pct": 100, "leader_investment_pct": 100, "trip_info_pct": 100,
     "visit_report_timely_pct": 100, "work_info_pct": 100, "handling_timely_pct": 90,
     "complaint_timely_pct": 100, "complaint_satisfaction_pct": 80, "issue_timely_pct": 90,
     "capacity_grade": "良",
     # bonus inputs (annual)
     "big_50e8_count": 0, "claimed_signed_count": 1, "provincial_commendation": False,
     # penalty inputs (annual; falsification also forces 不合格)
     "falsification_count": 0, "start_overdue_count": 1, "red_unrectified_count": 0,
     "irregular_incentive_count": 0, "late_report_count": 1, "false_data_findings": 0,
     # annual only: the four quarterly daily scores (日常考评), if known
     "quarterly": [85.0, 88.0, 86.0, 90.0]}

Rates are percentages (0–100). Since issue #12 the indicators are computed from the platform's
records (app/services/domain/kpis.py ``unit_scorecard_inputs``), not typed by the assessed unit.
A missing or ``None`` indicator scores **0** and its item carries a ``reason`` (from the unit's
``reasons`` dict, else "无数据,按0分计"): nothing is renormalised, so leaving a value blank can never
raise a score. Every weight, benchmark, cap and amount is a setting: pass ``params`` (the settings
dict, keys as in :data:`DEFAULTS`); missing keys fall back to :data:`DEFAULTS`.
Numbers are rounded to 2 decimals in the output.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from handlers.registry import handler
from handlers.scorecard_profiles import (  # noqa: F401  (DEPT_* re-exported)
    CHAIN_INDICATORS,
    DEPT_BLOCK_POINTS,
    DEPT_BLOCKS,
    DEPT_INDICATORS,
    FACTOR_INDICATORS,
    PROFILE_DEFAULTS,
    profile_table,
)

# (key, block, 中文, points, kind, parameter)
#   target : min(rate / progress, 1) × pts   (progress = quarter/4 for 序时进度, 1 for the year)
#   bench  : min(rate / benchmark, 1) × pts  (cohort ratios: not time-proportional)
#   count  : min(count / (n_full × progress), 1) × pts   (3 pts each, cap 9 → n_full = 3)
#   rate   : rate × pts
#   product: rate_a × rate_b × pts
#   grade  : mapping of a grade word to points
INDICATORS: list[tuple[str, int, str, float, str, object]] = [
    ("funds_target_rate_pct", 1, "产业类省外到位资金目标完成率", 15, "target", None),
    ("signed_1e8_rate_pct", 1, "新签约亿元以上项目数完成率", 10, "target", None),
    ("landing_rate_pct", 2, "项目落地率", 12, "bench", 60.0),
    ("start_rate_pct", 2, "开工率", 8, "bench", 50.0),
    ("funds_arrival_rate_pct", 2, "资金到位率", 10, "bench", 30.0),
    ("big_10e8_count", 3, "10亿元以上新签约项目", 9, "count", 3),
    ("top_firm_count", 3, "500强/链主企业项目", 6, "count", 2),
    ("on_time_transition_rate_pct", 4, "转段及时率", 6, "rate", None),
    ("warning_rectified_rate_pct", 4, "预警整改率", 4, "rate", None),
    ("monthly_report_timely_pct", 4, "月报按时报送", 2, "rate", None),
    ("leader_investment_pct", 4, "“一把手”招商", 2, "rate", None),
    ("trip_info_pct", 4, "外出招商信息报告", 1, "rate", None),
    ("visit_report_timely_pct", 4, "来访企业报告及时", 1, "rate", None),
    ("work_info_pct", 4, "招商工作信息报告", 1, "rate", None),
    ("handling_timely_pct", 4, "交办与来访办理及时率", 3, "rate", None),
    ("complaint", 5, "投诉按期办结率×满意率", 4, "product", ("complaint_timely_pct", "complaint_satisfaction_pct")),
    ("issue_timely_pct", 5, "本地联办协办按期办结率", 2, "rate", None),
    ("capacity_grade", 5, "承载能力评估结果", 4, "grade", {"优": 4, "良": 3, "中": 2, "差": 1}),
]

BLOCKS = {1: "目标任务", 2: "项目落地", 3: "招大引强", 4: "过程管理", 5: "服务与环境"}

MISSING_REASON = "无数据,按0分计"
BLOCK_POINTS = {1: 25, 2: 30, 3: 15, 4: 20, 5: 10}

BONUS_CAP = 10.0
PENALTY_CAP = 20.0
DAILY_WEIGHT = 0.3
YEAR_END_WEIGHT = 0.7

# penalty inputs: key → (中文, points each)
PENALTIES = {
    "falsification_count": ("弄虚作假", 5.0),
    "start_overdue_count": ("超时限未开工项目", 0.5),
    "red_unrectified_count": ("红灯超90天未整改", 0.5),
    "irregular_incentive_count": ("违规优惠/内卷", 3.0),
    "late_report_count": ("月报迟报", 0.2),
    "false_data_findings": ("督查发现数据不实", 1.0),
}

# The [A] values of §4.3 under their setting keys (app/services/domain/settings.py reads these as defaults).
DEFAULTS: dict[str, object] = {
    "score.weight.daily": DAILY_WEIGHT,
    "score.weight.year_end": YEAR_END_WEIGHT,
    "score.benchmark.landing_rate": 60.0,
    "score.benchmark.start_rate": 50.0,
    "score.benchmark.funds_arrival_rate": 30.0,
    "score.count_full.big_10e8_count": 3,
    "score.count_full.top_firm_count": 2,
    "score.points": {key.removesuffix("_pct"): pts for key, _b, _l, pts, _k, _p in INDICATORS},
    **PROFILE_DEFAULTS,
    "score.capacity_points": {"优": 4, "良": 3, "中": 2, "差": 1},
    "score.bonus.cap": BONUS_CAP,
    "score.bonus.funds_per_10pct": 1.0,
    "score.bonus.funds_max": 3.0,
    "score.bonus.big_50e8_each": 3.0,
    "score.bonus.big_50e8_max": 6.0,
    "score.bonus.claimed_each": 1.0,
    "score.bonus.claimed_max": 2.0,
    "score.bonus.commendation": 1.0,
    "score.penalty.cap": PENALTY_CAP,
    "score.penalty.amounts": {key: each for key, (_label, each) in PENALTIES.items()},
    "score.grade_bands": {"优秀": 90, "良好": 80, "合格": 60},
}


def _params(params: dict | None) -> dict:
    out = dict(DEFAULTS)
    for key, value in (params or {}).items():
        if key in DEFAULTS and value is not None:
            out[key] = value
    return out


def _indicator_table(cfg: dict) -> list[tuple[str, int, str, float, str, object]]:
    """INDICATORS with the points, benchmarks, counts and grade points of ``cfg``."""
    points = cfg["score.points"]
    table = []
    for key, block, label, pts, kind, param in INDICATORS:
        base = key.removesuffix("_pct")
        pts = float(points.get(base, pts))
        if kind == "bench":
            param = float(cfg[f"score.benchmark.{base}"])
        elif kind == "count":
            param = float(cfg[f"score.count_full.{key}"])
        elif kind == "grade":
            param = dict(cfg["score.capacity_points"])
        table.append((key, block, label, pts, kind, param))
    return table


def _profile(unit: dict, cfg: dict) -> tuple[list, dict, dict]:
    """(indicator table, block names, block points) of the unit's scorecard: a 市直部门 profile
    (``unit["profile"]``: chain / factor / department) or 县(区)/园区."""
    if unit.get("unit_kind") != "department":
        return _indicator_table(cfg), BLOCKS, BLOCK_POINTS
    return profile_table(unit.get("profile") or "department", cfg)


def _r(x: float) -> float:
    return round(x + 0.0, 2)


def _num(value) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _clip01(x: float) -> float:
    return max(0.0, min(1.0, x))


def grade_for(total: float, falsification: bool = False, bands: dict | None = None) -> str:
    """D12 考核等次 (UNIQUE, first match): falsification → 不合格; ≥90 优秀; ≥80 良好; ≥60 合格
    (the bands are the ``score.grade_bands`` setting)."""
    bands = bands or DEFAULTS["score.grade_bands"]
    if falsification:
        return "不合格"
    for word in ("优秀", "良好", "合格"):
        if total >= float(bands[word]):
            return word
    return "不合格"


def _indicator_points(unit: dict, kind: str, key: str, pts: float, param, progress: float) -> float | None:
    if kind == "product":
        a, b = (_num(unit.get(k)) for k in param)
        if a is None or b is None:
            return None
        return _clip01(a / 100) * _clip01(b / 100) * pts
    if kind == "grade":
        value = unit.get(key)
        if value in (None, ""):
            return None
        return float(param.get(value, 0))
    value = _num(unit.get(key))
    if value is None:
        return None
    if kind == "target":
        return _clip01(value / 100 / progress) * pts
    if kind == "bench":
        return _clip01(value / param) * pts
    if kind == "count":
        return _clip01(max(value, 0) / (param * progress)) * pts
    if kind == "rate":
        return _clip01(value / 100) * pts
    if kind == "lower":  # lower is better: (1 − rate) × pts
        return (1 - _clip01(value / 100)) * pts
    raise ValueError(f"unknown indicator kind {kind!r}")


def score_unit(unit: dict, progress: float = 1.0, params: dict | None = None) -> dict:
    """Base scorecard (100 points) of one unit; ``progress`` = share of the year elapsed (序时进度).

    Every indicator is scored: a missing one earns 0 and carries a ``reason`` — no renormalisation."""
    if not 0 < progress <= 1:
        raise ValueError("progress must be in (0, 1]")
    cfg = _params(params)
    reasons = unit.get("reasons") or {}
    items = []
    table, block_names, block_points = _profile(unit, cfg)
    blocks = {b: {"block": b, "name": name, "max": 0.0, "earned": 0.0} for b, name in block_names.items()}
    earned = available = 0.0
    for key, block, label, pts, kind, param in table:
        got = _indicator_points(unit, kind, key, pts, param, progress)
        reason = None
        if got is None:
            sources = param if kind == "product" else (key,)
            reason = "; ".join(dict.fromkeys(reasons.get(k) or MISSING_REASON for k in sources
                                             if _num(unit.get(k)) is None or kind == "grade"))
            got = 0.0
        items.append({"key": key, "block": block, "label": label, "max": pts, "points": _r(got),
                      "reason": reason})
        blocks[block]["max"] += pts
        blocks[block]["earned"] += got
        earned += got
        available += pts
    score = earned / available * 100 if available else 0.0
    return {
        "items": items,
        "missing": [{"key": i["key"], "label": i["label"], "reason": i["reason"]} for i in items if i["reason"]],
        "blocks": [
            {"block": b["block"], "name": b["name"], "max": _r(b["max"]), "earned": _r(b["earned"]),
             "full": block_points[b["block"]]}
            for b in blocks.values()
        ],
        "earned": _r(earned),
        "available": _r(available),
        "score": _r(score),
    }


def bonus_for(unit: dict, params: dict | None = None) -> dict:
    """Bonus points (cap ``score.bonus.cap``, default +10)."""
    cfg = _params(params)
    parts = {}
    funds = _num(unit.get("funds_target_rate_pct"))
    if funds is not None and funds > 100:
        steps = math.floor((funds - 100) / 10 + 1e-9) * float(cfg["score.bonus.funds_per_10pct"])
        parts["到位资金超目标"] = float(min(steps, float(cfg["score.bonus.funds_max"])))
    big50 = _num(unit.get("big_50e8_count")) or 0
    if big50 > 0:
        parts["50亿元以上项目"] = min(float(cfg["score.bonus.big_50e8_each"]) * int(big50),
                                  float(cfg["score.bonus.big_50e8_max"]))
    claimed = _num(unit.get("claimed_signed_count")) or 0
    if claimed > 0:
        parts["认领项目签约"] = min(float(cfg["score.bonus.claimed_each"]) * int(claimed),
                                float(cfg["score.bonus.claimed_max"]))
    if _num(unit.get("provincial_commendation")):
        parts["省级表彰"] = float(cfg["score.bonus.commendation"])
    parts = {k: v for k, v in parts.items() if v > 0}
    raw = sum(parts.values())
    return {"parts": parts, "raw": _r(raw), "bonus": _r(min(raw, float(cfg["score.bonus.cap"])))}


def penalty_for(unit: dict, params: dict | None = None) -> dict:
    """Penalty points (cap ``score.penalty.cap``, default −20). Returned as a positive number to subtract."""
    cfg = _params(params)
    amounts = cfg["score.penalty.amounts"]
    parts = {}
    for key, (label, each) in PENALTIES.items():
        n = _num(unit.get(key)) or 0
        if n > 0:
            parts[label] = _r(float(amounts.get(key, each)) * int(n))
    raw = sum(parts.values())
    return {"parts": parts, "raw": _r(raw), "penalty": _r(min(raw, float(cfg["score.penalty.cap"])))}


def _ranked(results: list[dict], key: str) -> list[dict]:
    """Competition ranking (1, 2, 2, 4) by ``key`` descending; stable on unit_key."""
    ordered = sorted(results, key=lambda r: (-r[key], str(r.get("unit_key"))))
    rank = 0
    previous = None
    for index, row in enumerate(ordered, start=1):
        if row[key] != previous:
            rank = index
            previous = row[key]
        row["rank"] = rank
    return ordered


def _units(units: Iterable[dict] | dict | None) -> list[dict]:
    if units is None:
        return []
    if isinstance(units, dict):
        units = list(units.values())
    out = []
    for u in units:
        if not isinstance(u, dict):
            raise ValueError("each unit must be an object")
        if not u.get("unit_key"):
            raise ValueError("each unit needs a unit_key")
        out.append(u)
    return out


@handler("quarterly_scorecard")
def quarterly_scorecard(units, year: int, quarter: int, params: dict | None = None) -> dict:
    """季度日常考评: the §4.3 scorecard on time-proportional (序时进度) targets, normalised to 100.

    Returns ``{"year", "quarter", "progress", "results": [...], "ranking": [...]}``; each result has
    ``unit_key, unit_name, daily, blocks, items, grade, falsification, rank``. No bonus/penalty here
    (they belong to the annual assessment); the grade follows D12 with a confirmed falsification
    (``falsification_count`` > 0) forcing 不合格.
    """
    quarter = int(quarter)
    if quarter not in (1, 2, 3, 4):
        raise ValueError("quarter must be 1..4")
    progress = quarter / 4
    results = []
    for unit in _units(units):
        card = score_unit(unit, progress, params)
        falsified = (_num(unit.get("falsification_count")) or 0) > 0
        results.append({
            "unit_key": str(unit["unit_key"]),
            "unit_name": unit.get("unit_name") or str(unit["unit_key"]),
            "region_code": unit.get("region_code"),
            "unit_kind": unit.get("unit_kind") or "county",
            "profile": unit.get("profile") or ("department" if unit.get("unit_kind") == "department" else "county"),
            "daily": card["score"],
            "blocks": card["blocks"],
            "items": card["items"],
            "missing": card["missing"],
            "falsification": falsified,
            "false_data_findings": int(_num(unit.get("false_data_findings")) or 0),
            "grade": grade_for(card["score"], falsified, _params(params)["score.grade_bands"]),
        })
    ranking = _ranked(results, "daily")
    return {
        "year": int(year),
        "quarter": quarter,
        "progress": progress,
        "results": ranking,
        "ranking": [{"rank": r["rank"], "unit_key": r["unit_key"], "unit_name": r["unit_name"],
                     "daily": r["daily"], "grade": r["grade"]} for r in ranking],
    }


@handler("annual_scorecard")
def annual_scorecard(units, year: int, params: dict | None = None) -> dict:
    """年度考核: final = 0.3 × mean(quarterly daily) + 0.7 × year-end + bonus (≤10) − penalty (≤20).

    The year-end score is the §4.3 scorecard on full-year targets (100 base). If a unit has no
    quarterly scores, its daily component equals its year-end score. Grade per D12; a confirmed
    falsification forces 不合格. Returns ``{"year", "results": [...], "ranking": [...]}``.
    """
    cfg = _params(params)
    results = []
    for unit in _units(units):
        card = score_unit(unit, 1.0, cfg)
        quarterly = [q for q in (_num(v) for v in (unit.get("quarterly") or [])) if q is not None]
        daily = sum(quarterly) / len(quarterly) if quarterly else card["score"]
        bonus = bonus_for(unit, cfg)
        penalty = penalty_for(unit, cfg)
        total = _r(float(cfg["score.weight.daily"]) * _r(daily) + float(cfg["score.weight.year_end"]) * card["score"]
                   + bonus["bonus"] - penalty["penalty"])
        falsified = (_num(unit.get("falsification_count")) or 0) > 0
        results.append({
            "unit_key": str(unit["unit_key"]),
            "unit_name": unit.get("unit_name") or str(unit["unit_key"]),
            "region_code": unit.get("region_code"),
            "unit_kind": unit.get("unit_kind") or "county",
            "profile": unit.get("profile") or ("department" if unit.get("unit_kind") == "department" else "county"),
            "daily": _r(daily),
            "quarterly": [_r(q) for q in quarterly],
            "year_end": card["score"],
            "blocks": card["blocks"],
            "items": card["items"],
            "missing": card["missing"],
            "bonus": bonus["bonus"],
            "bonus_parts": bonus["parts"],
            "penalty": penalty["penalty"],
            "penalty_parts": penalty["parts"],
            "total": total,
            "falsification": falsified,
            "grade": grade_for(total, falsified, cfg["score.grade_bands"]),
        })
    ranking = _ranked(results, "total")
    return {
        "year": int(year),
        "results": ranking,
        "ranking": [{"rank": r["rank"], "unit_key": r["unit_key"], "unit_name": r["unit_name"],
                     "total": r["total"], "grade": r["grade"]} for r in ranking],
    }
