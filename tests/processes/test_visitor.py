"""visitor_routing end to end (processes/README.md 来访企业接待与分派): registration → Visit row →
D8 routing → chain lead unit (accept / return to office / accept deadline), office classification
(交办 with its receipt deadline, 转办), and a complaint visit handed to complaint_handling."""

from __future__ import annotations

import datetime as dt

from app.models.domain import Enterprise
from app.services.domain import settings
from app.services.domain.operators.deadlines import LOCAL
from tests.processes.helpers_cycle import visit

ENTERPRISE = "云南普洱澜沧江茶业有限公司"


def registration(**extra) -> dict:
    today = dt.date.today().isoformat()
    return {"visit_date": today, "enterprise_name": ENTERPRISE,
            "visitors": [{"name": "李总", "title": "董事长", "mobile": "13900000000"}],
            "visitor_level": "董事长/总裁", "host": "市投资促进局", "host_level": "市级领导",
            "interests": ["茶产业"], "visit_content": "考察普洱茶初制所与精制厂,洽谈精深加工项目。",
            "intended_regions": ["530802"], "matter_type": "投资意向", **extra}


def register(flow, **extra) -> int:
    iid = flow.start("visitor_routing", None, {})
    assert set(flow.open_tasks(iid)) == {"register_visit"}
    flow.complete(iid, "register_visit", registration(**extra), username="office1")
    return iid


def notices(flow, iid: int, title: str) -> list:
    return [n for n in flow.notifications(title_contains=title) if n.instance_id == iid]


def to_next(flow, weekday: int, hour: int = 10) -> dt.date:
    """Move the app clock to the next ``weekday`` (0 = Monday) at ``hour``:00 普洱 time; returns that date."""
    now = flow.clock.now().astimezone(LOCAL)
    day = now.date() + dt.timedelta(days=(weekday - now.weekday()) % 7 or 7)
    target = dt.datetime.combine(day, dt.time(hour), tzinfo=LOCAL)
    flow.advance(f"PT{int((target - now).total_seconds() // 60) + 1}M")
    return day


def end_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=LOCAL)


def aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def put(flow, key, value):
    with flow.db.session_scope() as s:
        settings.put(s, key, value, "admin")


def timer_due(flow, iid: int, element_id: str) -> dt.datetime:
    [job] = [j for j in flow.jobs(iid, kind="timer") if j.element_id == element_id]
    return aware(job.due_at)


def test_a_visit_on_a_key_chain_is_routed_to_the_chain_lead_unit(flow):
    with flow.db.session_scope() as s:
        s.add(Enterprise(name=ENTERPRISE, rank_tags=[], tags=["目标"]))
    iid = register(flow, interests=["咖啡产业", "数字经济", "茶产业"])  # C01 comes first in chain order

    data = flow.data(iid)
    assert (data["routing_type"], data["chain_code"], data["chain_name"], data["lead_unit"]) == (
        "链长牵头单位", "C01", "茶产业链", "市茶叶和咖啡产业发展中心")
    row = visit(flow, data["visit_id"])
    assert (row.routing_type, row.routed_to, row.chain_code, row.status) == (
        "链长牵头单位", "市茶叶和咖啡产业发展中心", "C01", "routed")
    assert (row.enterprise_name, row.region_code, row.host, row.instance_id) == (ENTERPRISE, "530802", "市投资促进局", iid)
    assert row.interests == ["咖啡产业", "数字经济", "茶产业"]
    assert row.enterprise is not None and "来访" in row.enterprise.tags  # matched by name and tagged
    accept = flow.task(iid, "chain_accept")
    assert (accept.lane, accept.region_code) == ("chain_group", "530802")
    assert set(flow.open_tasks(iid)) == {"chain_accept"}

    flow.complete(iid, "chain_accept", {"accept_decision": "承接", "commissioner_name": "张专员",
                                        "commissioner_mobile": "13711112222"})

    inst = flow.instance(iid)
    assert inst.status == "completed"
    assert {"end_chain_ok", "notify_chain_ok", "handled_chain"} <= flow.reached(iid)
    row = visit(flow, data["visit_id"])
    assert row.status == "handled" and row.handled_at <= row.handling_due_at  # accepted within 2 working days
    assert "office_classify" not in flow.reached(iid)
    ok = notices(flow, iid, "来访企业已由牵头单位承接:")[0]
    assert ok.level == "success" and "市茶叶和咖啡产业发展中心已承接" in ok.body
    roles = {n.role for n in notices(flow, iid, "来访企业已由牵头单位承接:")}
    assert roles == {"zsw_office", "service_commissioner"}
    assert [(a.actor, a.element_id) for a in flow.audit(iid, "task_completed")] == [
        ("office1", "register_visit"), ("admin", "chain_accept")]


