"""The 产业链牵头单位 and 要素保障部门 scorecard profiles (§4.3 (B), issue #12): profile derived from the
chain registry / org unit, indicators counted from the records, hand-worked 2026 (annual, YTD, cut-off
2027-01-06 10:00 local; all times Pu'er local).

chain lead 市茶咖中心 (teacenter, leads C01; target 4 亿元以上签约):
  projects on C01: A 120 000 万 signed 03-01 landed 05-01 started 07-01; B 20 000 signed 04-01 landed 06-01;
    C 5 000 signed 05-01 by E1 (世界500强); D 30 000 signed 2025-06-01 landed 2025-09-01 (cohort only)
    → 亿元以上 A B = 2 / 4 = 50 % → 25 × 0.5 = 12.5
    → 落地+开工 (A B D landed + A started) / (2 × 4 cohort) = 4/8 → 20 × 0.5 = 10
    → 招大引强 A (≥10亿) + C (500强) = 2 of 3 for full → 15 × 2/3 = 10
  目标企业库 C01: E1 (has project C), E2 目标 (visited), E3 目标, E4 待招商 → 2/4 → 15 × 0.5 = 7.5
  visits on C01: V1 due 02-15 handled 02-14 → project A; V2 due 03-15 handled 03-20 (late); V3 no due
    → (timely 1 + converted 1) / (due 2 + visits 3) = 2/5 → 15 × 0.4 = 6
  信息报告与会议交办: 12 months due, no 招商工作信息, no 交办 → 0/12 → 0
  total 12.5 + 10 + 7.5 + 6 + 10 + 0 = 46.0
factor dept 市住房城乡建设局 (housing):
  联办协办 naming it: J1 due 03-20 closed 03-15; J2 due 06-20 closed 06-25 (late, reopened: rounds 2);
    J3 due 12-20 open (overdue); J4 due 2027-01-20 (not counted) → 1/3 → 30 × 1/3 = 10
  预审会商 (candidate org housing): H1 due 04-10 done 04-08; H2 due 08-10 done 08-12 (late) → 1/2 → 10
  承载台账: 2026H1 due 07-01 + 15 d: L1 ok (07-10), L2 no total; 2026H2 due 2027-01-01 + 15 d: L3, L4 ok
    → 3/4 → 20 × 0.75 = 15
  升级率 (H2 late + J2 reopened) / (2 consults + 3 cases) = 2/5 → 10 × (1 − 0.4) = 6
  服务对象评价: no rating records → 0 "无评价记录"; 信息报告 0/12 → 0
  total 10 + 10 + 15 + 6 + 0 + 0 = 41.0
"""

from __future__ import annotations

import datetime as dt

import pytest

from app import clock
from app.models.assessment import AssessmentTarget
from app.models.auth import OrgUnit
from app.models.domain import Agreement, Chain, Enterprise, Project, Region, Visit
from app.models.domain_processes import FactorIssue
from app.models.domain_records import CapacityLedger
from app.models.runtime import HumanTask
from app.services.domain import kpi_dept, kpis
from handlers.scorecard import annual_scorecard

AS_OF = dt.datetime(2027, 1, 6, 2, 0, tzinfo=dt.UTC)
CHAIN_UNIT = {"unit_key": "teacenter", "unit_name": "市茶咖中心", "unit_kind": "department",
              "responsible_unit": "市茶咖中心"}
FACTOR_UNIT = {"unit_key": "housing", "unit_name": "市住房城乡建设局", "unit_kind": "department",
               "responsible_unit": "市住房城乡建设局"}


def local(text: str) -> dt.datetime:
    if "T" not in text:
        text += "T10:00"
    return dt.datetime.fromisoformat(text + "+08:00").astimezone(dt.UTC)


@pytest.fixture
def base(db, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: AS_OF)
    db.add_all([Region(code="530802", name="思茅区", short_name="思茅"),
                OrgUnit(key="teacenter", name="市茶咖中心", type="department"),
                OrgUnit(key="housing", name="市住房城乡建设局", type="department"),
                OrgUnit(key="eco", name="市生态环境局", type="department"),
                OrgUnit(key="market_reg", name="市市场监管局", type="department"),
                Chain(code="C01", name="茶产业链", lead_org_unit_key="teacenter", links=[])])
    db.flush()
    return db


