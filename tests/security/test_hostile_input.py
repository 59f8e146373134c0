"""Hostile and malformed input: 4xx with a message, never a 5xx, nothing stored (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

pytestmark = pytest.mark.parametrize("db_kind", ["sqlite", "pg"], indirect=True)

BIG = 2**64 + 7


def _instances(db):
    from app.models.runtime import Instance

    with db.read_scope() as s:
        return s.scalar(select(func.count(Instance.id)))


def _message(resp):
    body = resp.get_json()
    assert body and body["errors"][0]["message"], resp.get_data(as_text=True)[:300]
    return body["errors"][0]["message"]


START = "/api/v1/processes/onboarding/instances"


@pytest.mark.parametrize("body", [
    {"business_key": {}},
    {"business_key": ["a"]},
    {"business_key": "k" * 201},
    {"version": True},
    {"version": BIG},
    {"version": "1"},
    {"data": "x"},
    {"data": {"project_id": BIG}},
    {"data": {"amount": BIG}},
    {"data": {"name": "a\u0000b"}},
    {"data": {"a\u0000": 1}},
    {"data": {"x": {"y": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}},
])
def test_bad_start_bodies_are_4xx_and_store_nothing(world, db, body):
    resp = world.admin.post(START, json=body)
    assert 400 <= resp.status_code < 500, resp.get_data(as_text=True)[:300]
    _message(resp)
    assert _instances(db) == 0


@pytest.mark.parametrize("raw", [
    "[" * 100_000 + "]" * 100_000,
    '{"data": ' + '{"a": ' * 100_000 + "1" + "}" * 100_000 + "}",
    '{"data": {"x": NaN}}',
    '{"data": {"x": Infinity}}',
    '{"data": {"x": -Infinity}}',
    '{"data": {"x": 1e999}}',
    '{"data": {"x": "\\ud800"}}',
    '{"data": {"\\udfff": 1}}',
    '{"data": {"x": 1' + "0" * 5000 + "}}",
    "\xff\xfe not utf-8",
    "not json",
    "[]",
    "null",
])
def test_raw_bodies(world, db, raw):
    data = raw.encode("latin-1") if raw.startswith("\xff") else raw.encode()
    resp = world.admin.post(START, data=data, content_type="application/json")
    assert resp.status_code == 400, resp.get_data(as_text=True)[:300]
    _message(resp)
    assert _instances(db) == 0


@pytest.mark.parametrize("url", [
    f"/api/v1/instances/{BIG}", f"/api/v1/instances/{BIG}/events", f"/api/v1/tasks/{'x' * 5000}",
    "/api/v1/tasks/a%00b", f"/api/v1/processes/{'p' * 3000}/versions",
])
def test_bad_paths(world, url):
    resp = world.admin.get(url)
    assert resp.status_code in (400, 404), resp.status_code
    _message(resp)


@pytest.mark.parametrize("query", [
    f"page={BIG}", f"per_page={BIG}", "page=-1", "per_page=0", "page=true", f"instance_id={BIG}",
    "q=" + "%" * 60_000, "q=" + "_%" * 400, "q=a%00b", "region_code=%00", "page=1e3",
])
def test_bad_queries(world, query):
    resp = world.admin.get(f"/api/v1/tasks?{query}")
    assert resp.status_code == 400, (query[:40], resp.status_code)
    _message(resp)


def test_search_text_is_literal(world):
    assert world.admin.get("/api/v1/tasks?q=%25_").status_code == 200


def test_bad_action_bodies(world, db):
    inst = world.admin.post(START, json={"data": {"yellow_after": "P1D"}}).get_json()
    url = f"/api/v1/instances/{inst['id']}/migrate"
    for body in ({"to_version": True}, {"to_version": BIG}, {"to_version": 1, "dry_run": "yes"}, {}):
        assert world.admin.post(url, json=body).status_code == 400
    for body in ({"from_version": True, "to_version": 1}, {"from_version": 1, "to_version": 1, "status": {}}):
        assert world.admin.post("/api/v1/processes/onboarding/migrations", json=body).status_code == 400
    task = inst["tasks"][0]["id"]
    for body in ({"data": []}, {"data": {"project_name": "a\u0000"}}, {"data": {"amount_wan": BIG}}):
        assert world.admin.post(f"/api/v1/tasks/{task}/complete", json=body).status_code in (400, 422)
    for body in ({"business_key": {}}, {"broadcast": 1}, {"data": "x"}, {"correlation": []}):
        assert world.admin.post("/api/v1/messages/msg_exit", json=body).status_code == 400


def test_deep_deploy_files_are_refused(world, db):
    deep = ("{" + '"a":{' * 100_000 + "}" * 100_001).encode()
    resp = world.admin.post("/api/v1/deployments", data={"files": [(io.BytesIO(deep), "x.json")]},
                            content_type="multipart/form-data")
    assert resp.status_code == 422
    deep_xml = b"<a>" * 100_000 + b"</a>" * 100_000
    resp = world.admin.post("/api/v1/deployments", data={"files": [(io.BytesIO(deep_xml), "x.bpmn")]},
                            content_type="multipart/form-data")
    assert resp.status_code == 422


def test_405_carries_allow(world):
    resp = world.admin.open("/api/v1/tasks", "DELETE")
    assert resp.status_code == 405 and "GET" in resp.headers["Allow"]
    _message(resp)


def test_instance_data_never_emits_invalid_json(world, db):
    """A value the engine holds that JSON cannot (NaN, a lone surrogate) is normalised on the way out."""
    from app.services.runtime.instances import _jsonable

    out = _jsonable({"a": float("nan"), "b": float("inf"), "c": "x\ud800", "\udfff": 1})
    json.dumps(out, allow_nan=False).encode("utf-8")
    assert out["a"] is None and out["b"] is None


def test_pages_share_the_parser(world, client):
    from tests.web.helpers import login

    login(client, "admin")
    assert client.get("/inbox?q=a%00b").status_code == 400
    assert client.get(f"/admin/instances?page={BIG}").status_code == 400
    assert client.get(f"/admin/instances/{BIG}").status_code == 404
