"""complaint_handling end to end (processes/README.md 投诉处理): registration → Complaint row →
D10 acceptance suggestion and deadlines by category / complainant → acceptance review (deadline
reminder) → handling with the red escalation timer → review (one supplement) → reply and
satisfaction → re-examination → close; and the 不予受理 branch."""

from __future__ import annotations

import datetime as dt

import pytest

from app.errors import NotAllowed
from tests.processes.helpers_cycle import complaint
from tests.processes.test_visitor import aware, end_of, put, timer_due, to_next

COMPLAINANT = "云南思茅咖啡产业有限公司"


def registration(**extra) -> dict:
    return {"complainant_type": "省外来滇投资企业", "complainant_name": COMPLAINANT,
            "complainant_mobile": "13800001111", "respondent": "思茅区自然资源局", "category": "政策承诺不兑现",
            "complexity": "一般", "facts": "签约时承诺的用地指标至今未落实。", "demands": "请按协议落实用地指标。",
            "in_other_procedure": False, "channel": "平台", **extra}


HANDLED = {"investigation": "经核实,用地指标已列入年度计划。", "resolved": "已解决",
           "handling_result": "协调自然资源部门本月内完成供地。", "proposed_reply": "用地指标已落实,本月内供地。",
           "handler_name": "赵经办"}


def reply(satisfaction: str = "满意", review_requested: bool = False) -> dict:
    return {"reply_text": "用地指标已落实,本月内完成供地。", "reply_date": dt.date.today().isoformat(),
            "reply_channel": "书面", "satisfaction": satisfaction, "review_requested": review_requested}


def register(flow, **extra) -> int:
    iid = flow.start("complaint_handling", None, {})
    flow.complete(iid, "register_complaint", registration(**extra), username="office1")
    return iid


def accept(flow, iid: int, **extra) -> None:
    handle_within = flow.data(iid)["handle_within"]  # the form is prefilled with the D10 deadline
    flow.complete(iid, "accept_review", {"accept_result": "受理", "handling_unit": "思茅区投资促进局",
                                         "handle_within": handle_within, "accept_note": "限期办结并答复。", **extra},
                  username="office1")


def notices(flow, iid: int, title: str) -> list:
    return [n for n in flow.notifications(title_contains=title) if n.instance_id == iid]


@pytest.mark.parametrize(("extra", "suggestion", "accept_wd", "handle_within", "handle_wd"), [
    ({}, "受理", 3, "P15D", None),
    ({"complexity": "复杂"}, "受理", 3, "P84D", 60),
    ({"complainant_type": "外商投资企业"}, "受理", 7, "P84D", 60),
    ({"category": "民商事纠纷(双方同意调处)"}, "受理(调处)", 3, "P30D", None),
    ({"in_other_procedure": True, "complainant_type": "外商投资企业"}, "不予受理", 3, "P15D", None),
], ids=["一般", "复杂", "外商投资企业", "调处", "已进入其他程序"])
def test_registration_records_the_complaint_and_d10_sets_the_deadlines(flow, extra, suggestion, accept_wd,
                                                                       handle_within, handle_wd):
    monday = to_next(flow, 0)
    t0 = flow.clock.now()
    iid = register(flow, **extra)

    data = flow.data(iid)
    assert (data["accept_suggestion"], data["accept_wd"], data["handle_within"], data["handle_wd"]) == (
        suggestion, accept_wd, handle_within, handle_wd)
    row = complaint(flow, data["complaint_id"])
    assert (row.complainant, row.category, row.status, row.instance_id) == (
        COMPLAINANT, registration(**extra)["category"], "received", iid)
    assert row.content == "签约时承诺的用地指标至今未落实。\n诉求:请按协议落实用地指标。"
    assert abs(row.received_at - t0) < dt.timedelta(minutes=5)
    review = flow.task(iid, "accept_review")
    assert review.lane == "zsw_office"
    # accept_wd working days from a Monday: 3 → Thursday, 7 → Wednesday of the next week
    assert timer_due(flow, iid, "bt_accept") == end_of(monday + dt.timedelta(days={3: 3, 7: 9}[accept_wd]))
    if handle_wd:  # 60 working days = 12 weeks from a Monday
        assert aware(row.due_at) == end_of(monday + dt.timedelta(weeks=12))
    else:
        assert abs(aware(row.due_at) - (t0 + dt.timedelta(days=int(handle_within[1:-1])))) < dt.timedelta(minutes=5)


