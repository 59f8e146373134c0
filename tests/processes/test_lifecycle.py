"""project_lifecycle end to end: classification (D1/D2), team, the stage loop S1→S7→DONE, backward
moves, yellow/red timers, pre-review outcomes and the exit message (processes/README.md 项目全生命周期)."""

from __future__ import annotations

import datetime as dt

import pytest

from app.services.runtime import messages
from tests.processes.conftest import (
    ADVANCE,
    PANEL_CONDITIONAL,
    PANEL_LOW,
    PANEL_PASS,
    STAGES,
    TEAM,
    advance_stages,
    agreement,
    back_to,
    prereview_to_panel,
    red_followthrough,
    run_prereview,
)

LIBRARY_STATUS = {"S1_PLAN": "待招商", "S2_SCREEN": "待招商", "S3_VISIT": "在谈", "S4_NEGOTIATE": "在谈",
                  "S5_SIGN": "在谈", "S6_LAND": "签约", "S7_START": "落地", "DONE": "开工"}


def close_to(when: dt.datetime, expected: dt.datetime) -> bool:
    return abs(when - expected) < dt.timedelta(minutes=5)


def test_start_classifies_forms_the_team_and_opens_the_first_stage(flow):
    pid = flow.project("普洱茶精深加工项目", investment_wan=3000)
    t0 = flow.clock.now()
    iid = flow.start("project_lifecycle", f"project-{pid}", flow.project_data(pid))

    inst = flow.instance(iid)
    assert (inst.business_key, inst.status) == (f"project-{pid}", "running")
    assert inst.summary["project_id"] == pid and inst.summary["region_code"] == "530802"
    team = flow.task(iid, "lc_team")
    assert (team.lane, team.tier, team.project_id) == ("zsw_office", "一般", pid)
    project = flow.project_row(pid)
    assert (project.tier, project.supervisor_role) == ("一般", "lead_unit_head")
    assert project.stage_records == []  # the stage loop starts after the team is formed

    flow.complete(iid, "lc_team", TEAM, username="office1")

    project = flow.project_row(pid)
    assert project.responsible_unit == "思茅区投资促进局" and project.commissioner_name == "王服务"
    assert project.factor_units == ["市自然资源和规划局", "市生态环境局"] and project.supervisor_name == "陈海波"
    assert (project.stage, project.library_status, project.light) == ("S1_PLAN", "待招商", "green")
    [record] = project.stage_records
    assert (record.stage, record.limit_days, record.completed_at) == ("S1_PLAN", 30, None)
    work = flow.task(iid, "st_work")
    assert (work.lane, work.region_code, work.stage, work.warning) == ("responsible_unit", "530802", "S1_PLAN", "none")
    assert close_to(work.due_at, t0 + dt.timedelta(days=30))  # the yellow timer is the nearest deadline
    timers = {j.element_id: j.due_at for j in flow.jobs(iid, kind="timer")}
    assert set(timers) == {"st_yellow", "st_red"}
    assert close_to(timers["st_red"], t0 + dt.timedelta(days=60))  # max(30×1.5, 30+30)
    assert flow.subscriptions(iid) == ["msg_exit_decided"]
    data = flow.data(iid)
    deadlines = data["deadlines"]  # derived from D6 (warning_colour.dmn) by the stage_deadlines handler
    assert (deadlines["yellow_after"], deadlines["red_after"], data["lifecycle_outcome"]) == ("P30D", "P60D", "active")
    completed = flow.audit(iid, "task_completed")
    assert [(a.actor, a.element_id) for a in completed] == [("office1", "lc_team")]


