"""月通报 sections and the reporting-period helper (domain.md P11-M)."""

from __future__ import annotations

import pytest

from handlers.bulletin import bulletin_sections, extract_metrics, report_period

REGIONS = [
    {"region_code": "530802", "region_name": "思茅区",
     "kpis": {"signed": 3, "funds_wan": 5000, "landed": 1, "lights": {"yellow": 1, "red": 2}, "visits": 4}},
    {"region_code": "530821", "region_name": "宁洱县",
     "kpis": {"signed": 1, "funds_wan": 1000, "landed": 2, "lights": {"yellow": 0, "red": 0}, "visits": 1}},
    {"region_code": "530822", "region_name": "墨江县",
     "kpis": {"signed": 0, "funds_wan": 0, "landed": 0, "lights": {"yellow": 3, "red": 1}, "visits": 0}},
]


@pytest.mark.parametrize(("kind", "at", "period"), [
    ("month", "2026-12-01T09:00:00+08:00", "2026-11"),
    ("month", "2027-01-01T01:00:00+00:00", "2026-12"),
    ("month", "2026-12-31T20:00:00+00:00", "2026-12"),  # already 01-01 in 北京时间 → previous month
    ("quarter", "2027-01-10", "2026Q4"),
    ("quarter", "2027-04-10", "2027Q1"),
    ("half", "2027-01-05T09:00:00+08:00", "2026H2"),
    ("half", "2027-07-05", "2027H1"),
    ("year", "2027-01-05", "2026"),
])
def test_report_period_is_the_last_complete_period(kind, at, period):
    assert report_period(kind, at=at)["period"] == period


def test_report_period_explicit_period_wins():
    info = report_period("quarter", at="2030-01-01", period="2026Q4")
    assert info == {"kind": "quarter", "period": "2026Q4", "label": "2026年第四季度", "year": 2026,
                    "start": "2026-10-01", "end": "2026-12-31",
                    "months": ["2026-10", "2026-11", "2026-12"], "quarter": 4}
    assert report_period("month", period="2024-02")["end"] == "2024-02-29"
    with pytest.raises(ValueError):
        report_period("month", period="2026Q4")
    with pytest.raises(ValueError):
        report_period("week")


def test_extract_metrics_tolerates_key_variants():
    known, others = extract_metrics({"projects": {"signed": 2, "landed": 1}, "funds_arrived_wan": 10.5,
                                     "lights": {"红": 1}, "complaints": {"count": 3}, "custom_x": 9,
                                     "region_code": "530802"})
    assert known == {"signed": 2, "landed": 1, "funds_wan": 10.5, "red": 1, "complaints": 3}
    assert others == {"custom_x": 9}


def test_bulletin_sections_rank_regions_by_efficacy_coefficient():
    """Composite (weights: signed 2, funds 2, landed 2, red 1 [fewer is better], visits 1; total 8).

    思茅: signed 100, funds 100, landed 80, red 60, visits 100 → (200+200+160+60+100)/8 = 90.00
    宁洱: signed 73.33, funds 68, landed 100, red 100, visits 70 → (146.67+136+200+100+70)/8 = 81.58
    墨江: signed 60, funds 60, landed 60, red 80, visits 60 → (120+120+120+80+60)/8 = 62.50
    """
    out = bulletin_sections("2026-11", city={"signed": 4, "funds_wan": 6000, "visits": 5},
                            regions=REGIONS, label="2026年11月")
    assert out["title"] == "普洱市招商引资工作月通报(2026年11月)"
    assert [(r["region_name"], r["rank"], r["score"]) for r in out["ranking"]] == [
        ("思茅区", 1, 90.0), ("宁洱县", 2, 81.58), ("墨江县", 3, 62.5)]
    keys = [s["key"] for s in out["sections"]]
    assert keys == ["overview", "regions", "ranking", "metric_ranks", "warnings"]
    overview = out["sections"][0]
    # landed / lights absent from the city snapshot → summed over the regions
    assert out["metrics"]["landed"] == 3 and out["metrics"]["red"] == 3
    assert overview["text"].startswith("2026年11月,全市新签约项目4个")
    assert "亮黄灯项目4个、红灯项目3个" in overview["text"]
    warnings = out["sections"][-1]
    assert warnings["table"]["rows"][0] == ["思茅区", "1", "2"]
    assert "思茅区、墨江县" in warnings["text"]
    metric_ranks = {s["key"]: s for s in out["sections"]}["metric_ranks"]
    assert "红灯项目最少:宁洱县" in metric_ranks["text"]


def test_bulletin_without_region_data_still_has_an_overview():
    out = bulletin_sections("2026-11", city={})
    assert [s["key"] for s in out["sections"]] == ["overview"]
    assert out["summary_text"] == "2026-11,全市暂无统计数据。"
    assert out["ranking"] == []


def test_equal_regions_share_the_rank():
    regions = [{"region_code": c, "region_name": c, "kpis": {"signed": 1}} for c in ("a", "b")]
    out = bulletin_sections("2026-11", regions=regions)
    assert [(r["region_code"], r["rank"], r["score"]) for r in out["ranking"]] == [("a", 1, 100.0), ("b", 1, 100.0)]


def test_office_edits_replace_the_overview_and_append_numbered_sections():
    out = bulletin_sections("2026-11", city={"signed": 1}, regions=REGIONS, summary_text="  本月总体平稳。 ",
                            extra_sections=[{"key": "highlights", "title": "工作亮点", "text": "景谷签约"},
                                            {"key": "problems", "title": "存在问题", "text": ""},
                                            {"key": "requirements", "title": "下步工作要求", "text": "抓落地"}])
    titles = [s["title"] for s in out["sections"]]
    assert titles == ["一、总体情况", "二、各县(区)主要指标", "三、综合排名", "四、分项排名", "五、预警情况",
                      "六、工作亮点", "七、下步工作要求"]
    assert out["sections"][0]["text"] == out["summary_text"] == "本月总体平稳。"
    assert out["sections"][-1] == {"key": "requirements", "title": "七、下步工作要求", "text": "抓落地"}
