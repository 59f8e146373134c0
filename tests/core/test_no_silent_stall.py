"""No silent stalls: a change the engine cannot apply is refused (non-2xx, nothing saved) with an incident."""

from __future__ import annotations

import dataclasses

from sqlalchemy import func, select

from app.models.runtime import AuditEvent, HumanTask, Incident, Instance


def _snapshot(db, instance_id):
    with db.read_scope() as s:
        inst = s.get(Instance, instance_id)
        open_tasks = sorted(s.scalars(select(HumanTask.element_id).where(HumanTask.instance_id == instance_id,
                                                                         HumanTask.state == "open")).all())
        incidents = [(i.element_id, i.message, i.status) for i in s.scalars(
            select(Incident).where(Incident.instance_id == instance_id))]
        return inst.status, inst.lock_version, inst.state, open_tasks, incidents


def _headers(factory):
    return {"Authorization": f"Bearer {factory.token('admin')}"}


def test_an_engine_failure_mid_step_answers_409_changes_nothing_and_opens_an_incident(factory, db, client):
    factory.deploy("step_fail.bpmn")
    inst = factory.start("step_fail")
    status, version, state, tasks, incidents = _snapshot(db, inst["id"])
    assert (status, tasks, incidents) == ("running", ["fill"], [])
    task_id = factory.open_tasks(inst["id"])["fill"]

    res = client.post(f"/api/v1/tasks/{task_id}/complete", headers=_headers(factory), json={"data": {"parts": 0}})

    assert res.status_code == 409
    error = res.get_json()["errors"][0]
    assert error["instance_id"] == inst["id"] and error["element_id"] == "fill"
    assert "ZeroDivisionError" in error["detail"]
    after = _snapshot(db, inst["id"])
    assert after[1:4] == (version, state, ["fill"])  # the completion was not saved: the task is still open
    assert after[0] == "error"
    assert [(e, s) for e, _m, s in after[4]] == [("fill", "open")]
    assert "ZeroDivisionError" in after[4][0][1]
    with db.read_scope() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.instance_id == inst["id"], AuditEvent.type == "step_refused")) == 1

    # the user corrects the input: the same task completes and the instance moves on
    ok = client.post(f"/api/v1/tasks/{task_id}/complete", headers=_headers(factory), json={"data": {"parts": 4}})
    assert ok.status_code == 200
    assert [t["element_id"] for t in ok.get_json()["tasks"]] == ["check"]


def test_the_silent_stall_of_an_uncompacted_back_edge_loop_is_refused_with_an_incident(factory, db, client):
    """With compaction switched off SpiffWorkflow stops walking the tree at depth 1,000 (round 200):
    the review answers 200 and the instance is left ``waiting`` with nothing open. That step is refused."""
    db.settings = dataclasses.replace(db.settings, compact_after=10 ** 9)
    factory.deploy("rework.bpmn")
    inst = factory.start("rework", data={"rounds": 0})
    refused = None
    for i in range(260):
        factory.complete(factory.open_tasks(inst["id"])["submit"], {"first_note": "第一次"} if i == 0 else {})
        review = factory.open_tasks(inst["id"])["review"]
        res = client.post(f"/api/v1/tasks/{review}/complete", headers=_headers(factory),
                          json={"data": {"approved": False}})
        if res.status_code != 200:
            refused = (i, res)
            break
    assert refused is not None, "the loop never reached SpiffWorkflow's depth limit"
    _round, res = refused
    assert res.status_code == 409
    status, _version, _state, tasks, incidents = _snapshot(db, inst["id"])
    assert tasks == ["review"]  # the refused completion left the review open, not an empty instance
    assert status == "error" and len(incidents) == 1 and incidents[0][2] == "open"
