"""The sweep's fast path (a batch without a savepoint per job; one lock-and-lease statement on PostgreSQL):
a failing job rolls the batch back and is run alone, a lost lease applies nothing, workers racing
for the same due jobs apply each exactly once — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select, update

from app.models.runtime import AuditEvent, Incident, Job
from app.services import jobs
from app.services.jobs import executor

pytestmark = pytest.mark.parametrize("db_kind", ["sqlite", "pg"], indirect=True)


def _count(db, model, *where):
    with db.read_scope() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def _fired(db):
    return _count(db, AuditEvent, AuditEvent.type == "timer_fired")


def test_a_failing_and_a_dropped_job_in_a_fast_batch_cost_the_others_nothing(factory, clock, db):
    factory.deploy_onboarding()
    instances = [factory.start() for _ in range(6)]
    with db.session_scope() as s:
        s.add(Job(kind="bogus", due_at=clock.now() + dt.timedelta(days=1), payload={}))
    from app.services.runtime import instances as runtime

    with db.session_scope() as s:  # its timer job stays behind for the test: the target moved on
        runtime.cancel_instance(s, instances[2]["id"], "tester")
        s.add(Job(kind="timer", due_at=clock.now() + dt.timedelta(days=1), instance_id=instances[2]["id"],
                  task_id="gone", element_id="yellow1", payload={}))
    clock.advance("P1DT1M")
    assert factory.run_jobs() == 6  # five timers and the dropped one (its row is consumed)
    assert _fired(db) == 5
    with db.read_scope() as s:
        bogus = s.scalar(select(Job).where(Job.kind == "bogus"))
        assert bogus.attempts == 1 and "unknown job kind" in bogus.last_error  # put back once, not twice
        assert s.scalar(select(func.count()).select_from(Job).where(Job.lease_owner.is_not(None))) == 0
    assert factory.run_jobs() == 0 and _fired(db) == 5  # nothing fires twice


def test_jobs_rerun_after_a_failed_fast_batch_are_logged_and_counted_once(factory, clock, db):
    """A batch that stops at a job rolls back; the jobs before it run again. Their log line and their
    jobs_run count belong to the run that committed, so each job is observed exactly once."""
    import io
    import json

    from app.ops import logs, metrics
    from app.services.runtime import instances as runtime

    factory.deploy_onboarding()
    started = [factory.start() for _ in range(5)]
    with db.session_scope() as s:  # the batch's third job: its instance is gone, so the fast path stops there
        runtime.cancel_instance(s, started[2]["id"], "tester")
        s.add(Job(kind="timer", due_at=clock.now() + dt.timedelta(days=1), instance_id=started[2]["id"],
                  task_id="gone", element_id="yellow1", payload={}))

    def count(outcome):
        return metrics.JOBS_RUN.labels("timer", outcome)._value.get()

    ok_before, dropped_before = count("ok"), count("dropped")
    stream = io.StringIO()
    handler = logs._JsonLineHandler(stream)
    logs.JOBS.addHandler(handler)
    try:
        clock.advance("P1DT1M")
        assert factory.run_jobs() == 5
    finally:
        logs.JOBS.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    per_job = {}
    for line in lines:
        per_job.setdefault(line["job_id"], []).append(line["outcome"])
    assert sorted(per_job.values()) == [["dropped"]] + [["ok"]] * 4, per_job
    assert count("ok") - ok_before == 4 and count("dropped") - dropped_before == 1
    assert _fired(db) == 4


def test_a_lost_lease_applies_nothing(factory, clock, db):
    factory.deploy_onboarding()
    for _ in range(4):
        factory.start()
    clock.advance("P1DT1M")
    stale = executor.acquire(db, "slow-worker")
    assert len(stale) == 4
    clock.advance(f"PT{int(db.settings.job_lease_seconds) + 1}S")  # the slow worker's lease expires
    taken = executor.acquire(db, "fast-worker")
    assert sorted(taken) == sorted(stale)
    assert executor.run_batch(db, taken) == 4
    assert executor.run_batch(db, stale) == 0  # the lease is gone: its delete matches nothing
    assert _fired(db) == 4


def test_a_job_another_worker_applied_in_the_middle_of_a_batch_is_skipped(factory, clock, db):
    factory.deploy_onboarding()
    for _ in range(5):
        factory.start()
    clock.advance("P1DT1M")
    ids = executor.acquire(db, "w1")
    with db.session_scope() as s:  # another worker took one of them over …
        s.execute(update(Job).where(Job.id == ids[2]).values(lease_owner="w2#x"))
    assert executor.run_batch(db, [ids[2]]) == 1  # … and applied it
    assert executor.run_batch(db, ids) == 4  # its row is gone: the batch skips it
    assert _fired(db) == 5 and _count(db, Job, Job.id.in_(ids)) == 0


def test_racing_workers_fire_every_timer_once(factory, clock, db):
    factory.deploy_onboarding()
    n = 30
    for _ in range(n):
        factory.start()
    clock.advance("P1DT1M")
    errors, ran = [], []

    def work(name):
        try:
            ran.append(jobs.run_due(db, worker_id=name, limit=7))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert sum(ran) == n and _fired(db) == n
    assert _count(db, Incident) == 0
