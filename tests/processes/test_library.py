"""library_admission end to end (processes/README.md 项目库与揭牌认领): application → review
(reminder, rejection) → target enterprise published, or project registered / recorded / published
→ 揭牌认领 within the claim window (interrupting timer) or assignment by the office → the project's
responsible unit saved and project_lifecycle started with business key ``project-<id>``."""

from __future__ import annotations

import datetime as dt

from tests.processes.helpers_cycle import open_tasks

APPLICANT = "思茅区投资促进局"


def application(project_id: int | None, **extra) -> dict:
    project = {"project_name": "普洱茶精深加工项目", "project_category": "工业制造", "chain_code": "C01",
               "planned_investment_wan": 30000, "construction_content": "年产 5000 吨精制茶生产线。"}
    if project_id is not None:
        project["project_id"] = project_id
    return {"entry_type": "project", "region_code": "530802", "proposer_org": APPLICANT, "project": project, **extra}


APPROVED = {"review_result": "同意入库", "visibility": "对外公开", "review_opinion": "产业链契合,信息完整。"}


def apply_and_approve(flow, project_id: int | None) -> int:
    iid = flow.start("library_admission", None, {})
    flow.complete(iid, "apply", application(project_id))
    flow.complete(iid, "review", APPROVED, username="office1")
    return iid


def notices(flow, iid: int, title: str) -> list:
    return [n for n in flow.notifications(title_contains=title) if n.instance_id == iid]


def lifecycle_of(flow, project_id: int):
    flow.run_jobs()  # the queued start of project_lifecycle
    found = flow.instances_of("project_lifecycle", f"project-{project_id}")
    assert len(found) == 1, found
    return found[0]


def test_an_admitted_project_is_published_claimed_and_enters_the_lifecycle(flow):
    pid = flow.project("普洱茶精深加工项目", region_code="530802", chain_code="C01", investment_wan=30000)
    iid = flow.start("library_admission", None, {})
    assert flow.task(iid, "apply").lane == "county_ipb"
    flow.complete(iid, "apply", application(pid))
    data = flow.data(iid)
    assert (data["entry_name"], data["project_id"], data["chain_code"]) == ("普洱茶精深加工项目", pid, "C01")
    assert flow.task(iid, "review").lane == "zsw_office"

    flow.complete(iid, "review", APPROVED, username="office1")

    assert "register_project" not in flow.reached(iid)  # already registered: no 建档 task
    [admitted] = flow.timeline(pid, "library")
    assert admitted.title == "入库审核通过" and admitted.detail["proposer_org"] == APPLICANT
    published = notices(flow, iid, "项目库发布:普洱茶精深加工项目")
    assert {n.role for n in published} == {"county_ipb", "park_admin", "industry_dept", "chain_group", "city_ipb"}
    assert all(n.project_id == pid for n in published)
    assert {n.region_code for n in published if n.role == "county_ipb"} == {"530802"}
    claim = flow.task(iid, "claim")
    assert (claim.lane, claim.region_code, claim.project_id) == ("county_ipb", "530802", pid)
    [window] = flow.jobs(iid, kind="timer")
    assert window.element_id == "bt_claim"
    assert abs(window.due_at - (flow.clock.now() + dt.timedelta(days=15))) < dt.timedelta(minutes=5)

    assert flow.advance("P10D") == 0
    flow.complete(iid, "claim", {"claim_decision": "认领", "claimant_org": "simao_ipb", "commissioner_name": "王专员",
                                 "approach": "依托茶产业链招引龙头企业。"})

    project = flow.project_row(pid)
    assert (project.responsible_unit, project.commissioner_name) == (APPLICANT, "王专员")
    assert "assign" not in flow.reached(iid) and flow.jobs(iid) == []
    assert flow.instance(iid).status == "completed" and "end_library" in flow.reached(iid)
    [assigned] = [n for n in notices(flow, iid, "项目责任单位已确定:") if n.role == "zsw_office"]
    assert assigned.body == "思茅区投资促进局(认领)负责推进普洱茶精深加工项目,已进入全程调度。"

    lifecycle = lifecycle_of(flow, pid)
    assert lifecycle.status == "running"
    lc = flow.data(lifecycle.id)
    assert (lc["project_id"], lc["region_code"], lc["chain_code"], lc["stage"]) == (pid, "530802", "C01", "S1_PLAN")
    assert (lc["responsible_unit"], lc["assign_basis"], lc["library_visibility"]) == (APPLICANT, "认领", "对外公开")
    assert set(flow.open_tasks(lifecycle.id)) == {"lc_team"}
    assert flow.project_row(pid).tier == "重点"  # D1 ran in the lifecycle (3 亿)


