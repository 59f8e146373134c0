"""A small year of records for 思茅区 (530802), 2026, built so that the computed indicators equal the
typed inputs of the §4.3 worked example (tests/handlers/test_scorecard.py SIMAO: year-end 80.30).

Every number below is counted by hand; `EXPECTED` lists them. Records go through the operators where
one exists (visit routing and handling, complaints, F-20 reports, capacity ledger, quarterly scores)
and as plain rows otherwise (projects with their stage timestamps, agreements, funds, stage records,
timeline events — what the lifecycle process writes).

Cohort (signed 2025-01-01 … 2026-12-31 local), 25 projects:
  A1 100 000 万 (10亿+, 世界500强 investor) signed 2026-02-10, landed 05-01, started 09-01
  A2 100 000 万 (10亿+) signed 2026-04-10, landed 08-01, in 开工 stage, red since 12-01 (start overdue)
  A3  20 000 万 (亿元+) signed 2026-06-10, landed 10-01
  A4  20 000 万 (亿元+) signed 2026-07-10 (plus a 框架协议 of 99 999 that never counts)
  B1…B11 2 000 万 signed 2025; B12…B21 2 000 万 signed 2026; B1…B9 landed 2025-10-01, started 2026-01-15
  → landed 12 (A1 A2 A3 B1–B9) / 25 = 48 %, started 10 (A1 B1–B9) / 25 = 40 %
  agreed Σ = 2 × 100 000 + 2 × 20 000 + 21 × 2 000 = 282 000
  evidenced funds of the cohort: A1 5 000 省外 (2026-03) + A3 4 200 省外 (2026-11) + A2 40 000 市外省内
  + B1 20 000 省外 (2025-06) + B2 6 940 市内 = 76 140 → 76 140 / 282 000 = 27 %
  not counted: A4 5 000 省外 without evidence; C1 (signed 2024, 非产业类) 3 000 省外; 宁洱 X1's 100 000 万.
Targets (assessment_target): 到位资金 10 000 万 → 产业类省外 evidenced 2026 = 5 000 + 4 200 = 9 200 → 92 %;
  亿元以上 5 → A1 A2 A3 A4 = 4 → 80 %.
Stages completed in 2026: 5, one late (A3 S6) → 80 %. Warnings raised in 2026: A1 yellow (stage passed
  after), A3 yellow (stage passed after), B10 red (back to green), A2 red 12-01 (open) → 3 / 4 = 75 %.
F-20: 12 reports, all submitted; 03 and 07 late (the 8th) → 报送率 100 %, 迟报 2; "一把手" trips in
  Jan–Jun only → 6 / 12 = 50 %; a trip and a work-information item every month → 100 % each.
Visits 2026: 11, all registered the same day (100 %); 10 交办 due after 5 days, 9 handled in time, 1 late
  → 90 %; the 11th (12-30) is due in 2027 and not counted.
Complaints closed in 2026: 5, all on time → 100 %; 4 satisfied → 80 %.
联办协办: 10 factor_issue cases due in 2026 (the 20th), 9 closed by their due date → 90 %.
Capacity ledger 2026H2 (supersedes H1): land 充足 20, env 紧张 15, energy 充足 15, power 充足 15, water 紧张 10,
  sewage 充足 10, gas 不足 5, heat 充足 5, factory 紧张 5 → (2000 + 900 + 1500 + 1500 + 600 + 1000 + 100 + 500
  + 300) / 100 = 84.0 → 良 (≥ 70, < 85).
Quarterly 日常考评 saved: 78, 82, 80, 84.
"""

from __future__ import annotations

import datetime as dt

from app.models.assessment import AssessmentTarget
from app.models.domain import (
    Agreement,
    Enterprise,
    FundsArrival,
    Project,
    Region,
    StageRecord,
    TimelineEvent,
    Visit,
)

REGION = "530802"
AS_OF = dt.datetime(2027, 1, 6, 2, 0, tzinfo=dt.UTC)  # 2027-01-06 10:00 local: every 2026 report due

EXPECTED = {
    "landing_rate": (12, 25), "start_rate": (10, 25), "funds_arrival_rate": (76140.0, 282000.0),
    "funds_target_rate": (9200.0, 10000.0), "signed_1e8_rate": (4, 5),
    "on_time_transition_rate": (4, 5), "warning_rectified_rate": (3, 4),
    "monthly_report_timely_rate": (12, 12), "leader_investment_rate": (6, 12), "trip_info_rate": (12, 12),
    "work_info_rate": (12, 12), "visit_register_timely_rate": (11, 11), "handling_timely_rate": (9, 10),
    "assignments_on_time_rate": (9, 10), "visits_handled_rate": (10, 11),
    "complaints_on_time_rate": (5, 5), "complaint_satisfaction_rate": (4, 5), "joint_handling_on_time_rate": (9, 10),
}
COUNTS = {"big_10e8_count": 2, "top_firm_count": 1, "big_50e8_count": 0, "major_projects": 4,
          "start_overdue_count": 1, "red_unrectified_count": 0, "late_report_count": 2, "signed_count": 14,
          "visits": 11}