@pytest.mark.parametrize(("investment_wan", "tags", "designated_major", "tier", "supervisor_role", "s1_days"), [
    (3000, [], False, "一般", "lead_unit_head", 30),
    (20000, [], False, "重点", "deputy_secgen_liaison", 30),
    (60000, [], False, "重点", "deputy_secgen_liaison", 30),
    (60000, ["世界500强"], False, "重大", "municipal_leader_in_charge", 45),
    (60000, ["链主企业"], False, "重大", "municipal_leader_in_charge", 45),
    (150000, [], False, "重大", "municipal_leader_in_charge", 45),
    (800, [], True, "重大", "municipal_leader_in_charge", 45),
], ids=["3千万-一般", "2亿-重点", "6亿-重点", "6亿500强-重大", "6亿链主-重大", "15亿-重大", "统筹推进-重大"])
def test_d1_classifies_the_tier_from_investment_and_investor(flow, investment_wan, tags, designated_major, tier,
                                                            supervisor_role, s1_days):
    pid = flow.project(investment_wan=investment_wan, enterprise_tags=tags, designated_major=designated_major)
    iid = flow.start_lifecycle(pid)

    project = flow.project_row(pid)
    assert (project.tier, project.supervisor_role) == (tier, supervisor_role)
    assert project.stage_records[0].limit_days == s1_days  # D7 depends on the tier
    data = flow.data(iid)
    assert data["escalated_review"] is (tier == "重大")
    assert flow.task(iid, "st_work").tier == tier
    assert flow.timeline(pid, "update")[0].detail["tier"] == {"from": None, "to": tier}


def test_stages_advance_from_planning_to_started_with_the_library_status_following(flow):
    pid = flow.project(investment_wan=3000)
    iid = flow.start_lifecycle(pid)

    for stage in STAGES:
        project = flow.project_row(pid)
        assert (project.stage, project.library_status) == (stage, LIBRARY_STATUS[stage])
        assert flow.task(iid, "st_work").stage == stage
        flow.complete(iid, "st_work", ADVANCE, username="simao_unit")
        if stage == "S4_NEGOTIATE":  # advancing out of negotiation is the pre-review
            run_prereview(flow, iid, PANEL_PASS)
        elif stage == "S5_SIGN":  # advancing out of signing registers the agreement
            flow.complete(iid, "st_agreement", agreement(), username="simao_unit")

    project = flow.project_row(pid)
    assert (project.stage, project.library_status, project.status) == ("DONE", "开工", "active")
    assert project.signed_at and project.landed_at and project.started_at
    assert project.prereview_result == "通过"
    assert [(r.stage, r.limit_days) for r in project.stage_records] == [
        ("S1_PLAN", 30), ("S2_SCREEN", 60), ("S3_VISIT", 60), ("S4_NEGOTIATE", 90), ("S5_SIGN", 30),
        ("S6_LAND", 90), ("S7_START", 90)]
    assert all(r.completed_at is not None for r in project.stage_records)
    [signed] = project.agreements
    assert signed.kind == "投资协议" and signed.exit_clause.startswith("第十二条")

    inst = flow.instance(iid)
    assert inst.status == "completed" and inst.ended_at is not None
    assert {"lc_started", "lc_main_end_done", "lc_end_started"} <= flow.reached(iid)
    assert flow.open_tasks(iid) == {} and flow.jobs(iid) == []
    transitions = [e.detail["transition"] for e in flow.timeline(pid, "stage_transition")]
    assert transitions == ["advance"] * 6 + ["completed"]
    assert flow.notifications(pid, "项目开工:")[0].level == "success"
    assert flow.audit(iid, "instance_completed")


def test_a_framework_agreement_keeps_the_project_in_the_signing_stage(flow):
    pid = flow.project(investment_wan=3000)
    iid = flow.start_lifecycle(pid, stage="S5_SIGN")  # resumed at a later stage (start data key "stage")
    assert flow.project_row(pid).stage == "S5_SIGN"

    flow.complete(iid, "st_work", ADVANCE)
    flow.complete(iid, "st_agreement", agreement("框架协议"))

    project = flow.project_row(pid)
    assert (project.stage, project.library_status, project.signed_at) == ("S5_SIGN", "在谈", None)
    assert [r.stage for r in project.stage_records] == ["S5_SIGN", "S5_SIGN"]  # a new round restarts the clock
    assert flow.timeline(pid, "stage_transition")[-1].detail["transition"] == "stay"

    flow.complete(iid, "st_work", ADVANCE)
    flow.complete(iid, "st_agreement", agreement("投资协议"))

    project = flow.project_row(pid)
    assert (project.stage, project.library_status) == ("S6_LAND", "签约") and project.signed_at is not None
    assert [a.kind for a in project.agreements] == ["框架协议", "投资协议"]