def test_an_unclaimed_project_is_assigned_by_the_office_when_the_window_expires(flow):
    pid = flow.project("咖啡精深加工项目", region_code="530802", chain_code="C02")
    iid = apply_and_approve(flow, pid)
    claim = flow.task(iid, "claim")

    assert flow.advance("P14DT23H") == 0
    assert flow.advance("PT2H") >= 1  # 15 days: the interrupting timer closes the claim

    assert flow.task(iid, "claim", state="cancelled").id == claim.id
    assert set(flow.open_tasks(iid)) == {"assign"}
    assert flow.task(iid, "assign").lane == "zsw_office"
    assert flow.instances_of("project_lifecycle") == []

    flow.complete(iid, "assign", {"responsible_unit": "市茶叶和咖啡产业发展中心", "assign_basis": "链长",
                                  "commissioner_name": "李专员"}, username="office1")

    project = flow.project_row(pid)
    assert (project.responsible_unit, project.commissioner_name) == ("市茶叶和咖啡产业发展中心", "李专员")
    lc = flow.data(lifecycle_of(flow, pid).id)
    assert (lc["responsible_unit"], lc["assign_basis"]) == ("市茶叶和咖啡产业发展中心", "链长")
    assert flow.instance(iid).status == "completed"


def test_a_declined_claim_goes_to_the_office_for_assignment(flow):
    pid = flow.project("林下经济项目", region_code="530802", chain_code="C03")
    iid = apply_and_approve(flow, pid)
    flow.complete(iid, "claim", {"claim_decision": "不认领"})

    assert set(flow.open_tasks(iid)) == {"assign"} and flow.jobs(iid) == []
    flow.complete(iid, "assign", {"responsible_unit": APPLICANT, "assign_basis": "属地"})
    lc = flow.data(lifecycle_of(flow, pid).id)
    assert (lc["responsible_unit"], lc["assign_basis"]) == (APPLICANT, "属地")


def test_a_new_project_is_registered_by_the_office_before_publication(flow):
    pid = flow.project("生物医药原料基地项目", region_code="530821", chain_code="C04")  # 建档 in the project library
    iid = apply_and_approve(flow, None)

    register = flow.task(iid, "register_project")
    assert register.lane == "zsw_office"
    flow.complete(iid, "register_project", {"project_id": pid, "project_code": "PE-2026-530821-0001"})

    data = flow.data(iid)
    assert (data["project_id"], data["project_name"], data["region_code"], data["chain_code"]) == (
        pid, "生物医药原料基地项目", "530821", "C04")  # the library's record wins over the application
    assert flow.task(iid, "claim").region_code == "530821"
    assert [e.title for e in flow.timeline(pid, "library")] == ["入库审核通过"]


def test_a_rejected_application_ends_with_a_notice_to_the_applicant(flow):
    iid = flow.start("library_admission", None, {})
    flow.complete(iid, "apply", application(None))
    flow.complete(iid, "review", {"review_result": "不予入库", "visibility": "内部发布",
                                  "review_opinion": "与已入库项目重复申报。"}, username="office1")

    [rejected] = notices(flow, iid, "入库申请未通过:普洱茶精深加工项目")
    assert (rejected.role, rejected.body) == ("county_ipb", "与已入库项目重复申报。")
    inst = flow.instance(iid)
    assert inst.status == "completed" and "end_rejected" in flow.reached(iid)
    assert not {"register_project", "claim", "publish_project"} & flow.reached(iid)
    assert flow.instances_of("project_lifecycle") == []


def test_a_target_enterprise_is_published_to_the_chain_and_departments(flow):
    iid = flow.start("library_admission", None, {})
    flow.complete(iid, "apply", {"entry_type": "enterprise", "region_code": "530802", "proposer_org": APPLICANT,
                                 "enterprise": {"enterprise_name": "云南咖啡集团有限公司", "ownership": "民营企业",
                                                "source": "产业链分析", "chain_code": "C02"}})
    flow.complete(iid, "review", APPROVED)

    published = notices(flow, iid, "目标企业入库:云南咖啡集团有限公司")
    assert {n.role for n in published} == {"chain_group", "industry_dept", "county_ipb", "city_ipb"}
    assert flow.instance(iid).status == "completed" and "end_enterprise" in flow.reached(iid)
    assert "claim" not in flow.reached(iid)


def test_a_late_review_is_chased_after_seven_days(flow):
    iid = flow.start("library_admission", None, {})
    flow.complete(iid, "apply", application(None))

    assert flow.advance("P6DT23H") == 0
    assert flow.advance("PT2H") >= 1

    [chase] = notices(flow, iid, "入库申请待审核:")
    assert (chase.role, chase.level) == ("zsw_office", "warning")
    assert [t.warning for t in open_tasks(flow, iid, "review")] == ["yellow"]
