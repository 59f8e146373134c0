"""The REST API against real SQLite and PostgreSQL."""

import io
from pathlib import Path

import pytest

FIX = Path(__file__).parent.parent / "fixtures" / "bpmn"
pytestmark = pytest.mark.parametrize("db_kind", ["sqlite", "pg"], indirect=True)


def _files(*names):
    return {"files": [(io.BytesIO((FIX / n).read_bytes()), n) for n in names]}


@pytest.fixture
def api(factory, client):
    token = factory.token("admin")

    class Api:
        def __init__(self, token):
            self.headers = {"Authorization": f"Bearer {token}"}

        def get(self, url, **kw):
            return client.get(url, headers=self.headers, **kw)

        def post(self, url, **kw):
            return client.post(url, headers=self.headers, **kw)

        def as_user(self, username):
            return Api(factory.token(username))

    return Api(token)


def _deploy(api):
    return api.post("/api/v1/deployments", data=_files("onboarding.bpmn", "ob-basic.json", "ob-basic-uischema.json"),
                    content_type="multipart/form-data")


def test_deploy_is_idempotent_and_versioned(api):
    first = _deploy(api)
    assert first.status_code == 201
    assert first.get_json()["versions"][0] | {"hash": None, "id": None, "warnings": None} == {
        "process_key": "onboarding", "version": 1, "created": True, "hash": None, "id": None, "warnings": None}
    # lint warnings come back with the answer: a user task without a form, naming file, element and line
    warning = next(w for w in first.get_json()["warnings"] if w["element_id"] == "escalate")
    assert warning["file"] == "onboarding.bpmn" and warning["line"] == 49 and "没有表单" in warning["message"]
    again = _deploy(api)
    assert again.status_code == 200
    assert again.get_json()["versions"][0]["created"] is False
    changed = (FIX / "onboarding.bpmn").read_bytes().replace("初审".encode(), "初审(修订)".encode())
    third = api.post("/api/v1/deployments", data={"files": [(io.BytesIO(changed), "onboarding.bpmn"),
                                                            (io.BytesIO((FIX / "ob-basic.json").read_bytes()),
                                                             "ob-basic.json"),
                                                            (io.BytesIO((FIX / "ob-basic-uischema.json").read_bytes()),
                                                             "ob-basic-uischema.json")]},
                     content_type="multipart/form-data")
    assert third.get_json()["versions"][0]["version"] == 2
    versions = api.get("/api/v1/processes/onboarding/versions").get_json()
    assert [v["version"] for v in versions["items"]] == [2, 1]
    assert api.get("/api/v1/processes").get_json()["items"][0]["latest_version"] == 2


def test_instances_stay_on_their_version(api):
    _deploy(api)
    old = api.post("/api/v1/processes/onboarding/instances", json={"data": {"yellow_after": "P1D"}}).get_json()
    changed = (FIX / "onboarding.bpmn").read_bytes().replace("初审".encode(), "初审v2".encode())
    api.post("/api/v1/deployments", data={"files": [(io.BytesIO(changed), "onboarding.bpmn"),
                                                    (io.BytesIO((FIX / "ob-basic.json").read_bytes()), "ob-basic.json"),
                                                    (io.BytesIO((FIX / "ob-basic-uischema.json").read_bytes()),
                                                     "ob-basic-uischema.json")]},
             content_type="multipart/form-data")
    new = api.post("/api/v1/processes/onboarding/instances", json={"data": {"yellow_after": "P1D"}}).get_json()
    pinned = api.post("/api/v1/processes/onboarding/instances",
                      json={"data": {"yellow_after": "P1D"}, "version": 1}).get_json()
    assert (old["version"], new["version"], pinned["version"]) == (1, 2, 1)
    task = old["tasks"][0]["id"]
    done = api.post(f"/api/v1/tasks/{task}/complete", json={"data": {"project_name": "a", "amount_wan": 1}})
    assert done.status_code == 200
    names = [t["name"] for t in api.get(f"/api/v1/instances/{old['id']}").get_json()["tasks"]]
    assert names == ["初审"]