def local(text: str) -> dt.datetime:
    """'2026-03-10' or '2026-03-10T15:00' in Pu'er local time → aware UTC."""
    if "T" not in text:
        text += "T10:00"
    return dt.datetime.fromisoformat(text + "+08:00").astimezone(dt.UTC)


def build(session, make_ctx, ops) -> dict:
    """Insert the year; ``make_ctx(now)`` gives an OperatorContext on ``session``; ``ops`` the operators."""
    if session.get(Region, REGION) is None:
        session.add_all([Region(code=REGION, name="思茅区", short_name="思茅"),
                         Region(code="530821", name="宁洱哈尼族彝族自治县", short_name="宁洱")])
        session.flush()
    top = Enterprise(name="环球食品集团(演示)", rank_tags=["世界500强"])
    session.add(top)
    session.flush()

    def project(code, amount, signed, landed=None, started=None, **kw):
        p = Project(code=code, name=f"{code} 项目", region_code=kw.pop("region", REGION),
                    planned_investment_wan=kw.pop("planned", amount), signed_at=local(signed) if signed else None,
                    landed_at=local(landed) if landed else None, started_at=local(started) if started else None,
                    created_at=local("2024-06-01"), **kw)
        session.add(p)
        session.flush()
        if signed:
            session.add(Agreement(project_id=p.id, kind="投资协议", sign_date=local(signed).date(),
                                  agreed_investment_wan=amount))
        return p

    P = {}
    P["A1"] = project("A1", 100000, "2026-02-10", "2026-05-01", "2026-09-01", enterprise_id=top.id, stage="DONE")
    P["A2"] = project("A2", 100000, "2026-04-10", "2026-08-01", stage="S7_START", light="red")
    P["A3"] = project("A3", 20000, "2026-06-10", "2026-10-01", stage="S7_START")
    P["A4"] = project("A4", 20000, "2026-07-10", stage="S6_LAND")
    session.add(Agreement(project_id=P["A4"].id, kind="框架协议", sign_date=dt.date(2026, 5, 1),
                          agreed_investment_wan=99999))
    for i in range(1, 22):
        signed = f"2025-03-{i:02d}" if i <= 11 else f"2026-03-{i:02d}"
        landed, started = ("2025-10-01", "2026-01-15") if i <= 9 else (None, None)
        P[f"B{i}"] = project(f"B{i}", 2000, signed, landed, started, stage="DONE" if i <= 9 else "S6_LAND")
    P["C1"] = project("C1", 8000, "2024-05-01", is_industrial=False)
    P["X1"] = project("X1", 100000, "2026-03-01", "2026-06-01", region="530821")  # another county
    project("S1", 3000, None, status="sealed")  # sealed: never signed, outside every rate

    ev = "银行进账单"
    session.add_all([
        FundsArrival(project_id=P["A1"].id, period="2026-03", amount_wan=5000, origin="省外", evidence=ev),
        FundsArrival(project_id=P["A3"].id, period="2026-11", amount_wan=4200, origin="省外", evidence=ev),
        FundsArrival(project_id=P["A2"].id, period="2026-06", amount_wan=40000, origin="市外省内", evidence=ev),
        FundsArrival(project_id=P["B1"].id, period="2025-06", amount_wan=20000, origin="省外", evidence=ev),
        FundsArrival(project_id=P["B2"].id, period="2026-05", amount_wan=6940, origin="市内", evidence=ev),
        FundsArrival(project_id=P["A4"].id, period="2026-08", amount_wan=5000, origin="省外", evidence=None),
        FundsArrival(project_id=P["C1"].id, period="2026-04", amount_wan=3000, origin="省外", evidence=ev),
        FundsArrival(project_id=P["X1"].id, period="2026-04", amount_wan=9000, origin="省外", evidence=ev),
        FundsArrival(project_id=P["A1"].id, period="2027-01", amount_wan=1000, origin="省外", evidence=ev),
    ])
    session.add(AssessmentTarget(unit_key=REGION, year=2026, funds_target_wan=10000, signed_1e8_target=5))

    # stage records: completed in 2026 — A1 S6 and S7, B1 S7, B10 S5 on time; A3 S6 late
    def stage(p, code, started, due, done=None, light="green"):
        session.add(StageRecord(project_id=p.id, stage=code, started_at=local(started), planned_due=local(due),
                                completed_at=local(done) if done else None, light=light))

    stage(P["A1"], "S6_LAND", "2026-02-10", "2026-05-10", "2026-05-01")
    stage(P["A1"], "S7_START", "2026-05-01", "2026-09-30", "2026-09-01")
    stage(P["B1"], "S7_START", "2025-10-01", "2026-03-01", "2026-01-15")
    stage(P["B10"], "S5_SIGN", "2025-12-01", "2026-03-31", "2026-03-10")
    stage(P["A3"], "S6_LAND", "2026-06-10", "2026-09-10", "2026-10-01")
    stage(P["B2"], "S7_START", "2025-06-01", "2025-09-01", "2025-08-01")  # 2025: not this year
    stage(P["A2"], "S7_START", "2026-08-01", "2026-10-30", None, light="red")  # open, red: start overdue
    stage(P["A3"], "S7_START", "2026-10-01", "2027-01-30", None)

    def event(p, kind, at, **detail):
        session.add(TimelineEvent(project_id=p.id, kind=kind, title=kind, at=local(at), detail=detail))

    event(P["A1"], "light", "2026-04-20", to="yellow")
    event(P["A1"], "stage", "2026-05-01")
    event(P["A3"], "light", "2026-09-11", to="yellow")
    event(P["A3"], "stage", "2026-10-01")
    event(P["B10"], "light", "2026-03-01", to="red")
    event(P["B10"], "light", "2026-03-20", to="green")
    event(P["A2"], "light", "2026-12-01", to="red")
    event(P["B11"], "light", "2025-11-01", to="yellow")  # 2025: not this year
    session.flush()
    for i in range(10):  # 联办协办 due (the 20th) and closed in 2026; the last one after its due date
        opened = local(f"2026-{i + 2:02d}-05T18:00")
        issue = ops["joint_issue_open"](make_ctx(opened), P["A1"].id, "用地", f"用地问题{i + 1}", ["市自然资源和规划局"],
                                        due_days=15)
        closed = local(f"2026-{i + 2:02d}-{'25' if i == 9 else '15'}T18:00")
        ops["joint_issue_close"](make_ctx(closed), issue["issue_id"], "已解决")

    # visits: 11 in 2026, registered the same day; 10 交办 (due in 5 days), the 10th handled a day late
    for i in range(11):
        day = dt.date(2026, i + 1, 10) if i < 10 else dt.date(2026, 12, 30)
        v = Visit(visit_date=day, enterprise_name=f"来访{i + 1}", region_code=REGION,
                  created_at=local(day.isoformat() + "T16:00"))
        session.add(v)
        session.flush()
        ops["visit_route"](make_ctx(local(day.isoformat() + "T17:00")), v.id, "交办", "思茅区投资促进局",
                           due_days=5)
        if i < 10:
            handled = day + dt.timedelta(days=6 if i == 9 else 3)
            ops["visit_handled"](make_ctx(local(handled.isoformat() + "T11:00")), v.id)
    session.add(Visit(visit_date=dt.date(2025, 12, 20), enterprise_name="去年来访", region_code=REGION,
                      created_at=local("2025-12-20")))

    # complaints: five closed in 2026 within 15 days, one not satisfied; one from 2025; one still open
    for i in range(5):
        received = local(f"2026-{2 * i + 1:02d}-05")
        c = ops["complaint_register"](make_ctx(received), {"complainant": f"企业{i + 1}", "region_code": REGION,
                                                           "due_days": 15})
        ops["complaint_close"](make_ctx(received + dt.timedelta(days=10)), c["complaint_id"], "已办结", i != 4)
    old = ops["complaint_register"](make_ctx(local("2025-11-01")), {"complainant": "旧投诉", "region_code": REGION,
                                                                    "due_days": 15})
    ops["complaint_close"](make_ctx(local("2025-11-10")), old["complaint_id"], "已办结", False)
    ops["complaint_register"](make_ctx(local("2026-12-28")), {"complainant": "未到期", "region_code": REGION,
                                                              "due_days": 15})

    # F-20 monthly reports
    for m in range(1, 13):
        due_month = dt.date(2026 + (m == 12), m % 12 + 1, 1)
        submitted = local(f"{due_month:%Y-%m}-{'08' if m in (3, 7) else '03'}")
        ops["unit_report_save"](make_ctx(submitted), REGION, "思茅区", f"2026-{m:02d}", {
            "leader_trips": 1 if m <= 6 else 0,
            "trips": [{"destination": "昆明", "leads_obtained": 1}],
            "work_info": [{"title": f"{m}月招商动态", "channel": "普洱日报"}],
        }, region_code=REGION)

    # capacity ledger: H1 (superseded) and H2
    ratings = {"land": "充足", "env_capacity": "紧张", "energy": "充足", "power": "充足", "water": "紧张",
               "sewage": "充足", "gas": "不足", "heat": "充足", "factory": "紧张"}
    ctx = make_ctx(local("2026-12-20"))
    ops["capacity_record"](ctx, REGION, "2026H1", [{"factor": f, "rating": "不足"} for f in ratings])
    ops["capacity_record"](ctx, REGION, "2026H2", [{"factor": f, "rating": r} for f, r in ratings.items()])

    # quarterly 日常考评 saved by the quarterly inspections
    for q, daily in zip((1, 2, 3, 4), (78, 82, 80, 84), strict=True):
        ops["assessment_save"](ctx, REGION, "思茅区", 2026, {}, daily, 0, 0, 0, daily, "合格", quarter=q)
    session.flush()
    return P
