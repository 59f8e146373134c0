"""project_exit end to end: A 封存 (seal) and B 违约退出 (breach), and how a decided exit interrupts the
running project_lifecycle through msg_exit_decided (processes/README.md 项目退出)."""

from __future__ import annotations

from tests.processes.conftest import advance_stages, agreement, red_followthrough, run_prereview

REPORT = {"exit_reasons": ["投资方战略调整", "资金不到位"], "efforts_made": "多次赴企业总部对接,协调要素保障,投资方仍暂缓投资。",
          "report_recommendation": "封存"}
NOTICE = {"breach_milestone": "首期资金到位", "breach_facts": "首期资金逾期60日未到位。",
          "required_actions": "30日内落实首期资金5000万元", "rectify_days": 30}
LEGAL = {"exit_clause_applicable": True, "exit_clause_ref": "第十二条",
         "legal_opinion": "投资方逾期未整改,符合协议第十二条约定的解除条件。"}


def lifecycle_at_landing(flow, pid):
    """A running lifecycle that has signed (S6 推动项目落地), as a breach needs."""
    iid = flow.start_lifecycle(pid, stage="S5_SIGN")
    flow.complete(iid, "st_work", {"stage_action": "advance", "stage_evidence": {"summary": "协议已谈妥,准备签约。"}})
    flow.complete(iid, "st_agreement", agreement())
    assert flow.project_row(pid).stage == "S6_LAND"
    return iid


def seal(flow, eid, office="建议封存", decision="同意封存"):
    flow.complete(eid, "ex_report", REPORT, username="simao_unit")
    flow.complete(eid, "ex_office_review", {"office_review_opinion": office, "office_review_note": "同意分析报告意见。"},
                  username="office1")
    if decision is not None:
        flow.complete(eid, "ex_committee_seal", {"seal_decision": decision, "seal_decision_mode": "会议审定"},
                      username="director1")


def test_an_approved_seal_seals_the_project_and_interrupts_the_lifecycle(flow):
    pid = flow.project(investment_wan=3000)
    lid = flow.start_lifecycle(pid)
    advance_stages(flow, lid, 1)
    flow.advance("P61D")  # S2: yellow fired, red not yet → st_work + st_y_explain open
    assert set(flow.open_tasks(lid)) == {"st_work", "st_y_explain"}

    eid = flow.start_exit(pid, "seal")
    assert flow.data(eid)["efficiency"]["summary"]
    assert flow.task(eid, "ex_report").lane == "responsible_unit"
    seal(flow, eid)

    assert flow.instance(eid).status == "completed"
    assert {"ex_seal_status", "ex_seal_message", "ex_seal_notify", "ex_end_sealed"} <= flow.reached(eid)
    project = flow.project_row(pid)
    assert (project.status, project.library_status) == ("sealed", "封存")
    assert project.stage_records[-1].completed_at is not None
    # the message waits in a job: the lifecycle is untouched until the job runs
    [job] = flow.jobs(kind="message")
    assert job.payload["name"] == "msg_exit_decided" and job.payload["business_key"] == f"project-{pid}"
    assert job.payload["data"] == {"exit_status": "sealed", "project_id": pid, "reasons": REPORT["exit_reasons"]}
    assert flow.instance(lid).status == "running"

    assert flow.run_jobs() == 1

    lifecycle = flow.instance(lid)
    assert lifecycle.status == "completed" and lifecycle.ended_at is not None
    assert {"lc_exit_prepare", "lc_exit_snapshot", "lc_end_sealed"} <= flow.reached(lid)
    assert "lc_exit_status" not in flow.reached(lid)  # the exit process already set the status
    states = {t.element_id: t.state for t in flow.tasks(lid) if t.element_id != "lc_team"}
    assert states == {"st_work": "cancelled", "st_y_explain": "cancelled"}
    assert flow.open_tasks(lid) == {} and flow.jobs(lid) == [] and flow.subscriptions(lid) == []
    assert flow.data(lid)["lifecycle_outcome"] == "sealed"
    assert len(flow.notifications(pid, "项目封存:")) == 2  # one notice (exit process), not repeated
    [delivered] = flow.audit(lid, "message_delivered")
    assert delivered.detail == {"name": "msg_exit_decided", "business_key": f"project-{pid}"}
    assert [e.title for e in flow.timeline(pid, "status")] == ["项目封存"]


def test_the_committee_can_refuse_to_seal(flow):
    pid = flow.project(investment_wan=3000)
    lid = flow.start_lifecycle(pid)
    eid = flow.start_exit(pid, "seal")

    seal(flow, eid, decision="不同意封存")

    assert flow.instance(eid).status == "completed" and "ex_end_seal_rejected" in flow.reached(eid)
    assert "ex_seal_status" not in flow.reached(eid)
    project = flow.project_row(pid)
    assert (project.status, project.library_status) == ("active", "待招商")
    assert flow.jobs(kind="message") == []
    assert flow.instance(lid).status == "running" and set(flow.open_tasks(lid)) == {"st_work"}


