"""Reassign, delegate and stand in (issue #11) over the API, on a diagram whose lanes are narrowed
by ``L_org`` / ``L_user`` (docs/CONTRACTS.md): 200 / 403 / 422 / 409 cases, the held task completed
only by its holder, absences routing new tasks to the deputy, and the moved clock ending them."""

from __future__ import annotations

import pytest

# the candidate columns are matched with LIKE (autoescaped): the same on SQLite and PostgreSQL
BOTH = pytest.mark.parametrize("db_kind", ["sqlite", "pg"], indirect=True)


@pytest.fixture
def org(factory, db):
    factory.org("office", "市招商委办公室")
    factory.org("simao_gov", "思茅区人民政府", region_code="530802")
    from app.services.domain import users

    with db.session_scope() as s:  # the IPB under the county government (a leader's unit tree)
        users.create_org(s, "simao_ipb", "思茅区投资促进局", region_code="530802", parent_key="simao_gov")
        users.create_org(s, "simao_park", "思茅片区管委会", region_code="530802", parent_key="simao_gov")
        users.create_org(s, "ninger_gov", "宁洱县人民政府", region_code="530821")
    factory.user("office", "zsw_office", org="office")
    factory.user("unit_a", "responsible_unit", org="simao_ipb")
    factory.user("unit_b", "responsible_unit", org="simao_ipb")
    factory.user("clerk", "county_ipb", org="simao_ipb")
    factory.user("park_unit", "responsible_unit", org="simao_park")
    factory.user("sc", "service_commissioner", org="simao_ipb")
    factory.user("sc2", "service_commissioner", org="simao_ipb")
    factory.user("simao_leader", "leader", "county_gov", org="simao_gov")
    factory.user("ninger_leader", "leader", org="ninger_gov")
    factory.deploy("named_lanes.bpmn")
    return {u: {"Authorization": f"Bearer {factory.token(u)}"} for u in (
        "admin", "office", "unit_a", "unit_b", "clerk", "park_unit", "sc", "sc2", "simao_leader", "ninger_leader")}


def _start(factory, **data):
    info = factory.start("named_lanes", data={"region_code": "530802", "responsible_unit_org": "simao_ipb",
                                              "service_commissioner_user": "sc", **data})
    return info["id"]


def _task(factory, iid, element):
    return factory.open_tasks(iid)[element]


@BOTH
def test_assign_by_office_leader_and_admin_with_403_and_422(client, factory, org):
    iid = _start(factory)
    tid = _task(factory, iid, "unit_task")
    url = f"/api/v1/tasks/{tid}/assign"
    assert client.post(url, json={"assignee": "unit_a"}).status_code == 401
    for who in ("unit_b", "clerk", "ninger_leader"):
        r = client.post(url, json={"assignee": "unit_a"}, headers=org[who])
        assert r.status_code == 403, who
    bad = client.post(url, json={"assignee": "park_unit"}, headers=org["office"])
    assert bad.status_code == 422 and "不属于指定单位" in bad.get_json()["errors"][0]["message"]
    norole = client.post(url, json={"assignee": "clerk"}, headers=org["office"])
    assert norole.status_code == 422 and "没有角色" in norole.get_json()["errors"][0]["message"]
    ghost = client.post(url, json={"assignee": "nobody"}, headers=org["office"])
    assert ghost.status_code == 422 and ghost.get_json()["errors"][0]["field"] == "assignee"
    cands = client.get(f"/api/v1/tasks/{tid}/candidates", headers=org["office"]).get_json()
    assert {c["username"] for c in cands["items"]} == {"unit_a", "unit_b"}
    assert client.get(f"/api/v1/tasks/{tid}/candidates", headers=org["park_unit"]).status_code == 403

    ok = client.post(url, json={"assignee": "unit_a"}, headers=org["simao_leader"])  # leader of the unit's parent
    assert ok.status_code == 200 and ok.get_json()["assignee"] == "unit_a"
    # held by unit_a: a colleague (a candidate too) may not complete it; the 403 names the holder
    refused = client.post(f"/api/v1/tasks/{tid}/complete", json={"data": {}}, headers=org["unit_b"])
    assert refused.status_code == 403 and "unit_a" in refused.get_json()["errors"][0]["message"]
    admin = client.post(f"/api/v1/tasks/{tid}/complete", json={"data": {}}, headers=org["admin"])
    assert admin.status_code == 403  # admins reassign first
    again = client.post(url, json={"assignee": "unit_b"}, headers=org["admin"])
    assert again.status_code == 200 and again.get_json()["assignee"] == "unit_b"
    done = client.post(f"/api/v1/tasks/{tid}/complete", json={"data": {}}, headers=org["unit_b"])
    assert done.status_code == 200
    gone = client.post(url, json={"assignee": "unit_a"}, headers=org["office"])
    assert gone.status_code == 409


