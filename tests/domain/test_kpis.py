"""KPIs computed from records (app/services/domain/kpis.py) against the hand-worked year in
tests/domain/year_2026.py, and the §4.3 worked example reproduced from those records."""

from __future__ import annotations

import datetime as dt

import pytest

from app.errors import Invalid
from app.models.assessment import UnitReport
from app.services.domain import kpis, settings
from handlers.scorecard import annual_scorecard, score_unit
from tests.domain import year_2026
from tests.domain.year_2026 import AS_OF, COUNTS, EXPECTED, REGION


@pytest.fixture
def year(db, make_ctx, ops):
    year_2026.build(db, make_ctx, ops)
    return db


def test_each_indicator_equals_the_hand_count(year):
    result = kpis.indicators(year, 2026, region_code=REGION, as_of=AS_OF)
    assert result["value_kind"] == "fraction"
    assert result["period"]["label"] == "2026"
    ind = result["indicators"]
    for key, (num, den) in EXPECTED.items():
        item = ind[key]
        assert (item["numerator"], item["denominator"]) == (num, den), key
        assert item["value"] == pytest.approx(num / den), key
        assert item["unit"] == "fraction" and item["reason"] is None, key
    for key, n in COUNTS.items():
        assert ind[key]["value"] == n, key
    # 2026 signings: A1 A2 A3 A4 + B12–B21 → 2 × 100 000 + 2 × 20 000 + 10 × 2 000
    assert ind["signed_amount_wan"]["value"] == 260000
    assert ind["capacity_index"]["value"] == 84.0 and ind["capacity_index"]["grade"] == "良"


def test_the_worked_example_reproduces_from_records(year):
    """tests/handlers/test_scorecard.py::test_annual_worked_example_by_hand — year-end 80.30, total 80.61 良好 —
    now with every indicator computed; only the office-confirmed facts (认领签约 1) are given."""
    cfg = settings.values(year)
    kpi = kpis.indicators(year, 2026, region_code=REGION, ytd=True, cfg=cfg, as_of=AS_OF)
    unit = kpis.scorecard_inputs(kpi)
    unit.update({"unit_key": REGION, "unit_name": "思茅区", "quarterly": [78, 82, 80, 84],
                 "claimed_signed_count": 1})
    assert unit["reasons"] == {}
    assert unit["landing_rate_pct"] == 48.0 and unit["funds_arrival_rate_pct"] == 27.0
    (res,) = annual_scorecard([unit], 2026, cfg)["results"]
    assert {b["name"]: b["earned"] for b in res["blocks"]} == {
        "目标任务": 21.8, "项目落地": 25.0, "招大引强": 9.0, "过程管理": 16.5, "服务与环境": 8.0}
    assert (res["year_end"], res["daily"], res["bonus"], res["penalty"], res["total"], res["grade"]) == (
        80.3, 81.0, 1.0, 0.9, 80.61, "良好")
    assert res["penalty_parts"] == {"超时限未开工项目": 0.5, "月报迟报": 0.4}


def test_a_missing_report_cannot_raise_the_score(year):
    """Deleting the F-20 of June (which carried a "一把手" trip): 报送率 11/12, 一把手 5/12, 外出 11/12,
    信息 11/12, 迟报 3 — every part falls, none rises."""
    cfg = settings.values(year)

    def card():
        unit = kpis.scorecard_inputs(kpis.indicators(year, 2026, region_code=REGION, ytd=True, cfg=cfg, as_of=AS_OF))
        unit.update({"unit_key": REGION, "quarterly": [78, 82, 80, 84], "claimed_signed_count": 1})
        return annual_scorecard([unit], 2026, cfg)["results"][0]

    before = card()
    year.delete(year.query(UnitReport).filter_by(unit_key=REGION, period="2026-06").one())
    year.flush()
    after = card()
    # 过程管理: 2 × 11/12 + 2 × 5/12 + 1 × 11/12 + 1 + 1 × 11/12 + 4.8 + 3 + 2.7
    #        = 1.833 + 0.833 + 0.917 + 1 + 0.917 + 10.5 = 16.00 (was 16.5)
    assert {b["name"]: b["earned"] for b in after["blocks"]}["过程管理"] == 16.0
    assert after["penalty"] == 1.1  # 0.5 + 3 × 0.2
    assert after["year_end"] < before["year_end"] and after["total"] < before["total"]


def test_a_county_without_records_scores_zero_with_reasons(year):
    kpi = kpis.indicators(year, 2026, region_code="530821", ytd=True, as_of=AS_OF)
    unit = kpis.scorecard_inputs(kpi)
    # X1 (signed 2026, landed) is its only project: 落地率 1/1; funds 9 000 省外 but no target
    assert unit["landing_rate_pct"] == 100.0
    assert unit["reasons"]["funds_target_rate_pct"] == "未下达年度到位资金目标"
    assert unit["reasons"]["capacity_grade"] == "截至期末无2026年承载能力评估台账"
    card = score_unit(dict(unit, unit_key="530821"))
    # 落地率 12 + 10亿+ 1 × 3 = 15; 开工率 0/1 and 资金到位率 9 000/100 000 = 9 % → 9/30 × 10 = 3 → 18
    assert card["score"] == 18.0
    missing = {m["key"]: m["reason"] for m in card["missing"]}
    assert missing["capacity_grade"] == "截至期末无2026年承载能力评估台账"
    assert missing["complaint"] == "本期无办结或到期的投诉; 本期无投诉满意度评价"


