"""Supervision cycle end to end (processes/README.md 月通报 / 季督查 / 年考核).

* monthly_bulletin started by its timer-start occurrence (2026-12-01 09:00 → period 2026-11): the
  saved Report's numbers equal the seeded month counted by hand (local-time month bounds);
* quarterly_inspection: per-county inspection → quarterly scorecard (序时进度) → AssessmentScore
  rows with the quarter and a 'quarterly' Report;
* annual_assessment: the §4.3 worked example of tests/handlers/test_scorecard.py (year-end 80.30,
  daily 81.00, bonus 1, penalty 0.9, total 80.61, 良好) through self-assessment, verification,
  D12 and approval; a confirmed falsification forces 不合格.
"""

from __future__ import annotations

import datetime as dt

import pytest

from app.errors import FormInvalid
from app.models.domain import Agreement, Complaint, FundsArrival, Project, Visit
from tests.processes.helpers_cycle import (
    assessment_scores,
    complete_each,
    count_instances,
    reports,
    schedule_timer_start,
    section,
    set_clock,
    start_occurrence,
    table_row,
)

UTC = dt.UTC


def at(text: str) -> dt.datetime:
    """An aware instant from ISO text with its offset (``+08:00`` = Pu'er local time)."""
    return dt.datetime.fromisoformat(text).astimezone(UTC)


# ---------------------------------------------------------------- monthly bulletin


def seed_month(flow) -> dict[str, int]:
    """Projects, funds, complaints and visits around November 2026 (local time, UTC+8).

    Counted by hand for 2026-11 (city): new 3 (思茅 P1, 宁洱 P2, 墨江 P5 created 11-01 01:00 local),
    signed 1 (P1; P3 signed 12-01 04:00 local is December), 协议投资额 15 000 (P1's 投资协议, not its
    planned 12 000), landed 1 (P2), started 1 (P3), funds 4 000 of which 省外 3 000 (P1's October
    500 excluded), lights now: yellow 1 (P2), red 1 (P3), visits 2, complaints received 2 (closed 2,
    satisfied 1)."""
    rows = {
        "P1": Project(code="M-001", name="普洱茶精深加工项目", region_code="530802", planned_investment_wan=12000,
                      stage="S6_LAND", library_status="签约", created_at=at("2026-11-05T10:00+08:00"),
                      signed_at=at("2026-11-10T10:00+08:00")),
        "P2": Project(code="M-002", name="咖啡庄园项目", region_code="530821", planned_investment_wan=5000,
                      stage="S7_START", library_status="落地", light="yellow", created_at=at("2026-11-20T10:00+08:00"),
                      landed_at=at("2026-11-25T10:00+08:00")),
        "P3": Project(code="M-003", name="林产加工项目", region_code="530802", planned_investment_wan=8000,
                      stage="DONE", library_status="开工", light="red", created_at=at("2026-10-15T10:00+08:00"),
                      started_at=at("2026-11-03T10:00+08:00"), signed_at=at("2026-12-01T04:00+08:00")),
        "P4": Project(code="M-004", name="生物医药项目", region_code="530802", planned_investment_wan=3000,
                      created_at=at("2026-12-01T01:00+08:00")),
        "P5": Project(code="M-005", name="绿色能源项目", region_code="530822", planned_investment_wan=3000,
                      created_at=at("2026-11-01T01:00+08:00")),
    }
    with flow.db.session_scope() as s:
        s.add_all(rows.values())
        s.flush()
        p1, p2 = rows["P1"].id, rows["P2"].id
        s.add(Agreement(project_id=p1, kind="投资协议", sign_date=dt.date(2026, 11, 10), agreed_investment_wan=15000))
        s.add(Agreement(project_id=p1, kind="框架协议", sign_date=dt.date(2026, 9, 1), agreed_investment_wan=99999))
        s.add_all([FundsArrival(project_id=p1, period="2026-11", amount_wan=3000, origin="省外"),
                   FundsArrival(project_id=p2, period="2026-11", amount_wan=1000, origin="市外省内"),
                   FundsArrival(project_id=p1, period="2026-10", amount_wan=500, origin="省外")])
        s.add_all([Complaint(complainant="甲公司", region_code="530802", received_at=at("2026-11-10T10:00+08:00"),
                             status="closed", closed_at=at("2026-11-20T10:00+08:00"), satisfied=True),
                   Complaint(complainant="乙公司", region_code="530821", received_at=at("2026-11-15T10:00+08:00")),
                   Complaint(complainant="丙公司", region_code="530802", received_at=at("2026-10-20T10:00+08:00"),
                             status="closed", closed_at=at("2026-11-05T10:00+08:00"), satisfied=False)])
        s.add_all([Visit(visit_date=dt.date(2026, 11, 2), enterprise_name="来访一", region_code="530802"),
                   Visit(visit_date=dt.date(2026, 11, 30), enterprise_name="来访二", region_code="530821"),
                   Visit(visit_date=dt.date(2026, 12, 1), enterprise_name="来访三", region_code="530802"),
                   Visit(visit_date=dt.date(2026, 10, 31), enterprise_name="来访四", region_code="530802")])
        return {k: p.id for k, p in rows.items()}