def test_delegate_to_a_colleague_of_the_same_unit(client, factory, org):
    iid = _start(factory)
    tid = _task(factory, iid, "unit_task")
    assert client.post(f"/api/v1/tasks/{tid}/claim", headers=org["unit_a"]).status_code == 200
    url = f"/api/v1/tasks/{tid}/delegate"
    other = client.post(url, json={"assignee": "unit_a"}, headers=org["unit_b"])
    assert other.status_code == 403 and "unit_a" in other.get_json()["errors"][0]["message"]
    far = client.post(url, json={"assignee": "park_unit"}, headers=org["unit_a"])
    assert far.status_code == 422 and "本单位同事" in far.get_json()["errors"][0]["message"]
    ok = client.post(url, json={"assignee": "clerk"}, headers=org["unit_a"])
    assert ok.status_code == 200 and ok.get_json()["assignee"] == "clerk"
    mine = client.get("/api/v1/tasks", headers=org["clerk"]).get_json()
    assert [t["id"] for t in mine["items"]] == [tid]
    assert client.post(f"/api/v1/tasks/{tid}/complete", json={"data": {}}, headers=org["unit_a"]).status_code == 403
    assert client.post(f"/api/v1/tasks/{tid}/complete", json={"data": {}}, headers=org["clerk"]).status_code == 200


@BOTH
def test_named_person_and_absence_routes_new_tasks_to_the_deputy(client, factory, org, clock):
    # sc is away for two days from today; sc2 (same unit) stands in
    today = clock.now().date()
    bad = client.put("/api/v1/me/absence", json={"deputy": "park_unit", "from": today.isoformat(),
                                                 "to": today.isoformat()}, headers=org["sc"])
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "deputy"
    backwards = client.put("/api/v1/me/absence", json={"deputy": "sc2", "from": "2026-12-05", "to": "2026-12-01"},
                           headers=org["sc"])
    assert backwards.status_code == 422 and backwards.get_json()["errors"][0]["field"] == "to"
    assert client.put("/api/v1/me/absence", json={"deputy": "sc2"}, headers=org["sc"]).status_code == 422
    import datetime as dt

    put = client.put("/api/v1/me/absence", json={"deputy": "sc2", "from": (today - dt.timedelta(days=1)).isoformat(),
                                                 "to": (today + dt.timedelta(days=1)).isoformat()}, headers=org["sc"])
    assert put.status_code == 200 and put.get_json()["absence"]["deputy"] == "sc2"
    assert client.get("/api/v1/me/absence", headers=org["sc"]).get_json()["absence"]["deputy"] == "sc2"

    iid = _start(factory)
    factory.complete(_task(factory, iid, "unit_task"), username="unit_a")
    tid = _task(factory, iid, "sc_task")
    seen = lambda who: [t["id"] for t in client.get("/api/v1/tasks", headers=org[who]).get_json()["items"]]  # noqa: E731
    assert tid in seen("sc2") and tid not in seen("sc")

    clock.advance("P3D")  # the absence is over: the next task names sc again
    iid2 = _start(factory)
    factory.complete(_task(factory, iid2, "unit_task"), username="unit_a")
    tid2 = _task(factory, iid2, "sc_task")
    assert tid2 in seen("sc") and tid2 not in seen("sc2")
    assert client.delete("/api/v1/me/absence", headers=org["sc"]).get_json() == {"absence": None}


