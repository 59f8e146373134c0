"""Projects and target enterprises as records over the API (issue #11): role + jurisdiction, 422 per
field with nothing stored, scoped listing and reading, audit events."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select


@pytest.fixture
def ref(db, factory):
    from app.models.domain import Chain, Park, Region

    with db.session_scope() as s:
        s.add_all([Region(code="530802", name="思茅区", short_name="思茅", sort_order=1),
                   Region(code="530821", name="宁洱县", short_name="宁洱", sort_order=2),
                   Chain(code="C01", name="茶产业链", lead_org_unit_key="tea_center")])
        s.flush()
        s.add(Park(code="PK01", name="普洱工业园区", region_code="530802"))
    factory.org("office", "市招商委办公室")
    factory.org("simao_ipb", "思茅区投资促进局", region_code="530802")
    factory.org("ninger_ipb", "宁洱县投资促进局", region_code="530821")
    factory.org("eco", "市生态环境局")
    factory.user("office", "zsw_office", org="office")
    factory.user("county", "county_ipb", org="simao_ipb")
    factory.user("ninger", "county_ipb", org="ninger_ipb")
    factory.user("eco1", "eco", org="eco")
    return {u: {"Authorization": f"Bearer {factory.token(u)}"} for u in ("admin", "office", "county", "ninger", "eco1")}


def _count(db, model):
    with db.read_scope() as s:
        return s.scalar(select(func.count()).select_from(model))


GOOD = {"name": "普洱茶精制厂", "region_code": "530802", "amount_wan": 15000, "chain_code": "C01",
        "park_code": "PK01", "enterprise_name": "云岭茗源茶业", "industry": "茶叶加工", "source": "线索"}


def test_county_creates_project_in_own_county_with_tier_from_d1(client, db, ref):
    from app.models.runtime import AuditEvent

    r = client.post("/api/v1/projects", json=GOOD, headers=ref["county"])
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["id"] and body["code"].startswith("XM")
    assert body["tier"] == "重点"  # ≥ 1亿元 (D1)
    assert body["park_code"] == "PK01" and body["enterprise_name"] == "云岭茗源茶业"
    assert body["stage"] == "S1_PLAN" and body["library_status"] == "待招商" and body["created_by"] == "county"
    with db.read_scope() as s:
        types = set(s.scalars(select(AuditEvent.type)))
    assert {"project_created", "enterprise_created"} <= types
    big = client.post("/api/v1/projects", json={**GOOD, "name": "大项目", "amount_wan": 120000},
                      headers=ref["office"])
    assert big.status_code == 201 and big.get_json()["tier"] == "重大"
    given = client.post("/api/v1/projects", json={**GOOD, "name": "指定级别", "tier": "一般"}, headers=ref["admin"])
    assert given.get_json()["tier"] == "一般"


def test_other_county_and_non_editors_are_refused(client, db, ref):
    from app.models.domain import Project

    assert client.post("/api/v1/projects", json=GOOD, headers=ref["ninger"]).status_code == 403
    assert client.post("/api/v1/projects", json=GOOD, headers=ref["eco1"]).status_code == 403
    assert client.post("/api/v1/projects", json=GOOD).status_code == 401
    assert _count(db, Project) == 0
    assert client.post("/api/v1/projects", json={**GOOD, "region_code": "530821"}, headers=ref["office"]).status_code == 201


@pytest.mark.parametrize("change,field,text", [
    ({"name": ""}, "name", "项目名称为必填项"),
    ({"amount_wan": 0}, "amount_wan", "必须大于 0"),
    ({"amount_wan": -5}, "amount_wan", "必须大于 0"),
    ({"amount_wan": "很多"}, "amount_wan", "应为数字"),
    ({"region_code": "999999"}, "region_code", "未知的县(区)"),
    ({"chain_code": "C99"}, "chain_code", "未知的产业链"),
    ({"park_code": "PK99"}, "park_code", "未知的园区"),
    ({"source": "网上"}, "source", "项目来源应为"),
])
def test_422_per_field_nothing_stored(client, db, ref, change, field, text):
    from app.models.domain import Enterprise, Project

    r = client.post("/api/v1/projects", json={**GOOD, **change}, headers=ref["county"])
    assert r.status_code == 422
    errors = r.get_json()["errors"]
    assert any(e.get("field") == field and text in e["message"] for e in errors), errors
    assert _count(db, Project) == 0 and _count(db, Enterprise) == 0


def test_duplicate_name_in_same_county_only(client, ref):
    assert client.post("/api/v1/projects", json=GOOD, headers=ref["county"]).status_code == 201
    dup = client.post("/api/v1/projects", json=GOOD, headers=ref["county"])
    assert dup.status_code == 422 and dup.get_json()["errors"][0]["field"] == "name"
    assert "同名项目" in dup.get_json()["errors"][0]["message"]
    other = client.post("/api/v1/projects", json={**GOOD, "region_code": "530821"}, headers=ref["ninger"])
    assert other.status_code == 201


def test_listing_reading_and_patch_are_scoped(client, ref):
    simao = client.post("/api/v1/projects", json=GOOD, headers=ref["county"]).get_json()["id"]
    ninger = client.post("/api/v1/projects", json={**GOOD, "name": "宁洱咖啡", "region_code": "530821",
                                                   "park_code": None}, headers=ref["ninger"]).get_json()["id"]
    mine = client.get("/api/v1/projects", headers=ref["county"]).get_json()
    assert [p["id"] for p in mine["items"]] == [simao] and mine["total"] == 1
    assert client.get("/api/v1/projects?region_code=530821", headers=ref["county"]).get_json()["total"] == 0
    everyone = client.get("/api/v1/projects?per_page=1&page=2", headers=ref["office"]).get_json()
    assert everyone["total"] == 2 and len(everyone["items"]) == 1
    assert client.get("/api/v1/projects?tier=重点&q=宁洱", headers=ref["office"]).get_json()["items"][0]["id"] == ninger
    assert client.get(f"/api/v1/projects/{ninger}", headers=ref["county"]).status_code == 403
    assert client.get(f"/api/v1/projects/{simao}", headers=ref["county"]).get_json()["name"] == GOOD["name"]
    assert client.get("/api/v1/projects/9999", headers=ref["county"]).status_code == 404
    assert client.patch(f"/api/v1/projects/{ninger}", json={"amount_wan": 5}, headers=ref["county"]).status_code == 403
    moved = client.patch(f"/api/v1/projects/{simao}", json={"region_code": "530821"}, headers=ref["county"])
    assert moved.status_code == 403
    bad = client.patch(f"/api/v1/projects/{simao}", json={"amount_wan": 0}, headers=ref["county"])
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "amount_wan"
    ok = client.patch(f"/api/v1/projects/{simao}", json={"amount_wan": 200000, "tier": "重大"}, headers=ref["county"])
    assert ok.status_code == 200 and ok.get_json()["amount_wan"] == 200000 and ok.get_json()["tier"] == "重大"


def test_enterprises(client, db, ref):
    from app.models.domain import Enterprise

    r = client.post("/api/v1/enterprises", json={"name": "沪上醇豆咖啡", "chain_code": "C01",
                                                 "rank_tags": ["中国民营企业500强"]}, headers=ref["county"])
    assert r.status_code == 201
    eid = r.get_json()["id"]
    assert client.post("/api/v1/enterprises", json={"name": "沪上醇豆咖啡"}, headers=ref["office"]).status_code == 422
    bad = client.post("/api/v1/enterprises", json={"name": "", "uscc": "123", "chain_code": "X"}, headers=ref["office"])
    assert {e["field"] for e in bad.get_json()["errors"]} == {"name", "uscc", "chain_code"}
    assert client.post("/api/v1/enterprises", json={"name": "某企业"}, headers=ref["eco1"]).status_code == 403
    assert _count(db, Enterprise) == 1
    assert client.get("/api/v1/enterprises?q=醇豆", headers=ref["eco1"]).get_json()["total"] == 1
    assert client.get(f"/api/v1/enterprises/{eid}", headers=ref["ninger"]).status_code == 200
    assert client.patch(f"/api/v1/enterprises/{eid}", json={"industry": "咖啡"}, headers=ref["eco1"]).status_code == 403
    assert client.patch(f"/api/v1/enterprises/{eid}", json={"industry": "咖啡"},
                        headers=ref["office"]).get_json()["industry"] == "咖啡"
    # a project naming this enterprise by id; 500强 + ≥5亿 → 重大
    p = client.post("/api/v1/projects", json={"name": "咖啡精深加工", "region_code": "530802", "amount_wan": 60000,
                                              "enterprise_id": eid}, headers=ref["county"])
    assert p.status_code == 201 and p.get_json()["tier"] == "重大"
    assert client.post("/api/v1/projects", json={"name": "x", "region_code": "530802", "amount_wan": 1,
                                                 "enterprise_id": 999}, headers=ref["county"]).status_code == 422


NEW_API_ROUTES = [("POST", "/api/v1/projects"), ("GET", "/api/v1/projects"), ("GET", "/api/v1/projects/1"),
                  ("PATCH", "/api/v1/projects/1"), ("POST", "/api/v1/enterprises"), ("GET", "/api/v1/enterprises"),
                  ("GET", "/api/v1/enterprises/1"), ("PATCH", "/api/v1/enterprises/1"),
                  ("POST", "/api/v1/tasks/x/assign"), ("POST", "/api/v1/tasks/x/delegate"),
                  ("GET", "/api/v1/tasks/x/candidates"), ("GET", "/api/v1/me/absence"),
                  ("PUT", "/api/v1/me/absence"), ("DELETE", "/api/v1/me/absence")]
NEW_PAGES = [("GET", "/projects/new"), ("POST", "/projects/new"), ("GET", "/projects/1/edit"),
             ("POST", "/projects/1/edit"), ("POST", "/projects/1/admission"), ("POST", "/tasks/x/assign"),
             ("POST", "/tasks/x/delegate"), ("GET", "/me/absence"), ("POST", "/me/absence"), ("GET", "/start"),
             ("GET", "/start/library_admission"), ("POST", "/start/library_admission")]


@pytest.mark.parametrize("method,path", NEW_API_ROUTES)
def test_new_api_routes_need_a_token(client, ref, method, path):
    assert client.open(path, method=method, json={}).status_code == 401
    bad = client.open(path, method=method, json={}, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401


@pytest.mark.parametrize("method,path", NEW_PAGES)
def test_new_pages_need_a_session(client, ref, method, path):
    r = client.open(path, method=method, data={})
    assert r.status_code in (302, 400, 401, 403)  # GET → login redirect; POST without session/CSRF refused
    if method == "GET":
        assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_project_writes_without_editor_role_are_403_everywhere(client, ref):
    eco = ref["eco1"]
    assert client.post("/api/v1/projects", json=GOOD, headers=eco).status_code == 403
    pid = client.post("/api/v1/projects", json=GOOD, headers=ref["office"]).get_json()["id"]
    assert client.patch(f"/api/v1/projects/{pid}", json={"amount_wan": 9}, headers=eco).status_code == 403
    assert client.get(f"/api/v1/projects/{pid}", headers=eco).status_code == 200  # city-level reader
    assert client.get("/api/v1/me/absence", headers=eco).get_json() == {"absence": None}