def columns(sect: dict, name: str) -> dict[str, object]:
    """{column title: cell} of the row whose first cell is ``name``."""
    return dict(zip(sect["table"]["columns"], table_row(sect, name), strict=True))


def test_the_monthly_bulletin_of_the_first_occurrence_reports_last_months_numbers(flow):
    set_clock(flow, "2026-11-30T12:00:00+08:00")
    seed_month(flow)
    schedule_timer_start(flow, "monthly_bulletin")
    assert count_instances(flow, "monthly_bulletin") == 0

    flow.advance("P1D")  # 2026-12-01 12:00 local: the first occurrence opens the instance …
    [inst] = flow.instances_of("monthly_bulletin")
    iid = inst.id
    assert flow.data(iid)["compile_at"] == "2026-12-06T09:00:00+08:00"  # … which waits for the F-20 deadline
    assert "city_kpis" not in flow.data(iid) and flow.tasks(iid, "office_review") == []
    flow.advance("P4D")  # 12-05 12:00: reports still due today — nothing compiled yet
    assert "city_kpis" not in flow.data(iid)
    flow.advance("P1D")  # 12-06 12:00: after the deadline, the bulletin is compiled
    assert flow.run_jobs() == 0 and count_instances(flow, "monthly_bulletin") == 1
    data = flow.data(iid)
    assert (data["period"], data["period_label"]) == ("2026-11", "2026年11月")
    city = data["city_kpis"]
    assert {k: city[k] for k in ("new_projects", "signed", "signed_amount_wan", "landed", "started",
                                 "funds_total_wan", "funds_out_of_province_wan", "yellow", "red", "visits",
                                 "complaints_received", "complaints_closed", "complaints_satisfied")} == {
        "new_projects": 3, "signed": 1, "signed_amount_wan": 15000.0, "landed": 1, "started": 1,
        "funds_total_wan": 4000.0, "funds_out_of_province_wan": 3000.0, "yellow": 1, "red": 1, "visits": 2,
        "complaints_received": 2, "complaints_closed": 2, "complaints_satisfied": 1}
    expected_summary = ("2026年11月,全市新签约项目1个,协议投资额15,000万元;新入库项目3个;新落地项目1个;新开工项目1个;"
                        "实际到位资金4,000万元(其中省外3,000万元);亮黄灯项目1个、红灯项目1个;接待来访企业2批次;受理投诉2件。")
    assert data["summary_text"] == expected_summary
    review = flow.task(iid, "office_review")
    assert review.lane == "zsw_office"
    with flow.db.session_scope() as s:  # 思茅区's F-20 for November, already in (due 12-05)
        from app.models.assessment import UnitReport
        s.add(UnitReport(unit_key="530802", unit_name="思茅区", region_code="530802", period="2026-11",
                         leader_trips=1, trips=[{"destination": "昆明"}], work_info=[{"title": "a"}, {"title": "b"}],
                         submitted_at=at("2026-11-30T18:00+08:00"), due_at=at("2026-12-05T23:59+08:00")))

    flow.complete(iid, "office_review", {"bulletin_title": data["bulletin_title"], "summary_text": data["summary_text"],
                                         "highlights": "思茅区签约普洱茶精深加工项目。", "problems": "",
                                         "late_units": ["530823"], "requirements": "各县(区)加快项目落地。"},
                  username="office1")
    assert flow.task(iid, "deputy_sign").lane == "committee_deputy"
    flow.complete(iid, "deputy_sign", {"sign_result": "同意发布"})

    [report] = reports(flow, "monthly")
    assert (report.period, report.instance_id, report.region_code) == ("2026-11", iid, None)
    assert report.title == "普洱市招商引资工作月通报(2026年11月)"
    overview = section(report, "overview")
    assert overview["title"] == "一、总体情况" and overview["text"] == expected_summary
    cells = {row[0]: row[1] for row in overview["table"]["rows"]}
    assert {k: cells[k] for k in ("新入库项目", "新签约项目", "协议投资额", "新落地项目", "新开工项目", "实际到位资金",
                                  "其中省外到位资金", "黄灯项目", "红灯项目", "来访企业", "受理投诉",
                                  "complaints_closed", "complaints_satisfied")} == {
        "新入库项目": "3", "新签约项目": "1", "协议投资额": "15,000", "新落地项目": "1", "新开工项目": "1",
        "实际到位资金": "4,000", "其中省外到位资金": "3,000", "黄灯项目": "1", "红灯项目": "1", "来访企业": "2",
        "受理投诉": "2", "complaints_closed": "2", "complaints_satisfied": "1"}

    regions = section(report, "regions")
    assert regions["text"] == "共10个县(区)参与统计。" and len(regions["table"]["rows"]) == 10
    simao = columns(regions, "思茅区")
    assert {k: simao[k] for k in ("新入库项目(个)", "新签约项目(个)", "协议投资额(万元)", "新开工项目(个)",
                                  "实际到位资金(万元)", "红灯项目(个)", "来访企业(批次)", "受理投诉(件)")} == {
        "新入库项目(个)": "1", "新签约项目(个)": "1", "协议投资额(万元)": "15,000", "新开工项目(个)": "1",
        "实际到位资金(万元)": "3,000", "红灯项目(个)": "1", "来访企业(批次)": "1", "受理投诉(件)": "1"}
    ninger = columns(regions, "宁洱县")
    assert {k: ninger[k] for k in ("新入库项目(个)", "新落地项目(个)", "实际到位资金(万元)", "黄灯项目(个)",
                                   "来访企业(批次)", "受理投诉(件)")} == {
        "新入库项目(个)": "1", "新落地项目(个)": "1", "实际到位资金(万元)": "1,000", "黄灯项目(个)": "1",
        "来访企业(批次)": "1", "受理投诉(件)": "1"}
    assert columns(regions, "墨江县")["新入库项目(个)"] == "1"
    assert columns(regions, "西盟县")["新入库项目(个)"] == "0"

    ranking = section(report, "ranking")
    assert [row[1] for row in ranking["table"]["rows"][:2]] == ["思茅区", "宁洱县"]
    warnings = section(report, "warnings")
    assert table_row(warnings, "思茅区") == ["思茅区", "0", "1"] and table_row(warnings, "宁洱县") == ["宁洱县", "1", "0"]
    assert warnings["text"] == "存在红灯项目的县(区):思茅区。请相关县(区)限期整改。"
    assert section(report, "late")["text"] == "景东县未按时报送月报。"
    assert section(report, "highlights")["text"] == "思茅区签约普洱茶精深加工项目。"
    # the seed's items for counties and 市直部门: compiled on 12-06, after the F-20 deadline (12-05): 思茅 in,
    # every other unit 未报 (not "未到期" as when the bulletin was compiled on the 1st)
    seed = section(report, "seed_items")
    missing = "、".join(["宁洱县", "墨江县", "景东县", "景谷县", "镇沅县", "江城县", "孟连县", "澜沧县", "西盟县",
                        "市工业和信息化局", "市农业农村局", "市商务局", "市文化和旅游局", "市茶叶和咖啡产业发展中心",
                        "市林业和草原局"])
    assert seed["text"] == f"共10个县(区)、6个市直部门。无迟报单位。月报未报:{missing}。"
    assert len(seed["table"]["rows"]) == 16
    assert table_row(seed, "思茅区") == ["思茅区", "县(区)", "按时", "1", "1", "1", "2", "—"]
    assert table_row(seed, "宁洱县")[:3] == ["宁洱县", "县(区)", "未报"]
    assert table_row(seed, "市商务局")[:3] == ["市商务局", "市直部门", "未报"]
    assert [s["key"] for s in report.sections] == ["overview", "regions", "ranking", "metric_ranks", "warnings",
                                                   "seed_items", "highlights", "late", "requirements"]  # empty 问题 dropped
    assert [s["title"][:2] for s in report.sections] == ["一、", "二、", "三、", "四、", "五、", "六、", "七、", "八、",
                                                         "九、"]
    published = [n for n in flow.notifications(title_contains="月通报(2026年11月)") if n.instance_id == iid]
    assert {n.role for n in published} == {"county_gov", "county_ipb", "park_admin", "industry_dept", "chain_group",
                                           "committee_deputy", "committee_director"}
    assert flow.instance(iid).status == "completed"

    flow.advance("P25D")  # 2026-12-31: no new occurrence yet
    assert count_instances(flow, "monthly_bulletin") == 1
    flow.advance("P1D")  # 2027-01-01 12:00: the second
    assert count_instances(flow, "monthly_bulletin") == 2
    assert flow.data(flow.instances_of("monthly_bulletin")[-1].id)["period"] == "2026-12"