def test_the_office_can_decline_to_propose_sealing_and_a_late_report_is_chased(flow):
    pid = flow.project(investment_wan=3000)
    eid = flow.start_exit(pid, "seal")

    flow.advance("P16D")  # the 15-day reminder of the analysis report
    assert flow.task(eid, "ex_report").warning == "yellow"
    assert {n.role for n in flow.notifications(pid, "【催办】效能评价分析报告")} == {"responsible_unit", "zsw_office"}

    seal(flow, eid, office="继续推进", decision=None)

    assert flow.instance(eid).status == "completed" and "ex_end_not_sealed" in flow.reached(eid)
    assert flow.tasks(eid, "ex_committee_seal") == []
    assert flow.project_row(pid).status == "active"


def test_a_breach_rectified_in_time_keeps_the_project(flow):
    pid = flow.project(investment_wan=3000)
    lid = lifecycle_at_landing(flow, pid)
    eid = flow.start_exit(pid, "breach", trigger="首期资金履约节点逾期")
    assert flow.task(eid, "ex_notice").lane == "zsw_office"

    flow.complete(eid, "ex_notice", NOTICE, username="office1")
    rectify = flow.task(eid, "ex_rectify")
    assert (rectify.lane, rectify.region_code) == ("responsible_unit", "530802")
    assert flow.data(eid)["rectify_deadline"] == "P30D"
    [notice] = flow.notifications(pid, "限期整改通知")[:1]
    assert NOTICE["required_actions"] in notice.body
    flow.advance("P20D")
    flow.complete(eid, "ex_rectify", {"rectified": True, "rectification_summary": "首期资金5000万元已到位。"},
                  username="simao_unit")

    assert flow.instance(eid).status == "completed"
    assert {"ex_rectified_record", "ex_end_rectified"} <= flow.reached(eid)
    assert flow.tasks(eid, "ex_legal") == [] and flow.jobs(eid) == []
    [record] = flow.timeline(pid, "rectification")
    assert record.detail == {"milestone": "首期资金到位", "summary": "首期资金5000万元已到位。"}
    assert flow.project_row(pid).status == "active"
    assert flow.instance(lid).status == "running" and set(flow.open_tasks(lid)) == {"st_work"}


def test_a_breach_reported_unrectified_goes_to_legal_review_and_the_exit_can_be_deferred(flow):
    pid = flow.project(investment_wan=3000)
    lid = lifecycle_at_landing(flow, pid)
    eid = flow.start_exit(pid, "breach")
    flow.complete(eid, "ex_notice", NOTICE)
    flow.complete(eid, "ex_rectify", {"rectified": False, "rectification_summary": "投资方资金仍未落实。"})

    assert flow.data(eid)["rectify_overdue"] is False
    flow.complete(eid, "ex_legal", LEGAL, username="legal1")
    flow.complete(eid, "ex_committee_exit", {"exit_decision": "暂缓退出"}, username="director1")

    assert flow.instance(eid).status == "completed" and "ex_end_deferred" in flow.reached(eid)
    assert "ex_mark_overdue" not in flow.reached(eid) and "ex_exit_status" not in flow.reached(eid)
    assert flow.project_row(pid).status == "active" and flow.jobs(kind="message") == []
    assert flow.instance(lid).status == "running"


