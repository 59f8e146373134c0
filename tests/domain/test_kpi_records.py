"""The KPIs that were not counted before (meeting 交办, 联办协办, the 流转 credit split) and the one KPI
path (bulletin export, dashboard, bulletin operator = ``kpis.indicators``), on a small hand-worked 2026.

思茅区 (530802) / 宁洱县 (530821), all times Pu'er local:

projects  P1 思茅 20 000 万 signed 03-10, landed 05-01, started 08-01 (green)
          P2 思茅  8 000 万 signed 04-10, landed 09-01, responsible unit 市商务局 (yellow)
          T1 宁洱 → 思茅 (优质项目流转 completed 05-20, origin keeps 40 %), 10 000 万 signed 06-10
          P4 宁洱  5 000 万 signed 07-01
          all created 01-15 → 新入库 思茅 3 (T1 counts where it now is), 宁洱 1
          → 思茅 signed 1 + 1 + 0.6 = 2.6, amount 20 000 + 8 000 + 6 000 = 34 000;
            宁洱 1 + 0.4 = 1.4, amount 5 000 + 4 000 = 9 000; city 4 / 43 000 (whole)
funds     P1 2026-05 5 000 省外 (evidence), P2 2026-10 1 000 市外省内, P1 2026-11 500 市内 → 思茅 6 500
visits    思茅 02-10 and 03-10, 交办 due 5 days: the first handled on day 3, the second on day 6 (late)
meeting   季度会 2026-04-01 (思茅, owner 思茅区投资促进局, due 10 days = 04-11): M1 fed back 04-05, closed
          04-06 (on time); M2 fed back 04-13 (late), closed 04-14; M3 never fed back (overdue, counted);
          专题会 2026-12-28, M4 due 2027-01-07 open (not due at the cut-off, not counted);
          M5 owner 市商务局 (no county), fed back 04-08, closed 04-09 (on time)
          → 思茅 meeting 1/3; 交办/转办及会议交办 (1 + 1) / (2 + 3) = 2/5; 交办与来访办理 2/5
联办协办  on P1: J1 due 03-20 closed 03-15 (on time), J2 due 06-20 closed 06-25 (late), J3 due 12-20 open
          (overdue), J4 due 2027-01-20 open (not counted); J1 J2 name 市自然资源和规划局, J3 市生态环境局
          → 思茅 1/3, 市自然资源和规划局 1/2
complaints 思茅: C1 received 02-01 due 15 d closed 02-10 satisfied; C2 received 03-01 closed 03-20 (late)
          not satisfied → 按期 1/2, 满意 1/2, received/closed/satisfied 2/2/1
"""

from __future__ import annotations

import datetime as dt

import pytest

from app.models.domain import Agreement, FundsArrival, Project, Region, Visit
from app.services.domain import kpis
from app.services.reports import dashboards, exports
from handlers.scorecard import annual_scorecard

SIMAO, NINGER = "530802", "530821"
AS_OF = dt.datetime(2027, 1, 6, 2, 0, tzinfo=dt.UTC)


def local(text: str) -> dt.datetime:
    if "T" not in text:
        text += "T10:00"
    return dt.datetime.fromisoformat(text + "+08:00").astimezone(dt.UTC)


