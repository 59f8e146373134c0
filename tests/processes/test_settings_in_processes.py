"""Deadlines come from settings (docs/CONTRACTS.md "Settings"): an admin's change reaches instances
started afterwards; a running instance keeps the values it read at its start."""

from __future__ import annotations

import datetime as dt

from app.models.domain import Visit
from app.services.domain import settings
from tests.processes.test_visitor import register


def test_the_chain_acceptance_limit_is_a_setting(flow):
    first = register(flow, interests=["茶产业"])
    with flow.db.session_scope() as s:
        settings.put(s, "deadline.visitor.accept", "P7D", "admin")
    second = register(flow, interests=["茶产业"])
    assert flow.data(first)["accept_within"] == "P3D"  # default, read at its start
    assert flow.data(second)["accept_within"] == "P7D"
    with flow.db.read_scope() as s:
        due = s.get(Visit, flow.data(second)["visit_id"]).handling_due_at
    assert abs(due - (flow.clock.now() + dt.timedelta(days=7))) < dt.timedelta(minutes=5)
    [timer] = flow.jobs(second, kind="timer")
    assert abs(timer.due_at - (flow.clock.now() + dt.timedelta(days=7))) < dt.timedelta(minutes=5)


def test_the_annual_self_assessment_limit_is_a_setting(flow):
    from tests.processes.helpers_cycle import start_occurrence

    with flow.db.session_scope() as s:
        settings.put(s, "deadline.annual.self", "P20D", "admin")
    iid = start_occurrence(flow, "annual_assessment", {"assess_units": [{"region_code": "530802",
                                                                          "unit_name": "思茅区"}], "period": "2026"})
    assert flow.data(iid)["self_within"] == "P20D"
    timers = [j for j in flow.jobs(iid, kind="timer")]
    assert any(abs(j.due_at - (flow.clock.now() + dt.timedelta(days=20))) < dt.timedelta(minutes=5) for j in timers)
