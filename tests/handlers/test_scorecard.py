"""Scorecards of the quarterly 日常考评 and the annual 年度考核 (domain.md §4.3, D12)."""

from __future__ import annotations

import pytest

from handlers.scorecard import annual_scorecard, grade_for, quarterly_scorecard, score_unit

SIMAO = {
    "unit_key": "530802", "unit_name": "思茅区",
    "funds_target_rate_pct": 92, "signed_1e8_rate_pct": 80,
    "landing_rate_pct": 48, "start_rate_pct": 40, "funds_arrival_rate_pct": 27,
    "big_10e8_count": 2, "top_firm_count": 1,
    "on_time_transition_rate_pct": 80, "warning_rectified_rate_pct": 75,
    "monthly_report_timely_pct": 100, "leader_investment_pct": 50, "trip_info_pct": 100,
    "visit_report_timely_pct": 100, "work_info_pct": 100, "handling_timely_pct": 90,
    "complaint_timely_pct": 100, "complaint_satisfaction_pct": 80, "issue_timely_pct": 90,
    "capacity_grade": "良",
    "big_50e8_count": 0, "claimed_signed_count": 1, "provincial_commendation": False,
    "falsification_count": 0, "start_overdue_count": 1, "red_unrectified_count": 0,
    "irregular_incentive_count": 0, "late_report_count": 2, "false_data_findings": 0,
    "quarterly": [78, 82, 80, 84],
}


def test_annual_worked_example_by_hand():
    """Worked example for 思茅区 (530802), year 2026, computed by hand from §4.3.

    Year-end scorecard (100 base points):

    Block 1 目标任务 (25)
      产业类省外到位资金目标完成率 92%      min(0.92, 1) × 15        = 13.80
      新签约亿元以上项目数完成率 80%        min(0.80, 1) × 10        =  8.00   → 21.80
    Block 2 项目落地 (30)
      项目落地率 48% (benchmark 60%)        min(48/60, 1) × 12 = 0.8 × 12 =  9.60
      开工率 40% (benchmark 50%)            min(40/50, 1) ×  8 = 0.8 ×  8 =  6.40
      资金到位率 27% (benchmark 30%)        min(27/30, 1) × 10 = 0.9 × 10 =  9.00   → 25.00
    Block 3 招大引强 (15)
      10亿元以上新签约项目 2 个             3 pts each, cap 9          =  6.00
      500强/链主企业项目 1 个               3 pts each, cap 6          =  3.00   →  9.00
    Block 4 过程管理 (20)
      转段及时率 80%                        0.80 × 6                  =  4.80
      预警整改率 75%                        0.75 × 4                  =  3.00
      月报按时 100% × 2 = 2.00; “一把手”招商 50% × 2 = 1.00; 外出招商信息 100% × 1 = 1.00;
      来访企业报告 100% × 1 = 1.00; 招商工作信息 100% × 1 = 1.00   (信息报告 = 6.00 of 7)
      交办与来访办理及时率 90%              0.90 × 3                  =  2.70   → 16.50
    Block 5 服务与环境 (10)
      投诉按期办结率 100% × 满意率 80%      1.00 × 0.80 × 4           =  3.20
      本地联办协办按期办结率 90%            0.90 × 2                  =  1.80
      承载能力评估结果 良                   良 = 3                    =  3.00   →  8.00
    Year-end = 21.80 + 25.00 + 9.00 + 16.50 + 8.00 = 80.30

    Daily (日常考评) = mean(78, 82, 80, 84) = 81.00
    Bonus   = 认领项目签约 1 × 1 = 1.00 (到位资金 92% < 100%: none; no ≥50亿 project) → 1.00 (cap 10)
    Penalty = 超时限未开工 1 × 0.5 + 月报迟报 2 × 0.2 = 0.50 + 0.40 = 0.90 (cap 20)
    Final   = 0.3 × 81.00 + 0.7 × 80.30 + 1.00 − 0.90 = 24.30 + 56.21 + 0.10 = 80.61
    Grade (D12): 80.61 ≥ 80 → 良好
    """
    result = annual_scorecard([SIMAO], 2026)
    (unit,) = result["results"]
    blocks = {b["name"]: b["earned"] for b in unit["blocks"]}
    assert blocks == {"目标任务": 21.8, "项目落地": 25.0, "招大引强": 9.0, "过程管理": 16.5, "服务与环境": 8.0}
    assert unit["year_end"] == 80.3
    assert unit["daily"] == 81.0
    assert unit["bonus"] == 1.0
    assert unit["penalty"] == 0.9
    assert unit["total"] == 80.61
    assert unit["grade"] == "良好"
    assert unit["rank"] == 1
    assert result["ranking"] == [{"rank": 1, "unit_key": "530802", "unit_name": "思茅区", "total": 80.61,
                                  "grade": "良好"}]


