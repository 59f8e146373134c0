"""The monthly bulletin is compiled after the F-20 deadline: the instance opened on the 1st waits until
``deadline.monthly.bulletin_day`` (default 6, validated to be after ``deadline.monthly.report_day``) and
its review limit is the ``deadline.monthly.bulletin_review`` setting — with the moved clock."""

from __future__ import annotations

import datetime as dt

import pytest

from app.errors import Invalid
from app.models.assessment import UnitReport
from app.services.domain import settings
from tests.processes.helpers_cycle import count_instances, schedule_timer_start, set_clock, start_occurrence

ONE = [{"region_code": "530802", "unit_name": "思茅区"}]


def test_settings_keep_the_bulletin_after_the_report_deadline(flow):
    with flow.db.session_scope() as s:
        with pytest.raises(Invalid, match="须晚于月报报送截止日"):
            settings.put(s, "deadline.monthly.bulletin_day", 5, "admin")  # = report_day 5
        with pytest.raises(Invalid, match="须晚于月报报送截止日"):
            settings.put(s, "deadline.monthly.report_day", 6, "admin")  # = bulletin_day 6
        settings.put(s, "deadline.monthly.bulletin_day", 9, "admin")
        settings.put(s, "deadline.monthly.report_day", 8, "admin")
    with flow.db.read_scope() as s:
        assert settings.get(s, "deadline.monthly.bulletin_day") == 9
        assert settings.get(s, "deadline.monthly.report_day") == 8


def test_the_bulletin_waits_for_the_moved_compile_day_and_reads_its_review_limit(flow):
    with flow.db.session_scope() as s:
        settings.put(s, "deadline.monthly.bulletin_day", 8, "admin")
        settings.put(s, "deadline.monthly.bulletin_review", "P4D", "admin")
    set_clock(flow, "2026-11-30T12:00:00+08:00")
    schedule_timer_start(flow, "monthly_bulletin")
    flow.advance("P1D")  # 12-01 12:00: the occurrence opens the instance for 2026-11
    [inst] = flow.instances_of("monthly_bulletin")
    data = flow.data(inst.id)
    assert (data["period"], data["compile_at"], data["review_within"]) == (
        "2026-11", "2026-12-08T09:00:00+08:00", "P4D")
    with flow.db.session_scope() as s:  # 思茅's F-20, submitted late (12-07, after the 12-05 deadline)
        s.add(UnitReport(unit_key="530802", unit_name="思茅区", region_code="530802", period="2026-11",
                         leader_trips=1, submitted_at=dt.datetime(2026, 12, 7, 2, tzinfo=dt.UTC)))
    flow.advance("P6D")  # 12-07 12:00: not yet
    assert "city_kpis" not in flow.data(inst.id) and flow.tasks(inst.id, "office_review") == []
    flow.advance("P1D")  # 12-08 12:00: compiled
    data = flow.data(inst.id)
    assert "city_kpis" in data and count_instances(flow, "monthly_bulletin") == 1
    [review] = flow.tasks(inst.id, "office_review")
    [timer] = [j for j in flow.jobs(inst.id, kind="timer") if j.element_id == "bt_review"]
    assert abs(timer.due_at - (flow.clock.now() + dt.timedelta(days=4))) < dt.timedelta(minutes=5)
    # the assignment and joint-handling rates travel with the bulletin numbers (None: nothing due)
    assert {"assignments_on_time_pct", "joint_handling_on_time_pct"} <= set(data["city_kpis"])


def test_a_rerun_for_a_past_month_compiles_at_once(flow):
    set_clock(flow, "2026-12-20T10:00:00+08:00")
    iid = start_occurrence(flow, "monthly_bulletin", {"period": "2026-10", "report_units": ONE})
    data = flow.data(iid)
    assert data["compile_at"] == "2026-11-06T09:00:00+08:00"
    flow.run_jobs()
    assert "city_kpis" in flow.data(iid) and flow.tasks(iid, "office_review")