def test_an_unreviewed_bulletin_is_chased_after_five_days(flow):
    iid = start_occurrence(flow, "monthly_bulletin", {"period": "2026-10",
                                                      "report_units": [{"region_code": "530802", "unit_name": "思茅区"}]})
    assert flow.data(iid)["period_label"] == "2026年10月"

    assert flow.advance("P4DT23H") == 0
    assert flow.advance("PT2H") >= 1

    [chase] = [n for n in flow.notifications(title_contains="月通报待审核(2026年10月)") if n.instance_id == iid]
    assert (chase.role, chase.level) == ("zsw_office", "warning")
    assert flow.task(iid, "office_review").warning == "yellow"


# ---------------------------------------------------------------- quarterly inspection and annual assessment

SIMAO_INDICATORS = {
    "funds_target_rate_pct": 92, "signed_1e8_rate_pct": 80, "landing_rate_pct": 48, "start_rate_pct": 40,
    "funds_arrival_rate_pct": 27, "big_10e8_count": 2, "top_firm_count": 1, "on_time_transition_rate_pct": 80,
    "warning_rectified_rate_pct": 75, "monthly_report_timely_pct": 100, "leader_investment_pct": 50,
    "trip_info_pct": 100, "visit_report_timely_pct": 100, "work_info_pct": 100, "handling_timely_pct": 90,
    "complaint_timely_pct": 100, "complaint_satisfaction_pct": 80, "issue_timely_pct": 90, "capacity_grade": "良",
}
SIMAO_ADJUSTMENTS = {"big_50e8_count": 0, "claimed_signed_count": 1, "provincial_commendation": False,
                     "start_overdue_count": 1, "red_unrectified_count": 0, "irregular_incentive_count": 0,
                     "late_report_count": 2}