def test_the_chain_lead_unit_is_reminded_after_two_working_days_and_keeps_its_task(flow):
    monday = to_next(flow, 0)
    iid = register(flow)
    accept = flow.task(iid, "chain_accept")
    due = end_of(monday + dt.timedelta(days=2))  # Wednesday, end of the day
    assert timer_due(flow, iid, "bt_chain_accept") == due
    assert aware(visit(flow, flow.data(iid)["visit_id"]).handling_due_at) == due

    assert flow.advance("P2DT13H") == 0  # Wednesday 23:00
    assert notices(flow, iid, "来访企业承接超时") == []
    assert flow.advance("PT2H") >= 1

    late = notices(flow, iid, "来访企业承接超时:")
    assert {(n.role, n.level) for n in late} == {("chain_group", "warning"), ("zsw_office", "warning")}
    still = flow.task(iid, "chain_accept")
    assert still.id == accept.id and still.warning == "yellow"
    assert flow.instance(iid).status == "running"
    assert flow.audit(iid, "timer_fired")


def test_a_visit_registered_on_a_friday_is_due_after_the_weekend(flow):
    friday = to_next(flow, 4)
    iid = register(flow)
    assert timer_due(flow, iid, "bt_chain_accept") == end_of(friday + dt.timedelta(days=4))  # Tuesday
    assert flow.advance("P3D") == 0  # Monday 10:00: a calendar P3D would have fired by now


def test_a_holiday_pushes_the_visit_deadline_one_more_day(flow):
    friday = to_next(flow, 4)
    put(flow, "calendar.holidays", [(friday + dt.timedelta(days=3)).isoformat()])  # Monday off
    iid = register(flow)
    assert timer_due(flow, iid, "bt_chain_accept") == end_of(friday + dt.timedelta(days=5))  # Wednesday


def test_a_makeup_workday_counts_for_the_visit_deadline(flow):
    friday = to_next(flow, 4)
    put(flow, "calendar.workdays", [(friday + dt.timedelta(days=1)).isoformat()])  # 调休: Saturday worked
    iid = register(flow)
    assert timer_due(flow, iid, "bt_chain_accept") == end_of(friday + dt.timedelta(days=3))  # Monday


def test_a_chain_lead_unit_that_returns_the_visit_hands_it_to_the_office(flow):
    iid = register(flow)
    flow.complete(iid, "chain_accept", {"accept_decision": "退回办公室", "return_reason": "不属本产业链"})

    assert set(flow.open_tasks(iid)) == {"office_classify"}
    data = flow.data(iid)
    assert data["routed_to"] == "市茶叶和咖啡产业发展中心"  # the D8 suggestion prefilled for the office
    assert data["routing_decision"] == "交办"
    assert "notify_chain_ok" not in flow.reached(iid)


