"""市直部门 are assessed by the annual and quarterly cycles (§4.3 (B)): their indicators are computed on
the ``responsible_unit`` scope, they skip the county self-assessment and join the verification, and
their scorecard uses the department table (招商目标任务 40 · 揭牌认领项目推进 20 · 来访/交办办理 15 ·
"一把手"招商与信息报告 15 · 认领项目落地 10)."""

from __future__ import annotations

import datetime as dt

from app.models.domain import Agreement, Project
from handlers.scorecard import quarterly_scorecard
from tests.processes.helpers_cycle import assessment_scores, complete_each, set_clock, start_occurrence

# 市市场监管局 leads no chain and is no factor department → the 其他市直部门 table
COMMERCE = {"unit_key": "market_reg", "unit_name": "市市场监管局", "unit_kind": "department",
            "responsible_unit": "市市场监管局"}
CHAIN = {"unit_key": "commerce", "unit_name": "市商务局", "unit_kind": "department", "responsible_unit": "市商务局"}  # leads C08 in the chain registry
FACTOR = {"unit_key": "housing", "unit_name": "市住房城乡建设局", "unit_kind": "department",
          "responsible_unit": "市住房城乡建设局"}
SIMAO = {"region_code": "530802", "unit_name": "思茅区"}


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)


def seed(flow) -> None:
    """市市场监管局 is responsible for D1 (signed 2026-03-01, landed 2026-06-01): 落地率 1/1."""
    with flow.db.session_scope() as s:
        p = Project(code="D1", name="商务局负责项目", region_code="530802", responsible_unit="市市场监管局",
                    planned_investment_wan=3000, stage="S7_START", library_status="落地",
                    created_at=at("2026-01-10T10:00+08:00"), signed_at=at("2026-03-01T10:00+08:00"),
                    landed_at=at("2026-06-01T10:00+08:00"))
        s.add(p)
        s.flush()
        s.add(Agreement(project_id=p.id, kind="投资协议", sign_date=dt.date(2026, 3, 1), agreed_investment_wan=3000))


VERIFIED = {"verification_result": "核验属实", "falsification_count": 0, "false_data_findings": 0,
            "claimed_signed_count": 0, "provincial_commendation": False, "irregular_incentive_count": 0}


def test_the_annual_assessment_scores_a_municipal_department(flow):
    """市市场监管局 2026: 落地率 100 % ≥ 60 % → 10; nothing else on record → 0 each (reasons shown);
    12 F-20 months due, none reported → 迟报/未报 12 × 0.2 = 2.4; total 10 − 2.4 = 7.60, 不合格."""
    seed(flow)
    set_clock(flow, "2027-01-06T10:00:00+08:00")
    iid = start_occurrence(flow, "annual_assessment", {"assess_units": [SIMAO, COMMERCE, CHAIN, FACTOR],
                                                       "period": "2026"})
    # only the county self-assesses; the department's numbers go straight to the verification
    assert {(t.lane, t.region_code) for t in flow.tasks(iid, "self_assess")} == {("county_ipb", "530802")}
    complete_each(flow, iid, "self_assess", {"self_confirmation": "无异议", "evidence": "无"})
    verify = flow.tasks(iid, "verify")
    assert len(verify) == 4 and {t.lane for t in verify} == {"zsw_office"}
    complete_each(flow, iid, "verify", VERIFIED)
    data = flow.data(iid)
    flow.complete(iid, "office_review", {"review_opinion": data["review_opinion"],
                                         "publicity_from": data["publicity_from"],
                                         "publicity_result": "公示无异议"}, username="office1")
    flow.complete(iid, "director_approve", {"approval": "同意"}, username="director1")

    scores = assessment_scores(flow, 2026)
    dept = scores["market_reg"]
    assert (dept.unit_name, dept.year_end, dept.penalty, dept.total, dept.grade) == ("市市场监管局", 10.0, 2.4, 7.6, "不合格")
    blocks = {b["name"]: (b["earned"], b["full"]) for b in dept.scores["blocks"]}
    assert blocks == {"招商目标任务": (0.0, 40), "揭牌认领项目推进": (0.0, 20), "来访/交办办理": (0.0, 15),
                      "“一把手”招商与信息报告": (0.0, 15), "认领项目落地": (10.0, 10)}
    items = {i["key"]: i["reason"] for i in dept.scores["items"]}
    assert items["assignments_on_time_pct"] == "本期无到期的交办/转办及会议交办事项"
    assert "530802" in scores  # the county is assessed in the same run
    # the chain lead unit and the factor department are saved with their own profiles' blocks
    assert [b["name"] for b in scores["commerce"].scores["blocks"]] == [
        "链上签约目标", "链上项目落地开工", "目标企业库", "来访企业承接", "招大引强", "信息报告与会议交办"]
    assert [b["full"] for b in scores["housing"].scores["blocks"]] == [30, 20, 20, 10, 10, 10]
    rating = next(i for i in scores["housing"].scores["items"] if i["key"] == "service_rating_pct")
    assert (rating["points"], rating["reason"]) == (0.0, "无评价记录")


def test_the_default_cycles_cover_counties_and_departments(flow):
    set_clock(flow, "2026-07-05T10:00:00+08:00")
    iid = start_occurrence(flow, "quarterly_inspection", {"period": "2026Q2"})
    units = flow.data(iid)["inspect_units"]
    assert sum(1 for u in units if u.get("unit_kind") == "department") == 9 and len(units) == 19
    assert next(u for u in units if u.get("unit_key") == "commerce")["responsible_unit"] == "市商务局"
    computed = {u["unit_key"]: u for u in flow.data(iid)["computed_units"]}
    assert computed["commerce"]["unit_kind"] == "department" and computed["530802"]["unit_kind"] == "county"
    # each department with the profile of its type: chain lead units (chain registry) and factor departments
    profiles = {k: u["profile"] for k, u in computed.items() if u["unit_kind"] == "department"}
    assert profiles == {"miit": "chain", "agriculture": "chain", "commerce": "chain", "culture_tourism": "chain",
                        "tea_coffee_center": "chain", "forestry": "chain", "eco": "factor", "nrp": "factor",
                        "housing": "factor"}
    # the cycle's quarterly_scorecard step scores these computed inputs with each unit's profile
    quarterly = {r["unit_key"]: r for r in quarterly_scorecard(list(computed.values()), 2026, 2)["results"]}
    assert {i["key"] for i in quarterly["commerce"]["items"]} >= {"chain_signed_target_pct", "chain_big_count"}
    assert {i["key"] for i in quarterly["housing"]["items"]} >= {"consult_on_time_pct", "escalation_rate_pct"}
    assert next(i for i in quarterly["housing"]["items"] if i["key"] == "service_rating_pct")["reason"] == "无评价记录"
    set_clock(flow, "2027-01-06T10:00:00+08:00")
    annual = start_occurrence(flow, "annual_assessment", {"period": "2026"})
    assert len(flow.data(annual)["assess_units"]) == 19
    assert len(flow.tasks(annual, "self_assess")) == 10  # counties only
