"""investflow doctor: 0 on a healthy database; a damaged one is found, repaired, and works again."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import delete, func, select

from app.models.runtime import AuditEvent, HumanTask, Job, MessageSubscription
from tests.ops.conftest import cli


def _workload(factory, clock):
    factory.deploy_onboarding()
    factory.deploy("timers.bpmn")
    a, b, c, d = (factory.start() for _ in range(4))
    w1 = factory.start("waiter", business_key="project-1")
    w2 = factory.start("waiter", business_key="project-2")
    factory.complete(factory.open_tasks(d["id"])["ut1"], {"project_name": "丁", "amount_wan": 5})
    return a, b, c, d, w1, w2


@pytest.mark.parametrize("db_kind", ["sqlite", "pg"], indirect=True)
def test_healthy_database_has_no_problems(factory, clock, database_url):
    _workload(factory, clock)
    clock.advance("PT2H")
    factory.run_jobs()
    out = cli(database_url, "doctor")
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip().splitlines()[-1] == "0"


@pytest.mark.parametrize("db_kind", ["sqlite", "pg"], indirect=True)
def test_damaged_database_is_found_and_repaired(factory, clock, db, database_url):
    from app.models.domain_records import Notification

    a, b, c, d, w1, w2 = _workload(factory, clock)
    with db.session_scope() as s:
        lost_task = s.scalar(select(HumanTask).where(HumanTask.instance_id == a["id"], HumanTask.state == "open"))
        lost_task_id, lost_element = lost_task.id, lost_task.element_id
        s.delete(lost_task)  # 1 missing_task
        lost_job = s.scalar(select(Job).where(Job.instance_id == b["id"], Job.element_id == "yellow1"))
        lost_due = lost_job.due_at
        s.delete(lost_job)  # 2 missing_timer_job
        s.add(MessageSubscription(instance_id=c["id"], name="msg_exit", business_key=None, correlation={}))  # 3
        s.execute(delete(MessageSubscription).where(MessageSubscription.instance_id == w1["id"]))  # 4
        s.add(HumanTask(id=str(uuid.uuid4()), instance_id=d["id"], process_key="onboarding", element_id="ghost",
                        state="open"))  # 5 stale_task
        s.add(Job(kind="timer", due_at=clock.now(), instance_id=w2["id"], task_id=str(uuid.uuid4()),
                  element_id="ghost_timer"))  # 6 orphan_timer_job
        s.add(Notification(title="悬空通知", instance_id=987654))  # 7 dangling_domain_row

    found = cli(database_url, "doctor")
    lines = found.stdout.strip().splitlines()
    assert found.returncode == 1, found.stdout + found.stderr
    assert lines[-1] == "7", found.stdout
    expected = {("missing_task", a["id"]), ("missing_timer_job", b["id"]), ("orphan_subscription", c["id"]),
                ("missing_subscription", w1["id"]), ("stale_task", d["id"]), ("orphan_timer_job", w2["id"]),
                ("dangling_domain_row", 987654)}
    seen = {(line.split()[1].rstrip(":"), int(line.split()[0].split("=")[1])) for line in lines[:-1]}
    assert seen == expected
    assert all("repair" in line for line in lines[:-1])

    fixed = cli(database_url, "doctor", "--repair")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert fixed.stdout.strip().splitlines()[-1] == "0"
    assert "6 instance(s) rebuilt, 1 domain row(s) unlinked" in fixed.stdout
    again = cli(database_url, "doctor")
    assert again.returncode == 0 and again.stdout.strip().splitlines()[-1] == "0", again.stdout

    with db.read_scope() as s:
        task = s.get(HumanTask, lost_task_id)  # the same engine task id, open again
        assert task is not None and task.state == "open" and task.element_id == lost_element
        job = s.scalar(select(Job).where(Job.instance_id == b["id"], Job.element_id == "yellow1"))
        assert job is not None and job.due_at.replace(tzinfo=None) == lost_due.replace(tzinfo=None)
        assert s.scalar(select(func.count()).select_from(MessageSubscription)
                        .where(MessageSubscription.instance_id == c["id"])) == 0
        assert s.scalars(select(MessageSubscription.name).where(
            MessageSubscription.instance_id == w1["id"])).all() == ["msg_exit"]
        assert s.scalar(select(Job).where(Job.element_id == "ghost_timer")) is None
        assert s.scalar(select(Notification.instance_id).where(Notification.title == "悬空通知")) is None
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.type == "doctor_repaired")) == 6

    # the repaired projections work: the restored timer fires, the restored subscription receives
    clock.advance("P1DT1M")
    factory.run_jobs()
    with db.read_scope() as s:
        fired = set(s.scalars(select(AuditEvent.instance_id).where(AuditEvent.type == "timer_fired",
                                                                  AuditEvent.element_id == "yellow1")))
    assert {a["id"], b["id"], c["id"]} <= fired
    from app.services.runtime import messages

    with db.session_scope() as s:
        messages.send_message(s, "msg_exit", business_key="project-1", actor="test")
    assert list(factory.open_tasks(w1["id"])) == ["after_exit"]
    factory.complete(factory.open_tasks(a["id"])["ut1"], {"project_name": "甲", "amount_wan": 5})


def test_stuck_and_error_states_are_reported(factory, db, database_url):
    from sqlalchemy import update

    from app.models.runtime import Instance

    factory.deploy("timers.bpmn")
    w = factory.start("waiter", business_key="project-9")
    with db.session_scope() as s:
        s.execute(update(Instance).where(Instance.id == w["id"]).values(status="error"))
    out = cli(database_url, "doctor")
    assert out.returncode == 1 and f"instance={w['id']} error_without_incident" in out.stdout
    assert cli(database_url, "doctor", "--repair").returncode == 0
    with db.read_scope() as s:
        assert s.get(Instance, w["id"]).status == "waiting"


def test_doctor_rejects_unknown_options(database_url, db):
    out = cli(database_url, "doctor", "--nope")
    assert out.returncode != 0 and "--nope" in out.stderr