@BOTH
def test_without_named_keys_the_lane_falls_back_to_role_and_county(client, factory, org):
    iid = factory.start("named_lanes", data={"region_code": "530802"})["id"]
    tid = _task(factory, iid, "unit_task")
    seen = lambda who: [t["id"] for t in client.get("/api/v1/tasks", headers=org[who]).get_json()["items"]]  # noqa: E731
    assert tid in seen("unit_a") and tid in seen("park_unit")  # same county, role responsible_unit
    narrowed = _start(factory, responsible_unit_org=["simao_park"])
    tid2 = _task(factory, narrowed, "unit_task")
    assert tid2 in seen("park_unit") and tid2 not in seen("unit_a")


def test_task_page_assign_delegate_and_inbox_tabs(client, factory, org):
    import re

    from tests.web.helpers import csrf, login

    iid = _start(factory)
    tid = _task(factory, iid, "unit_task")
    login(client, "office", )
    page = client.get(f"/tasks/{tid}").get_data(as_text=True)
    assert 'id="assign-form"' in page and 'value="unit_a"' in page and 'value="park_unit"' not in page
    token = csrf(client, f"/tasks/{tid}")
    assert client.post(f"/tasks/{tid}/assign", data={"assignee": "unit_a", "csrf_token": token}).status_code == 302
    client.post("/logout", data={"csrf_token": token})

    def counts(html):
        return {tab: int(n) for tab, n in re.findall(r'data-tab="(\w+)">[^<]*<span class="count">(\d+)</span>', html)}

    login(client, "unit_b")
    html = client.get("/inbox").get_data(as_text=True)
    assert counts(html) == {"mine": 0, "unit": 1, "done": 0}  # the unit's task, held by unit_a
    client.post("/logout", data={"csrf_token": csrf(client, "/inbox")})
    login(client, "unit_a")
    html = client.get("/inbox?tab=mine").get_data(as_text=True)
    assert counts(html) == {"mine": 1, "unit": 1, "done": 0} and tid in html
    page = client.get(f"/tasks/{tid}").get_data(as_text=True)
    assert 'id="delegate-form"' in page and 'value="unit_b"' in page and 'id="assign-form"' not in page
    token = csrf(client, f"/tasks/{tid}")
    assert client.post(f"/tasks/{tid}", data={"action": "complete", "csrf_token": token}).status_code in (302, 303)
    html = client.get("/inbox?tab=done").get_data(as_text=True)
    assert counts(html)["done"] == 1 and tid in html
    assert client.get("/me/absence").status_code == 200
    bad = client.post("/me/absence", data={"deputy": "unit_b", "from": "2026-12-09", "to": "2026-12-01",
                                          "csrf_token": token})
    assert bad.status_code == 422 and "结束日期不能早于开始日期" in bad.get_data(as_text=True)


def test_api_task_list_scopes(client, factory, org):
    iid = _start(factory)
    tid = _task(factory, iid, "unit_task")
    assert client.post(f"/api/v1/tasks/{tid}/claim", headers=org["unit_a"]).status_code == 200
    mine = client.get("/api/v1/tasks?scope=mine", headers=org["unit_a"]).get_json()
    assert [t["id"] for t in mine["items"]] == [tid]
    assert client.get("/api/v1/tasks?scope=mine", headers=org["unit_b"]).get_json()["total"] == 0
    assert client.post(f"/api/v1/tasks/{tid}/complete", json={"data": {}}, headers=org["unit_a"]).status_code == 200
    done = client.get("/api/v1/tasks?scope=done", headers=org["unit_a"]).get_json()
    assert [(t["id"], t["completed_by"]) for t in done["items"]] == [(tid, "unit_a")]
    assert client.get("/api/v1/tasks?scope=done", headers=org["unit_b"]).get_json()["total"] == 0
