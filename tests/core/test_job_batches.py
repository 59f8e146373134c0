"""The sweep applies leased jobs in batches (one commit per batch): one bad job never costs the others."""

from __future__ import annotations

from sqlalchemy import func, select

from app.models.runtime import AuditEvent, Job


def test_a_failing_job_in_a_batch_is_put_back_and_every_other_job_of_the_batch_applies(factory, clock, db):
    factory.deploy_onboarding()
    instances = [factory.start() for _ in range(25)]  # more than one batch of due yellow timers
    with db.session_scope() as s:
        s.add(Job(kind="bogus", due_at=clock.now(), payload={}))
    clock.advance("P1DT1M")
    assert factory.run_jobs() == 25
    with db.read_scope() as s:
        fired = s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.type == "timer_fired"))
        bogus = s.scalar(select(Job).where(Job.kind == "bogus"))
        leased = s.scalar(select(func.count()).select_from(Job).where(Job.lease_owner.is_not(None)))
    assert fired == 25
    assert bogus.attempts == 1 and "unknown job kind" in bogus.last_error and bogus.due_at > clock.now()
    assert leased == 0  # nothing is left leased
    for inst in instances:
        assert list(factory.open_tasks(inst["id"])) == ["ut1"]  # yellow is non-interrupting
    assert factory.run_jobs() == 0  # nothing fires twice
