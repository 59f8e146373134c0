"""unit_monthly_report (F-20 招商工作月报): counties and 市直部门 report in parallel; the submission
time of each task is what the assessment counts (due the deadline.monthly.report_day, default the 5th)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.models.assessment import UnitReport
from app.services.domain import kpis
from tests.processes.helpers_cycle import set_clock, start_occurrence

COUNTIES = [{"unit_key": "530802", "region_code": "530802", "unit_name": "思茅区"}]
DEPTS = [{"unit_key": "commerce", "region_code": None, "unit_name": "市商务局"}]
REPORT = {"leader_trips": 2, "leader_enterprises_visited": 5,
          "trips": [{"destination": "深圳", "leader": "县长", "delegation_size": 4, "enterprises_visited": 3,
                     "leads_obtained": 2}],
          "work_info": [{"title": "思茅区赴深圳开展产业链招商", "date": "2026-11-20", "channel": "普洱日报"}]}


def test_counties_and_departments_report_and_lateness_is_the_task_completion_time(flow):
    set_clock(flow, "2026-12-01T08:30:00+08:00")
    iid = start_occurrence(flow, "unit_monthly_report", {"county_units": COUNTIES, "dept_units": DEPTS,
                                                         "period": "2026-11"})
    data = flow.data(iid)
    assert (data["period_label"], data["due_date"]) == ("2026年11月", "2026-12-05")
    assert {(t.lane, t.region_code) for t in flow.tasks(iid, "county_report")} == {("county_ipb", "530802")}
    assert {t.lane for t in flow.tasks(iid, "dept_report")} == {"industry_dept"}

    set_clock(flow, "2026-12-03T10:00:00+08:00")
    flow.complete(iid, "county_report", REPORT)  # on time
    flow.advance("P4D")  # 12-07 10:00: the 5th has passed → reminder for the late department
    assert any(n.instance_id == iid for n in flow.notifications(title_contains="月报已逾期(市直部门)"))
    flow.complete(iid, "dept_report", {"leader_trips": 0})  # late, and no trip
    assert flow.instance(iid).status == "completed"

    with flow.db.read_scope() as s:
        rows = {r.unit_key: r for r in s.scalars(select(UnitReport))}
        simao, commerce = rows["530802"], rows["commerce"]
        assert (simao.unit_kind, simao.period, simao.leader_trips, len(simao.trips)) == ("county", "2026-11", 2, 1)
        assert simao.submitted_at.replace(microsecond=0) == dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.UTC)
        assert simao.submitted_at <= simao.due_at
        assert (commerce.unit_kind, commerce.leader_trips) == ("department", 0)
        assert commerce.submitted_at > commerce.due_at
        # the assessment reads these rows: 思茅 November 1 of 1 reported, 一把手 1/1; 商务局 late, 一把手 0/1
        as_of = dt.datetime(2026, 12, 8, tzinfo=dt.UTC)
        simao_k = kpis.indicators(s, 2026, month=11, unit_key="530802", region_code="530802", as_of=as_of)
        dept_k = kpis.indicators(s, 2026, month=11, unit_key="commerce", as_of=as_of)
    assert simao_k["indicators"]["leader_investment_rate"]["value"] == 1.0
    assert simao_k["indicators"]["late_report_count"]["value"] == 0
    assert dept_k["indicators"]["late_report_count"]["value"] == 1
    assert dept_k["indicators"]["leader_investment_rate"]["value"] == 0.0
    assert dept_k["indicators"]["monthly_report_timely_rate"]["value"] == 1.0  # submitted, lateness penalised once