UNITS = [{"region_code": "530802", "unit_name": "思茅区"}, {"region_code": "530821", "unit_name": "宁洱县"}]


def test_a_quarterly_inspection_scores_the_computed_indicators(flow):
    """Q2 2026 from the year of tests/domain/year_2026.py (序时进度 0.5), clock 2026-07-05 10:00 local
    (F-20 of January–May due; June's is due at the end of 07-05). Hand-worked for 思茅区:

      到位资金 产业类省外 evidenced 01–06: A1 5 000 / 10 000 = 50 % → min(0.5 / 0.5, 1) × 15 = 15
      亿元以上 A1 A2 A3 = 3 / 5 = 60 % → min(0.6 / 0.5, 1) × 10 = 10                        → 25
      cohort signed to 06-30: A1 A2 A3 B1–B21 = 24; landed A1 B1–B9 = 10 → 41.67 % / 60 % × 12 = 8.33
      started B1–B9 = 9 → 37.5 % / 50 % × 8 = 6.00
      funds A1 5 000 + A2 40 000 + B1 20 000 + B2 6 940 = 71 940 / 262 000 = 27.46 % / 30 % × 10 = 9.15 → 23.49
      10亿+ A1 A2 = 2 vs 3 × 0.5 → 9; 500强 A1 = 1 vs 2 × 0.5 → 6                           → 15
      转段 3/3 → 6; 预警 2/2 → 4; 月报 5/5 → 2; 一把手 5/5 → 2; 外出 1; 来访登记 1; 信息 1; 办理 6/6 → 3 → 20
      投诉 3/3 × 3/3 → 4; 联办协办 5/5 → 2; 承载能力: no ledger before 06-30 → 0 (reason shown)   →  6
      daily = 25 + 23.486 + 15 + 20 + 6 = 89.49 → 良好
    宁洱县: X1 landed 1/1 → 12, 资金 9 000 / 100 000 = 9 % → 3, 10亿+ 1 vs 1.5 → 6; the rest has no
    records → 0 each → 21.00; a confirmed falsification → 不合格."""
    build_year(flow)
    with flow.db.session_scope() as s:  # D13 F1: not signed, last progress 2025-12-01 → 216 days ≥ 180
        from app.models.domain import TimelineEvent
        z1 = Project(code="Z1", name="久无进展的洽谈项目", region_code="530802", stage="S3_VISIT",
                     library_status="在谈", created_at=at("2025-06-01T10:00+08:00"))
        s.add(z1)
        s.flush()
        s.add(TimelineEvent(project_id=z1.id, kind="stage", title="进入阶段:实地考察",
                            at=at("2025-12-01T10:00+08:00")))
    set_clock(flow, "2026-07-05T10:00:00+08:00")
    iid = start_occurrence(flow, "quarterly_inspection", {"inspect_units": UNITS, "period": "2026Q2"})
    data = flow.data(iid)
    assert (data["year"], data["quarter"], data["period_label"]) == (2026, 2, "2026年第二季度")
    assert data["inspect_within"] == "P15D" and data["plan_within"] == "P7D"  # settings, not literals
    assert flow.task(iid, "inspection_plan").lane == "zsw_office"
    flow.complete(iid, "inspection_plan", {"inspectors": "王督查、李督查"}, username="office1")

    answers = {
        "530802": {"falsification_count": 0, "findings": [], "inspection_note": "资金凭证、开工佐证齐全。"},
        "530821": {"falsification_count": 1,
                   "findings": [{"project_name": "X1 项目", "type": "数据不实", "detail": "到位资金虚报 500 万元"}],
                   "inspection_note": "发现虚报到位资金。"},
    }
    inspections = flow.tasks(iid, "inspection")
    assert {(t.lane, t.region_code) for t in inspections} == {("inspector", "530802"), ("inspector", "530821")}
    complete_each(flow, iid, "inspection", lambda task: answers[task.region_code])

    data = flow.data(iid)
    assert [(r["unit_key"], r["daily"], r["grade"]) for r in data["quarterly"]["ranking"]] == [
        ("530802", 89.49, "良好"), ("530821", 21.0, "不合格")]
    assert data["report_text"] == "2026年第二季度日常考评:1.思茅区 89.49分(良好);2.宁洱县 21.0分(不合格)。"
    assert data["issues"] == "宁洱县:数据不实,到位资金虚报 500 万元"
    flow.complete(iid, "inspection_report", {"report_text": data["report_text"], "issues": data["issues"],
                                             "rectification_due": "2026-08-10"}, username="office1")

    scores = assessment_scores(flow, 2026, quarter=2)
    simao, ninger = scores["530802"], scores["530821"]
    assert (simao.unit_name, simao.quarter, simao.daily, simao.total, simao.grade) == ("思茅区", 2, 89.49, 89.49, "良好")
    blocks = {b["name"]: b["earned"] for b in simao.scores["blocks"]}
    assert blocks == {"目标任务": 25.0, "项目落地": 23.49, "招大引强": 15.0, "过程管理": 20.0, "服务与环境": 6.0}
    items = {i["key"]: (i["points"], i["reason"]) for i in simao.scores["items"]}
    assert items["landing_rate_pct"] == (8.33, None)
    assert items["capacity_grade"] == (0.0, "截至期末无2026年承载能力评估台账")
    assert (ninger.daily, ninger.grade, ninger.scores["false_data_findings"]) == (21.0, "不合格", 1)

    [report] = reports(flow, "quarterly")
    assert (report.period, report.title) == ("2026Q2", "2026年第二季度招商引资工作督查通报")
    assert section(report, "ranking")["table"]["rows"] == [[1, "思茅区", 89.49, "良好"], [2, "宁洱县", 21.0, "不合格"]]
    # D13 ran in the inspection: only Z1 is flagged (every other active project is signed, nothing red ≥ 90 d)
    efficiency = section(report, "efficiency")
    assert efficiency["table"]["rows"] == [["久无进展的洽谈项目", "530802", "F1", "封存候选(P06-A)"]]
    assert efficiency["text"] == "久无进展的洽谈项目:F1 长期无进展"
    assert flow.instance(iid).status == "completed"


