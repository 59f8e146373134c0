"""/metrics: authorization, and every family moves as work happens (real database, moved clock)."""

from __future__ import annotations

import pytest

from tests.ops.conftest import sample
from tests.support import FAILURES
from tests.web.helpers import login


def test_metrics_needs_a_token_or_session_with_metrics_or_admin_role(client, factory):
    factory.user("office", "zsw_office")
    factory.user("prom", "metrics")
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer ifw_wrong"}).status_code == 401
    office = factory.token("office")
    assert client.get("/metrics", headers={"Authorization": f"Bearer {office}"}).status_code == 403
    for user in ("prom", "admin"):
        token = factory.token(user)
        assert client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    other = client.application.test_client()
    login(other, "office")
    assert other.get("/metrics").status_code == 403
    admin = client.application.test_client()
    login(admin, "admin")
    body = admin.get("/metrics")
    assert body.status_code == 200 and b"investflow_instances" in body.data


def test_http_counter_and_latency_histogram_by_route_template_and_status(client, factory, scrape):
    factory.deploy_onboarding()
    inst = factory.start()
    token = factory.token("admin")
    route = "/api/v1/instances/<int:instance_id>"
    before = scrape()
    count0 = sample(before, "investflow_http_requests_total", route=route, status="200")
    hist0 = sample(before, "investflow_http_request_duration_seconds_count", route=route, status="200")
    missing0 = sample(before, "investflow_http_requests_total", route=route, status="404")
    for _ in range(3):
        assert client.get(f"/api/v1/instances/{inst['id']}", headers={"Authorization": f"Bearer {token}"}
                          ).status_code == 200
    assert client.get("/api/v1/instances/999999", headers={"Authorization": f"Bearer {token}"}).status_code == 404
    client.get("/no/such/page/123")
    after = scrape()
    assert sample(after, "investflow_http_requests_total", route=route, status="200") == count0 + 3
    assert sample(after, "investflow_http_request_duration_seconds_count", route=route, status="200") == hist0 + 3
    assert sample(after, "investflow_http_requests_total", route=route, status="404") == missing0 + 1
    assert sample(after, "investflow_http_request_duration_seconds_bucket", route=route, status="200", le="+Inf") \
        == hist0 + 3
    # raw paths never become labels
    assert "/api/v1/instances/" + str(inst["id"]) not in after and "/no/such/page/123" not in after
    assert 'route="<unmatched>"' in after


def test_deploys_instances_and_open_tasks_follow_the_database(factory, scrape):
    before = scrape()
    assert sample(before, "investflow_deploys_total", process="onboarding") == 0
    factory.deploy_onboarding()
    factory.deploy_onboarding()  # identical content: no new version, no deploy
    text = scrape()
    assert sample(text, "investflow_deploys_total", process="onboarding") == 1
    first, second = factory.start(), factory.start()
    text = scrape()
    assert sample(text, "investflow_instances", process="onboarding", status="running") == 2
    assert sample(text, "investflow_tasks_open", process="onboarding", light="green") == 2
    factory.complete(factory.open_tasks(first["id"])["ut1"], {"project_name": "甲", "amount_wan": 1})
    text = scrape()
    assert sample(text, "investflow_tasks_open", process="onboarding", light="green") == 2  # ut1 → ut2
    from app.services.runtime import instances

    with factory.db.session_scope() as s:
        instances.cancel_instance(s, second["id"], "admin")
    text = scrape()
    assert sample(text, "investflow_instances", process="onboarding", status="running") == 1
    assert sample(text, "investflow_instances", process="onboarding", status="cancelled") == 1
    assert sample(text, "investflow_tasks_open", process="onboarding") == 1


def test_hot_instance_reuse_is_counted(factory, scrape):
    factory.deploy_onboarding()
    before = scrape()
    hits0 = sample(before, "investflow_hot_instances_total", outcome="hit")
    inst = factory.start()
    factory.complete(factory.open_tasks(inst["id"])["ut1"], {"project_name": "甲", "amount_wan": 1})
    text = scrape()
    assert sample(text, "investflow_hot_instances_total", outcome="hit") == hits0 + 1
    assert sample(text, "investflow_hot_instances_kept") == 1
    factory.db.caches.hot.clear()
    factory.complete(factory.open_tasks(inst["id"])["ut2"], {"project_name": "甲", "amount_wan": 1})
    text = scrape()
    assert sample(text, "investflow_hot_instances_total", outcome="miss") >= 1
    assert sample(text, "investflow_hot_instances_total", outcome="hit") == hits0 + 1


