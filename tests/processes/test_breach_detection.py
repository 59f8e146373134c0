"""breach_detection: a daily check of contract milestones; a missed one is flagged once, notified, and
opens project_exit on its breach path (限期整改通知); milestones met by the stage events are not breaches."""

from __future__ import annotations

from tests.processes.conftest import ADVANCE
from tests.processes.test_exit import lifecycle_at_landing


def detect(flow) -> int:
    iid = flow.start("breach_detection", None, {})
    assert flow.instance(iid).status == "completed"
    return iid


def test_a_missed_milestone_opens_the_breach_path_of_the_exit_procedure_once(flow):
    pid = flow.project(investment_wan=3000)
    lifecycle_at_landing(flow, pid)  # milestones: 注册项目公司 in 30 days, 开工 in 300
    assert "bd_end_none" in flow.reached(detect(flow))

    flow.advance("P31D")
    bid = detect(flow)
    assert "bd_open" in flow.reached(bid)
    [breach] = flow.data(bid)["breaches"]
    assert (breach["project_id"], breach["milestone"], breach["overdue_days"]) == (pid, "注册项目公司", 1)
    [flag] = flow.timeline(pid, "breach")
    assert flag.title == "履约节点逾期:注册项目公司"
    assert {n.role for n in flow.notifications(pid, "【履约节点逾期】")} == {
        "responsible_unit", "service_commissioner", "zsw_office"}
    assert flow.instances_of("project_exit") == []  # the start waits in a job until this change commits

    flow.run_jobs()
    [exit_instance] = flow.instances_of("project_exit", f"exit-{pid}")
    data = flow.data(exit_instance.id)
    assert (data["path"], data["breach_milestone"]) == ("breach", "注册项目公司")
    assert "注册项目公司" in data["trigger"] and data["contract_clause"].startswith("第十二条")
    assert set(flow.open_tasks(exit_instance.id)) == {"ex_notice"}

    flow.advance("P1D")
    assert "bd_end_none" in flow.reached(detect(flow))  # the exit procedure is running
    flow.complete(exit_instance.id, "ex_notice", {"breach_milestone": "注册项目公司", "breach_facts": "逾期未注册项目公司。",
                                                  "required_actions": "15日内完成注册", "rectify_days": 15})
    flow.complete(exit_instance.id, "ex_rectify", {"rectified": True, "rectification_summary": "项目公司已注册。"})
    assert flow.instance(exit_instance.id).status == "completed"
    assert "bd_end_none" in flow.reached(detect(flow))  # flagged once: not reopened after rectification
    assert len(flow.instances_of("project_exit")) == 1


def test_a_milestone_met_by_landing_is_not_a_breach(flow):
    pid = flow.project(investment_wan=3000)
    lid = lifecycle_at_landing(flow, pid)
    flow.complete(lid, "st_work", ADVANCE)  # 落地 within the 30 days: the registration milestone is met
    assert flow.project_row(pid).landed_at is not None

    flow.advance("P31D")
    bid = detect(flow)
    assert "bd_end_none" in flow.reached(bid) and flow.data(bid)["breaches"] == []
    assert flow.timeline(pid, "breach") == []


def test_the_check_is_started_every_day(flow):
    from sqlalchemy import select

    from app.models.runtime import ProcessVersion

    with flow.db.read_scope() as s:
        timer = s.scalar(select(ProcessVersion.timer_start).where(ProcessVersion.process_key == "breach_detection"))
    assert timer["element_id"] == "bd_start" and "P1D" in str(timer)
