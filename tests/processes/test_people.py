"""Work addressed to the named unit and person (issue #11), end to end on the deployed processes:
a project created by a county user through the library service, its lifecycle's team chosen from
the org tree, the next tasks and notices reaching exactly the named unit and people; visitor routing
to one chain's lead unit; 交办 to a named municipal department; pre-review consultation to the
department that owns the project's chain."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.errors import FormInvalid, NotAllowed
from app.models.auth import User
from app.models.domain import Notification
from app.services import tasks
from app.services.domain import projects as records
from app.services.domain import users
from tests.processes.conftest import ADVANCE
from tests.processes.test_visitor import register


@pytest.fixture
def people(flow, db):
    with db.session_scope() as s:
        users.create_org(s, "simao_park", "思茅片区管委会", region_code="530802", type_="park")
        users.create_org(s, "ninger_ipb", "宁洱县投资促进局", region_code="530821", type_="county_ipb")
        for username, roles, org in (("simao_ipb1", ["county_ipb"], "simao_ipb"),
                                     ("park_unit", ["responsible_unit"], "simao_park"),
                                     ("park_sc", ["service_commissioner"], "simao_park"),
                                     ("ninger_sc", ["service_commissioner"], "ninger_ipb"),
                                     ("miit_unit", ["responsible_unit"], "miit"),
                                     ("tea_chain", ["chain_group", "industry_dept"], "tea_coffee_center"),
                                     ("forest_chain", ["chain_group", "industry_dept"], "forestry"),
                                     ("deputy_a", ["committee_deputy"], "committee")):
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


def _choices(form, field):
    prop = form["properties"][field]
    prop = prop.get("items", prop) if prop.get("type") == "array" else prop
    return [o["const"] for o in prop["oneOf"]]


def test_lifecycle_team_from_lists_then_work_reaches_exactly_the_named_unit_and_people(people, db):
    flow = people
    with db.session_scope() as s:
        created = records.create_project(s, users.get_user(s, "simao_ipb1"), {
            "name": "思茅咖啡精深加工", "region_code": "530802", "amount_wan": 3000, "chain_code": "C02",
            "enterprise_name": "醇豆咖啡", "source": "线索"})
    pid = created["id"]
    iid = flow.start("project_lifecycle", f"project-{pid}", flow.project_data(pid))
    team = flow.task(iid, "lc_team")
    with db.read_scope() as s:
        form = tasks.task_view(s, users.get_user(s, "office1"), team.id)["form"]
    units = _choices(form, "responsible_unit_org")
    assert {"simao_ipb", "simao_park", "miit"} <= set(units) and "ninger_ipb" not in units
    commissioners = _choices(form, "service_commissioner_user")
    assert {"simao_sc", "park_sc"} <= set(commissioners) and "ninger_sc" not in commissioners
    assert {"nrp", "eco"} <= set(_choices(form, "factor_dept_org"))
    supervisors = form["properties"]["project_supervisor_user"]
    assert supervisors["default"] == "supervisor1"  # 一般 → D2 lead_unit_head → project_supervisor

    good = {"responsible_unit_org": "simao_ipb", "service_commissioner_user": "simao_sc",
            "commissioner_mobile": "13800000000", "factor_dept_org": ["nrp", "eco"],
            "project_supervisor_user": "supervisor1", "team_effective_from": "2026-12-01"}
    office = _user(db, "office1")
    for bad, field in (({"responsible_unit_org": "思茅区投资促进局"}, "responsible_unit_org"),
                       ({"service_commissioner_user": "ninger_sc"}, "service_commissioner_user"),
                       ({"project_supervisor_user": "deputy_a"}, "supervisor_override_reason")):
        with pytest.raises(FormInvalid) as err, db.session_scope() as s:
            tasks.complete_task(s, office, team.id, {**good, **bad})
        assert field in {e["field"] for e in err.value.errors}
    with db.session_scope() as s:
        tasks.complete_task(s, office, team.id, good)

    project = flow.project_row(pid)
    assert (project.responsible_org_key, project.commissioner_username, project.supervisor_username) == (
        "simao_ipb", "simao_sc", "supervisor1")
    assert project.factor_org_keys == ["nrp", "eco"] and project.responsible_unit == "思茅区投资促进局"
    work = flow.task(iid, "st_work")
    assert (work.lane, work.candidate_orgs) == ("responsible_unit", ",simao_ipb,")
    assert "st_work" in _visible(db, "simao_unit", iid)
    assert _visible(db, "park_unit", iid) == set()  # a second unit of the same county sees nothing
    with pytest.raises(NotAllowed), db.session_scope() as s:
        tasks.complete_task(s, _user(db, "park_unit"), work.id, ADVANCE)

    flow.advance("P30DT1H")  # the yellow light: notices to the named people, not to every holder of the role
    with db.read_scope() as s:
        ids = {u.username: u.id for u in s.scalars(select(User))}
        rows = s.scalars(select(Notification).where(Notification.project_id == pid,
                                                    Notification.level == "warning")).all()
    named = {(n.role, n.user_id) for n in rows}
    assert ("service_commissioner", ids["simao_sc"]) in named
    assert ("responsible_unit", ids["simao_unit"]) in named
    assert ("project_supervisor", ids["supervisor1"]) in named
    assert not any(n.user_id in (ids["park_unit"], ids["park_sc"]) for n in rows)
    assert not any(n.user_id is None and n.role in ("service_commissioner", "responsible_unit") for n in rows)


def test_visitor_on_a_chain_goes_to_that_chains_lead_unit_only(people, db):
    flow = people
    iid = register(flow)  # 茶产业 → C01, lead unit tea_coffee_center in the chain registry
    accept = flow.task(iid, "chain_accept")
    assert (accept.lane, accept.candidate_orgs) == ("chain_group", ",tea_coffee_center,")
    assert _visible(db, "tea_chain", iid) == {"chain_accept"}
    assert _visible(db, "forest_chain", iid) == set()
    with pytest.raises(NotAllowed), db.session_scope() as s:
        tasks.claim_task(s, _user(db, "forest_chain"), accept.id)


def test_jiaoban_to_a_named_municipal_department(people, db):
    flow = people
    iid = register(flow, interests=["数字经济"], matter_type="政策咨询")
    flow.complete(iid, "office_classify", {"routing_decision": "交办", "target_org": "miit", "routed_to": "工信局",
                                           "region_code": "530802", "assign_within": "P5D",
                                           "instructions": "对接企业。"}, username="office1")
    receive = flow.task(iid, "assignee_accept")
    assert (receive.lane, receive.candidate_orgs) == ("responsible_unit", ",miit,")
    assert _visible(db, "miit_unit", iid) == {"assignee_accept"}
    assert _visible(db, "simao_unit", iid) == set()  # the county's units no longer see a 交办 to 工信局
    assert flow.data(iid)["routed_to"] == "市工业和信息化局"  # the unit's registered name


def test_prereview_consultation_goes_to_the_department_owning_the_chain(people, db):
    flow = people
    pid = flow.project("林板家居项目", chain_code="C03")  # C03 林产 → lead unit forestry
    iid = flow.start_prereview(pid)
    flow.complete(iid, "pr_credit", {"registration_status": "存续", "credit_conclusion": "良好"}, username="office1")
    from tests.processes.conftest import FEASIBLE

    flow.complete(iid, "pr_feasibility", FEASIBLE, username="simao_unit")
    industry = flow.task(iid, "pr_industry")
    assert industry.candidate_orgs == ",forestry,"
    assert "pr_industry" in _visible(db, "forest_chain", iid)
    assert "pr_industry" not in _visible(db, "tea_chain", iid)


def test_complaint_handling_goes_to_the_unit_the_office_names(people, db):
    from tests.processes.test_complaint import HANDLED
    from tests.processes.test_complaint import register as register_complaint

    flow = people
    iid = register_complaint(flow)
    handle_within = flow.data(iid)["handle_within"]
    review = flow.task(iid, "accept_review")
    with db.read_scope() as s:
        form = tasks.task_view(s, users.get_user(s, "office1"), review.id)["form"]
    assert _choices(form, "responsible_unit_org")[0] == ""  # optional: may name nobody
    flow.complete(iid, "accept_review", {"accept_result": "受理", "handling_unit": "思茅片区管委会",
                                         "responsible_unit_org": "simao_park", "handle_within": handle_within,
                                         "accept_note": "限期办结。"}, username="office1")
    handle = flow.task(iid, "handle_complaint")
    assert handle.candidate_orgs == ",simao_park,"
    assert _visible(db, "simao_unit", iid) == set() and _visible(db, "park_unit", iid) == {"handle_complaint"}
    with pytest.raises(NotAllowed):
        flow.complete(iid, "handle_complaint", HANDLED, username="simao_unit")
    flow.complete(iid, "handle_complaint", HANDLED, username="park_unit")