def test_the_complaint_acceptance_deadline_skips_weekends_holidays_and_counts_makeup_days(flow):
    friday = to_next(flow, 4)
    first = register(flow)
    assert timer_due(flow, first, "bt_accept") == end_of(friday + dt.timedelta(days=5))  # 3 wd → Wednesday
    put(flow, "calendar.holidays", [(friday + dt.timedelta(days=4)).isoformat()])  # Tuesday off
    second = register(flow)
    assert timer_due(flow, second, "bt_accept") == end_of(friday + dt.timedelta(days=6))  # Thursday
    put(flow, "calendar.workdays", [(friday + dt.timedelta(days=1)).isoformat()])  # 调休: Saturday worked
    third = register(flow)
    assert timer_due(flow, third, "bt_accept") == end_of(friday + dt.timedelta(days=5))  # Wednesday again
    assert timer_due(flow, first, "bt_accept") == end_of(friday + dt.timedelta(days=5))  # running: unchanged


def test_a_working_day_handling_deadline_is_counted_from_acceptance(flow):
    monday = to_next(flow, 0)
    iid = register(flow, complexity="复杂")
    accept(flow, iid)  # keeps D10's 60 working days
    assert timer_due(flow, iid, "bt_handle") == end_of(monday + dt.timedelta(weeks=12))
    assert flow.data(iid)["handle_due"]["label"] == "60 个工作日"


def test_a_changed_handling_deadline_is_counted_in_calendar_days(flow):
    iid = register(flow, complexity="复杂")
    accept(flow, iid, handle_within="P30D")
    assert abs(timer_due(flow, iid, "bt_handle") - (flow.clock.now() + dt.timedelta(days=30))) < dt.timedelta(minutes=5)


def test_the_complaint_row_carries_the_d10_handling_deadline(flow):
    t0 = flow.clock.now()
    iid = register(flow)
    accept(flow, iid)

    row = complaint(flow, flow.data(iid)["complaint_id"])
    assert row.due_at is not None
    assert abs(row.due_at - (t0 + dt.timedelta(days=15))) < dt.timedelta(days=1)


