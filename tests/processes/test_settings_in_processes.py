"""Deadlines come from settings (docs/CONTRACTS.md "Settings"): an admin's change reaches instances
started afterwards; a running instance keeps the values it read at its start."""

from __future__ import annotations

import datetime as dt

from app.models.domain import Visit
from app.services.domain import settings
from tests.processes.test_visitor import aware, end_of, register, timer_due, to_next


def test_the_chain_acceptance_limit_is_a_setting_in_working_days(flow):
    monday = to_next(flow, 0)
    first = register(flow, interests=["茶产业"])
    with flow.db.session_scope() as s:
        settings.put(s, "deadline.visitor.accept_wd", 4, "admin")
    second = register(flow, interests=["茶产业"])
    assert flow.data(first)["accept_due"]["days"] == 2  # default, read at its start
    assert flow.data(second)["accept_due"]["days"] == 4
    due = end_of(monday + dt.timedelta(days=4))  # Friday
    with flow.db.read_scope() as s:
        assert aware(s.get(Visit, flow.data(second)["visit_id"]).handling_due_at) == due
    assert timer_due(flow, second, "bt_chain_accept") == due
    assert timer_due(flow, first, "bt_chain_accept") == end_of(monday + dt.timedelta(days=2))


def test_the_classification_limit_is_a_setting_in_working_days(flow):
    monday = to_next(flow, 0)
    with flow.db.session_scope() as s:
        settings.put(s, "deadline.visitor.classify_wd", 1, "admin")
    iid = register(flow, interests=["其他"], matter_type="其他")
    assert timer_due(flow, iid, "bt_classify") == end_of(monday + dt.timedelta(days=1))


def test_the_visitor_duration_keys_are_gone():
    assert "deadline.visitor.accept" not in settings.BY_KEY and "deadline.visitor.classify" not in settings.BY_KEY
    assert settings.BY_KEY["deadline.visitor.accept_wd"].unit == "工作日"


def test_the_annual_self_assessment_limit_is_a_setting(flow):
    from tests.processes.helpers_cycle import start_occurrence

    with flow.db.session_scope() as s:
        settings.put(s, "deadline.annual.self", "P20D", "admin")
    iid = start_occurrence(flow, "annual_assessment", {"assess_units": [{"region_code": "530802",
                                                                          "unit_name": "思茅区"}], "period": "2026"})
    assert flow.data(iid)["self_within"] == "P20D"
    timers = [j for j in flow.jobs(iid, kind="timer")]
    assert any(abs(j.due_at - (flow.clock.now() + dt.timedelta(days=20))) < dt.timedelta(minutes=5) for j in timers)
