"""The access rule for starts, messages and instance reads — the cases of issue #9, through the API."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app import roles
from tests.security.conftest import NINGER, SIMAO

pytestmark = pytest.mark.parametrize("db_kind", ["sqlite", "pg"], indirect=True)


def _count(db, model):
    with db.read_scope() as s:
        return s.scalar(select(func.count()).select_from(model))


@pytest.fixture
def waiting(world, db, monkeypatch):
    """Two instances waiting for msg_exit, one in each county; msg_exit declared for county_ipb."""
    monkeypatch.setitem(roles.MESSAGE_PERMISSIONS, "msg_exit", ("county_ipb",))
    simao = world.factory.start("waiter", data={"region_code": SIMAO}, business_key="p-simao")
    ninger = world.factory.start("waiter", data={"region_code": NINGER}, business_key="p-ninger")
    return {"simao": simao["id"], "ninger": ninger["id"]}


def test_a_county_cannot_message_another_countys_instance(world, waiting):
    r = world.simao.post("/api/v1/messages/msg_exit", json={"business_key": "p-ninger", "data": {"x": 1}})
    assert r.status_code == 403 and "管辖" in r.get_json()["errors"][0]["message"]
    inst = world.admin.get(f"/api/v1/instances/{waiting['ninger']}").get_json()
    assert "exit_info" not in inst["data"]  # nothing delivered
    ok = world.simao.post("/api/v1/messages/msg_exit", json={"business_key": "p-simao", "data": {"x": 1}})
    assert ok.status_code == 202 and ok.get_json()["delivered"] == [waiting["simao"]]


def test_undeclared_roles_and_broadcast_are_refused(world, waiting):
    assert world.office.post("/api/v1/messages/msg_exit", json={"business_key": "p-simao"}).status_code == 403
    assert world.simao.post("/api/v1/messages/msg_exit", json={"broadcast": True}).status_code == 403
    assert world.investor.post("/api/v1/messages/msg_exit", json={"business_key": "p-simao"}).status_code == 403
    assert world.simao.post("/api/v1/messages/msg_visit", json={"business_key": "v"}).status_code == 403
    assert world.admin.post("/api/v1/messages/msg_exit", json={"broadcast": True}).status_code == 202


def test_starts_are_declared_and_confined_to_the_callers_county(world, db, monkeypatch):
    from app.models.runtime import Instance

    start = "/api/v1/processes/onboarding/instances"
    before = _count(db, Instance)
    assert world.simao.post(start, json={"data": {"region_code": NINGER}}).status_code == 403
    assert world.investor.post(start, json={"data": {}}).status_code == 403
    assert world.lost.post(start, json={"data": {"region_code": SIMAO}}).status_code == 403
    r = world.simao.post(start, json={"data": {"project_id": 9999, "region_code": SIMAO}})
    assert r.status_code == 422 and r.get_json()["errors"][0]["field"] == "project_id"
    assert world.simao.post(start, json={"data": {"project_id": True}}).status_code == 422
    assert _count(db, Instance) == before  # nothing stored
    first = world.simao.post(start, json={"data": {"region_code": SIMAO, "yellow_after": "P1D"},
                                          "business_key": "bk-1"})
    assert first.status_code == 201
    again = world.simao.post(start, json={"data": {"region_code": SIMAO, "yellow_after": "P1D"},
                                          "business_key": "bk-1"})
    assert again.status_code == 409
    # timer- and message-started processes are not startable by hand unless declared
    assert world.office.post("/api/v1/processes/visit_start/instances", json={}).status_code == 403
    assert world.office.post("/api/v1/processes/monthly/instances", json={}).status_code == 403
    monkeypatch.setitem(roles.START_PERMISSIONS, "onboarding", ("zsw_office",))
    assert world.simao.post(start, json={"data": {"region_code": SIMAO}}).status_code == 403
    assert world.office.post(start, json={"data": {"region_code": NINGER, "yellow_after": "P1D"}}).status_code == 201


def test_a_project_of_another_county_is_not_a_valid_reference(world, db, matrix):
    r = world.simao.post("/api/v1/processes/onboarding/instances",
                         json={"data": {"project_id": matrix["project"], "region_code": SIMAO}})
    assert r.status_code == 422


def test_instance_reads_follow_the_task_rule(world, db, matrix):
    from app.models.runtime import Instance

    url = f"/api/v1/instances/{matrix['instance']}"
    assert world.ninger.get(url).status_code == 200  # its own county
    assert world.simao.get(url).status_code == 403
    assert world.investor.get(url).status_code == 403
    with db.session_scope() as s:
        inst = s.get(Instance, matrix["instance"])
        inst.summary = {k: v for k, v in (inst.summary or {}).items() if k != "region_code"}
        inst.process_key = "annual_assessment"  # a city-wide cycle
    assert world.ninger.get(url).status_code == 403
    assert world.office.get(url).status_code == 200
