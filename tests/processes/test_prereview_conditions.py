"""有条件通过: the conditions become a tracked item (action_item) the responsible unit fulfils and the
office confirms (or returns); the pre-review, and so the lifecycle's signing stage, waits for it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.models.domain_processes import ActionItem
from tests.processes.conftest import (
    CONDITIONS,
    FULFILLED,
    PANEL_CONDITIONAL,
    advance_stages,
    fulfil_conditions,
    prereview_to_panel,
)

CONFIRMED = {"cond_decision": "确认已落实", "cond_confirm_note": ""}


def conditional(flow, instance_id, due_in_days=20):
    prereview_to_panel(flow, instance_id)
    flow.complete(instance_id, "pr_panel", PANEL_CONDITIONAL)
    due = (flow.clock.now() + dt.timedelta(days=due_in_days)).date().isoformat()
    flow.complete(instance_id, "pr_conditions", {**CONDITIONS, "conditions_due_date": due})
    return due


def item(flow, pid) -> ActionItem:
    with flow.db.read_scope() as s:
        return s.scalars(select(ActionItem).where(ActionItem.project_id == pid, ActionItem.meeting_id.is_(None))).one()


def test_conditions_are_tracked_until_the_office_confirms_them(flow):
    pid = flow.project(investment_wan=3000, tier="一般", stage="S4_NEGOTIATE")
    iid = flow.start_prereview(pid)
    due = conditional(flow, iid)

    row = item(flow, pid)
    assert (row.title, row.owner_unit, row.status) == ("预审附加条件:" + CONDITIONS["prereview_conditions"],
                                                       "思茅区投资促进局", "assigned")
    assert row.due_at.date().isoformat() == due
    fulfil = flow.task(iid, "pr_cond_fulfil")
    assert (fulfil.lane, fulfil.region_code) == ("responsible_unit", "530802")
    assert flow.instance(iid).status != "completed" and flow.project_row(pid).prereview_result == "有条件通过"

    flow.complete(iid, "pr_cond_fulfil", {"fulfilment_summary": "能耗指标正在协调。"})
    assert flow.task(iid, "pr_cond_confirm").lane == "zsw_office"
    flow.complete(iid, "pr_cond_confirm", {"cond_decision": "退回补充", "cond_confirm_note": "未见资金证明。"})
    assert item(flow, pid).returns == 1
    flow.complete(iid, "pr_cond_fulfil", FULFILLED)
    flow.complete(iid, "pr_cond_confirm", CONFIRMED)

    assert flow.instance(iid).status == "completed"
    assert {"pr_cond_track", "pr_cond_return", "pr_cond_close", "pr_end_conditional"} <= flow.reached(iid)
    row = item(flow, pid)
    assert (row.status, row.on_time, row.returns, row.feedback) == ("closed", True, 1, FULFILLED["fulfilment_summary"])
    assert [e.title for e in flow.timeline(pid, "conditions")] == ["预审附加条件待落实"]


def test_unfulfilled_conditions_are_chased_at_their_deadline(flow):
    pid = flow.project(investment_wan=3000, tier="一般", stage="S4_NEGOTIATE")
    iid = flow.start_prereview(pid)
    conditional(flow, iid, due_in_days=10)
    flow.advance("P9D")
    assert flow.task(iid, "pr_cond_fulfil").warning == "none"
    flow.advance("P2D")
    assert flow.task(iid, "pr_cond_fulfil").warning == "yellow"
    assert {n.role for n in flow.notifications(pid, "【催办】预审附加条件逾期未落实")} == {"responsible_unit", "zsw_office"}
    fulfil_conditions(flow, iid)
    assert item(flow, pid).on_time is False


def test_signing_waits_for_the_conditions(flow):
    pid = flow.project(investment_wan=3000)
    lid = flow.start_lifecycle(pid)
    advance_stages(flow, lid, 4)  # S4 → the pre-review call activity
    conditional(flow, lid)
    assert flow.project_row(pid).stage == "S4_NEGOTIATE" and set(flow.open_tasks(lid)) == {"pr_cond_fulfil"}

    fulfil_conditions(flow, lid)
    assert flow.project_row(pid).stage == "S5_SIGN" and set(flow.open_tasks(lid)) == {"st_work"}
