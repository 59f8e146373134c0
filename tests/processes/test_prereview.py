"""project_prereview end to end, started on its own (business key prereview-<id>): one-vote veto (D4),
inspection (D3), escalated review for 重大 projects (D1), panel scoring and the conclusion (D5), and the
consultation reminder/escalation timers (processes/README.md 项目预审)."""

from __future__ import annotations

import pytest

from tests.processes.conftest import (
    CONDITIONS,
    PANEL_CONDITIONAL,
    PANEL_LOW,
    PANEL_PASS,
    consult,
    panel,
    prereview_to_panel,
    run_prereview,
    sheet,
)

CONSULTATIONS = {"pr_ndrc", "pr_eco", "pr_industry"}


def start_small(flow, **project):
    pid = flow.project(investment_wan=3000, tier="一般", stage="S4_NEGOTIATE", **project)
    return pid, flow.start_prereview(pid)


@pytest.mark.parametrize(("opinions", "vetoes", "label"), [
    ({"ndrc": {"ndrc_opinion": "不同意", "ndrc_veto_flag": True, "ndrc_veto_categories": ["V02"],
               "ndrc_basis": "《产业结构调整指导目录》限制类,不得新建"}},
     ["V02"], "限制类新建项目"),
    ({"industry": {"industry_opinion": "不同意", "industry_veto_flag": True, "industry_veto_categories": ["V10"],
                   "industry_basis": "不符合行业准入条件"}}, ["V10"], "不符合行业准入条件"),
    ({"eco": {"in_ecological_redline": True}}, ["V05"], "生态保护红线"),
    ({"credit": {"credit_conclusion": "不合格"}}, ["V09"], "资信不合格"),
], ids=["发改委勾选否决", "行业部门勾选否决", "生态红线(D4)", "资信不合格(D4)"])
def test_a_one_vote_veto_ends_the_prereview_as_not_passed(flow, opinions, vetoes, label):
    pid, iid = start_small(flow)
    assert set(flow.open_tasks(iid)) == {"pr_credit"}

    prereview_to_panel(flow, iid, **opinions)

    inst = flow.instance(iid)
    assert inst.status == "completed" and inst.business_key == f"prereview-{pid}"
    assert {"pr_veto_mark", "pr_veto_save", "pr_veto_notify", "pr_end_veto"} <= flow.reached(iid)
    assert "pr_d1" not in flow.reached(iid) and flow.tasks(iid, "pr_panel") == []  # 不再列入预审
    data = flow.data(iid)
    assert (data["prereview_result"], data["prereview_vetoed"], data["prereview_vetoes"]) == ("不通过", True, vetoes)
    assert flow.project_row(pid).prereview_result == "不通过"
    notes = flow.notifications(pid, "预审不通过(一票否决)")
    assert {n.role for n in notes} == {"zsw_office", "responsible_unit"}
    assert label in notes[0].body and notes[0].level == "danger"


def test_the_three_departments_are_consulted_in_parallel(flow):
    _pid, iid = start_small(flow)
    flow.complete(iid, "pr_credit", {"registration_status": "存续", "credit_conclusion": "良好"}, username="office1")
    flow.complete(iid, "pr_feasibility", {"land_mode": "存量土地"}, username="simao_unit")

    consultations = {flow.task(iid, e).element_id: flow.task(iid, e).lane for e in CONSULTATIONS}
    assert consultations == {"pr_ndrc": "ndrc", "pr_eco": "eco", "pr_industry": "industry_dept"}
    assert flow.tasks(iid, "pr_inspection") == []  # D3: 一般, no energy/EIA/two-high/chain-leader trigger

    flow.complete(iid, "pr_eco", {"eco_opinion": "同意", "eco_eia_category": "报告表"})
    assert set(flow.open_tasks(iid)) == {"pr_ndrc", "pr_industry"}  # the join waits for all three


