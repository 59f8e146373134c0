"""The three §4.3 (B) 市直部门 scorecard profiles (reference/domain.md §4.3, issue #12).

* ``department`` — 其他承担招商任务的市直部门 (:data:`DEPT_INDICATORS`, setting ``score.dept_points``);
* ``chain`` — 产业链牵头单位 (:data:`CHAIN_INDICATORS`, ``score.chain_points``): 链上新签约 vs target 25 ·
  链上项目落地率+开工率 20 · 目标企业库维护与对接率 15 · 来访企业承接及时率与转化率 15 · 招大引强 15 ·
  信息报告与会议交办 10;
* ``factor`` — 要素保障部门 (:data:`FACTOR_INDICATORS`, ``score.factor_points``): 联办协办按期办结率 30 ·
  预审会商按时反馈率 20 · 承载台账更新及时/准确 20 · 升级率(越低越好) 10 · 服务对象评价 10 · 信息报告 10.

The profile of a department is derived from the records (``app/services/domain/kpi_dept.py``
``profile_of``) and passed as ``unit["profile"]``; the indicators are computed from the records there.
Kinds as in :mod:`handlers.scorecard`, plus ``lower`` = (1 − rate) × pts (lower is better).
Pure: no ``app`` imports.
"""

from __future__ import annotations

# (key, block, 中文, points, kind, parameter)
DEPT_INDICATORS: list[tuple[str, int, str, float, str, object]] = [
    ("funds_target_rate_pct", 1, "到位资金目标完成率", 20, "target", None),
    ("signed_1e8_rate_pct", 1, "新签约亿元以上项目数完成率", 20, "target", None),
    ("on_time_transition_rate_pct", 2, "揭牌认领(负责)项目转段及时率", 20, "rate", None),
    ("assignments_on_time_pct", 3, "来访交办/转办及会议交办按期办结率", 15, "rate", None),
    ("leader_investment_pct", 4, "“一把手”招商", 5, "rate", None),
    ("monthly_report_timely_pct", 4, "月报按时报送", 5, "rate", None),
    ("work_info_pct", 4, "招商工作信息报告", 5, "rate", None),
    ("landing_rate_pct", 5, "认领(负责)项目落地率", 10, "bench", 60.0),
]
DEPT_BLOCKS = {1: "招商目标任务", 2: "揭牌认领项目推进", 3: "来访/交办办理", 4: "“一把手”招商与信息报告",
               5: "认领项目落地"}
DEPT_BLOCK_POINTS = {1: 40, 2: 20, 3: 15, 4: 15, 5: 10}

CHAIN_INDICATORS: list[tuple[str, int, str, float, str, object]] = [
    ("chain_signed_target_pct", 1, "链上新签约(亿元以上)项目数目标完成率", 25, "target", None),
    ("chain_landing_start_pct", 2, "链上项目落地率+开工率", 20, "rate", None),
    ("target_library_docking_pct", 3, "目标企业库维护与对接率", 15, "rate", None),
    ("visit_intake_conversion_pct", 4, "来访企业承接及时率与转化率", 15, "rate", None),
    ("chain_big_count", 5, "招大引强(链上10亿元以上/500强/链主项目)", 15, "count", 3),
    ("info_meeting_pct", 6, "信息报告与会议交办", 10, "rate", None),
]
CHAIN_BLOCKS = {1: "链上签约目标", 2: "链上项目落地开工", 3: "目标企业库", 4: "来访企业承接", 5: "招大引强",
                6: "信息报告与会议交办"}

FACTOR_INDICATORS: list[tuple[str, int, str, float, str, object]] = [
    ("issue_timely_pct", 1, "联办协办按期办结率", 30, "rate", None),
    ("consult_on_time_pct", 2, "预审会商按时反馈率", 20, "rate", None),
    ("capacity_ledger_timely_pct", 3, "承载台账更新及时/准确率", 20, "rate", None),
    ("escalation_rate_pct", 4, "升级率(越低越好)", 10, "lower", None),
    ("service_rating_pct", 5, "服务对象评价", 10, "rate", None),
    ("work_info_pct", 6, "信息报告", 10, "rate", None),
]
FACTOR_BLOCKS = {1: "联办协办", 2: "预审会商", 3: "承载台账", 4: "升级率", 5: "服务对象评价", 6: "信息报告"}

PROFILES = {
    "department": (DEPT_INDICATORS, "score.dept_points", DEPT_BLOCKS),
    "chain": (CHAIN_INDICATORS, "score.chain_points", CHAIN_BLOCKS),
    "factor": (FACTOR_INDICATORS, "score.factor_points", FACTOR_BLOCKS),
}


def _points(table) -> dict:
    return {key.removesuffix("_pct"): pts for key, _b, _l, pts, _k, _p in table}


PROFILE_DEFAULTS: dict[str, object] = {
    "score.dept_points": _points(DEPT_INDICATORS),
    "score.chain_points": _points(CHAIN_INDICATORS),
    "score.factor_points": _points(FACTOR_INDICATORS),
    "score.count_full.chain_big_count": 3,
}


def profile_table(profile: str, cfg: dict) -> tuple[list, dict, dict]:
    """(indicator table with the points of ``cfg``, block names, block points) of a 市直部门 profile."""
    if profile not in PROFILES:
        raise ValueError(f"unknown department profile {profile!r}")
    indicators, setting, names = PROFILES[profile]
    points = cfg.get(setting) or {}
    table = []
    for key, block, label, pts, kind, param in indicators:
        base = key.removesuffix("_pct")
        if kind == "bench":
            param = float(cfg.get(f"score.benchmark.{base}", param))
        elif kind == "count":
            param = float(cfg.get(f"score.count_full.{key}", param))
        table.append((key, block, label, float(points.get(base, pts)), kind, param))
    block_points: dict[int, float] = {}
    for _key, block, _l, pts, _k, _p in table:
        block_points[block] = block_points.get(block, 0.0) + pts
    if profile == "department":
        block_points = dict(DEPT_BLOCK_POINTS)
    return table, names, block_points