def build_year(flow) -> None:
    """The hand-counted year of tests/domain/year_2026.py (思茅区), written through the operators."""
    from app.services.runtime.service_calls import OperatorContext, load_all
    from tests.domain import year_2026

    ops = load_all()
    with flow.db.session_scope() as s:
        def make_ctx(now):
            return OperatorContext(session=s, instance_id=None, process_key="test", business_key=None, now=now)

        year_2026.build(s, make_ctx, ops)


def run_annual(flow, verify: dict[str, dict], explain: dict | None = None) -> int:
    set_clock(flow, "2027-01-06T10:00:00+08:00")  # every 2026 F-20 report is due
    iid = start_occurrence(flow, "annual_assessment", {"assess_units": UNITS, "period": "2026"})
    assert (flow.data(iid)["year"], flow.data(iid)["period_label"]) == (2026, "2026年度")
    selfs = flow.tasks(iid, "self_assess")
    assert {(t.lane, t.region_code) for t in selfs} == {("county_ipb", "530802"), ("county_ipb", "530821")}
    complete_each(flow, iid, "self_assess", explain or {"self_confirmation": "无异议", "evidence": "无"})
    assert {t.lane for t in flow.tasks(iid, "verify")} == {"zsw_office"}
    complete_each(flow, iid, "verify", lambda task: verify[task.region_code])
    data = flow.data(iid)
    flow.complete(iid, "office_review", {"review_opinion": data["review_opinion"],
                                         "publicity_from": data["publicity_from"],
                                         "publicity_result": "公示无异议"}, username="office1")
    assert flow.task(iid, "director_approve").lane == "committee_director"
    flow.complete(iid, "director_approve", {"approval": "同意"}, username="director1")
    return iid


