"""joint_handling (联办协办, P08) end to end: a 要素保障 problem raised by the service commissioner, handled
in parallel by each chosen factor department, yellow/red lights on the moved clock, closed with the
resolution on the project timeline, and reopened when the commissioner rejects the answers."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.models.domain_processes import FactorIssue
from tests.processes.conftest import red_followthrough

ISSUE = {"issue_category": "用地", "issue_description": "项目二期用地尚未完成农用地转用报批,影响开工。",
         "departments": ["市自然资源和规划局", "市林业和草原局"], "issue_urgency": "一般", "respond_days": 7}
SOLVED = {"handling_result": "已解决", "handling_measures": "已完成组卷并上报省厅审批。"}


def issue_row(flow, instance_id) -> FactorIssue:
    with flow.db.read_scope() as s:
        return s.scalars(select(FactorIssue).where(FactorIssue.instance_id == instance_id)).one()


def raise_issue(flow, **extra):
    pid = flow.project("林板家居产业园项目", region_code="530824")
    iid = flow.start("joint_handling", f"joint-{pid}", flow.project_data(pid))
    assert flow.task(iid, "jh_register").lane == "service_commissioner"
    flow.complete(iid, "jh_register", {**ISSUE, **extra})
    return pid, iid


def answer_all(flow, iid, answer=SOLVED):
    handles = [t for t in flow.tasks(iid, "jh_handle") if t.state == "open"]
    for _task in handles:
        flow.complete(iid, "jh_handle", answer)
    return handles


def test_each_department_answers_and_the_commissioner_closes_the_issue(flow):
    pid, iid = raise_issue(flow)
    row = issue_row(flow, iid)
    assert (row.category, row.status, row.light, row.departments) == ("用地", "open", "green", ISSUE["departments"])
    assert abs(row.due_at - (flow.clock.now() + dt.timedelta(days=7))) < dt.timedelta(minutes=5)

    handles = [t for t in flow.tasks(iid, "jh_handle") if t.state == "open"]
    assert len(handles) == 2 and {t.lane for t in handles} == {"factor_dept"}
    assert {t.region_code for t in handles} == {"530824"}
    assert len(flow.notifications(pid, "【联办协办】用地")) == 1
    flow.complete(iid, "jh_handle", SOLVED)
    assert "jh_confirm" not in flow.open_tasks(iid)  # waits for the second department
    flow.complete(iid, "jh_handle", {"handling_result": "部分解决", "handling_measures": "林地手续已受理。"})

    data = flow.data(iid)
    assert {r["dept"] for r in data["dept_replies"]} == set(ISSUE["departments"])
    assert data["jh_all_resolved"] is False
    assert flow.task(iid, "jh_confirm").lane == "service_commissioner"
    flow.complete(iid, "jh_confirm", {"confirm_decision": "确认办结", "confirm_note": "投资方认可。"})

    assert flow.instance(iid).status == "completed"
    assert {"jh_close", "jh_close_notify", "jh_end"} <= flow.reached(iid)
    row = issue_row(flow, iid)
    assert (row.status, row.on_time, row.rounds) == ("closed", True, 1)
    assert all(dept in row.resolution for dept in ISSUE["departments"])
    assert "已解决" in row.resolution and "部分解决" in row.resolution and "服务专员意见:投资方认可" in row.resolution
    assert {r["result"] for r in row.replies} == {"已解决", "部分解决"}
    assert [e.title for e in flow.timeline(pid, "joint")] == ["提出联办协办:用地", "联办协办办结:用地"]
    assert len(flow.notifications(pid, "联办协办办结")) == 3


def test_late_answers_turn_yellow_then_red_and_escalate(flow):
    pid, iid = raise_issue(flow, departments=["市自然资源和规划局"])
    flow.advance("P6D")
    assert issue_row(flow, iid).light == "green"
    assert flow.advance("P1DT1H") >= 1  # 7 days: yellow
    assert issue_row(flow, iid).light == "yellow"
    assert flow.task(iid, "jh_handle").warning == "yellow"
    assert {n.role for n in flow.notifications(pid, "【黄灯】联办协办超期")} == {"factor_dept", "service_commissioner"}
    assert flow.notifications(pid, "【红灯】") == []

    flow.advance("P4D")  # 11 days = 7 + max(3, ceil(7 / 2)): red
    assert issue_row(flow, iid).light == "red"
    assert flow.task(iid, "jh_handle").warning == "red"
    assert {n.role for n in flow.notifications(pid, "【红灯】联办协办严重超期")} == {
        "zsw_office", "project_supervisor", "factor_dept"}

    answer_all(flow, iid)
    flow.complete(iid, "jh_confirm", {"confirm_decision": "确认办结", "confirm_note": "已解决。"})
    row = issue_row(flow, iid)
    assert (row.status, row.on_time) == ("closed", False)
    assert [e.title for e in flow.timeline(pid, "joint")][1:3] == ["联办协办超期亮黄灯:用地", "联办协办严重超期亮红灯:用地"]


def test_a_rejected_resolution_reopens_the_issue_for_another_round(flow):
    pid, iid = raise_issue(flow)
    answer_all(flow, iid)
    flow.advance("P5D")
    flow.complete(iid, "jh_confirm", {"confirm_decision": "退回重办", "confirm_note": "林地报批仍未受理,投资方不认可。"})

    assert flow.instance(iid).status != "completed"
    row = issue_row(flow, iid)
    assert (row.status, row.rounds, row.light) == ("open", 2, "green")
    assert abs(row.due_at - (flow.clock.now() + dt.timedelta(days=7))) < dt.timedelta(minutes=5)  # new deadline
    second = [t for t in flow.tasks(iid, "jh_handle") if t.state == "open"]
    assert len(second) == 2
    assert len(flow.notifications(pid, "【联办协办】用地")) == 2
    assert "jh_round_end_reopen" in flow.reached(iid)

    flow.advance("P5D")  # 10 days after the first deadline started, 5 into the new one: no light
    assert issue_row(flow, iid).light == "green"
    answer_all(flow, iid)
    flow.complete(iid, "jh_confirm", {"confirm_decision": "确认办结", "confirm_note": "已全部解决。"})
    row = issue_row(flow, iid)
    assert (row.status, row.rounds, row.on_time) == ("closed", 2, True)
    assert "服务专员退回重办:用地" in [e.title for e in flow.timeline(pid, "joint")]


def test_a_red_light_supervised_with_coordination_opens_a_joint_handling_case(flow):
    pid = flow.project(investment_wan=3000)
    lid = flow.start_lifecycle(pid)
    flow.advance("P61D")  # S1 red
    red_followthrough(flow, lid)
    flow.complete(lid, "st_r_supervise", {"supervise_decision": "协调解决", "supervise_order_no": "督-2026-09",
                                          "supervise_measures": "协调解决项目用地预审问题"})
    assert {"st_r_joint", "st_r_joint_end"} <= flow.reached(lid) and "st_r_exit" not in flow.reached(lid)
    assert flow.instances_of("joint_handling") == []
    flow.run_jobs()

    [case] = flow.instances_of("joint_handling", f"joint-{pid}-red-S1_PLAN")
    data = flow.data(case.id)
    assert (data["project_id"], data["issue_description"], data["trigger"]) == (pid, "协调解决项目用地预审问题",
                                                                                 "红灯督办:协调解决")
    register = flow.task(case.id, "jh_register")
    assert (register.lane, register.region_code) == ("service_commissioner", "530802")
    assert set(flow.open_tasks(lid)) == {"st_work", "st_y_explain"}