@pytest.fixture
def year(db, make_ctx, ops):
    db.add_all([Region(code=SIMAO, name="思茅区", short_name="思茅"),
                Region(code=NINGER, name="宁洱哈尼族彝族自治县", short_name="宁洱")])
    db.flush()

    def project(code, region, amount, signed=None, landed=None, started=None, **kw):
        p = Project(code=code, name=f"{code} 项目", region_code=region, planned_investment_wan=amount,
                    signed_at=local(signed) if signed else None, landed_at=local(landed) if landed else None,
                    started_at=local(started) if started else None, created_at=local("2026-01-15"), **kw)
        db.add(p)
        db.flush()
        if signed:
            db.add(Agreement(project_id=p.id, kind="投资协议", sign_date=local(signed).date(),
                             agreed_investment_wan=amount))
        return p

    p1 = project("P1", SIMAO, 20000, "2026-03-10", "2026-05-01", "2026-08-01")
    p2 = project("P2", SIMAO, 8000, "2026-04-10", "2026-09-01", light="yellow", responsible_unit="市商务局")
    t1 = project("T1", NINGER, 10000, responsible_unit="宁洱县投资促进局")
    project("P4", NINGER, 5000, "2026-07-01")
    offer = ops["transfer_offer"](make_ctx(local("2026-05-10")), t1.id, SIMAO, "思茅区投资促进局",
                                  ["承载不足"], credit_split_origin_pct=50)
    ops["transfer_decide"](make_ctx(local("2026-05-15")), offer["transfer_id"], "accepted")
    ops["transfer_complete"](make_ctx(local("2026-05-20")), offer["transfer_id"], 40, "思茅区投资促进局")
    t1.signed_at = local("2026-06-10")
    db.add(Agreement(project_id=t1.id, kind="投资协议", sign_date=dt.date(2026, 6, 10), agreed_investment_wan=10000))
    db.add_all([FundsArrival(project_id=p1.id, period="2026-05", amount_wan=5000, origin="省外", evidence="凭证"),
                FundsArrival(project_id=p2.id, period="2026-10", amount_wan=1000, origin="市外省内"),
                FundsArrival(project_id=p1.id, period="2026-11", amount_wan=500, origin="市内")])
    db.flush()

    for i, day in enumerate((dt.date(2026, 2, 10), dt.date(2026, 3, 10))):
        v = Visit(visit_date=day, enterprise_name=f"来访{i}", region_code=SIMAO, created_at=local(f"{day}T16:00"))
        db.add(v)
        db.flush()
        ops["visit_route"](make_ctx(local(f"{day}T17:00")), v.id, "交办", "思茅区投资促进局", due_days=5)
        ops["visit_handled"](make_ctx(local(f"{day + dt.timedelta(days=3 if i == 0 else 6)}T11:00")), v.id)

    meeting = ops["meeting_open"](make_ctx(local("2026-04-01T08:00")), "季度会", "一季度调度会", "2026-04-01")
    items = ops["meeting_minutes_save"](make_ctx(local("2026-04-01T12:00")), meeting["meeting_id"], [], "决定", [
        {"title": f"交办{n}", "owner_unit": "思茅区投资促进局", "region_code": SIMAO, "due_days": 10}
        for n in (1, 2, 3)] + [{"title": "交办5", "owner_unit": "市商务局", "due_days": 10}])
    m1, m2, _m3, m5 = (i["action_id"] for i in items)
    for action, fed, closed in ((m1, "2026-04-05", "2026-04-06"), (m2, "2026-04-13", "2026-04-14"),
                                (m5, "2026-04-08", "2026-04-09")):
        ops["action_feedback"](make_ctx(local(fed)), action, "已办理")
        ops["action_close"](make_ctx(local(closed)), action)
    late_meeting = ops["meeting_open"](make_ctx(local("2026-12-28T08:00")), "专题会", "年末专题会", "2026-12-28")
    ops["meeting_minutes_save"](make_ctx(local("2026-12-28T12:00")), late_meeting["meeting_id"], [], "决定",
                                [{"title": "交办4", "owner_unit": "思茅区投资促进局", "region_code": SIMAO,
                                  "due_days": 10}])

    for opened, due_days, closed, dept in (("2026-03-05", 15, "2026-03-15", "市自然资源和规划局"),
                                           ("2026-06-05", 15, "2026-06-25", "市自然资源和规划局"),
                                           ("2026-12-05", 15, None, "市生态环境局"),
                                           ("2027-01-05", 15, None, "市生态环境局")):
        issue = ops["joint_issue_open"](make_ctx(local(opened)), p1.id, "用地", "用地问题", [dept], due_days=due_days)
        if closed:
            ops["joint_issue_close"](make_ctx(local(closed)), issue["issue_id"], "已解决")

    for received, closed, satisfied in (("2026-02-01", "2026-02-10", True), ("2026-03-01", "2026-03-20", False)):
        c = ops["complaint_register"](make_ctx(local(received)), {"complainant": "企业", "region_code": SIMAO,
                                                                  "due_days": 15})
        ops["complaint_close"](make_ctx(local(closed)), c["complaint_id"], "已办结", satisfied)
    db.flush()
    return db


def pair(item):
    return item["numerator"], item["denominator"]