def test_moving_back_and_forth_does_not_grow_the_task_tree(flow):
    pid = flow.project(investment_wan=3000)
    iid = flow.start_lifecycle(pid)
    flow.complete(iid, "st_work", back_to("S1_PLAN"))  # back from the first stage stays there
    assert flow.project_row(pid).stage == "S1_PLAN"
    advance_stages(flow, iid, 3)
    assert flow.project_row(pid).stage == "S4_NEGOTIATE"
    baseline = flow.tree_shape(iid)["depths"]

    for _ in range(6):  # 重新考察: S4 → S3, then back to negotiation
        flow.complete(iid, "st_work", back_to("S3_VISIT"))
        assert flow.project_row(pid).stage == "S3_VISIT"
        assert flow.tree_shape(iid)["depths"] == {"st_work": baseline["st_work"]}
        flow.complete(iid, "st_work", ADVANCE)
        assert flow.project_row(pid).stage == "S4_NEGOTIATE"
        assert flow.tree_shape(iid)["depths"] == baseline

    # a "back to" that is not earlier than the current stage falls back to the previous stage
    flow.complete(iid, "st_work", back_to("S6_LAND"))
    assert flow.project_row(pid).stage == "S3_VISIT"

    # the instance still works normally: on to negotiation and through the pre-review
    flow.complete(iid, "st_work", ADVANCE)
    flow.complete(iid, "st_work", ADVANCE)
    run_prereview(flow, iid, PANEL_PASS)
    project = flow.project_row(pid)
    assert project.stage == "S5_SIGN"
    stages = [r.stage for r in project.stage_records]
    assert stages[:5] == ["S1_PLAN", "S1_PLAN", "S2_SCREEN", "S3_VISIT", "S4_NEGOTIATE"]
    assert stages[5:17] == ["S3_VISIT", "S4_NEGOTIATE"] * 6
    assert stages[17:] == ["S3_VISIT", "S4_NEGOTIATE", "S5_SIGN"]
    assert [r.completed_at is None for r in project.stage_records].count(True) == 1
    backs = [e for e in flow.timeline(pid, "stage_transition") if e.detail["transition"] == "back"]
    assert len(backs) == 8 and backs[1].title == "退回:S4_NEGOTIATE → S3_VISIT"
    assert flow.data(iid)["stage_round"] == len(stages)


def test_an_overdue_stage_turns_yellow_then_red(flow):
    pid = flow.project(investment_wan=3000)  # 一般: S1 limit 30 days, red after 60
    iid = flow.start_lifecycle(pid)

    assert flow.advance("P29D") == 0
    assert flow.project_row(pid).light == "green"

    assert flow.advance("P2D") >= 1  # day 31: the yellow timer
    project = flow.project_row(pid)
    assert project.light == "yellow" and project.stage_records[-1].light == "yellow"
    assert flow.task(iid, "st_work").warning == "yellow"
    explain = flow.task(iid, "st_y_explain")
    assert (explain.lane, explain.region_code) == ("responsible_unit", "530802")
    yellow = flow.notifications(pid, "【黄灯】")
    assert {(n.role, n.region_code, n.level) for n in yellow} == {
        ("responsible_unit", "530802", "warning"), ("service_commissioner", "530802", "warning"),
        ("project_supervisor", None, "warning")}
    assert [a.element_id for a in flow.audit(iid, "timer_fired")] == ["st_yellow"]

    flow.complete(iid, "st_y_explain", {"warning_cause": "要素保障", "warning_explanation": "用地报批材料尚在补正中。",
                                        "warning_actions": "协调自然资源部门加快审查"}, username="simao_unit")
    [note] = flow.timeline(pid, "warning")
    assert note.detail["cause"] == "要素保障" and note.element_id == "st_y_record"

    red_due = flow.task(iid, "st_work").due_at  # with yellow past, the pending red deadline is the due time
    flow.advance("P30D")  # day 61: the red timer
    project = flow.project_row(pid)
    assert project.light == "red" and project.stage_records[-1].light == "red"
    work = flow.task(iid, "st_work")
    assert work.warning == "red"
    assert work.due_at == red_due  # all deadlines passed: the task shows the one it is overdue against
    assert {"st_r_plan", "st_r_instruct"} <= set(flow.open_tasks(iid))  # the office decides after these
    red_followthrough(flow, iid)
    supervise = flow.task(iid, "st_r_supervise")
    assert supervise.lane == "zsw_office"
    red = flow.notifications(pid, "【红灯】")
    assert {n.role for n in red} == {"zsw_office", "responsible_unit", "project_supervisor"}  # + D2 roles (一般)
    assert all(n.level == "danger" for n in red)
    assert [a.element_id for a in flow.audit(iid, "timer_fired")] == ["st_yellow", "st_red"]
    light_events = [(e.detail["from"], e.detail["to"]) for e in flow.timeline(pid, "light")]
    assert light_events == [("green", "yellow"), ("yellow", "red")]

    flow.complete(iid, "st_r_supervise", {"supervise_decision": "列入会议调度", "supervise_order_no": "督-2026-01"},
                  username="office1")
    [order] = flow.timeline(pid, "supervision")
    assert order.title == "红灯督办:列入会议调度" and order.detail["order_no"] == "督-2026-01"
    assert "st_r_end" in flow.reached(iid) and "st_r_exit" not in flow.reached(iid)
    assert flow.jobs(kind="start") == [] and flow.instances_of("project_exit") == []
    assert set(flow.open_tasks(iid)) == {"st_work"}  # the stage itself is still to be done


