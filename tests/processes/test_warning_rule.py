"""The red-light rule in one place (D6, processes/dmn/warning_colour.dmn, numbers as settings) and the red
follow-through (issue #12), with the moved clock:

* a changed setting, or a changed D6 row deployed as a new version, moves the stage's red timer AND the
  light the project shows, for instances started afterwards;
* red opens 情况说明及整改计划 for the named responsible unit (5 working days) and a task for the named
  项目主管 (3 working days), due dates skipping weekends and the ``calendar.holidays`` setting; overdue they
  show yellow, then red; done, the office's 督办 opens and the timeline holds both;
* the exit procedure's 限期整改 period and its step deadline come from settings."""

from __future__ import annotations

import datetime as dt
import shutil

from sqlalchemy import select

from app.models.auth import User
from app.services.access import can_act_on_task
from app.services.definitions import deploy
from app.services.domain import settings, users
from app.services.domain.operators.deadlines import LOCAL, due_in_working_days
from app.services.tasks import inbox
from tests.processes.conftest import FORMS, PROCESSES, RED_INSTRUCT, RED_PLAN


def put(flow, key, value):
    with flow.db.session_scope() as s:
        settings.put(s, key, value, "admin")


def red_timer(flow, iid):
    [job] = [j for j in flow.jobs(iid, kind="timer") if j.element_id == "st_red"]
    return job.due_at


def near(a: dt.datetime, b: dt.datetime) -> bool:
    return abs(a - b) < dt.timedelta(minutes=5)


def working_days_after(day: dt.date, n: int, holidays: set[str]) -> dt.date:
    """Independent count: weekends and the listed holidays are not working days."""
    while n:
        day += dt.timedelta(days=1)
        if day.weekday() < 5 and day.isoformat() not in holidays:
            n -= 1
    return day


def end_of_local_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=LOCAL)


# ---------------------------------------------------------------- one rule: light and timer move together


def test_a_changed_setting_moves_the_red_timer_and_the_light_for_new_instances(flow):
    old_pid = flow.project(investment_wan=3000)
    t0 = flow.clock.now()
    old = flow.start_lifecycle(old_pid)
    assert near(red_timer(flow, old), t0 + dt.timedelta(days=60))  # max(30 × 1.5, 30 + 30)

    put(flow, "warning.red_extra_days", 10)
    put(flow, "warning.red_factor", 1.2)  # red now at max(36, 40) = 40 days for a 30-day stage
    pid = flow.project(investment_wan=3000)
    new = flow.start_lifecycle(pid)
    assert near(red_timer(flow, new), t0 + dt.timedelta(days=40))
    assert near(red_timer(flow, old), t0 + dt.timedelta(days=60))  # a running stage keeps what it read
    assert flow.data(new)["deadlines"]["red_after"] == "P40D"

    flow.advance("P39D")
    assert (flow.project_row(pid).light, flow.project_row(old_pid).light) == ("yellow", "yellow")
    flow.advance("P2D")
    assert flow.project_row(pid).light == "red" and flow.project_row(old_pid).light == "yellow"
    assert "st_r_plan" in flow.open_tasks(new) and "st_r_plan" not in flow.open_tasks(old)


def test_a_changed_d6_row_moves_the_red_timer_and_the_light(flow, tmp_path):
    # the 严重超期 row rewritten (as the DMN editor would): red 5 days after the limit
    folder = tmp_path / "processes"
    shutil.copytree(PROCESSES, folder)
    dmn = folder / "dmn" / "warning_colour.dmn"
    text = dmn.read_text(encoding="utf-8")
    rule = "max(limit_days * cfg['warning.red_factor'], limit_days + cfg['warning.red_extra_days'])"
    assert text.count(rule) == 1
    dmn.write_text(text.replace(rule, "limit_days + 5"), encoding="utf-8")
    with flow.db.session_scope() as s:
        deploy.deploy_folder(s, folder, "tester", forms_dir=FORMS)

    pid = flow.project(investment_wan=3000)
    t0 = flow.clock.now()
    iid = flow.start_lifecycle(pid)
    assert near(red_timer(flow, iid), t0 + dt.timedelta(days=35))
    assert flow.data(iid)["deadlines"]["red_days"] == 35

    flow.advance("P34D")
    assert flow.project_row(pid).light == "yellow"
    flow.advance("P2D")
    assert flow.project_row(pid).light == "red"
    [event] = [e for e in flow.timeline(pid, "light") if e.detail["to"] == "red"]
    assert "35天" in event.detail["reason"]


# ---------------------------------------------------------------- red follow-through


