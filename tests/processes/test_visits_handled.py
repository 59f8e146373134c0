"""A visit is marked handled (status ``handled``, audit ``visit_handled`` with the outcome) when its
routing ends — chain lead unit accepted, assignment done, transferred, or turned into a complaint — and
not before (issue #12: handled visits count in the annual assessment)."""

from __future__ import annotations

from sqlalchemy import select

from app.models.domain import Visit
from tests.processes.test_visitor import register


def status(flow, iid) -> str:
    with flow.db.read_scope() as s:
        return s.scalars(select(Visit.status).where(Visit.instance_id == iid)).one()


def outcome(flow, iid) -> str:
    [event] = flow.audit(iid, "visit_handled")
    return event.detail["outcome"]


def test_a_chain_visit_is_handled_when_the_lead_unit_accepts(flow):
    iid = register(flow, interests=["茶产业"])
    assert status(flow, iid) == "routed"
    flow.complete(iid, "chain_accept", {"accept_decision": "承接", "commissioner_name": "张专员"})
    assert (status(flow, iid), outcome(flow, iid)) == ("handled", "牵头单位承接")


def test_an_assigned_visit_is_handled_when_the_receiver_reports_back(flow):
    iid = register(flow, interests=["数字经济"], matter_type="投资意向")
    flow.complete(iid, "office_classify", {"routing_decision": "交办", "routed_to": "思茅区投资促进局",
                                           "region_code": "530802", "assign_within": "P3D"})
    assert status(flow, iid) == "routed" and flow.audit(iid, "visit_handled") == []
    flow.complete(iid, "assignee_accept", {"handle_result": "已接收并对接企业", "handler_name": "赵经办"})
    assert (status(flow, iid), outcome(flow, iid)) == ("handled", "交办办结")


def test_transferred_and_complaint_visits_are_handled_when_routed_on(flow):
    iid = register(flow, matter_type="审批事项", interests=["数字经济"])
    flow.complete(iid, "office_classify", {"routing_decision": "转办", "routed_to": "市政务服务管理局",
                                           "assign_within": "P3D"})
    assert (status(flow, iid), outcome(flow, iid)) == ("handled", "已转办")

    iid = register(flow, matter_type="投诉诉求", interests=["茶产业"], needs="承诺的用地指标未兑现")
    assert (status(flow, iid), outcome(flow, iid)) == ("handled", "转投诉")
