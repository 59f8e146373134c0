"""meeting_assignments (会议与交办, P12) end to end: agenda suggested from red lights and requests, minutes
signed by the chair the meeting type calls for (or returned for revision), each 交办 item received, fed
back and closed by the office (or returned), with receipt reminders and yellow/red lights on the moved clock."""

from __future__ import annotations

from sqlalchemy import select

from app.models.domain import Project
from app.models.domain_processes import ActionItem, Meeting
from tests.processes.conftest import red_followthrough

SIGN = {"sign_decision": "同意签发", "sign_note": ""}
DONE = {"feedback_result": "已完成", "feedback_text": "已完成用地报批材料组卷。"}
CLOSE = {"close_decision": "确认销号", "confirm_note": ""}


def prepare(flow, meeting_type, **start):
    iid = flow.start("meeting_assignments", None, start)
    return iid


def items(flow, iid) -> list[ActionItem]:
    with flow.db.read_scope() as s:
        return list(s.scalars(select(ActionItem).where(ActionItem.instance_id == iid).order_by(ActionItem.id)))


def meeting(flow, iid) -> Meeting:
    with flow.db.read_scope() as s:
        return s.scalars(select(Meeting).where(Meeting.instance_id == iid)).one()


def open_ids(flow, iid, element):
    return [t for t in flow.tasks(iid, element) if t.state == "open"]


def hold(flow, iid, meeting_type, actions, agenda=None):
    data = flow.data(iid)
    flow.complete(iid, "ma_prepare", {"meeting_type": meeting_type, "meeting_title": f"2026年第四次{meeting_type}",
                                      "meeting_chair": "张主任", "agenda": agenda or data["agenda_suggested"] or
                                      [{"topic": "工作安排", "source": "办公室"}]})
    flow.complete(iid, "ma_minutes", {"decisions": "会议研究了红灯项目推进问题,作出如下决定。", "action_items": actions})


def test_a_quarterly_meeting_takes_red_lights_to_the_agenda_and_tracks_each_assignment_to_closure(flow):
    red = flow.project("林板家居产业园项目", region_code="530824")
    with flow.db.session_scope() as s:
        s.get(Project, red).light = "red"
    iid = prepare(flow, "季度会", agenda_requests=[{"topic": "咖啡精深加工园区规划", "source": "市工业和信息化局"}])
    suggested = flow.data(iid)["agenda_suggested"]
    assert suggested == [{"topic": "咖啡精深加工园区规划", "source": "市工业和信息化局"},
                         {"topic": "红灯项目调度:林板家居产业园项目", "source": "红灯预警", "project_id": red}]

    hold(flow, iid, "季度会", [
        {"title": "协调解决林板家居项目二期用地", "owner_unit": "景谷县人民政府", "region_code": "530824", "due_days": 15,
         "project_id": red},
        {"title": "制定咖啡园区规划", "owner_unit": "市工业和信息化局", "due_days": 30}])
    sign = flow.task(iid, "ma_sign_director")
    assert sign.lane == "committee_director"
    flow.complete(iid, "ma_sign_director", SIGN)

    assert meeting(flow, iid).status == "signed"
    assert [(i.owner_unit, i.region_code, i.status) for i in items(flow, iid)] == [
        ("景谷县人民政府", "530824", "assigned"), ("市工业和信息化局", None, "assigned")]
    receipts = open_ids(flow, iid, "ma_receipt")
    assert {(t.lane, t.region_code) for t in receipts} == {("responsible_unit", "530824"), ("responsible_unit", None)}
    for _ in receipts:
        flow.complete(iid, "ma_receipt", {"receipt_contact": "王联络"})
    assert {i.status for i in items(flow, iid)} == {"received"}
    for _ in range(2):
        flow.complete(iid, "ma_feedback", DONE)
    for _ in range(2):
        flow.complete(iid, "ma_confirm", CLOSE)

    assert flow.instance(iid).status == "completed" and "ma_end" in flow.reached(iid)
    assert meeting(flow, iid).status == "closed"
    assert [(i.status, i.on_time) for i in items(flow, iid)] == [("closed", True), ("closed", True)]
    assert sorted(r["on_time"] for r in flow.data(iid)["assignment_results"]) == [True, True]
    titles = [e.title for e in flow.timeline(red, "meeting")]
    assert titles == ["会议交办:协调解决林板家居项目二期用地", "交办事项签收:协调解决林板家居项目二期用地",
                      "交办事项反馈:协调解决林板家居项目二期用地", "交办事项销号:协调解决林板家居项目二期用地"]
    assert flow.notifications(title_contains="会议交办事项全部销号")