VERIFIED = {"verification_result": "核验属实", "falsification_count": 0, "false_data_findings": 0,
            "claimed_signed_count": 1, "provincial_commendation": False, "irregular_incentive_count": 0}


def test_the_annual_assessment_reproduces_the_worked_example_from_records(flow):
    """思茅区's year is built from records (tests/domain/year_2026.py); nobody types a percentage.
    The computed scorecard is the §4.3 worked example: year-end 80.30, daily 81.00 (the four saved
    quarterly results 78/82/80/84), bonus 1 (认领签约, confirmed by the office), penalty 0.9
    (1 start overdue × 0.5 + 2 late F-20 × 0.2 — both from records), total 80.61 良好.
    宁洱县 has one project (X1: signed and landed 2026, 100 000 万, 9 000 省外 evidenced, no target,
    no reports, no ledger): 落地率 1/1 → 12, 10亿+ 1 → 3, 开工率 0, 资金到位率 9 % → 9/30 × 10 = 3,
    everything else 0 with its reason → year-end 18.00; no quarterly results → daily = 18.00;
    bonus 1 (the same confirmed 认领), penalty 12 missing F-20 × 0.2 = 2.4 → 18 + 1 − 2.4 = 16.60 不合格.
    Blank is never better than zero."""
    build_year(flow)
    iid = run_annual(flow, {"530802": VERIFIED, "530821": VERIFIED})

    selfs = {u["unit_key"]: u for u in flow.data(iid)["self_reports"]}
    assert selfs["530802"]["landing_rate_pct"] == 48.0 and selfs["530802"]["reasons"] == {}
    assert selfs["530821"]["reasons"]["funds_target_rate_pct"] == "未下达年度到位资金目标"
    scores = assessment_scores(flow, 2026)
    simao = scores["530802"]
    assert (simao.year_end, simao.daily, simao.bonus, simao.penalty, simao.total, simao.grade) == (
        80.3, 81.0, 1.0, 0.9, 80.61, "良好")
    assert (simao.unit_name, simao.quarter, simao.instance_id) == ("思茅区", None, iid)
    assert {b["name"]: b["earned"] for b in simao.scores["blocks"]} == {
        "目标任务": 21.8, "项目落地": 25.0, "招大引强": 9.0, "过程管理": 16.5, "服务与环境": 8.0}
    assert simao.scores["bonus_parts"] == {"认领项目签约": 1.0}
    assert simao.scores["penalty_parts"] == {"超时限未开工项目": 0.5, "月报迟报": 0.4}
    assert simao.scores["quarterly"] == [78.0, 82.0, 80.0, 84.0]
    assert simao.scores["missing"] == []
    ninger = scores["530821"]
    assert (ninger.year_end, ninger.daily, ninger.total, ninger.grade) == (18.0, 18.0, 16.6, "不合格")
    assert {m["key"] for m in ninger.scores["missing"]} >= {"funds_target_rate_pct", "capacity_grade", "complaint"}

    [report] = reports(flow, "annual")
    assert (report.period, report.title) == ("2026", "2026年度招商引资工作考核结果")
    assert section(report, "ranking")["table"]["rows"] == [
        [1, "思茅区", 81.0, 80.3, 1.0, 0.9, 80.61, "良好"], [2, "宁洱县", 18.0, 18.0, 1.0, 2.4, 16.6, "不合格"]]
    assert section(report, "summary")["text"] == "计分结果:1.思茅区 80.61分(良好);2.宁洱县 16.6分(不合格)。"
    assert section(report, "approval")["text"] == "同意"
    published = [n for n in flow.notifications(title_contains="2026年度招商引资工作考核结果") if n.instance_id == iid]
    assert "leading_group_head" in {n.role for n in published}
    assert flow.instance(iid).status == "completed"