def test_a_complaint_handled_in_time_is_closed_with_the_satisfaction(flow):
    pid = flow.project("咖啡精深加工项目", region_code="530821")
    iid = register(flow, project_id=pid)
    cid = flow.data(iid)["complaint_id"]
    assert complaint(flow, cid).region_code == "530821"  # taken from the linked project
    assert [e.title for e in flow.timeline(pid, "complaint")] == ["收到投诉:政策承诺不兑现"]

    accept(flow, iid)
    handle = flow.task(iid, "handle_complaint")
    assert (handle.lane, handle.region_code, handle.project_id) == ("responsible_unit", "530821", pid)
    assigned = notices(flow, iid, "投诉交办:政策承诺不兑现")
    assert [(n.role, n.region_code, n.project_id) for n in assigned] == [("responsible_unit", "530821", pid)]
    timers = flow.jobs(iid, kind="timer")
    assert [j.element_id for j in timers] == ["bt_handle"]
    assert abs(timers[0].due_at - (flow.clock.now() + dt.timedelta(days=15))) < dt.timedelta(minutes=5)

    assert flow.advance("P10D") == 0
    with pytest.raises(NotAllowed):  # the handling task is visible within 宁洱 only, not to 思茅区's unit
        flow.complete(iid, "handle_complaint", HANDLED, username="simao_unit")
    flow.complete(iid, "handle_complaint", HANDLED)
    assert flow.jobs(iid, kind="timer") == []  # the deadline timer left with the task
    flow.complete(iid, "review_result", {"review_result": "审核通过"}, username="office1")
    assert flow.data(iid)["reply_text"] == HANDLED["proposed_reply"]  # prefilled for the reply
    flow.complete(iid, "reply_visit", reply("满意"), username="office1")

    row = complaint(flow, cid)
    assert (row.status, row.satisfied) == ("closed", True)
    assert row.reply == "用地指标已落实,本月内完成供地。"
    assert abs(row.closed_at - flow.clock.now()) < dt.timedelta(minutes=5)
    inst = flow.instance(iid)
    assert inst.status == "completed" and "end_closed" in flow.reached(iid)
    assert not {"escalate", "supplement", "re_examine"} & flow.reached(iid)
    assert [e.title for e in flow.timeline(pid, "complaint")] == [
        "收到投诉:政策承诺不兑现", "投诉办结", "投诉办结:政策承诺不兑现"]
    recorded = flow.timeline(pid, "complaint")[-1].detail
    assert recorded == {"complaint_id": cid, "satisfaction": "满意", "on_time": True}
    [closed] = notices(flow, iid, "投诉已办结:")
    assert closed.body == "满意度:满意;按期办结:是"
    assert [a.element_id for a in flow.audit(iid, "task_completed")] == [
        "register_complaint", "accept_review", "handle_complaint", "review_result", "reply_visit"]


def test_acceptance_review_is_reminded_after_its_d10_deadline(flow):
    wednesday = to_next(flow, 2)
    iid = register(flow, complainant_type="外商投资企业")  # 7 working days: Friday of the next week

    assert flow.advance("P9DT13H") == 0  # next Friday 23:00
    assert flow.advance("PT2H") >= 1

    late = notices(flow, iid, "投诉受理审查超时:")
    assert {(n.role, n.level) for n in late} == {("zsw_office", "warning"), ("committee_deputy", "warning")}
    due_on = (wednesday + dt.timedelta(days=9)).isoformat()
    assert f"已超过受理时限 7 个工作日({due_on})" in late[0].body
    assert flow.task(iid, "accept_review").warning == "yellow"


def test_an_overdue_complaint_is_escalated_and_stays_red_until_handled(flow):
    pid = flow.project("茶叶初制所改造项目", region_code="530802")
    iid = register(flow, project_id=pid)
    accept(flow, iid)
    handle = flow.task(iid, "handle_complaint")

    assert flow.advance("P14DT23H") == 0
    assert notices(flow, iid, "投诉办理超期督办") == []
    assert flow.advance("PT2H") >= 1  # day 15: the handling deadline

    escalated = notices(flow, iid, "投诉办理超期督办:")
    assert {(n.role, n.region_code, n.level) for n in escalated} == {
        ("zsw_office", None, "danger"), ("committee_deputy", None, "danger"), ("responsible_unit", "530802", "danger")}
    assert all(n.project_id == pid for n in escalated)
    assert "已超过办理时限 15 日(" in escalated[0].body
    still = flow.task(iid, "handle_complaint")
    assert still.id == handle.id and still.warning == "red"
    assert {"escalate", "end_escalated"} <= flow.reached(iid)
    assert flow.instance(iid).status == "running"
    assert [a.element_id for a in flow.audit(iid, "timer_fired")] == ["bt_handle"]

    assert flow.advance("P30D") == 0  # the escalation fires once
    flow.complete(iid, "handle_complaint", HANDLED)
    flow.complete(iid, "review_result", {"review_result": "审核通过"})
    flow.complete(iid, "reply_visit", reply("基本满意"))
    row = complaint(flow, flow.data(iid)["complaint_id"])
    assert (row.status, row.satisfied) == ("closed", True)
    assert flow.instance(iid).status == "completed"