def test_quarter_month_park_and_chain_scopes(year):
    q1 = kpis.indicators(year, 2026, quarter=1, region_code=REGION, as_of=AS_OF)["indicators"]
    # Q1 signings: A1 (02-10) + B12–B21 (03-12 … 03-21) = 11; funds Q1 A1 5 000
    assert q1["signed_count"]["value"] == 11
    assert q1["funds_arrived_wan"]["value"] == 5000
    # cohort to 03-31: A1 + B1–B21 = 22 signed, landed B1–B9 = 9
    assert (q1["landing_rate"]["numerator"], q1["landing_rate"]["denominator"]) == (9, 22)
    m2 = kpis.indicators(year, 2026, month=2, region_code=REGION, as_of=AS_OF)
    assert m2["period"]["label"] == "2026-02" and m2["indicators"]["signed_count"]["value"] == 1
    city = kpis.indicators(year, 2026, as_of=AS_OF)["indicators"]
    assert city["signed_count"]["value"] == 15  # + 宁洱 X1
    assert city["monthly_report_timely_rate"]["reason"] == "月报按单位统计,请指定县区或单位"
    none = kpis.indicators(year, 2026, chain_code="C99", as_of=AS_OF)["indicators"]
    assert none["landing_rate"]["value"] is None and none["landing_rate"]["reason"].endswith("(分母为0)")


@pytest.mark.parametrize(("args", "message"), [
    ((None,), "year"), (("20x6",), "year"), ((2026, 5), "quarter"), ((2026, None, 13), "month"),
    ((2026, 1, 1), "quarter 与 month"),
])
def test_bad_periods_are_refused_in_chinese(args, message):
    with pytest.raises(Invalid, match=message):
        kpis.period_of(*args)


def test_registration_timeliness_counts_working_days(db, make_ctx, ops):
    """Friday 03-06 visits: registered Monday = 1 working day (timely, limit 1 wd); registered Wednesday
    = 3 wd (late) → 1/2. With Monday and Tuesday holidays (calendar.holidays) Wednesday is 1 wd → 2/2."""
    from app.models.domain import Region, Visit

    db.add(Region(code=REGION, name="思茅区", short_name="思茅"))
    fri = dt.date(2026, 3, 6)
    for registered in ("2026-03-09", "2026-03-11"):
        db.add(Visit(visit_date=fri, region_code=REGION, enterprise_name="周五来访",
                     created_at=year_2026.local(registered)))
    db.flush()
    cfg = settings.values(db)
    item = kpis.indicators(db, 2026, month=3, region_code=REGION, cfg=cfg, as_of=AS_OF)["indicators"]
    assert (item["visit_register_timely_rate"]["numerator"], item["visit_register_timely_rate"]["denominator"]) == (1, 2)
    cfg["calendar.holidays"] = ["2026-03-09", "2026-03-10"]  # Mon/Tue off: Wednesday is then 1 wd
    item = kpis.indicators(db, 2026, month=3, region_code=REGION, cfg=cfg, as_of=AS_OF)["indicators"]
    assert item["visit_register_timely_rate"]["numerator"] == 2


def test_working_day_helpers_skip_weekends_and_holidays_and_count_makeup_days():
    # 2026-10-01 (Thu) … 10-07 holidays, 10-10 (Sat) a make-up working day
    holidays = [f"2026-10-0{d}" for d in range(1, 8)]
    assert settings.add_working_days(dt.date(2026, 9, 30), 1, holidays, ["2026-10-10"]) == dt.date(2026, 10, 8)
    assert settings.add_working_days(dt.date(2026, 10, 8), 2, holidays, ["2026-10-10"]) == dt.date(2026, 10, 10)
    assert settings.working_days_between(dt.date(2026, 9, 30), dt.date(2026, 10, 12), holidays, ["2026-10-10"]) == 4
    assert settings.working_days_between(dt.date(2026, 3, 6), dt.date(2026, 3, 6)) == 0


def test_a_bad_f20_report_is_refused_and_nothing_is_stored(db, make_ctx, ops):
    ctx = make_ctx()
    for bad in ({"leader_trips": -1}, {"leader_trips": "两次"}, {"leader_trips": True}):
        with pytest.raises(ValueError, match="非负整数"):
            ops["unit_report_save"](ctx, "530802", "思茅区", "2026-05", bad)
    with pytest.raises(Invalid, match="month"):
        ops["unit_report_save"](ctx, "530802", "思茅区", "2026-13", {"leader_trips": 1})
    with pytest.raises(ValueError, match="列表"):
        ops["unit_report_save"](ctx, "530802", "思茅区", "2026-05", {"leader_trips": 1, "trips": "昆明"})
    assert db.query(UnitReport).count() == 0  # validated before any row is added