def test_full_task_cycle_with_claim_and_conflicts(api, factory):
    _deploy(api)
    factory.org("city", "市招商委办公室")
    factory.user("office1", "zsw_office", org="city")
    factory.user("county1", "county_ipb")
    office, county = api.as_user("office1"), api.as_user("county1")
    inst = api.post("/api/v1/processes/onboarding/instances",
                    json={"data": {"yellow_after": "P1D"}, "business_key": "project-1"})
    assert inst.status_code == 201
    inst = inst.get_json()
    assert inst["status"] == "running"
    listing = office.get("/api/v1/tasks").get_json()
    assert listing["total"] == 1
    task_id = listing["items"][0]["id"]
    assert set(listing["items"][0]) >= {"id", "instance_id", "process_key", "element_id", "name", "lane", "assignee",
                                        "due_at"}
    assert county.get("/api/v1/tasks").get_json()["total"] == 0
    detail = office.get(f"/api/v1/tasks/{task_id}").get_json()
    assert detail["form"]["properties"]["amount_wan"]["title"] == "计划投资(万元)"
    assert county.post(f"/api/v1/tasks/{task_id}/claim").status_code == 403
    assert office.post(f"/api/v1/tasks/{task_id}/claim").get_json()["assignee"] == "office1"
    assert api.as_user("office1").post(f"/api/v1/tasks/{task_id}/claim").status_code == 200
    factory.user("office2", "zsw_office", org="city")
    other = api.as_user("office2")
    assert other.post(f"/api/v1/tasks/{task_id}/claim").status_code == 409
    assert other.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {}}).status_code == 403
    bad = office.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {"amount_wan": -5, "sign_date": "x"}})
    assert bad.status_code == 422
    errors = {e["field"]: e["message"] for e in bad.get_json()["errors"]}
    assert "此项为必填项" in errors["project_name"]
    assert "不能小于 0" in errors["amount_wan"]
    assert "日期" in errors["sign_date"]
    assert office.get(f"/api/v1/tasks/{task_id}").get_json()["state"] == "open"  # nothing changed
    ok = office.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {"project_name": "咖啡", "amount_wan": 10}})
    assert ok.status_code == 200
    assert office.post(f"/api/v1/tasks/{task_id}/complete",
                       json={"data": {"project_name": "咖啡", "amount_wan": 10}}).status_code == 409
    events = [e["type"] for e in api.get(f"/api/v1/instances/{inst['id']}/events").get_json()["items"]]
    assert events[:1] == ["instance_started"] and "task_claimed" in events and "task_completed" in events
    assert api.get(f"/api/v1/instances/{inst['id']}").get_json()["data"]["project_name"] == "咖啡"


def test_paging_and_filters(api):
    _deploy(api)
    for i in range(5):
        api.post("/api/v1/processes/onboarding/instances", json={"data": {"yellow_after": "P1D", "region_code":
                                                                          "530802" if i % 2 else "530827"}})
    page = api.get("/api/v1/tasks?per_page=2&page=2").get_json()
    assert page["total"] == 5 and len(page["items"]) == 2
    assert api.get("/api/v1/tasks?region_code=530827").get_json()["total"] == 3
    assert api.get("/api/v1/tasks?element_id=ut2").get_json()["total"] == 0
    assert api.get("/api/v1/tasks?page=x").status_code == 400


def test_auth_errors_and_cancel_suspend_resume(api, client, factory):
    assert client.get("/api/v1/tasks").status_code == 401
    assert client.get("/api/v1/tasks", headers={"Authorization": "Bearer nope"}).status_code == 401
    _deploy(api)
    inst = api.post("/api/v1/processes/onboarding/instances", json={"data": {"yellow_after": "P1D"}}).get_json()
    factory.user("viewer", "leader")
    assert api.as_user("viewer").post(f"/api/v1/instances/{inst['id']}/cancel").status_code == 403
    assert api.post(f"/api/v1/instances/{inst['id']}/suspend").get_json()["status"] == "suspended"
    task_id = inst["tasks"][0]["id"]
    assert api.post(f"/api/v1/tasks/{task_id}/complete",
                    json={"data": {"project_name": "a", "amount_wan": 1}}).status_code == 409
    assert api.post(f"/api/v1/instances/{inst['id']}/resume").get_json()["status"] == "running"
    assert api.post(f"/api/v1/instances/{inst['id']}/cancel").get_json()["status"] == "cancelled"
    assert api.get("/api/v1/tasks").get_json()["total"] == 0
    assert api.post(f"/api/v1/instances/{inst['id']}/cancel").status_code == 409
    assert api.get("/api/v1/instances/999999").status_code == 404
    assert api.post("/api/v1/processes/nope/instances", json={}).status_code == 404
    assert api.post("/api/v1/processes/onboarding/instances", data="not json",
                    content_type="application/json").status_code == 400


def test_openapi_and_healthz(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    for path in ("/api/v1/deployments", "/api/v1/tasks/{task_id}/complete", "/api/v1/messages/{name}"):
        assert path in doc["paths"]
    assert client.get("/healthz").get_json()["status"] == "ok"


def test_deploy_refusal_format(api):
    bad = api.post("/api/v1/deployments", data={"files": [(io.BytesIO(b"<bpmn:definitions"), "x.bpmn")]},
                   content_type="multipart/form-data")
    assert bad.status_code == 422
    err = bad.get_json()["errors"][0]
    assert err["file"] == "x.bpmn" and err["line"] == 1 and "XML" in err["message"]
    assert api.get("/api/v1/processes").get_json()["total"] == 0