def test_the_self_assessment_shows_computed_values_and_requires_an_explanation_when_disputed(flow):
    build_year(flow)
    set_clock(flow, "2027-01-06T10:00:00+08:00")
    iid = start_occurrence(flow, "annual_assessment", {"assess_units": UNITS[:1], "period": "2026"})
    shown = flow.data(iid)["computed_units"][0]["shown"]
    assert (shown["landing_rate"], shown["landing_rate_why"]) == ("48.00%", "12/25")
    assert shown["capacity_grade"] == "良"
    with pytest.raises(FormInvalid) as disputed:  # 有异议 without an explanation (anyOf in the form)
        flow.complete(iid, "self_assess", {"self_confirmation": "有异议"})
    assert disputed.value.message.startswith("表单填写有误")
    # the old typed percentages are no longer part of the form: extra input is refused, nothing stored
    with pytest.raises(FormInvalid):
        flow.complete(iid, "self_assess", {"self_confirmation": "无异议", "indicators": {"landing_rate_pct": 100}},
                      username="county1")
    assert not flow.data(iid).get("self_reports")
    flow.complete(iid, "self_assess", {"self_confirmation": "有异议", "explanations": [
        {"indicator": "项目落地率", "text": "A4 项目已于 12 月底完成注册,待补录落地记录。"}]})
    (report,) = flow.data(iid)["self_reports"]
    assert report["explanations"][0]["indicator"] == "项目落地率"
    assert report["landing_rate_pct"] == 48.0  # the explanation does not change the computed value


def test_a_confirmed_falsification_forces_fail_whatever_the_score(flow):
    falsified = {**VERIFIED, "verification_result": "查实弄虚作假", "falsification_count": 0,
                 "verify_note": "到位资金凭证系伪造。"}
    build_year(flow)
    iid = run_annual(flow, {"530802": VERIFIED, "530821": falsified})

    graded = {c["unit_key"]: c for c in flow.data(iid)["graded_cards"]}
    assert graded["530821"]["falsification"] is True and graded["530821"]["grade"] == "不合格"  # D12 rule 1
    scores = assessment_scores(flow, 2026)
    ninger = scores["530821"]
    # the verification counts at least one falsification: −5 on top of 12 missing F-20 × 0.2 → 18 + 1 − 7.4 = 11.60
    assert (ninger.penalty, ninger.total, ninger.grade) == (7.4, 11.6, "不合格")
    assert ninger.scores["penalty_parts"]["弄虚作假"] == 5.0
    assert (scores["530802"].total, scores["530802"].grade) == (80.61, "良好")
    [report] = reports(flow, "annual")
    assert section(report, "ranking")["table"]["rows"][-1] == [2, "宁洱县", 18.0, 18.0, 1.0, 7.4, 11.6, "不合格"]