def test_working_day_due_dates_skip_weekends_holidays_and_count_makeup_days():
    friday = dt.datetime(2026, 10, 2, 9, 0, tzinfo=LOCAL)  # Friday
    due = due_in_working_days(friday, 3, holidays=["2026-10-06"], workdays=[])
    assert (due["due_on"], due["late_on"]) == ("2026-10-08", "2026-10-13")  # Mon 5, Wed 7, Thu 8 | Fri, Mon, Tue
    assert due["due_at"] == "2026-10-08T23:59:59+08:00"
    due = due_in_working_days(friday, 1, holidays=[], workdays=["2026-10-03"])  # 调休: Saturday worked
    assert due["due_on"] == "2026-10-03"
    late_evening_utc = dt.datetime(2026, 10, 1, 17, 0, tzinfo=dt.UTC)  # already Friday 01:00 in 普洱
    assert due_in_working_days(late_evening_utc, 1)["due_on"] == "2026-10-05"


def test_red_opens_the_unit_plan_and_the_supervisor_task_with_named_candidates_and_working_day_deadlines(flow):
    pid = flow.project(investment_wan=3000)
    t0 = flow.clock.now()
    iid = flow.start_lifecycle(pid)
    red_day = (t0 + dt.timedelta(days=61)).astimezone(LOCAL).date()
    holiday = next(d for d in (red_day + dt.timedelta(days=i) for i in range(1, 8)) if d.weekday() < 5)
    put(flow, "calendar.holidays", [holiday.isoformat()])

    flow.advance("P61D")
    assert flow.project_row(pid).light == "red"
    plan, instruct = flow.task(iid, "st_r_plan"), flow.task(iid, "st_r_instruct")
    assert (plan.lane, plan.candidate_orgs, plan.candidate_users) == ("responsible_unit", ",simao_ipb,", None)
    assert (instruct.lane, instruct.candidate_users) == ("project_supervisor", ",supervisor1,")
    assert "st_r_supervise" not in flow.open_tasks(iid)  # the office decides after these two
    with flow.db.session_scope() as s:
        users.create_user(s, "supervisor2", ["project_supervisor"], org="city_ipb", password="Secret-pass-9")
    with flow.db.read_scope() as s:
        named, other = (s.scalar(select(User).where(User.username == u)) for u in ("supervisor1", "supervisor2"))
        unit = s.scalar(select(User).where(User.username == "simao_unit"))
        mine = {t["element_id"]: t for t in inbox.list_tasks(s, named, mine=True)["items"]}
        assert mine["st_r_instruct"]["due_at"] == instruct.due_at.isoformat()  # shown in the inbox
        assert "st_r_instruct" not in {t["element_id"] for t in inbox.list_tasks(s, other, mine=True)["items"]}
        assert (can_act_on_task(named, instruct), can_act_on_task(other, instruct)) == (True, False)
        assert can_act_on_task(unit, plan) and not can_act_on_task(unit, instruct)

    start = plan.created_at.astimezone(LOCAL).date() if plan.created_at.tzinfo else \
        plan.created_at.replace(tzinfo=dt.UTC).astimezone(LOCAL).date()
    holidays = {holiday.isoformat()}
    assert plan.due_at == end_of_local_day(working_days_after(start, 5, holidays))
    assert instruct.due_at == end_of_local_day(working_days_after(start, 3, holidays))
    assert (plan.warning, instruct.warning) == ("none", "none")

    # overdue: yellow when the due date passes, red after as many working days again
    until_supervisor_late = end_of_local_day(working_days_after(working_days_after(start, 3, holidays), 3, holidays))
    flow.advance(f"PT{int((instruct.due_at - flow.clock.now()).total_seconds()) + 60}S")
    assert (flow.task(iid, "st_r_instruct").warning, flow.task(iid, "st_r_plan").warning) == ("yellow", "none")
    flow.advance(f"PT{int((until_supervisor_late - flow.clock.now()).total_seconds()) + 60}S")
    assert flow.task(iid, "st_r_instruct").warning == "red"

    flow.complete(iid, "st_r_plan", RED_PLAN, username="simao_unit")
    assert "st_r_supervise" not in flow.open_tasks(iid)
    flow.complete(iid, "st_r_instruct", RED_INSTRUCT, username="supervisor1")
    assert "st_r_supervise" in flow.open_tasks(iid)
    [note] = [e for e in flow.timeline(pid, "warning") if e.element_id == "st_r_plan_record"]
    assert note.detail["cause"] == "要素保障" and note.detail["supervisor_suggestion"] == "协调解决"
    assert note.detail["unit_due_on"] == working_days_after(start, 5, holidays).isoformat()