def test_perfect_unit_scores_100_and_block_maxima_match_section_4_3():
    perfect = {"unit_key": "X", "funds_target_rate_pct": 130, "signed_1e8_rate_pct": 100, "landing_rate_pct": 75,
               "start_rate_pct": 60, "funds_arrival_rate_pct": 35, "big_10e8_count": 5, "top_firm_count": 4,
               "on_time_transition_rate_pct": 100, "warning_rectified_rate_pct": 100,
               "monthly_report_timely_pct": 100, "leader_investment_pct": 100, "trip_info_pct": 100,
               "visit_report_timely_pct": 100, "work_info_pct": 100, "handling_timely_pct": 100,
               "complaint_timely_pct": 100, "complaint_satisfaction_pct": 100, "issue_timely_pct": 100,
               "capacity_grade": "优"}
    card = score_unit(perfect)
    assert card["score"] == 100.0
    assert {b["name"]: (b["earned"], b["full"]) for b in card["blocks"]} == {
        "目标任务": (25.0, 25), "项目落地": (30.0, 30), "招大引强": (15.0, 15), "过程管理": (20.0, 20),
        "服务与环境": (10.0, 10)}


def test_bonus_is_capped_at_ten():
    unit = dict(SIMAO, funds_target_rate_pct=135, big_50e8_count=2, claimed_signed_count=3,
                provincial_commendation=True)
    (res,) = annual_scorecard([unit], 2026)["results"]
    # 3 (135% → floor(3.5) = 3) + 6 (2 × 3) + 2 (3 claims, max 2) + 1 = 12 → capped at 10
    assert res["bonus_parts"] == {"到位资金超目标": 3.0, "50亿元以上项目": 6.0, "认领项目签约": 2.0, "省级表彰": 1.0}
    assert res["bonus"] == 10.0


def test_penalty_is_capped_at_twenty_and_falsification_forces_fail():
    unit = dict(SIMAO, falsification_count=3, irregular_incentive_count=2, start_overdue_count=0,
                late_report_count=0)
    (res,) = annual_scorecard([unit], 2026)["results"]
    assert res["penalty_parts"] == {"弄虚作假": 15.0, "违规优惠/内卷": 6.0}
    assert res["penalty"] == 20.0
    assert res["grade"] == "不合格"
    assert res["falsification"] is True


def test_falsification_forces_fail_even_with_a_high_score():
    unit = dict(SIMAO, falsification_count=1, quarterly=[100, 100, 100, 100], funds_target_rate_pct=150,
                big_50e8_count=2)
    (res,) = annual_scorecard([unit], 2026)["results"]
    assert res["total"] >= 80
    assert res["grade"] == "不合格"


@pytest.mark.parametrize(("total", "falsified", "grade"), [
    (95, False, "优秀"), (90, False, "优秀"), (89.99, False, "良好"), (80, False, "良好"),
    (79.99, False, "合格"), (60, False, "合格"), (59.99, False, "不合格"), (99, True, "不合格"),
])
def test_grade_follows_d12(total, falsified, grade):
    assert grade_for(total, falsified) == grade


def test_without_quarterly_scores_daily_equals_year_end():
    unit = dict(SIMAO, quarterly=None)
    (res,) = annual_scorecard([unit], 2026)["results"]
    assert res["daily"] == res["year_end"] == 80.3
    assert res["total"] == round(80.3 + 1.0 - 0.9, 2)


