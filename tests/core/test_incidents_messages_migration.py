"""Service failures become retries then incidents; messages correlate; migrations are checked."""

import io
from pathlib import Path

import pytest
from sqlalchemy import select

from app.errors import NotFound
from app.models.runtime import Incident, Instance, Job
from app.services import jobs
from app.services.runtime import messages, migration
from tests.support import CALLS, FAILURES

FIX = Path(__file__).parent.parent / "fixtures" / "bpmn"


def _to_yellow(factory, clock):
    factory.deploy_onboarding()
    inst = factory.start()
    clock.advance("P1DT1M")
    return inst


def test_failing_handler_is_retried_with_backoff_then_becomes_incident(factory, clock, db):
    FAILURES["test_record"] = 5
    inst = _to_yellow(factory, clock)
    factory.run_jobs()  # timer fires, service fails: attempt 1 → retry job
    with db.read_scope() as s:
        retry = s.scalar(select(Job).where(Job.kind == "retry"))
        assert retry.attempts == 1 and "simulated outage" in retry.last_error
        assert s.get(Instance, inst["id"]).status == "running"  # the user task stays workable
    clock.advance("PT61S")
    factory.run_jobs()  # attempt 2
    clock.advance("PT121S")
    factory.run_jobs()  # attempt 3 = last → incident
    with db.read_scope() as s:
        incident = s.scalar(select(Incident))
        assert incident.element_id == "svc_yellow" and "simulated outage" in incident.message
        assert incident.stack and s.get(Instance, inst["id"]).status == "error"
        assert s.scalar(select(Job).where(Job.kind == "retry")) is None
    FAILURES["test_record"] = 0
    with db.session_scope() as s:
        jobs.retry_incident(s, incident.id, "admin")
    assert CALLS == [{"level": "yellow", "project_name": "测试项目"}]
    with db.read_scope() as s:
        assert s.get(Instance, inst["id"]).status == "running"
        assert s.get(Incident, incident.id).status == "resolved"


def test_incident_retry_over_api_and_no_500(factory, clock, client, db):
    FAILURES["test_record"] = 3
    _to_yellow(factory, clock)
    for step in ("PT1S", "PT61S", "PT121S"):
        clock.advance(step)
        factory.run_jobs()
    token = factory.token("admin")
    headers = {"Authorization": f"Bearer {token}"}
    items = client.get("/api/v1/incidents", headers=headers).get_json()["items"]
    assert len(items) == 1
    FAILURES["test_record"] = 0
    assert client.post(f"/api/v1/incidents/{items[0]['id']}/retry", headers=headers).status_code == 200
    assert client.post(f"/api/v1/incidents/{items[0]['id']}/retry", headers=headers).status_code == 404


def test_message_delivery_404_409_and_start(factory, client, db):
    factory.deploy("timers.bpmn")
    token = factory.token("admin")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/messages/msg_exit", json={}, headers=headers).status_code == 404
    a = factory.start("waiter", business_key="project-1")
    factory.start("waiter", business_key="project-2")
    assert client.post("/api/v1/messages/msg_exit", json={}, headers=headers).status_code == 409
    ok = client.post("/api/v1/messages/msg_exit", json={"business_key": "project-1", "data": {"status": "exited"}},
                     headers=headers)
    assert ok.status_code == 202 and ok.get_json()["delivered"] == [a["id"]]
    inst = client.get(f"/api/v1/instances/{a['id']}", headers=headers).get_json()
    assert [t["element_id"] for t in inst["tasks"]] == ["after_exit"]
    assert inst["data"]["exit_info"] == {"status": "exited"}
    started = client.post("/api/v1/messages/msg_visit", json={"business_key": "visit-9", "data": {"who": "普洱茶企"}},
                          headers=headers).get_json()
    assert len(started["started"]) == 1
    assert client.post("/api/v1/messages/msg_exit", json={"business_key": "project-2", "correlation": {"x": 1}},
                       headers=headers).status_code == 404


def test_operator_outbox_message_is_delivered_by_a_job(factory, db):
    factory.deploy("timers.bpmn")
    waiting = factory.start("waiter", business_key="project-7")
    from app.models.runtime import Job as JobRow

    with db.session_scope() as s:
        s.add(JobRow(kind="message", due_at=__import__("app.clock", fromlist=["now"]).now(),
                     payload={"name": "msg_exit", "business_key": "project-7", "data": {"by": "job"}}))
    assert factory.run_jobs() == 1
    assert list(factory.open_tasks(waiting["id"])) == ["after_exit"]
    with pytest.raises(NotFound):
        with db.session_scope() as s:
            messages.send_message(s, "msg_exit", business_key="project-7")