def test_an_expired_rectification_deadline_leads_to_exit_and_interrupts_the_lifecycle(flow):
    pid = flow.project(investment_wan=3000)
    lid = flow.start_lifecycle(pid)
    advance_stages(flow, lid, 4)  # the lifecycle is inside the pre-review call activity
    flow.complete(lid, "pr_credit", {"credit_conclusion": "良好"})
    flow.complete(lid, "pr_feasibility", {"land_mode": "存量土地"})
    assert set(flow.open_tasks(lid)) == {"pr_ndrc", "pr_eco", "pr_industry"}

    eid = flow.start_exit(pid, "breach")
    flow.complete(eid, "ex_notice", {**NOTICE, "rectify_days": 15})
    flow.advance("P14D")
    assert "ex_rectify" in flow.open_tasks(eid) and flow.tasks(eid, "ex_legal") == []
    flow.advance("P2D")  # the interrupting deadline timer

    assert [t.state for t in flow.tasks(eid, "ex_rectify")] == ["cancelled"]
    assert flow.data(eid)["rectify_overdue"] is True
    assert "ex_mark_overdue" in flow.reached(eid)
    assert "ex_rectify_timeout" in [a.element_id for a in flow.audit(eid, "timer_fired")]
    assert flow.task(eid, "ex_legal").lane == "legal"
    flow.complete(eid, "ex_legal", LEGAL, username="legal1")
    flow.complete(eid, "ex_committee_exit", {"exit_decision": "按退出条款退出"}, username="director1")

    assert flow.instance(eid).status == "completed"
    assert {"ex_exit_status", "ex_exit_message", "ex_exit_notify", "ex_end_exited"} <= flow.reached(eid)
    project = flow.project_row(pid)
    assert (project.status, project.library_status) == ("exited", "已退出")
    assert {n.role for n in flow.notifications(pid, "项目退出:")} == {"zsw_office", "responsible_unit", "factor_dept"}
    assert flow.instance(lid).status == "running"  # until the message job runs

    flow.run_jobs()

    assert flow.instance(lid).status == "completed"
    assert "lc_end_exited" in flow.reached(lid) and "lc_exit_status" not in flow.reached(lid)
    assert {t.element_id: t.state for t in flow.tasks(lid) if t.element_id.startswith("pr_")} == {
        "pr_credit": "completed", "pr_feasibility": "completed",
        "pr_ndrc": "cancelled", "pr_eco": "cancelled", "pr_industry": "cancelled"}
    assert flow.open_tasks(lid) == {} and flow.jobs(lid) == []
    data = flow.data(lid)
    assert (data["lifecycle_outcome"], data["exit_info"]["exit_clause_ref"]) == ("exited", "第十二条")
    # the lifecycle does not notify a second time: zsw_office (role row), the named unit's user (simao_unit)
    # and the named factor departments' users (nrp1, eco1)
    assert len(flow.notifications(pid, "项目退出:")) == 4


def test_a_decided_exit_without_a_running_lifecycle_is_recorded_as_undelivered(flow):
    pid = flow.project(investment_wan=3000)
    eid = flow.start_exit(pid, "seal")
    seal(flow, eid)
    assert flow.project_row(pid).status == "sealed"

    assert flow.run_jobs() == 1

    [undelivered] = flow.audit(type_="message_undelivered")
    assert undelivered.detail == {"name": "msg_exit_decided", "business_key": f"project-{pid}"}
    assert flow.jobs(kind="message") == []


def test_the_seal_evaluation_sees_how_long_the_project_has_stalled(flow):
    pid = flow.project(investment_wan=3000)
    lid = flow.start_lifecycle(pid)
    for step in ("P31D", "P30D", "P130D"):  # 191 days in S1_PLAN, red for 130 days, never signed
        flow.advance(step)
    assert flow.project_row(pid).light == "red" and flow.instance(lid).status == "running"

    eid = flow.start_exit(pid, "seal")

    codes = flow.data(eid)["efficiency"]["codes"]
    assert "F1" in codes and "F2" in codes


def test_a_prereview_run_inside_the_lifecycle_is_cancelled_by_a_seal(flow):
    """Exit from a stage after the pre-review (S5), to show the lifecycle path is irrelevant."""
    pid = flow.project(investment_wan=3000)
    lid = flow.start_lifecycle(pid)
    advance_stages(flow, lid, 4)
    run_prereview(flow, lid)
    assert flow.project_row(pid).stage == "S5_SIGN"

    eid = flow.start_exit(pid, "seal")
    seal(flow, eid)
    flow.run_jobs()

    assert flow.instance(lid).status == "completed" and "lc_end_sealed" in flow.reached(lid)
    project = flow.project_row(pid)
    assert (project.status, project.stage, project.prereview_result) == ("sealed", "S5_SIGN", "通过")


def test_red_light_supervision_to_seal_closes_the_loop(flow):
    """红灯督办“启动效能评价” → exit-<id> (seal) → 封存 → the lifecycle that started it ends."""
    pid = flow.project(investment_wan=3000)
    lid = flow.start_lifecycle(pid)
    flow.advance("P31D")
    flow.advance("P30D")
    red_followthrough(flow, lid)
    flow.complete(lid, "st_r_supervise", {"supervise_decision": "启动效能评价"}, username="office1")
    flow.run_jobs()
    [exit_instance] = flow.instances_of("project_exit", f"exit-{pid}")

    seal(flow, exit_instance.id)
    flow.run_jobs()

    assert flow.project_row(pid).status == "sealed"
    assert flow.instance(lid).status == "completed" and "lc_end_sealed" in flow.reached(lid)
    assert {t.element_id: t.state for t in flow.tasks(lid) if t.state != "completed"} == {
        "st_work": "cancelled", "st_y_explain": "cancelled"}