def test_a_red_light_for_a_major_project_alerts_the_d2_supervisor_roles(flow):
    pid = flow.project(investment_wan=150000)  # 重大: S1 limit 45 days, red after 75
    iid = flow.start_lifecycle(pid)
    flow.advance("P44D")
    assert flow.project_row(pid).light == "green"
    flow.advance("P2D")
    assert flow.project_row(pid).light == "yellow"
    flow.advance("P30D")
    assert flow.project_row(pid).light == "red"
    assert set(flow.open_tasks(iid)) == {"st_work", "st_y_explain", "st_r_plan", "st_r_instruct"}
    assert {n.role for n in flow.notifications(pid, "【红灯】")} == {
        "zsw_office", "responsible_unit", "project_supervisor", "leader", "city_ipb"}


def test_a_sweep_that_finds_both_deadlines_past_leaves_the_light_red(flow):
    pid = flow.project(investment_wan=3000)
    iid = flow.start_lifecycle(pid)

    flow.advance("P61D")  # yellow (30 d) and red (60 d) are both due in this one sweep

    assert flow.task(iid, "st_work").warning == "red"
    assert set(flow.open_tasks(iid)) == {"st_work", "st_y_explain", "st_r_plan", "st_r_instruct"}
    assert flow.project_row(pid).light == "red"


def test_moving_on_closes_the_warning_tasks_and_resets_the_light(flow):
    pid = flow.project(investment_wan=3000)
    iid = flow.start_lifecycle(pid)
    flow.advance("P31D")
    assert set(flow.open_tasks(iid)) == {"st_work", "st_y_explain"}

    flow.complete(iid, "st_work", ADVANCE)

    assert set(flow.open_tasks(iid)) == {"st_work"}
    assert [t.state for t in flow.tasks(iid, "st_y_explain")] == ["cancelled"]
    project = flow.project_row(pid)
    assert (project.stage, project.light) == ("S2_SCREEN", "green")
    assert [(r.stage, r.light) for r in project.stage_records] == [("S1_PLAN", "yellow"), ("S2_SCREEN", "green")]
    assert flow.task(iid, "st_work").warning == "none"
    assert flow.advance("P59D") == 0  # the new stage's clock (60 days) started at the transition


def test_red_light_supervision_can_start_the_efficiency_evaluation(flow):
    pid = flow.project(investment_wan=3000)
    iid = flow.start_lifecycle(pid)
    flow.advance("P61D")
    red_followthrough(flow, iid)

    flow.complete(iid, "st_r_supervise", {"supervise_decision": "启动效能评价"}, username="office1")

    [job] = flow.jobs(kind="start")
    assert job.payload["process_key"] == "project_exit" and job.payload["business_key"] == f"exit-{pid}"
    flow.run_jobs()
    [exit_instance] = flow.instances_of("project_exit", f"exit-{pid}")
    exit_data = flow.data(exit_instance.id)
    assert (exit_data["path"], exit_data["trigger"], exit_data["project_id"]) == ("seal", "红灯督办", pid)
    assert set(flow.open_tasks(exit_instance.id)) == {"ex_report"}
    assert "st_r_exit_end" in flow.reached(iid)
    assert flow.instance(iid).status == "running" and "st_work" in flow.open_tasks(iid)