def test_a_major_project_is_inspected_and_escalated_before_the_panel(flow):
    pid = flow.project("林浆纸一体化项目", investment_wan=150000, tier="重大", stage="S4_NEGOTIATE", chain_code="C03")
    iid = flow.start_prereview(pid)
    flow.complete(iid, "pr_credit", {"credit_conclusion": "良好"}, username="office1")
    flow.complete(iid, "pr_feasibility", {"land_mode": "新增出让"}, username="simao_unit")

    inspection = flow.task(iid, "pr_inspection")  # D3: 重大
    assert inspection.lane == "responsible_unit"
    assert flow.data(iid)["inspection_reason"] == "投资规模大"
    flow.complete(iid, "pr_inspection", {"inspection_conclusion": "建议推进"}, username="simao_unit")
    consult(flow, iid)

    escalated = flow.task(iid, "pr_escalated")  # D1 复核: 重大 → 提级预审
    assert escalated.lane == "committee_director"
    assert flow.tasks(iid, "pr_panel") == []
    flow.complete(iid, "pr_escalated", {"committee_opinion": "同意并明确附加要求"}, username="director1")
    flow.complete(iid, "pr_panel", {**PANEL_PASS, "panel_mode": "提级预审会"}, username="office1")

    assert flow.project_row(pid).prereview_result == "通过"
    assert {"pr_inspection", "pr_escalated", "pr_end_pass"} <= flow.reached(iid)
    assert flow.data(iid)["tier"] == "重大"


def test_an_unclassified_major_project_started_on_its_own_is_still_inspected(flow):
    pid = flow.project(investment_wan=150000, stage="S4_NEGOTIATE")  # tier not set yet (no lifecycle ran)
    iid = flow.start_prereview(pid)
    flow.complete(iid, "pr_credit", {"credit_conclusion": "良好"})
    flow.complete(iid, "pr_feasibility", {"land_mode": "存量土地"})

    assert "pr_inspection" in flow.open_tasks(iid)


def test_a_chain_leader_investor_is_inspected_even_for_an_ordinary_project(flow):
    pid, iid = start_small(flow, enterprise_tags=["链主企业"])
    flow.complete(iid, "pr_credit", {"credit_conclusion": "良好"})
    flow.complete(iid, "pr_feasibility", {"land_mode": "存量土地"})

    assert "pr_inspection" in flow.open_tasks(iid)
    assert flow.data(iid)["inspection_reason"] == "牵动性强"
    flow.complete(iid, "pr_inspection", {"inspection_conclusion": "建议有条件推进"})
    consult(flow, iid)
    assert set(flow.open_tasks(iid)) == {"pr_panel"}  # 一般: no escalated review
    assert flow.project_row(pid).tier == "一般"


def test_a_plain_pass_stores_the_result_and_the_panel_score(flow):
    pid, iid = start_small(flow)
    scores = panel(sheet("专家甲", a=15, b=15, c=10, d=10, e=15, f=10, g=10, h=10),  # 95: dropped (highest)
                   sheet("专家乙"), sheet("专家丙"), sheet("专家丁"),  # 88 each
                   sheet("专家戊", a=5, b=5, c=5, d=5, e=5, f=5, g=5, h=5))  # 40: dropped (lowest)

    run_prereview(flow, iid, scores)

    project = flow.project_row(pid)
    assert project.prereview_result == "通过"
    [update] = [e for e in flow.timeline(pid, "update") if "prereview_result" in e.detail]
    assert update.detail["prereview_result"] == {"from": None, "to": "通过"} and update.element_id == "pr_pass_save"
    data = flow.data(iid)
    assert data["prereview_score"] == 88.0 and data["prereview_vetoed"] is False
    assert data["panel_result"]["expert_count"] == 5 and data["panel_result"]["counted"] == 3
    assert [d["reason"] for d in data["panel_result"]["dropped"]] == ["最高分", "最低分"]
    assert data["conclusion_reason"].startswith("综合评分≥80分")
    [note, _] = flow.notifications(pid, "预审通过:")
    assert "综合评分88.0分" in note.body and note.level == "success"
    assert flow.instance(iid).status == "completed" and "pr_end_pass" in flow.reached(iid)


