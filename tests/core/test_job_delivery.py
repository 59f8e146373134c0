"""Jobs never save half a change, and a broadcast reaches every target that can take it."""

from sqlalchemy import select

from app import clock as app_clock
from app.errors import Conflict
from app.models.runtime import AuditEvent, Job
from app.services import audit
from app.services.jobs import kinds
from app.services.runtime import instances


def test_a_broadcast_message_job_goes_on_past_a_suspended_target(factory, db):
    factory.deploy("timers.bpmn")
    suspended = factory.start("waiter", business_key="project-1")
    waiting = factory.start("waiter", business_key="project-1")
    with db.session_scope() as s:
        instances.suspend_instance(s, suspended["id"], "admin")
        s.add(Job(kind="message", due_at=app_clock.now(),
                  payload={"name": "msg_exit", "business_key": "project-1", "data": {"by": "job"}}))
    assert factory.run_jobs() == 1
    assert list(factory.open_tasks(waiting["id"])) == ["after_exit"]
    assert list(factory.open_tasks(suspended["id"])) == []
    with db.read_scope() as s:
        refused = s.scalars(select(AuditEvent).where(AuditEvent.type == "message_refused")).all()
        assert [e.instance_id for e in refused] == [suspended["id"]]
        assert s.scalar(select(Job).where(Job.kind == "message")) is None  # the job is done


def test_a_job_kind_that_gives_up_keeps_nothing_of_its_half_done_change(db, monkeypatch):
    def half_then_conflict(session, job):
        audit.record(session, "half_written", "system", detail={"job": job.id})
        raise Conflict("target moved on")

    monkeypatch.setitem(kinds.KINDS, "test_half", half_then_conflict)
    with db.session_scope() as s:
        s.add(Job(kind="test_half", due_at=app_clock.now(), payload={}))
    from app.services import jobs

    assert jobs.run_due(db, worker_id="test") == 1
    with db.read_scope() as s:
        assert s.scalar(select(AuditEvent).where(AuditEvent.type == "half_written")) is None
        assert s.scalar(select(Job).where(Job.kind == "test_half")) is None  # consumed, not retried