def test_meeting_assignments_and_joint_handling_are_counted(year):
    ind = kpis.indicators(year, 2026, region_code=SIMAO, as_of=AS_OF)["indicators"]
    assert pair(ind["meeting_assignments_on_time_rate"]) == (1, 3)
    assert pair(ind["assignments_on_time_rate"]) == (2, 5)
    assert ind["assignments_on_time_rate"]["value"] == pytest.approx(0.4)
    assert pair(ind["handling_timely_rate"]) == (2, 5)
    assert pair(ind["joint_handling_on_time_rate"]) == (1, 3)
    assert ind["joint_handling_on_time_rate"]["label"] == "联办协办按期办结率"
    dept = kpis.indicators(year, 2026, responsible_unit="市自然资源和规划局", as_of=AS_OF)["indicators"]
    assert pair(dept["joint_handling_on_time_rate"]) == (1, 2)
    commerce = kpis.indicators(year, 2026, responsible_unit="市商务局", as_of=AS_OF)["indicators"]
    assert pair(commerce["meeting_assignments_on_time_rate"]) == (1, 1)
    # before the deadlines pass nothing is due: Q1 has no meeting item and J1 (due 03-20) only
    q1 = kpis.indicators(year, 2026, 1, region_code=SIMAO, as_of=AS_OF)["indicators"]
    assert pair(q1["meeting_assignments_on_time_rate"]) == (0, 0)
    assert q1["meeting_assignments_on_time_rate"]["reason"] == "本期无到期的会议交办事项"
    assert pair(q1["joint_handling_on_time_rate"]) == (1, 1)


@pytest.fixture
def at_cutoff(monkeypatch):
    from app import clock

    monkeypatch.setattr(clock, "now", lambda: AS_OF)


def test_scorecard_inputs_carry_the_new_rates(year, at_cutoff):
    (row,) = kpis.unit_scorecard_inputs(year, [{"region_code": SIMAO, "unit_name": "思茅区"}], 2026)
    assert row["issue_timely_pct"] == pytest.approx(100 / 3, abs=1e-3)
    assert row["handling_timely_pct"] == 40.0 and row["assignments_on_time_pct"] == 40.0


def test_a_transferred_projects_signing_is_split_between_origin_and_receiver(year):
    simao = kpis.indicators(year, 2026, region_code=SIMAO, as_of=AS_OF)["indicators"]
    ninger = kpis.indicators(year, 2026, region_code=NINGER, as_of=AS_OF)["indicators"]
    city = kpis.indicators(year, 2026, as_of=AS_OF)["indicators"]
    assert simao["signed_count"]["value"] == pytest.approx(2.6)
    assert simao["signed_amount_wan"]["value"] == pytest.approx(34000)
    assert ninger["signed_count"]["value"] == pytest.approx(1.4)
    assert ninger["signed_amount_wan"]["value"] == pytest.approx(9000)
    assert (city["signed_count"]["value"], city["signed_amount_wan"]["value"]) == (4, 43000)
    # the receiving unit (a 市直部门 scope by name) gets the same 60 %, the origin unit 40 %
    assert kpis.indicators(year, 2026, responsible_unit="思茅区投资促进局", as_of=AS_OF)[
        "indicators"]["signed_count"]["value"] == pytest.approx(0.6)
    assert kpis.indicators(year, 2026, responsible_unit="宁洱县投资促进局", as_of=AS_OF)[
        "indicators"]["signed_amount_wan"]["value"] == pytest.approx(4000)
    # cohort rates count the project where it now is: 思茅 P1 P2 T1, landed P1 P2
    assert pair(simao["landing_rate"]) == (2, 3)


def test_bulletin_and_dashboard_counts_are_indicators(year):
    ind = kpis.indicators(year, 2026, region_code=SIMAO, as_of=AS_OF)["indicators"]
    assert {k: ind[k]["value"] for k in ("new_projects", "landed_count", "started_count", "funds_arrived_wan",
                                         "funds_out_of_province_wan", "funds_in_province_wan", "funds_local_wan",
                                         "active_projects", "light_green_count", "light_yellow_count",
                                         "complaints_received", "complaints_closed", "complaints_satisfied",
                                         "visits")} == {
        "new_projects": 3, "landed_count": 2, "started_count": 1, "funds_arrived_wan": 6500,
        "funds_out_of_province_wan": 5000, "funds_in_province_wan": 1000, "funds_local_wan": 500,
        "active_projects": 3, "light_green_count": 2, "light_yellow_count": 1,
        "complaints_received": 2, "complaints_closed": 2, "complaints_satisfied": 1, "visits": 2}
    assert pair(ind["complaints_on_time_rate"]) == (1, 2) and pair(ind["complaint_satisfaction_rate"]) == (1, 2)
    assert ind["new_projects"]["unit"] == "个" and ind["new_projects"]["denominator"] is None


