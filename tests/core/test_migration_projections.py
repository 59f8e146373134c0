"""Migration through the services and the API: cosmetics never block, renamed ids are mapped, and every
projection (task names, element ids, lanes, due dates, timer jobs) shows the target version."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models.runtime import AuditEvent, HumanTask, Instance, Job


@pytest.fixture
def api(factory, client):
    headers = {"Authorization": f"Bearer {factory.token('admin')}"}

    def post(url, body):
        return client.post(url, headers=headers, json=body)

    return post


def _open_rows(db, instance_id):
    with db.read_scope() as s:
        return [(t.element_id, t.name, t.lane, t.due_at) for t in s.scalars(
            select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.state == "open"))]


def _state(db, instance_id):
    with db.read_scope() as s:
        inst = s.get(Instance, instance_id)
        return inst.version.version, inst.lock_version, inst.state


def _at_review(factory, key="rework"):
    inst = factory.start(key, data={"rounds": 0})
    factory.complete(factory.open_tasks(inst["id"])["submit"], {"first_note": "第一次"})
    return inst["id"]


def test_a_label_only_version_migrates_a_task_that_was_passed_and_the_inbox_shows_the_new_name(factory, db, api):
    factory.deploy("rework.bpmn")
    instance_id = _at_review(factory)
    factory.deploy("rework_v2_label.bpmn")
    dry = api(f"/api/v1/instances/{instance_id}/migrate", {"to_version": 2, "dry_run": True})
    assert dry.status_code == 200
    assert dry.get_json()["result"] == "allowed" and dry.get_json()["cosmetic"] == ["review", "submit"]
    assert _state(db, instance_id)[0] == 1  # a dry run changes nothing
    done = api(f"/api/v1/instances/{instance_id}/migrate", {"to_version": 2}).get_json()
    assert done["result"] == "migrated"
    assert [(e, n) for e, n, _lane, _due in _open_rows(db, instance_id)] == [("review", "材料审核")]
    factory.complete(factory.open_tasks(instance_id)["review"], {"approved": False})
    assert [(e, n) for e, n, _lane, _due in _open_rows(db, instance_id)] == [("submit", "提交补正材料")]


def test_a_structural_change_of_a_passed_element_is_refused_and_nothing_changes(factory, db, api):
    factory.deploy("rework.bpmn")
    instance_id = _at_review(factory)
    before = _state(db, instance_id)
    factory.deploy("rework_v2_structural.bpmn")
    res = api(f"/api/v1/instances/{instance_id}/migrate", {"to_version": 2})
    assert res.status_code == 200
    assert res.get_json()["result"] == "refused" and res.get_json()["changed"] == ["count"]
    assert _state(db, instance_id) == before
    bulk = api("/api/v1/processes/rework/migrations", {"from_version": 1, "to_version": 2, "dry_run": False})
    assert bulk.get_json()["summary"] == {"migrated": 0, "allowed": 0, "refused": 1}
    assert _state(db, instance_id) == before


def test_renamed_ids_are_refused_until_mapped_then_tasks_lanes_and_timer_jobs_follow_the_target(factory, db, api):
    factory.deploy("rework_timer.bpmn")
    first = factory.start("rework_timer", data={"rounds": 0})  # waits in submit with its reminder
    second = _at_review(factory, "rework_timer")  # passed submit, waits in review
    factory.deploy("rework_timer_v2.bpmn")
    url = "/api/v1/processes/rework_timer/migrations"

    unmapped = api(url, {"from_version": 1, "to_version": 2}).get_json()
    assert unmapped["summary"]["refused"] == 2
    assert all("submit" in item["removed"] and "mapping" in item["reason"] for item in unmapped["items"])

    mapping = {"submit": "hand_in", "remind": "nudge"}
    dry = api(url, {"from_version": 1, "to_version": 2, "mapping": mapping}).get_json()
    assert dry["dry_run"] is True and dry["summary"] == {"migrated": 0, "allowed": 2, "refused": 0}
    assert all(item["mapping"] == mapping for item in dry["items"])
    assert _state(db, first["id"])[0] == 1

    done = api(url, {"from_version": 1, "to_version": 2, "mapping": mapping, "dry_run": False}).get_json()
    assert done["summary"] == {"migrated": 2, "allowed": 0, "refused": 0}
    [(element, name, lane, due)] = _open_rows(db, first["id"])
    assert (element, name, lane) == ("hand_in", "提交材料", "zsw_office") and due is not None
    with db.read_scope() as s:
        jobs = s.scalars(select(Job).where(Job.instance_id == first["id"], Job.kind == "timer")).all()
        assert [(j.element_id, j.due_at) for j in jobs] == [("nudge", due)]
        assert s.scalar(select(AuditEvent.detail).where(AuditEvent.instance_id == first["id"],
                                                        AuditEvent.type == "instance_migrated"))["mapping"] == mapping
    # the loop now runs the target's elements
    factory.complete(factory.open_tasks(second)["review"], {"approved": False})
    assert [e for e, *_ in _open_rows(db, second)] == ["hand_in"]


@pytest.mark.parametrize("mapping,status", [({"submit": "nope"}, 422), ({"ghost": "hand_in"}, 422),
                                            (["submit"], 400), ({"submit": 3}, 400)])
def test_a_bad_mapping_is_a_clear_4xx_and_changes_nothing(factory, db, api, mapping, status):
    factory.deploy("rework_timer.bpmn")
    inst = factory.start("rework_timer", data={"rounds": 0})
    before = _state(db, inst["id"])
    factory.deploy("rework_timer_v2.bpmn")
    single = api(f"/api/v1/instances/{inst['id']}/migrate", {"to_version": 2, "mapping": mapping})
    bulk = api("/api/v1/processes/rework_timer/migrations",
               {"from_version": 1, "to_version": 2, "mapping": mapping, "dry_run": False})
    assert (single.status_code, bulk.status_code) == (status, status)
    assert single.get_json()["errors"][0]["message"]
    assert _state(db, inst["id"]) == before