def _deploy_v2(db, old: bytes, new: bytes):
    from app.services.definitions import deploy

    files = [("onboarding.bpmn", (FIX / "onboarding.bpmn").read_bytes().replace(old, new))]
    files += [(n, (FIX / n).read_bytes()) for n in ("ob-basic.json", "ob-basic-uischema.json")]
    with db.session_scope() as s:
        return deploy.deploy_files(s, files, "tester")[0]


def test_allowed_migration_keeps_open_task_and_data(factory, db):
    factory.deploy_onboarding()
    inst = factory.start(data={"project_name": "保留的数据"})
    factory.complete(factory.open_tasks(inst["id"])["ut1"], {"project_name": "保留的数据", "amount_wan": 5})
    v2 = _deploy_v2(db, "复审".encode(), "复审(新)".encode())
    assert v2["version"] == 2
    with db.session_scope() as s:
        dry = migration.migrate_instance(s, inst["id"], 2, "admin", dry_run=True)
    assert dry["result"] == "allowed"
    with db.session_scope() as s:
        done = migration.migrate_instance(s, inst["id"], 2, "admin")
    assert done["result"] == "migrated"
    assert list(factory.open_tasks(inst["id"])) == ["ut2"]
    ut2 = factory.open_tasks(inst["id"])["ut2"]
    after = factory.complete(ut2, {})
    assert {t["name"] for t in after["tasks"]} == {"县区核实", "县区要素"}
    with db.read_scope() as s:
        assert s.get(Instance, inst["id"]).version.version == 2


def test_forbidden_migration_names_the_changed_element_and_bulk_dry_run(factory, db, client):
    factory.deploy_onboarding()
    done = factory.start()
    factory.complete(factory.open_tasks(done["id"])["ut1"], {"project_name": "a", "amount_wan": 1})
    fresh = factory.start()
    _deploy_v2(db, "的基本信息</spiffworkflow:instructionsForEndUser>".encode(),  # a script on a completed task
               "的基本信息</spiffworkflow:instructionsForEndUser><spiffworkflow:preScript>checked = True"
               "</spiffworkflow:preScript>".encode())
    with db.session_scope() as s:
        refused = migration.migrate_instance(s, done["id"], 2, "admin")
    assert refused["result"] == "refused" and refused["changed"] == ["ut1"]
    token = factory.token("admin")
    bulk = client.post("/api/v1/processes/onboarding/migrations", headers={"Authorization": f"Bearer {token}"},
                       json={"from_version": 1, "to_version": 2, "dry_run": True}).get_json()
    outcome = {item["id"]: item["result"] for item in bulk["items"]}
    assert outcome == {done["id"]: "refused", fresh["id"]: "allowed"}
    with db.read_scope() as s:
        assert s.get(Instance, fresh["id"]).version.version == 1  # dry run changed nothing


def test_upload_with_changed_form_keeps_old_instances_on_old_form(factory, client, db):
    factory.deploy_onboarding()
    inst = factory.start()
    changed_form = (FIX / "ob-basic.json").read_bytes().replace(b'"minimum": 0', b'"minimum": 100')
    token = factory.token("admin")
    files = {"files": [(io.BytesIO((FIX / "onboarding.bpmn").read_bytes()), "onboarding.bpmn"),
                       (io.BytesIO(changed_form), "ob-basic.json"),
                       (io.BytesIO((FIX / "ob-basic-uischema.json").read_bytes()), "ob-basic-uischema.json")]}
    res = client.post("/api/v1/deployments", data=files, headers={"Authorization": f"Bearer {token}"},
                      content_type="multipart/form-data")
    assert res.get_json()["versions"][0]["version"] == 2
    ut1 = factory.open_tasks(inst["id"])["ut1"]
    factory.complete(ut1, {"project_name": "旧表单", "amount_wan": 5})  # v1's form allows 5


def test_a_job_that_keeps_failing_backs_off_then_is_parked_and_audited(factory, clock, db):
    from app.models.runtime import AuditEvent

    with db.session_scope() as s:
        s.add(Job(kind="start", due_at=clock.now(), payload={"process_key": "no_such_process"}))
    with db.session_scope() as s:
        s.add(Job(kind="bogus", due_at=clock.now(), payload={}))
    for _ in range(6):
        factory.run_jobs()
        clock.advance("PT1H")
    with db.read_scope() as s:
        bogus = s.scalar(select(Job).where(Job.kind == "bogus"))
        assert bogus.attempts == 5 and "unknown job kind" in bogus.last_error and bogus.due_at.year == 9999
        assert s.scalar(select(AuditEvent).where(AuditEvent.type == "job_failed")).detail["kind"] == "bogus"
        # a start for an undeployed process is a domain error: dropped, not retried forever
        assert s.scalar(select(Job).where(Job.kind == "start")) is None