def test_an_annual_meeting_is_signed_by_the_group_head_after_a_revision_and_may_assign_nothing(flow):
    iid = prepare(flow, "年度工作会")
    hold(flow, iid, "年度工作会", [], agenda=[{"topic": "年度招商引资工作安排", "source": "办公室"}])
    assert flow.task(iid, "ma_sign_leader").lane == "leading_group_head"
    flow.complete(iid, "ma_sign_leader", {"sign_decision": "退回修改", "sign_note": "补充年度目标任务分解。"})

    assert "ma_minutes" in flow.open_tasks(iid)  # second round of the minutes
    flow.complete(iid, "ma_minutes", {"decisions": "会议确定年度签约目标并分解到各县区。", "action_items": []})
    flow.complete(iid, "ma_sign_leader", SIGN)

    assert flow.instance(iid).status == "completed"
    assert {"ma_no_items", "ma_end_no_items"} <= flow.reached(iid) and "ma_item" not in flow.reached(iid)
    m = meeting(flow, iid)
    assert (m.meeting_type, m.status, m.decisions) == ("年度工作会", "signed", "会议确定年度签约目标并分解到各县区。")
    assert items(flow, iid) == []


def test_late_receipt_and_feedback_are_chased_and_a_returned_item_is_redone(flow):
    pid = flow.project("普洱茶精深加工项目", region_code="530802")
    iid = prepare(flow, "办公室会议")
    hold(flow, iid, "办公室会议", [{"title": "落实茶叶项目标准厂房", "owner_unit": "思茅区投资促进局",
                                    "region_code": "530802", "due_days": 10, "project_id": pid}],
         agenda=[{"topic": "茶叶项目厂房", "source": "办公室", "project_id": pid}])
    assert flow.task(iid, "ma_sign_office").lane == "zsw_office"
    flow.complete(iid, "ma_sign_office", SIGN)

    flow.advance("P3DT1H")  # not received within 3 days
    assert flow.task(iid, "ma_receipt").warning == "yellow"
    assert {n.role for n in flow.notifications(pid, "【催签收】")} == {"responsible_unit", "zsw_office"}
    flow.complete(iid, "ma_receipt", {"receipt_contact": "李联络"})

    flow.advance("P7D")  # 10 days since the meeting: overdue → yellow
    [item] = items(flow, iid)
    assert item.light == "yellow" and flow.task(iid, "ma_feedback").warning == "yellow"
    assert flow.notifications(pid, "【红灯】") == []
    flow.advance("P5D")  # 15 = 10 + max(3, 5): red
    [item] = items(flow, iid)
    assert item.light == "red" and flow.task(iid, "ma_feedback").warning == "red"
    assert {n.role for n in flow.notifications(pid, "【红灯】交办事项严重逾期")} == {
        "zsw_office", "committee_deputy", "responsible_unit"}

    flow.complete(iid, "ma_feedback", {"feedback_result": "阶段性完成", "feedback_text": "厂房选址已确定。"})
    flow.complete(iid, "ma_confirm", {"close_decision": "退回重办", "confirm_note": "厂房租赁协议尚未签订。"})
    [item] = items(flow, iid)
    assert (item.status, item.returns) == ("received", 1)
    assert flow.task(iid, "ma_feedback").warning == "none"
    flow.advance("PT3M")  # the redo is still past both deadlines: its lights come back within minutes
    assert flow.task(iid, "ma_feedback").warning == "red"
    flow.complete(iid, "ma_feedback", DONE)
    flow.complete(iid, "ma_confirm", CLOSE)

    [item] = items(flow, iid)
    assert (item.status, item.on_time, item.returns) == ("closed", False, 1)
    assert flow.data(iid)["assignment_results"] == [{"action_id": item.id, "on_time": False, "returns": 1}]
    assert meeting(flow, iid).status == "closed"


def test_a_red_light_sent_to_a_meeting_by_the_office_is_on_the_next_agenda_once(flow):
    pid = flow.project(investment_wan=3000)
    lid = flow.start_lifecycle(pid)
    flow.advance("P61D")  # red
    red_followthrough(flow, lid)
    flow.complete(lid, "st_r_supervise", {"supervise_decision": "列入会议调度", "supervise_order_no": "督-2026-07"})

    first = prepare(flow, "专题会")
    assert flow.data(first)["agenda_suggested"] == [
        {"topic": "红灯项目调度:普洱茶精深加工项目", "source": "红灯督办列入会议调度", "project_id": pid}]
    hold(flow, first, "专题会", [])
    flow.complete(first, "ma_sign_director", SIGN)

    second = prepare(flow, "专题会")  # still red, but the office's request was met by the first meeting
    assert flow.data(second)["agenda_suggested"] == [
        {"topic": "红灯项目调度:普洱茶精深加工项目", "source": "红灯预警", "project_id": pid}]