def test_due_jobs_lag_job_runs_lights_and_incidents(factory, clock, scrape):
    factory.deploy_onboarding()
    factory.start()
    text = scrape()
    assert sample(text, "investflow_jobs_due") == 0 and sample(text, "investflow_job_lag_seconds") == 0
    ok0 = sample(text, "investflow_jobs_run_total", kind="timer", outcome="ok")
    retry0 = sample(text, "investflow_jobs_run_total", kind="retry", outcome="ok")
    clock.advance("P1DT1H")  # the yellow timer (P1D) is an hour late
    text = scrape()
    assert sample(text, "investflow_jobs_due", kind="timer") == 1
    assert 3500 <= sample(text, "investflow_job_lag_seconds") <= 3700
    FAILURES["test_record"] = 5  # the yellow notice fails: retries, then an incident
    assert factory.run_jobs() == 1
    text = scrape()
    assert sample(text, "investflow_jobs_run_total", kind="timer", outcome="ok") == ok0 + 1
    assert sample(text, "investflow_jobs_due") == 0 and sample(text, "investflow_job_lag_seconds") == 0
    assert sample(text, "investflow_tasks_open", process="onboarding", light="yellow") == 1
    assert sample(text, "investflow_tasks_open", process="onboarding", light="green") == 0
    assert sample(text, "investflow_incidents_open") == 0
    clock.advance("PT61S")
    factory.run_jobs()
    clock.advance("PT121S")
    factory.run_jobs()
    text = scrape()
    assert sample(text, "investflow_jobs_run_total", kind="retry", outcome="ok") == retry0 + 2
    assert sample(text, "investflow_incidents_open") == 1
    assert sample(text, "investflow_instances", process="onboarding", status="error") == 1


@pytest.mark.parametrize("header,kept", [("abc-123_x.y", True), ("bad id with spaces", False), ("x" * 200, False)])
def test_request_id_is_returned_and_written_on_audit_events(client, factory, db, header, kept):
    from sqlalchemy import select

    from app.models.runtime import AuditEvent

    factory.deploy_onboarding()
    token = factory.token("admin")
    response = client.post("/api/v1/processes/onboarding/instances", json={"data": {"yellow_after": "P1D"}},
                           headers={"Authorization": f"Bearer {token}", "X-Request-Id": header})
    assert response.status_code == 201, response.get_data(as_text=True)
    rid = response.headers["X-Request-Id"]
    assert (rid == header) is kept and 1 <= len(rid) <= 64
    with db.read_scope() as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.type == "instance_started"))
        assert event.request_id == rid
    events = client.get(f"/api/v1/instances/{response.get_json()['id']}/events",
                        headers={"Authorization": f"Bearer {token}"}).get_json()
    started = [e for e in events["items"] if e["type"] == "instance_started"]
    assert started[0]["request_id"] == rid


def test_json_log_lines_for_requests_and_job_runs(client, factory, clock, db):
    import io
    import json
    import logging

    from sqlalchemy import select

    from app.models.runtime import AuditEvent
    from app.ops import logs

    stream = io.StringIO()
    handler = logs._JsonLineHandler(stream)
    logs.ACCESS.addHandler(handler)
    logs.JOBS.addHandler(handler)
    try:
        factory.deploy_onboarding()
        inst = factory.start()
        token = factory.token("admin")
        r = client.get(f"/api/v1/instances/{inst['id']}", headers={"Authorization": f"Bearer {token}"})
        clock.advance("P1DT1M")
        factory.run_jobs()
    finally:
        logs.ACCESS.removeHandler(handler)
        logs.JOBS.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    req = [x for x in lines if x["kind"] == "request" and x["request_id"] == r.headers["X-Request-Id"]]
    assert len(req) == 1
    assert req[0]["user"] == "admin" and req[0]["route"] == "/api/v1/instances/<int:instance_id>"
    assert req[0]["status"] == 200 and req[0]["duration_ms"] >= 0 and req[0]["time"].endswith("+00:00")
    job = [x for x in lines if x["kind"] == "job"]
    assert len(job) == 1 and job[0]["job_kind"] == "timer" and job[0]["outcome"] == "ok"
    assert job[0]["instance_id"] == inst["id"] and job[0]["element_id"] == "yellow1"
    with db.read_scope() as s:
        fired = s.scalar(select(AuditEvent).where(AuditEvent.type == "timer_fired"))
        assert fired.request_id == job[0]["request_id"]
    assert logging.getLogger("investflow.access").propagate is False