@pytest.mark.parametrize(("panel_data", "result"), [(PANEL_PASS, "通过"), (PANEL_CONDITIONAL, "有条件通过")])
def test_a_passed_prereview_moves_the_project_into_signing(flow, panel_data, result):
    pid = flow.project(investment_wan=3000)
    iid = flow.start_lifecycle(pid)
    advance_stages(flow, iid, 4)  # S1 → S4 and the request to advance out of negotiation
    assert set(flow.open_tasks(iid)) == {"pr_credit"}  # the call activity runs inside the lifecycle
    assert flow.project_row(pid).stage == "S4_NEGOTIATE"

    run_prereview(flow, iid, panel_data)

    project = flow.project_row(pid)
    assert (project.stage, project.library_status, project.prereview_result) == ("S5_SIGN", "在谈", result)
    data = flow.data(iid)
    assert (data["prereview_result"], data["lifecycle_outcome"]) == (result, "active")
    assert set(flow.open_tasks(iid)) == {"st_work"} and flow.task(iid, "st_work").stage == "S5_SIGN"


def test_a_failed_prereview_terminates_the_project(flow):
    pid = flow.project(investment_wan=3000)
    iid = flow.start_lifecycle(pid)
    advance_stages(flow, iid, 4)

    run_prereview(flow, iid, PANEL_LOW)  # 40 分 → 不通过 (D5)

    project = flow.project_row(pid)
    assert (project.status, project.library_status, project.stage) == ("terminated", "终止", "S4_NEGOTIATE")
    assert project.prereview_result == "不通过"
    assert project.stage_records[-1].completed_at is not None
    inst = flow.instance(iid)
    assert inst.status == "completed"
    assert {"st_pr_fail", "st_fail_end", "lc_terminated", "lc_main_end_terminated", "lc_end_terminated"} <= \
        flow.reached(iid)
    assert flow.data(iid)["lifecycle_outcome"] == "terminated"
    assert {n.role for n in flow.notifications(pid, "项目终止:")} == {"zsw_office", "responsible_unit",
                                                                     "project_supervisor"}
    assert flow.open_tasks(iid) == {} and flow.jobs(iid) == []


def test_a_veto_during_the_prereview_terminates_the_project(flow):
    pid = flow.project(investment_wan=3000)
    iid = flow.start_lifecycle(pid)
    advance_stages(flow, iid, 4)

    prereview_to_panel(flow, iid, ndrc={"industry_policy_class": "淘汰类"})  # D4 V01

    project = flow.project_row(pid)
    assert (project.status, project.prereview_result) == ("terminated", "不通过")
    assert flow.data(iid)["prereview_vetoes"] == ["V01"]
    assert "pr_end_veto" in flow.reached(iid) and "lc_end_terminated" in flow.reached(iid)
    assert flow.tasks(iid, "pr_panel") == []


def test_an_exit_message_from_elsewhere_sets_the_status_and_notifies_once(flow):
    pid = flow.project(investment_wan=3000)
    iid = flow.start_lifecycle(pid)
    flow.advance("P31D")  # a yellow warning task is open too

    with flow.db.session_scope() as s:  # e.g. an administrator's decision, not the exit process
        out = messages.send_message(s, "msg_exit_decided", business_key=f"project-{pid}",
                                    data={"exit_status": "exited"}, actor="office1")
    assert out["delivered"] == [iid]

    project = flow.project_row(pid)
    assert (project.status, project.library_status) == ("exited", "已退出")
    assert flow.instance(iid).status == "completed"
    assert {"lc_exit_status", "lc_exit_notify", "lc_end_exited"} <= flow.reached(iid)
    assert {t.element_id: t.state for t in flow.tasks(iid) if t.element_id != "lc_team"} == {
        "st_work": "cancelled", "st_y_explain": "cancelled"}
    assert {n.role for n in flow.notifications(pid, "项目退出:")} == {"zsw_office", "responsible_unit"}
    assert flow.jobs(iid) == [] and flow.subscriptions(iid) == []
    [delivered] = flow.audit(iid, "message_delivered")
    assert delivered.actor == "office1" and delivered.detail["name"] == "msg_exit_decided"
