"""预审评分与一票否决汇总 (domain.md §3.3 F-08/F-09, §3.4 D4/D5)."""

from __future__ import annotations

import pytest

from handlers.prereview import CRITERIA, prereview_panel_score, prereview_veto_summary
from handlers.registry import load_all


def sheet(name, a, b, c, d, e, f, g, h, veto=False, reason=""):
    return {
        "expert_name": name,
        "score_a": a,
        "score_b": b,
        "score_c": c,
        "score_d": d,
        "score_e": e,
        "score_f": f,
        "score_g": g,
        "score_h": h,
        "panel_veto_flag": veto,
        "panel_veto_reason": reason,
    }


FULL = sheet("专家甲", 15, 15, 10, 10, 15, 10, 10, 15)  # 100
GOOD = sheet("专家乙", 14, 13, 8, 9, 13, 9, 9, 13)  # 88
FAIR = sheet("专家丙", 13, 12, 8, 8, 12, 8, 8, 12)  # 81
PASS = sheet("专家丁", 12, 12, 8, 8, 12, 8, 8, 12)  # 80
POOR = sheet("专家戊", 5, 5, 3, 3, 5, 3, 3, 5)  # 32


def test_registered_under_their_operator_names():
    handlers = load_all()
    assert handlers["prereview_panel_score"] is prereview_panel_score
    assert handlers["prereview_veto_summary"] is prereview_veto_summary


def test_f09_weights_add_up_to_100_points():
    assert {k: m for k, (_, m) in CRITERIA.items()} == {
        "A": 15,
        "B": 15,
        "C": 10,
        "D": 10,
        "E": 15,
        "F": 10,
        "G": 10,
        "H": 15,
    }
    assert sum(m for _, m in CRITERIA.values()) == 100


def test_single_expert_total_and_item_averages():
    r = prereview_panel_score([GOOD], credit_conclusion="良好")
    assert r["avg_score"] == 88.0
    assert r["item_avgs"]["F"] == 9.0 and r["item_F_score"] == 9.0
    assert r["expert_count"] == 1 and r["counted"] == 1 and r["dropped"] == []
    assert r["max_score"] == 100 and r["panel_veto_count"] == 0


def test_four_experts_plain_mean_without_dropping():
    r = prereview_panel_score([FULL, GOOD, FAIR, POOR])
    assert r["dropped"] == []
    assert r["avg_score"] == round((100 + 88 + 81 + 32) / 4, 2) == 75.25


def test_five_experts_drop_the_highest_and_the_lowest_total():
    r = prereview_panel_score([FULL, GOOD, FAIR, PASS, POOR])
    assert [(d["expert_name"], d["total"], d["reason"]) for d in r["dropped"]] == [
        ("专家甲", 100, "最高分"),
        ("专家戊", 32, "最低分"),
    ]
    assert r["counted"] == 3
    assert r["avg_score"] == 83.0  # (88 + 81 + 80) / 3 → D5 通过 (≥ 80)
    assert r["item_avgs"]["F"] == round((9 + 8 + 8) / 3, 2) == 8.33


def test_ties_drop_only_one_sheet_each_way():
    sheets = [sheet(f"专家{i}", 12, 12, 8, 8, 12, 8, 8, 12) for i in range(5)]  # all 80
    r = prereview_panel_score(sheets)
    assert len(r["dropped"]) == 2 and r["counted"] == 3 and r["avg_score"] == 80.0
    assert r["dropped"][0]["index"] != r["dropped"][1]["index"]


def test_credit_in_doubt_caps_item_b_at_6():
    r = prereview_panel_score([GOOD], credit_conclusion="存疑")
    assert r["item_avgs"]["B"] == 6.0
    assert r["avg_score"] == 88 - 13 + 6 == 81.0
    assert r["credit_cap_applied"] is True
    assert prereview_panel_score([GOOD], credit_conclusion="一般")["avg_score"] == 88.0


def test_thresholds_of_d5_are_reachable_by_the_worked_sheets():
    # D5: ≥ 80 通过 (F > 0, credit 良好/一般), ≥ 60 有条件通过, otherwise 不通过
    assert prereview_panel_score([PASS])["avg_score"] == 80.0
    assert prereview_panel_score([sheet("专家己", 12, 10, 6, 7, 10, 5, 7, 10)])["avg_score"] == 67.0
    assert prereview_panel_score([sheet("专家庚", 6, 6, 3, 5, 6, 5, 5, 6)])["avg_score"] == 42.0


def test_panel_veto_flags_are_counted_with_reasons():
    r = prereview_panel_score([GOOD, sheet("专家辛", 10, 10, 6, 6, 10, 6, 6, 10, veto=True, reason="安全风险不可控")])
    assert r["panel_veto_count"] == 1
    assert r["panel_veto_reasons"] == [{"expert_name": "专家辛", "reason": "安全风险不可控"}]


def test_alternative_item_keys_and_custom_criteria():
    r = prereview_panel_score(
        [{"expert_name": "专家壬", "A": 10, "B": 10}], criteria={"A": {"name": "产业契合度", "max": 50}, "B": 50}
    )
    assert r["avg_score"] == 20.0 and r["max_score"] == 100


@pytest.mark.parametrize(
    "scores, message",
    [
        ([], "至少需要一位专家"),
        (None, "至少需要一位专家"),
        ([sheet("专家癸", 16, 13, 8, 9, 13, 9, 9, 13)], "A项"),
        ([sheet("专家癸", 14, -1, 8, 9, 13, 9, 9, 13)], "B项"),
        ([{"expert_name": "专家癸", "score_a": 10}], "缺少B项"),
        ([sheet("专家癸", "十", 13, 8, 9, 13, 9, 9, 13)], "应为数字"),
        (["not a sheet"], "格式错误"),
    ],
)
def test_invalid_sheets_are_refused_with_chinese_messages(scores, message):
    with pytest.raises(ValueError, match=message):
        prereview_panel_score(scores)


def test_veto_summary_merges_d4_hits_and_department_flags():
    r = prereview_veto_summary(
        rule_codes=["V05", "V01"],
        rule_labels=["涉及生态保护红线/自然保护地核心区", "产业结构调整指导目录淘汰类"],
        opinions=[
            {"source": "市发展改革委", "opinion": "不同意", "veto_flag": True, "categories": ["V01"]},
            {"source": "市生态环境局", "opinion": "同意", "veto_flag": False, "categories": []},
            {"source": "行业主管部门", "opinion": "有条件同意", "veto_flag": True, "categories": ["v11"]},
        ],
    )
    assert r["vetoed"] is True and r["count"] == 3
    assert r["codes"] == ["V01", "V05", "V11"]
    assert r["items"][0]["sources"] == ["一票否决规则(D4)", "市发展改革委"]
    assert r["labels"][2] == "重大安全风险不可控"
    assert r["dissenting"] == ["市发展改革委"]


def test_veto_summary_flag_without_category_counts_as_v99():
    r = prereview_veto_summary([], [], [{"source": "市生态环境局", "veto_flag": True}])
    assert r["codes"] == ["V99"] and r["vetoed"]


def test_veto_summary_nothing_found():
    r = prereview_veto_summary(None, None, [{"source": "市发展改革委", "opinion": "同意", "veto_flag": False}])
    assert r == {"vetoed": False, "count": 0, "codes": [], "labels": [], "items": [], "dissenting": []}