def test_quarterly_uses_time_proportional_targets():
    """Q2 (序时进度 0.5): a 46% YTD funds completion is 92% of the pro-rata target → 13.8 of 15;
    one 10亿 project against a pro-rata 1.5 → 6 of 9. Cohort ratios (落地率 …) are not scaled."""
    unit = dict(SIMAO, funds_target_rate_pct=46, signed_1e8_rate_pct=40, big_10e8_count=1, top_firm_count=0)
    res = quarterly_scorecard([unit], 2026, 2)
    (card,) = res["results"]
    items = {i["key"]: i["points"] for i in card["items"]}
    assert items["funds_target_rate_pct"] == 13.8
    assert items["signed_1e8_rate_pct"] == 8.0
    assert items["big_10e8_count"] == 6.0
    assert items["top_firm_count"] == 0.0
    assert items["landing_rate_pct"] == 9.6
    # 21.8 + 25 + 6 + 16.5 + 8 = 77.3 of 100
    assert card["daily"] == 77.3
    assert card["grade"] == "合格"
    assert res["progress"] == 0.5


def test_a_missing_indicator_scores_zero_with_its_reason_and_nothing_is_renormalised():
    """Issue #12: blank indicators used to be dropped and the rest scaled up to 100."""
    unit = dict(SIMAO, complaint_timely_pct=None, complaint_satisfaction_pct=None,
                reasons={"complaint_timely_pct": "本期无办结或到期的投诉"})
    card = score_unit(unit)
    # 80.3 − 3.2 (the complaint item) = 77.1 of 100 — not 77.1 / 96 × 100 = 80.31
    assert card["available"] == 100.0
    assert card["score"] == 77.1
    item = next(i for i in card["items"] if i["key"] == "complaint")
    assert (item["points"], item["reason"]) == (0.0, "本期无办结或到期的投诉; 无数据,按0分计")
    assert [m["key"] for m in card["missing"]] == ["complaint"]


def test_leaving_landing_start_and_funds_blank_scores_the_same_as_true_zeros():
    """The issue's county: blank 落地率/开工率/资金到位率 gave 72.26 (合格), true zeros 50.58 (不合格)."""
    blank = dict(SIMAO, landing_rate_pct=None, start_rate_pct=None, funds_arrival_rate_pct=None)
    zeros = dict(SIMAO, landing_rate_pct=0, start_rate_pct=0, funds_arrival_rate_pct=0)
    b, z = score_unit(blank), score_unit(zeros)
    # 80.3 − 25.0 (block 2) = 55.3 either way
    assert b["score"] == z["score"] == 55.3
    assert grade_for(b["score"]) == "不合格"
    for key in SIMAO:
        if key in ("unit_key", "unit_name", "quarterly", "capacity_grade", "reasons"):
            continue
        assert score_unit(dict(SIMAO, **{key: None}))["score"] <= score_unit(SIMAO)["score"], key
    assert score_unit(dict(SIMAO, capacity_grade=None))["score"] == 77.3  # 80.3 − 3 (良)


def test_settings_change_the_weights_benchmarks_and_caps():
    params = {"score.benchmark.landing_rate": 48.0, "score.weight.daily": 0.5, "score.weight.year_end": 0.5,
              "score.penalty.amounts": {**__import__("handlers.scorecard", fromlist=["DEFAULTS"])
                                        .DEFAULTS["score.penalty.amounts"], "late_report_count": 1.0}}
    (res,) = annual_scorecard([SIMAO], 2026, params)["results"]
    # 落地率 48 of a 48 benchmark: 12 instead of 9.6 → year-end 82.7
    assert res["year_end"] == 82.7
    # penalty 0.5 + 2 × 1.0 = 2.5; total 0.5 × 81 + 0.5 × 82.7 + 1 − 2.5 = 80.35
    assert res["penalty"] == 2.5
    assert res["total"] == 80.35


def test_ranking_is_competition_style():
    a = dict(SIMAO, unit_key="A")
    b = dict(SIMAO, unit_key="B")
    c = dict(SIMAO, unit_key="C", landing_rate_pct=0)
    res = quarterly_scorecard([c, b, a], 2026, 4)
    assert [(r["unit_key"], r["rank"]) for r in res["ranking"]] == [("A", 1), ("B", 1), ("C", 3)]


def test_bad_input_is_rejected():
    with pytest.raises(ValueError):
        quarterly_scorecard([SIMAO], 2026, 5)
    with pytest.raises(ValueError):
        annual_scorecard([{"unit_name": "无编号"}], 2026)