def test_the_red_task_deadlines_are_settings(flow):
    put(flow, "deadline.red.unit_plan_wd", 10)
    put(flow, "deadline.red.supervisor_wd", 1)
    pid = flow.project(investment_wan=3000)
    iid = flow.start_lifecycle(pid)
    flow.advance("P61D")
    plan, instruct = flow.task(iid, "st_r_plan"), flow.task(iid, "st_r_instruct")
    start = (flow.clock.now()).astimezone(LOCAL).date()
    assert plan.due_at.astimezone(LOCAL).date() == working_days_after(start, 10, set())
    assert instruct.due_at.astimezone(LOCAL).date() == working_days_after(start, 1, set())
    assert flow.data(iid)["red_due"]["unit"]["days"] == 10


def test_moving_on_closes_the_red_follow_up_tasks(flow):
    pid = flow.project(investment_wan=3000)
    iid = flow.start_lifecycle(pid)
    flow.advance("P61D")
    flow.complete(iid, "st_work", {"stage_action": "advance", "stage_evidence": {"summary": "已完成,申请转段。"}})
    assert [t.state for t in flow.tasks(iid, "st_r_plan")] == ["cancelled"]
    assert [t.state for t in flow.tasks(iid, "st_r_instruct")] == ["cancelled"]
    assert flow.project_row(pid).light == "green"


# ---------------------------------------------------------------- exit deadlines from settings

NOTICE = {"breach_milestone": "开工", "breach_facts": "协议约定的开工节点已逾期三个月。",
          "required_actions": "落实首期资金并开工建设"}


def test_the_rectification_period_defaults_to_the_setting(flow):
    put(flow, "deadline.exit.rectify_days", 20)
    pid = flow.project(investment_wan=3000, stage="S6_LAND")
    eid = flow.start_exit(pid, "breach")
    t0 = flow.clock.now()
    flow.complete(eid, "ex_notice", NOTICE, username="office1")
    data = flow.data(eid)
    assert (data["rectify_days"], data["rectify_deadline"]) == (20, "P20D")
    [job] = [j for j in flow.jobs(eid, kind="timer") if j.element_id == "ex_rectify_timeout"]
    assert near(job.due_at, t0 + dt.timedelta(days=20))

    other = flow.start_exit(flow.project(investment_wan=3000, stage="S6_LAND"), "breach")
    flow.complete(other, "ex_notice", {**NOTICE, "rectify_days": 45}, username="office1")
    assert flow.data(other)["rectify_deadline"] == "P45D"  # the notice may set its own period


def test_the_sealing_report_deadline_is_a_setting(flow):
    put(flow, "deadline.exit.step", "P9D")
    pid = flow.project(investment_wan=3000)
    eid = flow.start_exit(pid, "seal")
    t0 = flow.clock.now()
    report = flow.task(eid, "ex_report")
    assert near(report.due_at, t0 + dt.timedelta(days=9))


def test_the_yellow_explanation_is_due_in_working_days_and_turns_yellow_then_red_when_late(flow):
    put(flow, "deadline.warning.yellow_explain_wd", 2)
    pid = flow.project(investment_wan=3000)
    iid = flow.start_lifecycle(pid)
    flow.advance("P31D")
    explain = flow.task(iid, "st_y_explain")
    start = flow.clock.now().astimezone(LOCAL).date()
    assert explain.due_at == end_of_local_day(working_days_after(start, 2, set()))
    assert explain.warning == "none"
    flow.advance(f"PT{int((explain.due_at - flow.clock.now()).total_seconds()) + 60}S")
    assert flow.task(iid, "st_y_explain").warning == "yellow"
    late = end_of_local_day(working_days_after(working_days_after(start, 2, set()), 2, set()))
    flow.advance(f"PT{int((late - flow.clock.now()).total_seconds()) + 60}S")
    assert flow.task(iid, "st_y_explain").warning == "red"


# ---------------------------------------------------------------- capacity and meeting deadlines from settings


def test_capacity_and_meeting_deadlines_are_settings(flow):
    put(flow, "deadline.capacity.ledger", "P9D")
    put(flow, "deadline.capacity.report", "P12D")
    put(flow, "deadline.meeting.receipt", "P2D")
    cap = flow.start("capacity_assessment", None, {"assess_units": [
        {"region_code": "530802", "unit_name": "思茅区", "park_id": None}], "period": "2026H1"})
    t0 = flow.clock.now()
    data = flow.data(cap)
    assert (data["ledger_within"], data["report_within"]) == ("P9D", "P12D")
    ledger = [t for t in flow.tasks(cap, "fill_nrp") if t.state == "open"]
    assert ledger and all(near(t.due_at, t0 + dt.timedelta(days=9)) for t in ledger)

    meeting = flow.start("meeting_assignments", None, {"meeting_type": "专题会"})
    assert flow.data(meeting)["receipt_within"] == "P2D"
