"""Red-light supervision choices that act (issue #12): 同意调整计划 changes the open stage's plan (audited,
light back to green) and turns the light red again when the new date passes with the stage still open;
a stage finished in time cancels that timer. (协调解决 → joint_handling is in test_joint_handling.py,
列入会议调度 → agenda in test_meeting_assignments.py.)"""

from __future__ import annotations

import datetime as dt

import pytest

from app.errors import FormInvalid
from tests.processes.conftest import ADVANCE, red_followthrough


def red_project(flow):
    pid = flow.project(investment_wan=3000)
    lid = flow.start_lifecycle(pid)
    flow.advance("P61D")  # S1 (一般): yellow at 30 days, red at 60
    assert flow.project_row(pid).light == "red"
    red_followthrough(flow, lid)
    return pid, lid


def replan(flow, lid, days=20):
    new_date = (flow.clock.now() + dt.timedelta(days=days)).date().isoformat()
    flow.complete(lid, "st_r_supervise", {"supervise_decision": "同意调整计划", "supervise_order_no": "督-2026-11",
                                          "replan_due_date": new_date, "replan_reason": "投资方董事会延期,已书面承诺。"})
    return new_date


def test_an_agreed_new_plan_is_audited_turns_green_and_red_again_when_missed(flow):
    pid, lid = red_project(flow)
    new_date = replan(flow, lid)

    project = flow.project_row(pid)
    record = project.stage_records[-1]
    assert (project.light, record.light, record.planned_due.date().isoformat()) == ("green", "green", new_date)
    [event] = flow.timeline(pid, "plan")
    assert event.title == f"调整阶段计划:策划包装至{new_date}" and event.detail["from"]["light"] == "red"
    [audit] = flow.audit(lid, "stage_replanned")
    assert audit.detail["project_id"] == pid and audit.detail["reason"].startswith("投资方董事会延期")

    flow.advance("P19D")
    assert flow.project_row(pid).light == "green"
    flow.advance("P2D")
    assert flow.project_row(pid).light == "red"
    assert {n.role for n in flow.notifications(pid, "【红灯】调整后计划仍未完成")} >= {"zsw_office", "responsible_unit"}
    assert {"st_r_replan", "st_r_replan_wait", "st_r_replan_red", "st_r_replan_end"} <= flow.reached(lid)


def test_a_stage_finished_before_the_new_date_cancels_the_renewed_red(flow):
    pid, lid = red_project(flow)
    replan(flow, lid)
    flow.complete(lid, "st_work", ADVANCE)  # S1 → S2 within the new plan
    assert flow.project_row(pid).stage == "S2_SCREEN"

    flow.advance("P25D")
    assert flow.project_row(pid).light == "green"  # S2's own 30-day limit has not passed either
    assert flow.notifications(pid, "【红灯】调整后计划仍未完成") == []
    assert "st_r_replan_red" not in flow.reached(lid)


def test_a_new_plan_needs_a_date_and_a_reason(flow):
    _pid, lid = red_project(flow)
    with pytest.raises(FormInvalid) as err:
        flow.complete(lid, "st_r_supervise", {"supervise_decision": "同意调整计划", "supervise_order_no": "督-2026-12"})
    assert {e["field"] for e in err.value.errors} == {"replan_due_date", "replan_reason"}