def test_an_unmatched_visit_is_assigned_by_the_office_with_a_receipt_deadline(flow):
    iid = register(flow, interests=["数字经济"], matter_type="政策咨询", intended_regions=["530802", "530821"])

    data = flow.data(iid)
    assert (data["routing_type"], data["chain_code"], data["lead_unit"]) == ("交办", None, "市投资促进局")
    assert "region_code" not in data  # two intended counties: none chosen yet
    row = visit(flow, data["visit_id"])
    assert (row.status, row.routing_type, row.region_code) == ("registered", None, None)
    classify = flow.task(iid, "office_classify")
    assert classify.lane == "zsw_office"

    flow.complete(iid, "office_classify", {"routing_decision": "交办", "target_org": "simao_ipb", "routed_to": "思茅区投资促进局",
                                           "region_code": "530802", "assign_within": "P5D",
                                           "instructions": "3 日内对接企业并反馈。"}, username="office1")

    row = visit(flow, data["visit_id"])
    assert (row.routing_type, row.routed_to, row.status) == ("交办", "思茅区投资促进局", "routed")
    # due = routing time + assign_within (P5D): the 交办 on-time rate counts against it
    assert abs(row.handling_due_at - (flow.clock.now() + dt.timedelta(days=5))) < dt.timedelta(minutes=5)
    assert row.handled_at is None
    receive = flow.task(iid, "assignee_accept")
    assert (receive.lane, receive.region_code) == ("responsible_unit", "530802")
    [timer] = flow.jobs(iid, kind="timer")
    assert abs(timer.due_at - (flow.clock.now() + dt.timedelta(days=5))) < dt.timedelta(minutes=5)

    assert flow.advance("P4D") == 0
    assert flow.advance("P1DT1H") >= 1  # day 5: the receipt deadline the office chose
    late = notices(flow, iid, "交办来访事项超时未办理:")
    assert {(n.role, n.level) for n in late} == {("responsible_unit", "warning"), ("zsw_office", "warning")}
    assert "思茅区投资促进局尚未反馈" in late[0].body
    assert flow.task(iid, "assignee_accept").warning == "yellow"

    flow.complete(iid, "assignee_accept", {"handle_result": "已接收并对接企业", "handler_name": "赵经办",
                                           "feedback": "已与企业对接政策咨询事项。"}, username="simao_unit")

    assert flow.instance(iid).status == "completed"
    assert {"end_assign_done", "end_assign_late", "handled_assign"} <= flow.reached(iid)
    row = visit(flow, data["visit_id"])
    assert row.status == "handled" and row.handled_at > row.handling_due_at  # after the P5D it was given: late
    [done] = notices(flow, iid, "交办来访事项已办理:")
    assert done.role == "zsw_office" and done.body.startswith("思茅区投资促进局:已接收并对接企业")


def test_the_office_is_reminded_when_classification_is_late(flow):
    thursday = to_next(flow, 3)
    iid = register(flow, interests=["其他"], matter_type="其他")
    assert timer_due(flow, iid, "bt_classify") == end_of(thursday + dt.timedelta(days=5))  # 3 working days: Tuesday

    assert flow.advance("P5DT13H") == 0  # Tuesday 23:00
    assert flow.advance("PT2H") >= 1

    [late] = notices(flow, iid, "来访事项研判超时:")
    assert (late.role, late.level) == ("zsw_office", "warning")
    assert flow.task(iid, "office_classify").warning == "yellow"
    assert flow.instance(iid).status == "running"


def test_an_approval_matter_is_transferred_with_a_transfer_letter(flow):
    iid = register(flow, matter_type="审批事项", interests=["数字经济"])

    data = flow.data(iid)
    assert (data["routing_type"], data["lead_unit"]) == ("转办", "市政务服务管理局")
    assert (data["routing_decision"], data["routed_to"]) == ("转办", "市政务服务管理局")

    flow.complete(iid, "office_classify", {"routing_decision": "转办", "target_org": "gov_service", "routed_to": "市政务服务管理局",
                                           "assign_within": "P3D", "instructions": "办理项目备案。"})

    row = visit(flow, data["visit_id"])
    # the routing ended with the transfer letter: handled (counted in the assessment), no due date of its own
    assert (row.routing_type, row.routed_to, row.status) == ("转办", "市政务服务管理局", "handled")
    assert row.handled_at is not None and row.handling_due_at is None
    assert flow.instance(iid).status == "completed"
    assert "end_transfer" in flow.reached(iid) and "assignee_accept" not in flow.reached(iid)
    [letter] = notices(flow, iid, "来访事项已转办:")
    assert letter.body == "已转办至市政务服务管理局。办理要求:办理项目备案。"
    assert flow.jobs(iid) == []


def test_a_complaint_visit_starts_complaint_handling(flow):
    iid = register(flow, matter_type="投诉诉求", interests=["茶产业"], needs="承诺的用地指标未兑现")

    data = flow.data(iid)
    assert data["routing_type"] == "转投诉"  # the complaint rule wins over the chain rule
    row = visit(flow, data["visit_id"])
    assert (row.routing_type, row.routed_to) == ("转投诉", "市招商委办公室(投诉受理)")
    assert flow.instance(iid).status == "completed" and "end_complaint" in flow.reached(iid)

    flow.run_jobs()  # the queued start
    [co] = flow.instances_of("complaint_handling", f"visit-{data['visit_id']}")
    assert co.status == "running"
    assert set(flow.open_tasks(co.id)) == {"register_complaint"}
    co_data = flow.data(co.id)
    assert (co_data["complainant_name"], co_data["channel"], co_data["source_visit_id"]) == (
        ENTERPRISE, "来访", data["visit_id"])
    assert co_data["facts"].endswith("\n承诺的用地指标未兑现")
