"""Issue #12 leftovers about projects, end to end on the deployed processes: stage evidence checked
server-side when the stage form is submitted (refused with per-field Chinese messages, nothing
changes), 揭牌认领 by a municipal department with exactly one claimant per project (also when two
claims race, SQLite and PostgreSQL), reactivation of a sealed project, and a transferred project's
running lifecycle moving to the receiving county's inbox."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from app.api.projects import claim_listed_project
from app.errors import AppError, Conflict, FormInvalid, Invalid, NotAllowed
from app.models.domain_projects import ProjectClaim, ProjectEvidence
from app.services import tasks
from app.services.domain import claims, evidence, settings, users
from app.services.domain import projects as records
from tests.processes.conftest import ADVANCE, TEAM, back_to
from tests.processes.test_exit import REPORT
from tests.processes.test_library import apply_and_approve, lifecycle_of

SUMMARY_ONLY = {"stage_action": "advance", "stage_evidence": {"summary": "本阶段工作已完成,申请转段。"}}


@pytest.fixture
def people(flow, db):
    with db.session_scope() as s:
        users.create_org(s, "ninger_ipb", "宁洱县投资促进局", region_code="530821", type_="county_ipb")
        for username, roles, org in (("simao_ipb1", ["county_ipb"], "simao_ipb"),
                                     ("ninger_ipb1", ["county_ipb"], "ninger_ipb"),
                                     ("ninger_unit", ["responsible_unit"], "ninger_ipb"),
                                     ("industry1", ["industry_dept"], "miit"),
                                     ("commerce1", ["industry_dept", "chain_group"], "commerce")):
            users.create_user(s, username, roles, org=org, password="Secret-pass-9")
    return flow


def _user(db, name):
    with db.read_scope() as s:
        u = users.get_user(s, name)
        s.expunge(u)
        return u


def _visible(db, username, instance_id):
    with db.read_scope() as s:
        items = tasks.list_tasks(s, users.get_user(s, username), filters={"instance_id": instance_id})["items"]
    return {t["element_id"] for t in items}


def _evidence_rows(db, pid):
    with db.read_scope() as s:
        return [(r.kind, r.source) for r in s.scalars(select(ProjectEvidence).where(ProjectEvidence.project_id == pid)
                                                      .order_by(ProjectEvidence.id))]


# ---------------------------------------------------------------- stage evidence


def test_landing_is_refused_without_its_evidence_and_nothing_changes(people, db):
    flow = people
    pid = flow.project(stage="S6_LAND")
    lid = flow.start_lifecycle(pid, stage="S6_LAND")
    work = flow.task(lid, "st_work")

    with pytest.raises(FormInvalid) as refused:
        flow.complete(lid, "st_work", SUMMARY_ONLY, username="simao_unit")
    assert refused.value.status == 422
    assert "缺少转段材料" in refused.value.message
    by_field = {e["field"]: e["message"] for e in refused.value.errors}
    assert set(by_field) == {"stage_evidence.company_uscc", "stage_evidence.site_secured", "stage_evidence.filing_no"}
    assert "工商注册/营业执照" in by_field["stage_evidence.company_uscc"]
    # nothing changed: the same task is open, the stage stays, no evidence recorded, no completion audited
    assert flow.task(lid, "st_work").id == work.id and flow.project_row(pid).stage == "S6_LAND"
    assert _evidence_rows(db, pid) == [] and flow.audit(lid, "task_completed")[-1].element_id == "lc_team"

    # the task page says what is missing
    with db.read_scope() as s:
        view = tasks.task_view(s, users.get_user(s, "simao_unit"), work.id)
    assert "✘ 工商注册/营业执照" in view["note"] and "✘ 施工许可" not in view["note"]
    assert view["note"] in view["instructions"]

    # two pieces attached on the project page (county editor), the third given in the form
    simao = _user(db, "simao_ipb1")
    with db.session_scope() as s:
        evidence.attach_evidence(s, simao, pid, {"kind": "registration", "number": "91530802MA6K12345X",
                                                 "issued_on": "2026-11-20"})
        evidence.attach_evidence(s, simao, pid, {"kind": "site", "title": "土地出让合同", "number": "普国土2026-18"})
    with db.read_scope() as s:
        view = tasks.task_view(s, users.get_user(s, "simao_unit"), work.id)
    assert "✔ 工商注册/营业执照" in view["note"] and "✘ 投资项目备案/核准" in view["note"]
    with pytest.raises(FormInvalid) as still:
        flow.complete(lid, "st_work", SUMMARY_ONLY, username="simao_unit")
    assert [e["field"] for e in still.value.errors] == ["stage_evidence.filing_no"]

    flow.complete(lid, "st_work", {"stage_action": "advance", "stage_evidence": {
        "summary": "项目公司已注册,用地已落实,备案已完成。", "filing_no": "普发改备〔2026〕12号"}}, username="simao_unit")
    assert flow.project_row(pid).stage == "S7_START"
    assert _evidence_rows(db, pid) == [("registration", "page"), ("site", "page"), ("filing", "stage_form")]

    # 开工 needs the permit; going back needs nothing
    with pytest.raises(FormInvalid) as no_permit:
        flow.complete(lid, "st_work", SUMMARY_ONLY, username="simao_unit")
    assert [e["field"] for e in no_permit.value.errors] == ["stage_evidence.permit_no"]
    flow.complete(lid, "st_work", back_to("S6_LAND"), username="simao_unit")
    assert flow.project_row(pid).stage == "S6_LAND"
    flow.complete(lid, "st_work", SUMMARY_ONLY, username="simao_unit")  # the records are still there
    flow.complete(lid, "st_work", ADVANCE, username="simao_unit")  # the permit number in the form
    assert flow.project_row(pid).stage == "DONE"
    assert ("permit", "stage_form") in _evidence_rows(db, pid)


def test_evidence_is_declared_by_a_setting_and_attached_within_the_jurisdiction(people, db):
    flow = people
    pid = flow.project(stage="S3_VISIT")
    lid = flow.start_lifecycle(pid, stage="S3_VISIT")
    with db.session_scope() as s:
        settings.put(s, "stage.evidence", {**settings.STAGE_EVIDENCE_DEFAULT,
                                           "S3_VISIT": [{"kind": "visit_record", "label": "考察记录"}]}, "admin")
    with pytest.raises(FormInvalid) as refused:
        flow.complete(lid, "st_work", ADVANCE, username="simao_unit")
    assert refused.value.errors[0]["field"] == "stage_evidence" and "考察记录" in refused.value.errors[0]["message"]

    with db.session_scope() as s, pytest.raises(NotAllowed):  # another county's clerk
        evidence.attach_evidence(s, _user(db, "ninger_ipb1"), pid, {"kind": "visit_record", "number": "KC-1"})
    with db.session_scope() as s, pytest.raises(NotAllowed):  # no editor role
        evidence.attach_evidence(s, _user(db, "simao_unit"), pid, {"kind": "visit_record", "number": "KC-1"})
    with db.session_scope() as s, pytest.raises(Invalid) as bad:
        evidence.attach_evidence(s, _user(db, "simao_ipb1"), pid, {"kind": "nonsense", "issued_on": "昨天"})
    assert {e["field"] for e in bad.value.errors} == {"kind", "number", "issued_on"}
    assert _evidence_rows(db, pid) == []
    with db.session_scope() as s:
        evidence.attach_evidence(s, _user(db, "simao_ipb1"), pid, {"kind": "visit_record", "number": "KC-1"})
        listed = evidence.project_evidence(s, _user(db, "simao_ipb1"), pid)
    assert [i["present"] for i in listed["required"]["S3_VISIT"]] == [True]
    assert [i["present"] for i in listed["required"]["S6_LAND"]] == [False, False, False]
    flow.complete(lid, "st_work", ADVANCE, username="simao_unit")
    assert flow.project_row(pid).stage == "S4_NEGOTIATE"
    with db.session_scope() as s, pytest.raises(Invalid):
        settings.put(s, "stage.evidence", {"S9": []}, "admin")


# ---------------------------------------------------------------- 揭牌认领


def test_a_municipal_department_claims_a_listed_project_and_a_second_claim_is_refused(people, db):
    flow = people
    pid = flow.project("普洱茶精深加工项目", region_code="530802", chain_code="C01", investment_wan=30000)
    iid = apply_and_approve(flow, pid)
    assert "claim" not in _visible(db, "industry1", iid)  # the county's inbox task; departments use the project

    with db.session_scope() as s:
        made = claim_listed_project(s, _user(db, "industry1"), pid,
                                    {"claim_reason": "工信局牵头招引茶叶精深加工龙头。", "approach": "链主招商"})
    assert (made["org_unit_key"], made["org_unit_name"], made["claimed_by"]) == ("miit", "市工业和信息化局", "industry1")
    assert flow.instance(iid).status == "completed"
    project = flow.project_row(pid)
    assert project.responsible_unit == "市工业和信息化局"
    lc = flow.data(lifecycle_of(flow, pid).id)
    assert (lc["responsible_unit"], lc["assign_basis"]) == ("市工业和信息化局", "认领")
    [claimed] = flow.timeline(pid, "claim")
    assert claimed.title == "揭牌认领:市工业和信息化局"

    for name in ("simao_ipb1", "commerce1"):
        with db.session_scope() as s, pytest.raises(Conflict) as second:
            claim_listed_project(s, _user(db, name), pid, {})
        assert "已由市工业和信息化局认领" in second.value.message
    with db.session_scope() as s, pytest.raises(NotAllowed):  # not a claiming role
        claim_listed_project(s, _user(db, "simao_unit"), pid, {})
    with db.session_scope() as s, pytest.raises(NotAllowed):  # another county's project
        claim_listed_project(s, _user(db, "ninger_ipb1"), pid, {})
    with db.read_scope() as s:
        assert [(c.project_id, c.org_unit_id) for c in s.scalars(select(ProjectClaim))] == [
            (pid, claims.get_claim(s, pid).org_unit_id)]


def test_a_claim_is_made_for_the_claimants_own_unit(people, db):
    flow = people
    pid = flow.project("咖啡精深加工项目", region_code="530802", chain_code="C02")
    iid = apply_and_approve(flow, pid)
    task = flow.task(iid, "claim")
    with db.session_scope() as s, pytest.raises(FormInvalid) as other_unit:
        tasks.complete_task(s, _user(db, "simao_ipb1"), task.id, {"claim_decision": "认领", "claimant_org": "miit"})
    assert other_unit.value.errors[0]["field"] == "claimant_org"
    flow.complete(iid, "claim", {"claim_decision": "认领"}, username="simao_ipb1")  # default: the user's unit
    with db.read_scope() as s:
        row = claims.get_claim(s, pid)
        assert claims.claim_dict(s, row)["org_unit_key"] == "simao_ipb"
    assert flow.project_row(pid).responsible_unit == "思茅区投资促进局"


@pytest.mark.parametrize("db_kind", ["sqlite", "pg"], indirect=True)
@pytest.mark.parametrize("shape", ["one_task", "two_instances"])
def test_two_simultaneous_claims_one_wins(people, db, shape):
    flow = people
    pid = flow.project("林下经济项目", region_code="530802", chain_code="C03")
    first = apply_and_approve(flow, pid)
    second = apply_and_approve(flow, pid) if shape == "two_instances" else None
    outcomes, barrier = [], threading.Barrier(2)

    def api_claim(name):
        with db.session_scope() as s:
            claim_listed_project(s, users.get_user(s, name), pid, {"claim_reason": f"{name} 认领"})

    def inbox_claim(name, iid):
        task = flow.task(iid, "claim")
        with db.session_scope() as s:
            tasks.complete_task(s, users.get_user(s, name), task.id, {"claim_decision": "认领"})

    def run(fn, *args):
        barrier.wait()
        try:
            fn(*args)
            outcomes.append(200)
        except AppError as exc:
            outcomes.append(exc.status)
        except Exception as exc:  # anything else would be a 500
            outcomes.append(repr(exc))

    jobs = ([(api_claim, "industry1"), (api_claim, "commerce1")] if second is None
            else [(inbox_claim, "simao_ipb1", first), (inbox_claim, "simao_ipb1", second)])
    threads = [threading.Thread(target=run, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes, key=str) == [200, 409]
    with db.read_scope() as s:
        assert len(s.scalars(select(ProjectClaim).where(ProjectClaim.project_id == pid)).all()) == 1


# ---------------------------------------------------------------- reactivation


def test_a_sealed_project_is_reactivated_by_the_office_and_its_lifecycle_resumes_at_its_stage(people, db):
    flow = people
    pid = flow.project(investment_wan=3000)
    lid = flow.start_lifecycle(pid)
    flow.complete(lid, "st_work", ADVANCE, username="simao_unit")  # S2
    eid = flow.start_exit(pid, "seal")
    flow.complete(eid, "ex_report", REPORT, username="simao_unit")
    flow.complete(eid, "ex_office_review", {"office_review_opinion": "建议封存", "office_review_note": "同意。"},
                  username="office1")
    flow.complete(eid, "ex_committee_seal", {"seal_decision": "同意封存", "seal_decision_mode": "会议审定"},
                  username="director1")
    flow.run_jobs()
    assert flow.project_row(pid).status == "sealed" and flow.instance(lid).status == "completed"

    for name in ("ninger_ipb1", "simao_ipb1"):  # another county's clerk; the county itself is not the office
        with db.session_scope() as s, pytest.raises(NotAllowed) as refused:
            records.reactivate_project(s, _user(db, name), pid, "投资方恢复投资意向。")
        assert refused.value.status == 403
    with db.session_scope() as s, pytest.raises(Invalid):
        records.reactivate_project(s, _user(db, "office1"), pid, "")
    assert flow.project_row(pid).status == "sealed"

    with db.session_scope() as s:
        done = records.reactivate_project(s, _user(db, "office1"), pid, "投资方恢复投资意向,资金已落实。")
    project = flow.project_row(pid)
    assert (project.status, project.stage, project.library_status) == ("active", "S2_SCREEN", "待招商")
    new = flow.instance(done["instance_id"])
    assert (new.process_key, new.business_key, new.status) == ("project_lifecycle", f"project-{pid}", "running")
    assert flow.data(new.id)["stage"] == "S2_SCREEN" and set(flow.open_tasks(new.id)) == {"lc_team"}
    flow.complete(new.id, "lc_team", TEAM)
    assert flow.task(new.id, "st_work").stage == "S2_SCREEN"
    [audited] = [a for a in flow.audit(type_="project_reactivated")]
    assert audited.actor == "office1" and audited.detail["reason"].startswith("投资方恢复")
    assert [e.title for e in flow.timeline(pid, "status")] == ["项目封存", "项目重新激活(解封)"]
    with db.session_scope() as s, pytest.raises(Conflict):
        records.reactivate_project(s, _user(db, "office1"), pid, "再次激活试一试。")


# ---------------------------------------------------------------- transfer


@pytest.mark.parametrize("db_kind", ["sqlite", "pg"], indirect=True)
def test_a_transferred_project_moves_its_lifecycle_tasks_to_the_receiving_county(people, db):
    from tests.processes.test_quality_transfer import ACCEPT, APPROVE, PROPOSE

    flow = people
    pid = flow.project(region_code="530802")
    lid = flow.start_lifecycle(pid)  # team: simao_ipb / simao_sc named
    work = flow.task(lid, "st_work")
    assert work.region_code == "530802" and work.candidate_orgs == ",simao_ipb,"
    assert "st_work" in _visible(db, "simao_unit", lid) and "st_work" not in _visible(db, "ninger_unit", lid)

    qid = flow.start("quality_transfer", f"transfer-{pid}", flow.project_data(pid))
    flow.complete(qid, "qt_propose", {**PROPOSE, "target_region_code": "530821", "target_unit": "宁洱县投资促进局"})
    flow.complete(qid, "qt_accept", {**ACCEPT, "receiving_unit": "宁洱县投资促进局"})
    assert flow.task(lid, "st_work").region_code == "530802"  # nothing moves before the office approves
    flow.complete(qid, "qt_approve", {**APPROVE, "credit_split_origin_pct": 50})

    assert flow.project_row(pid).region_code == "530821"
    moved = flow.task(lid, "st_work")
    assert moved.id == work.id and (moved.region_code, moved.candidate_orgs) == ("530821", None)
    data = flow.data(lid)
    assert data["region_code"] == "530821" and data["responsible_unit_org"] is None
    assert data["factor_dept_org"] == ["nrp", "eco"]  # city departments stay named
    assert flow.instance(lid).summary["region_code"] == "530821"
    assert "st_work" not in _visible(db, "simao_unit", lid) and "st_work" in _visible(db, "ninger_unit", lid)
    [audited] = flow.audit(lid, "instance_data_set")
    assert audited.detail["keys"] == ["region_code", "responsible_unit_org", "service_commissioner_user"]

    flow.complete(lid, "st_work", ADVANCE, username="ninger_unit")  # the receiving county owns the work
    nxt = flow.task(lid, "st_work")
    assert nxt.region_code == "530821" and nxt.stage == "S2_SCREEN"
    with db.session_scope() as s, pytest.raises(NotAllowed):
        tasks.complete_task(s, _user(db, "simao_unit"), nxt.id, ADVANCE)