def test_a_score_between_60_and_80_is_a_conditional_pass(flow):
    pid, iid = start_small(flow)
    run_prereview(flow, iid, PANEL_CONDITIONAL)  # 68 分 → stops at the conditions task
    assert set(flow.open_tasks(iid)) == set()

    assert flow.project_row(pid).prereview_result == "有条件通过"
    data = flow.data(iid)
    assert (data["prereview_score"], data["prereview_conditions"]) == (68.0, CONDITIONS["prereview_conditions"])
    assert {"pr_conditions", "pr_cond_save", "pr_end_conditional"} <= flow.reached(iid)
    [note, _] = flow.notifications(pid, "预审有条件通过:")
    assert CONDITIONS["prereview_conditions"] in note.body


def test_doubtful_credit_caps_item_b_and_downgrades_a_pass_to_conditional(flow):
    pid, iid = start_small(flow)
    prereview_to_panel(flow, iid, credit={"credit_conclusion": "存疑"})
    flow.complete(iid, "pr_panel", PANEL_PASS)  # 88 分, B 13 → capped at 6: 81 分

    assert set(flow.open_tasks(iid)) == {"pr_conditions"}
    data = flow.data(iid)
    assert data["prereview_score"] == 81.0 and data["panel_result"]["credit_cap_applied"] is True
    flow.complete(iid, "pr_conditions", CONDITIONS)
    assert flow.project_row(pid).prereview_result == "有条件通过"


@pytest.mark.parametrize(("scores", "reason"), [
    (PANEL_LOW, "综合评分不足60分或资信不合格"),
    (panel(sheet("专家甲"), sheet("专家乙", veto=True)), "一票否决"),
], ids=["低于60分", "专家否决建议"])
def test_a_low_score_or_an_expert_veto_fails_the_prereview(flow, scores, reason):
    pid, iid = start_small(flow)
    run_prereview(flow, iid, scores)

    assert flow.project_row(pid).prereview_result == "不通过"
    data = flow.data(iid)
    assert (data["prereview_result"], data["conclusion_reason"]) == ("不通过", reason)
    assert data["prereview_vetoed"] is (reason == "一票否决")
    assert {"pr_fail_save", "pr_fail_notify", "pr_end_fail"} <= flow.reached(iid)
    assert {n.role for n in flow.notifications(pid, "预审不通过:")} == {"zsw_office", "responsible_unit"}


def test_late_consultations_are_reminded_then_escalated(flow):
    pid, iid = start_small(flow)
    flow.complete(iid, "pr_credit", {"credit_conclusion": "良好"})
    flow.complete(iid, "pr_feasibility", {"land_mode": "存量土地"})
    flow.complete(iid, "pr_industry", {"industry_opinion": "同意", "chain_fit": "高"})  # answered at once

    assert flow.advance("P4D") == 0
    flow.advance("P2D")  # day 6: the 5-day reminders of the two departments still open
    assert {flow.task(iid, e).warning for e in ("pr_ndrc", "pr_eco")} == {"yellow"}
    reminders = flow.notifications(pid, "【催办】")
    assert sorted(n.role for n in reminders) == ["eco", "ndrc"] and all(n.level == "warning" for n in reminders)
    assert sorted(a.element_id for a in flow.audit(iid, "timer_fired")) == ["pr_eco_remind", "pr_ndrc_remind"]

    flow.complete(iid, "pr_eco", {"eco_opinion": "同意", "eco_eia_category": "登记表"})
    flow.advance("P5D")  # day 11: only the NDRC opinion is overdue now
    assert flow.task(iid, "pr_ndrc").warning == "red"
    overdue = flow.notifications(pid, "【逾期】")
    assert {n.role for n in overdue} == {"zsw_office", "ndrc"} and all(n.level == "danger" for n in overdue)
    assert all("市发展改革委" in n.title for n in overdue)
    assert flow.jobs(iid, kind="timer") == []

    flow.complete(iid, "pr_ndrc", {"ndrc_opinion": "同意", "industry_policy_class": "鼓励类"})
    assert set(flow.open_tasks(iid)) == {"pr_panel"}