def test_the_bulletin_export_rows_equal_the_indicators(year):
    rows = {r["region_code"]: r for r in exports.bulletin_rows(year, "2026-05")}
    assert set(rows) == {SIMAO, NINGER, None}
    for code in (SIMAO, NINGER, None):
        flat = kpis.bulletin_counts(kpis.indicators(year, 2026, month=5, region_code=code))
        for key, _title in exports.BULLETIN_COLUMNS:
            assert rows[code][key] == flat[key], (code, key)
    simao = rows[SIMAO]
    assert (simao["landed"], simao["funds_total_wan"], simao["funds_out_of_province_wan"]) == (1, 5000, 5000)
    assert simao["funds_by_origin"] == {"省外": 5000, "市外省内": 0, "市内": 0}
    assert rows[None]["signed"] == 0 and rows[NINGER]["signed"] == 0  # T1 signs in June
    june = {r["region_code"]: r for r in exports.bulletin_rows(year, "2026-06")}
    assert (june[SIMAO]["signed"], june[NINGER]["signed"], june[None]["signed"]) == (
        pytest.approx(0.6), pytest.approx(0.4), 1)
    assert exports.bulletin_xlsx(year, "2026-05")[:2] == b"PK"


def test_dashboard_numbers_equal_the_indicators(year, at_cutoff):
    data = dashboards.dashboard(year, "2026-12")
    ytd = kpis.indicators(year, 2026, month=12, region_code=SIMAO, ytd=True)["indicators"]
    simao = next(r for r in data["per_county"] if r["code"] == SIMAO)
    assert (simao["signed"], simao["landed"], simao["started"], simao["funds_total_wan"], simao["visits"],
            simao["complaints"], simao["active"], simao["yellow"]) == (
        ytd["signed_count"]["value"], ytd["landed_count"]["value"], ytd["started_count"]["value"],
        ytd["funds_arrived_wan"]["value"], ytd["visits"]["value"], ytd["complaints_received"]["value"],
        ytd["active_projects"]["value"], ytd["light_yellow_count"]["value"])
    assert simao["signed"] == pytest.approx(2.6) and simao["funds_total_wan"] == 6500
    city_month = kpis.bulletin_counts(kpis.indicators(year, 2026, month=12))
    assert data["month"] == city_month
    assert data["ytd"]["signed"] == 4 and data["ytd"]["funds_total_wan"] == 6500
    may = next(m for m in data["per_month"] if m["period"] == "2026-05")
    assert (may["landed"], may["funds_total_wan"], may["funds_out_wan"]) == (1, 5000, 5000)
    assert sum(m["signed"] for m in data["per_month"]) == 4
    ranking = {r["code"]: r for r in data["ranking"]}
    assert (ranking[SIMAO]["landed"], ranking[SIMAO]["signed"]) == (2, 3)
    assert data["ranking"] == dashboards.ranking_rows(year, 2026, "2026-12")


def test_a_municipal_department_gets_a_scorecard(year, at_cutoff):
    """市商务局 (scope responsible_unit): P2 signed and landed → 落地率 1/1 ≥ 60 % → 10; meeting 交办 1/1 → 15;
    no target (0 + 0), no stage completions (0), no F-20 reports (0 + 0 + 0, 12 迟报/未报 → −2.4):
    year-end 25.00, daily 25.00, total 0.3 × 25 + 0.7 × 25 − 2.4 = 22.60, 不合格."""
    (unit,) = kpis.unit_scorecard_inputs(year, [{"unit_key": "commerce", "unit_name": "市商务局",
                                                 "responsible_unit": "市商务局"}], 2026)
    assert unit["unit_kind"] == "department" and unit["landing_rate_pct"] == 100.0
    (res,) = annual_scorecard([unit], 2026)["results"]
    assert {b["name"]: b["earned"] for b in res["blocks"]} == {
        "招商目标任务": 0.0, "揭牌认领项目推进": 0.0, "来访/交办办理": 15.0, "“一把手”招商与信息报告": 0.0,
        "认领项目落地": 10.0}
    assert {b["name"]: b["full"] for b in res["blocks"]}["招商目标任务"] == 40
    assert (res["year_end"], res["daily"], res["penalty"], res["total"], res["grade"], res["unit_kind"]) == (
        25.0, 25.0, 2.4, 22.6, "不合格", "department")
    missing = {m["key"]: m["reason"] for m in res["missing"]}
    assert missing["funds_target_rate_pct"] == "未下达年度到位资金目标"