@pytest.fixture
def records(base):
    db = base
    ents = [Enterprise(name=n, chain_code="C01", library_status=s, rank_tags=t)
            for n, s, t in (("E1", "签约", ["世界500强"]), ("E2", "目标", []), ("E3", "目标", []), ("E4", "待招商", []))]
    db.add_all(ents)
    db.flush()

    def project(code, amount, signed, landed=None, started=None, ent=None):
        p = Project(code=code, name=code, region_code="530802", chain_code="C01", planned_investment_wan=amount,
                    signed_at=local(signed), landed_at=local(landed) if landed else None,
                    started_at=local(started) if started else None, enterprise_id=ent, created_at=local("2025-01-15"))
        db.add(p)
        db.flush()
        db.add(Agreement(project_id=p.id, kind="投资协议", sign_date=local(signed).date(), agreed_investment_wan=amount))
        return p

    a = project("A", 120000, "2026-03-01", "2026-05-01", "2026-07-01")
    project("B", 20000, "2026-04-01", "2026-06-01")
    project("C", 5000, "2026-05-01", ent=ents[0].id)
    project("D", 30000, "2025-06-01", "2025-09-01")
    db.add(AssessmentTarget(unit_key="teacenter", year=2026, signed_1e8_target=4))
    db.add_all([
        Visit(visit_date=dt.date(2026, 2, 10), chain_code="C01", handling_due_at=local("2026-02-15"),
              handled_at=local("2026-02-14"), project_id=a.id, created_at=local("2026-02-10")),
        Visit(visit_date=dt.date(2026, 3, 10), chain_code="C01", handling_due_at=local("2026-03-15"),
              handled_at=local("2026-03-20"), enterprise_id=ents[1].id, created_at=local("2026-03-10")),
        Visit(visit_date=dt.date(2026, 4, 10), chain_code="C01", created_at=local("2026-04-10")),
    ])
    housing = ["市住房城乡建设局"]
    for due, closed, rounds in (("2026-03-20", "2026-03-15", 1), ("2026-06-20", "2026-06-25", 2),
                                ("2026-12-20", None, 1), ("2027-01-20", None, 1)):
        db.add(FactorIssue(project_id=a.id, category="用地", departments=housing, raised_at=local("2026-01-20"),
                           due_at=local(due), closed_at=local(closed) if closed else None, rounds=rounds,
                           status="closed" if closed else "open"))
    for tid, due, done in (("h1", "2026-04-10", "2026-04-08"), ("h2", "2026-08-10", "2026-08-12")):
        db.add(HumanTask(id=tid, instance_id=1, process_key="project_prereview", element_id="pr_industry",
                         lane="industry_dept", candidate_orgs="housing,miit", state="completed",
                         due_at=local(due), completed_at=local(done)))
    for period, total, rating, updated in (("2026H1", 100, "充足", "2026-07-10"), ("2026H1", None, "紧张", "2026-07-10"),
                                           ("2026H2", 50, "紧张", "2026-12-20"), ("2026H2", 10, "不足", "2026-12-31")):
        db.add(CapacityLedger(region_code="530802", period=period, factor="工业用地", total=total, rating=rating,
                              updated_at=local(updated)))
    db.flush()
    return db


def test_the_profile_follows_the_chain_registry_and_the_org_unit(base):
    assert kpi_dept.profile_of(base, "teacenter") == ("chain", ["C01"])
    assert kpi_dept.profile_of(base, "housing") == ("factor", [])
    assert kpi_dept.profile_of(base, "eco") == ("factor", [])
    assert kpi_dept.profile_of(base, "market_reg") == ("department", [])


def test_a_chain_lead_unit_is_scored_on_its_chain_records(records):
    (row,) = kpis.unit_scorecard_inputs(records, [CHAIN_UNIT], 2026)
    k = row["kpis"]
    assert row["profile"] == "chain"
    assert (k["chain_signed_target_rate"]["numerator"], k["chain_signed_target_rate"]["denominator"]) == (2, 4)
    assert (k["chain_landing_start_rate"]["numerator"], k["chain_landing_start_rate"]["denominator"]) == (4, 8)
    assert (k["target_library_docking_rate"]["numerator"], k["target_library_docking_rate"]["denominator"]) == (2, 4)
    assert (k["visit_intake_conversion_rate"]["numerator"], k["visit_intake_conversion_rate"]["denominator"]) == (2, 5)
    assert k["chain_big_count"]["value"] == 2
    assert (k["info_meeting_rate"]["numerator"], k["info_meeting_rate"]["denominator"]) == (0, 12)
    (res,) = annual_scorecard([row], 2026)["results"]
    points = {i["key"]: i["points"] for i in res["items"]}
    assert points == {"chain_signed_target_pct": 12.5, "chain_landing_start_pct": 10.0,
                      "target_library_docking_pct": 7.5, "visit_intake_conversion_pct": 6.0,
                      "chain_big_count": 10.0, "info_meeting_pct": 0.0}
    assert res["year_end"] == 46.0 and res["profile"] == "chain"