def test_a_complaint_closed_after_its_deadline_is_reported_late(flow):
    pid = flow.project("茶叶初制所改造项目", region_code="530802")
    iid = register(flow, project_id=pid)
    accept(flow, iid)
    flow.advance("P20D")
    flow.complete(iid, "handle_complaint", HANDLED)
    flow.complete(iid, "review_result", {"review_result": "审核通过"})
    flow.complete(iid, "reply_visit", reply("满意"))

    assert flow.data(iid)["close_rec"]["on_time"] is False
    [closed] = notices(flow, iid, "投诉已办结:")
    assert closed.body.endswith("按期办结:否")


def test_a_supplemented_complaint_with_an_unsatisfied_complainant_is_re_examined(flow):
    iid = register(flow, category="要素保障")
    accept(flow, iid)
    flow.complete(iid, "handle_complaint", {**HANDLED, "resolved": "部分解决"})
    flow.complete(iid, "review_result", {"review_result": "退回补充办理", "review_opinion": "请补充供地时间表。"})

    assert set(flow.open_tasks(iid)) == {"supplement"}
    assert flow.task(iid, "supplement").lane == "responsible_unit"
    flow.complete(iid, "supplement", {"supplement_result": "已明确供地时间表。",
                                      "proposed_reply": "用地将于下月 15 日前完成挂牌。"})
    assert flow.data(iid)["reply_text"] == "用地将于下月 15 日前完成挂牌。"
    flow.complete(iid, "reply_visit", {**reply("不满意", review_requested=True),
                                       "reply_text": "用地将于下月 15 日前完成挂牌。"})

    reexam = flow.task(iid, "re_examine")
    assert reexam.lane == "committee_deputy"
    flow.complete(iid, "re_examine", {"reexam_result": "维持原处理意见", "reexam_opinion": "处理得当,维持。"},
                  username="admin")

    row = complaint(flow, flow.data(iid)["complaint_id"])
    assert (row.status, row.satisfied) == ("closed", False)
    assert row.reply == "用地将于下月 15 日前完成挂牌。\n复核意见:处理得当,维持。"
    assert flow.instance(iid).status == "completed"
    assert {"supplement", "re_examine", "end_closed"} <= flow.reached(iid)
    assert "record_project" not in flow.reached(iid)  # no linked project
    [closed] = notices(flow, iid, "投诉已办结:")
    assert closed.body.startswith("满意度:不满意")


def test_an_unsatisfied_complainant_who_does_not_ask_for_review_is_closed_directly(flow):
    iid = register(flow)
    accept(flow, iid)
    flow.complete(iid, "handle_complaint", HANDLED)
    flow.complete(iid, "review_result", {"review_result": "审核通过"})
    flow.complete(iid, "reply_visit", reply("不满意", review_requested=False))

    assert "re_examine" not in flow.reached(iid)
    row = complaint(flow, flow.data(iid)["complaint_id"])
    assert (row.status, row.satisfied) == ("closed", False)
    assert flow.instance(iid).status == "completed"


def test_a_complaint_already_in_other_proceedings_is_not_accepted(flow):
    iid = register(flow, in_other_procedure=True)
    assert flow.data(iid)["accept_suggestion"] == "不予受理"

    flow.complete(iid, "accept_review", {"accept_result": "不予受理", "handle_within": "P15D",
                                         "reject_reason": "已进入行政复议程序,请通过复议渠道处理。"},
                  username="office1")

    row = complaint(flow, flow.data(iid)["complaint_id"])
    assert row.status == "closed" and row.satisfied is None
    assert row.reply == "不予受理。已进入行政复议程序,请通过复议渠道处理。"
    inst = flow.instance(iid)
    assert inst.status == "completed" and "end_rejected" in flow.reached(iid)
    assert "handle_complaint" not in flow.reached(iid) and flow.open_tasks(iid) == {}
    assert notices(flow, iid, "投诉交办") == [] and flow.jobs(iid) == []