def test_a_factor_department_is_scored_on_its_handling_records(records):
    (row,) = kpis.unit_scorecard_inputs(records, [FACTOR_UNIT], 2026)
    k = row["kpis"]
    assert row["profile"] == "factor"
    assert (k["joint_handling_on_time_rate"]["numerator"], k["joint_handling_on_time_rate"]["denominator"]) == (1, 3)
    assert (k["consult_on_time_rate"]["numerator"], k["consult_on_time_rate"]["denominator"]) == (1, 2)
    assert (k["capacity_ledger_timely_rate"]["numerator"], k["capacity_ledger_timely_rate"]["denominator"]) == (3, 4)
    assert (k["escalation_rate"]["numerator"], k["escalation_rate"]["denominator"]) == (2, 5)
    (res,) = annual_scorecard([row], 2026)["results"]
    items = {i["key"]: (i["points"], i["reason"]) for i in res["items"]}
    assert items == {"issue_timely_pct": (10.0, None), "consult_on_time_pct": (10.0, None),
                     "capacity_ledger_timely_pct": (15.0, None), "escalation_rate_pct": (6.0, None),
                     "service_rating_pct": (0.0, "无评价记录"), "work_info_pct": (0.0, None)}
    assert res["year_end"] == 41.0


def test_no_records_score_zero_with_a_reason(base):
    chain, factor = kpis.unit_scorecard_inputs(base, [CHAIN_UNIT, dict(FACTOR_UNIT, unit_key="eco",
                                                                      unit_name="市生态环境局",
                                                                      responsible_unit="市生态环境局")], 2026)
    results = {r["unit_key"]: r for r in annual_scorecard([chain, factor], 2026)["results"]}
    for key in ("teacenter", "eco"):
        assert results[key]["year_end"] == 0.0
    reasons = {i["key"]: i["reason"] for i in results["eco"]["items"]}
    assert reasons["service_rating_pct"] == "无评价记录"
    assert reasons["escalation_rate_pct"] == "本期无到期的预审会商与联办协办事项"  # not full marks for nothing
    assert reasons["capacity_ledger_timely_pct"] == "本期无承载能力台账记录"
    assert reasons["consult_on_time_pct"] == "本期无到期的预审会商任务"
    chain_reasons = {i["key"]: i["reason"] for i in results["teacenter"]["items"]}
    assert chain_reasons["chain_signed_target_pct"] == "未下达链上亿元以上签约项目数目标"
    assert chain_reasons["target_library_docking_pct"] == "目标企业库中无该链企业"


def test_the_profile_points_are_settings_summing_to_100():
    from app.errors import Invalid
    from app.services.domain import settings

    defaults = settings.defaults()
    for key in ("score.chain_points", "score.factor_points"):
        assert sum(defaults[key].values()) == 100
        assert settings.validate(key, dict(defaults[key])) == defaults[key]
        bad = dict(defaults[key])
        bad[next(iter(bad))] += 5
        with pytest.raises(Invalid, match="合计应为 100"):
            settings.validate(key, bad)
        with pytest.raises(Invalid):
            settings.validate(key, {next(iter(bad)): 100})  # every indicator must be given
    assert defaults["score.factor_points"] == {"issue_timely": 30, "consult_on_time": 20, "capacity_ledger_timely": 20,
                                               "escalation_rate": 10, "service_rating": 10, "work_info": 10}


def test_changed_points_are_used(records):
    (row,) = kpis.unit_scorecard_inputs(records, [FACTOR_UNIT], 2026)
    points = {"issue_timely": 40, "consult_on_time": 10, "capacity_ledger_timely": 20, "escalation_rate": 10,
              "service_rating": 10, "work_info": 10}
    (res,) = annual_scorecard([row], 2026, {"score.factor_points": points})["results"]
    # 40 × 1/3 + 10 × 1/2 + 20 × 0.75 + 10 × 0.6 = 13.33 + 5 + 15 + 6 = 39.33
    assert res["year_end"] == 39.33
