"""Durable jobs: leased by any number of workers, each applied exactly once (rule 6).

A worker leases due rows one batch at a time (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; one conditional
UPDATE under SQLite's serial writer lock; the next batch is leased before the current one runs) and
applies each batch in one transaction (one commit); the batch size follows the measured cost per job
(``next_batch_size``). Each job first deletes its row *conditioned on the lease it was loaded with*,
under its instance's lock; the delete and the state change commit together, so a job whose lease
expired and was re-taken by another worker is applied by exactly one of them — the loser's delete
matches nothing. The fast path (``run_batch``) takes a batch's first job per instance at once (one
statement on PostgreSQL, a read and a delete under SQLite's write lock), reads the batch's open task
rows in one query, tells the projections which timer rows its jobs consumed, queues its instance and
task row writes (``app.write_behind``: one executemany per statement, sent before the next other
statement) and writes the batch's audit events in one INSERT; a job that raises rolls the batch back
and is run alone on the careful path (``_run_careful``, a savepoint per job).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import time
import uuid

from sqlalchemy import BigInteger, bindparam, column, delete, insert, or_, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app import clock, write_behind
from app.db import after_savepoint_rollback
from app.engine import StepResult
from app.errors import Conflict, NotFound
from app.models.runtime import Incident, Instance, Job
from app.ops.jobs import job_run
from app.services import audit
from app.services.jobs.kinds import apply_job
from app.services.runtime import projections
from app.services.runtime.change import (
    InstanceChange,
    adopt_prelock,
    apply_change,
    prelock_instance,
    release_prelock,
    snapshot,
)
from app.services.runtime.failures import backoff
from app.services.runtime.instances import instance_view

log = logging.getLogger(__name__)
MAX_JOB_ATTEMPTS = 5


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def acquire(db, owner: str, limit: int = 50, now: dt.datetime | None = None) -> list[int]:
    """Lease up to ``limit`` due jobs for ``owner``; returns their ids."""
    now = now or clock.now()
    lease_until = now + dt.timedelta(seconds=db.settings.job_lease_seconds)
    token = f"{owner}#{uuid.uuid4().hex[:8]}"
    free = or_(Job.lease_until.is_(None), Job.lease_until < now)
    suspended = select(Instance.id).where(Instance.status.in_(("suspended", "error")))
    runnable = or_(Job.instance_id.is_(None), Job.instance_id.not_in(suspended))
    with db.session_scope() as session:
        if db.is_sqlite:
            ids = select(Job.id).where(Job.due_at <= now, free, runnable).order_by(Job.due_at).limit(limit)
            session.execute(update(Job).where(Job.id.in_(ids.scalar_subquery()))
                            .values(lease_owner=token, lease_until=lease_until)
                            .execution_options(synchronize_session=False))
            return list(session.scalars(select(Job.id).where(Job.lease_owner == token)))
        # one statement: lock the due rows no other worker holds, lease them, return them in due order
        picked = (select(Job.id).where(Job.due_at <= now, free, runnable).order_by(Job.due_at).limit(limit)
                  .with_for_update(skip_locked=True))
        rows = session.execute(update(Job).where(Job.id.in_(picked.scalar_subquery()))
                               .values(lease_owner=token, lease_until=lease_until)
                               .returning(Job.id, Job.due_at).execution_options(synchronize_session=False)).all()
        return [job_id for job_id, _ in sorted(rows, key=lambda r: (r[1], r[0]))]


# Jobs applied in one transaction (one commit). A batch's instances stay locked until its commit, so
# its size follows the measured cost per job: about BATCH_SECONDS of work, between MIN_BATCH and
# MAX_BATCH jobs (a loaded machine gets smaller batches, an idle one larger ones).
BATCH_SIZE, MIN_BATCH, MAX_BATCH, BATCH_SECONDS = 20, 5, 100, 0.2


def next_batch_size(jobs: int, seconds: float) -> int:
    """The size of the next batch after one of ``jobs`` jobs took ``seconds``."""
    if jobs <= 0 or seconds <= 0:
        return BATCH_SIZE
    return max(MIN_BATCH, min(MAX_BATCH, int(BATCH_SECONDS * jobs / seconds)))


class _Failed(Exception):
    """The fast path's batch stopped at ``ordered[index]`` (its transaction is rolled back)."""

    def __init__(self, ordered: list[int], index: int):
        super().__init__(f"job {ordered[index]} failed")
        self.ordered, self.index = ordered, index


def run_job(db, job_id: int) -> bool:
    """Apply one leased job in its own transaction. True when it was applied."""
    return _run_careful(db, [job_id]) == 1


def run_batch(db, job_ids: list[int]) -> int:
    """Apply leased jobs in one transaction: one commit for the batch instead of one per job.

    The fast path runs the batch without a savepoint per job (two round trips each on PostgreSQL).
    Jobs run in instance order so that two workers' batches lock instances in the same order. When a
    job raises, the whole transaction rolls back — nothing of the batch is kept, as if the worker had
    stopped — and the batch is run again in three parts: the jobs before it (fast path), the job
    itself on the careful path (``_run_careful``: its own savepoint, dropped or backed off), the rest.
    Each job still commits at most once: its row's lease-conditioned delete commits with its change.
    """
    try:
        return _run_fast(db, job_ids)
    except SQLAlchemyError:  # outside any one job (loading or taking the batch): the careful path
        log.exception("job batch %s failed on the fast path", job_ids)
        return _run_careful(db, job_ids)
    except _Failed as failed:
        ordered, k = failed.ordered, failed.index
        log.info("job %s failed on the fast path; running it alone", ordered[k])
        ran = run_batch(db, ordered[:k]) if k else 0
        ran += _run_careful(db, [ordered[k]])
        return ran + (run_batch(db, ordered[k + 1:]) if k + 1 < len(ordered) else 0)


def _load(session: Session, job_ids: list[int]) -> list[dict]:
    jobs = [dict(r) for r in session.execute(select(Job.__table__).where(Job.id.in_(job_ids))).mappings()]
    jobs.sort(key=lambda j: (j["instance_id"] or 0, j["due_at"], j["id"]))
    return jobs


def _observe(observations: list) -> None:
    """The log lines and counts of a batch's job runs, made once its transaction has committed."""
    for observe in observations:
        observe()


def _run_fast(db, job_ids: list[int]) -> int:
    observations: list = []
    with db.session_scope() as session:
        audit.buffer(session)  # the batch's audit events: one INSERT before the commit
        try:
            with write_behind.deferring(session):  # instance and task rows: one executemany per statement
                jobs = _load(session, job_ids)
                taken, locked = _take_first(session, jobs)
                ran = _apply_all(session, jobs, taken, locked, observations)
        finally:
            projections.end_batch(session)
        audit.flush(session)
    _observe(observations)
    return ran


def _apply_all(session: Session, jobs: list[dict], taken: set[int], locked: dict[int, Instance],
               observations: list) -> int:
    """The fast path's loop, in one transaction that holds (PostgreSQL: ``locked``; SQLite: the
    database's write lock) the locks of every instance it reads beforehand."""
    ordered = [j["id"] for j in jobs]
    # open task rows of the instances already locked: one query instead of one per change
    projections.prefetch_open_tasks(session, locked)
    ran = 0
    for index, row in enumerate(jobs):
        job = _job_snapshot(row)  # the row itself is deleted below
        try:
            if job.id in taken:  # taken with the batch: hand the change its locked instance row
                if job.instance_id in locked:
                    adopt_prelock(session, locked.pop(job.instance_id))
            elif not _take(session, job):
                continue
            if job.kind == "timer" and job.instance_id is not None and job.task_id:
                projections.timer_row_consumed(session, job.instance_id, job.task_id)
            with job_run(job, observe_failure=False, observations=observations):
                apply_job(session, job)
        except Exception as exc:  # no after_rollback hook here: the careful path runs the job again
            raise _Failed(ordered, index) from exc
        finally:
            release_prelock(session)
        ran += 1
    return ran


_NEW_JOB = Job.__mapper__.class_manager.new_instance


def _job_snapshot(row: dict) -> Job:
    """A transient Job holding the loaded row's values, without the ORM's change tracking of ``Job(**row)``."""
    job = _NEW_JOB()
    job.__dict__.update(row)
    return job


def _sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


_T, _J = Instance.__table__, Job.__table__
_TAKE = delete(_J).where(_J.c.id == bindparam("job_id"), _J.c.lease_owner == bindparam("owner"))
_INSTANCE_COLUMNS = ", ".join(f"inst.{c.name}" for c in _T.c)
# PostgreSQL, one round trip for a batch: lock and read its instances (in id order, as every worker
# does), then take its jobs (delete the rows still leased as loaded). The DELETE's one-time filter
# reads the locked instances first, so instance locks always come before job row locks, as
# everywhere else (a change locks its instance, then rewrites the instance's job rows).
_LOCK_AND_TAKE = text(
    "WITH inst AS (SELECT * FROM instance WHERE id = ANY(:instance_ids) ORDER BY id FOR UPDATE), "
    "taken AS (DELETE FROM job USING unnest(CAST(:job_ids AS bigint[]), CAST(:owners AS text[])) AS mine(id, owner) "
    "WHERE job.id = mine.id AND job.lease_owner = mine.owner "
    "AND (SELECT count(*) FROM inst) >= 0 RETURNING job.id) "
    f"SELECT {_INSTANCE_COLUMNS}, (SELECT array_agg(id) FROM taken) AS taken_ids "
    "FROM (SELECT 1) AS one LEFT JOIN inst ON true"
).columns(*_T.c, column("taken_ids", ARRAY(BigInteger)))  # positional: the SELECT list's order


def _take_first(session: Session, jobs: list[dict]) -> tuple[set[int], dict[int, Instance]]:
    """Take every job of the batch that is the first of its instance at once; returns the job ids
    taken and the locked instance rows. The later jobs of an instance are taken one by one (``_take``)
    after the change before them, which may have rewritten their rows."""
    first, seen = [], set()
    for row in jobs:
        if row["instance_id"] is None or row["instance_id"] not in seen:
            first.append(row)
            seen.add(row["instance_id"])
    if not first:
        return set(), {}
    if _sqlite(session):
        return _take_first_sqlite(session, first, seen - {None})
    rows = session.connection().execute(_LOCK_AND_TAKE, {
        "instance_ids": sorted(i for i in seen if i is not None), "job_ids": [r["id"] for r in first],
        "owners": [r["lease_owner"] for r in first]}).mappings().all()
    locked = {r["id"]: Instance(**{c.key: r[c.key] for c in _T.c}) for r in rows if r["id"] is not None}
    return set(rows[0]["taken_ids"] or ()), locked


def _take_first_sqlite(session: Session, first: list[dict], instance_ids: set[int]) -> tuple[set[int], dict]:
    """SQLite: the writer holds the database's write lock (``BEGIN IMMEDIATE``), so reading the batch's
    instances, finding its jobs still leased as loaded and deleting those is one atomic step."""
    conn = session.connection()
    locked = {r["id"]: snapshot(r) for r in conn.execute(select(_T).where(_T.c.id.in_(instance_ids))).mappings()}
    mine = tuple_(_J.c.id, _J.c.lease_owner).in_([(r["id"], r["lease_owner"]) for r in first])
    taken = set(conn.scalars(select(_J.c.id).where(mine)))
    if taken:
        conn.execute(delete(_J).where(_J.c.id.in_(taken)))
    return taken, locked


def _take(session: Session, job: Job) -> bool:
    """Lock the job's instance, then delete the job row if it is still leased as loaded."""
    if job.instance_id is not None:  # SQLite: the writer already holds the database lock
        prelock_instance(session, job.instance_id)
    return session.connection().execute(_TAKE, {"job_id": job.id, "owner": job.lease_owner}).rowcount == 1


def _run_careful(db, job_ids: list[int]) -> int:
    """Apply leased jobs in one transaction, each inside its own savepoint.

    Each job deletes its row *conditioned on still holding its lease* under the instance lock, then
    runs inside a savepoint: a job whose target moved on is dropped without its half-done change, a
    job that raises is put back with a backoff (its row re-inserted in the same transaction). A
    database error aborts the batch; its jobs are then retried one per transaction.
    """
    retry: list[tuple[dict, Exception]] = []
    observations: list = []
    try:
        with db.session_scope() as session:
            ran = sum(1 for job in _load(session, job_ids) if _run_one(session, job, retry, observations))
            for row, exc in retry:
                _put_back(session, db, row, exc)
    except SQLAlchemyError:
        if len(job_ids) == 1:
            raise
        log.exception("job batch failed; running its jobs one by one")
        return sum(_run_careful(db, [job_id]) for job_id in job_ids)
    _observe(observations)
    return ran


def _run_one(session: Session, row: dict, retry: list, observations: list) -> bool:
    job = Job(**row)  # a transient snapshot: the row itself is deleted below
    if job.instance_id is not None:  # the lease check below must happen under the instance lock
        prelock_instance(session, job.instance_id)
    taken = session.execute(delete(Job).where(Job.id == job.id, Job.lease_owner == job.lease_owner)
                            .execution_options(synchronize_session=False))
    if taken.rowcount != 1:  # another worker took it over after our lease expired
        release_prelock(session)
        return False
    savepoint = session.begin_nested()  # the job row's delete commits even when the kind gives up
    try:
        with job_run(job, observations=observations):  # log line and jobs_run count after the commit
            apply_job(session, job)
        savepoint.commit()
    except (Conflict, NotFound) as exc:
        # the target moved on (completed, cancelled, gone) or the engine refused the change (an
        # incident is recorded): nothing of the half-done change is kept
        savepoint.rollback()
        after_savepoint_rollback(session, exc)
        log.info("job %s dropped: %s", job.id, exc.message)
    except SQLAlchemyError:
        raise
    except Exception as exc:  # one bad job must not stop the batch: it is put back with a backoff
        savepoint.rollback()
        log.exception("job %s failed", job.id)
        retry.append((row, exc))
        return False
    finally:
        release_prelock(session)
    return True


def _put_back(session: Session, db, row: dict, exc: Exception) -> None:
    """Back off a job that raised; after MAX_JOB_ATTEMPTS park it (visible in the job list) and audit it."""
    attempts = row["attempts"] + 1
    error = f"{type(exc).__name__}: {exc}"[:2000]
    if attempts >= MAX_JOB_ATTEMPTS:
        due = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)
        audit.record(session, "job_failed", "system", instance_id=row["instance_id"], element_id=row["element_id"],
                     detail={"job_id": row["id"], "kind": row["kind"], "error": error})
    else:
        due = clock.now() + backoff(attempts + 1, db.settings.job_lease_seconds)
    session.execute(insert(Job.__table__).values(**{**row, "attempts": attempts, "last_error": error, "due_at": due,
                                                    "lease_owner": None, "lease_until": None}))


def run_due(db, worker_id: str | None = None, limit: int = 200, max_rounds: int = 100) -> int:
    """Run every job due now (repeating while new ones become due); return how many ran.

    Jobs are leased one batch (at most ``limit`` jobs) at a time, and the next batch is leased before
    the current one runs: several workers share the due jobs batch by batch, a worker always holds
    leased work while jobs remain, and a killed worker's leases (at most two batches) wait for their
    expiry. At most ``limit * max_rounds`` jobs are leased per call (a guard against jobs that keep
    making new due jobs)."""
    owner = worker_id or worker_name()
    clock.refresh()
    ran, size, budget = 0, BATCH_SIZE, limit * max_rounds

    def lease() -> list[int]:
        nonlocal budget
        ids = acquire(db, owner, min(limit, size, budget)) if budget > 0 else []
        budget -= len(ids)
        return ids

    batch = lease()
    while batch:
        ahead = lease()
        began = time.perf_counter()
        try:
            ran += run_batch(db, batch)
        except Exception as exc:  # a job whose transaction cannot even be opened must not stop the sweep
            log.exception("jobs %s failed", batch)
            for job_id in batch:
                _record_failure(db, job_id, exc)
        size = next_batch_size(len(batch), time.perf_counter() - began)
        batch = ahead or lease()  # jobs the batch made due (messages, starts) run in this call too
    return ran


def _record_failure(db, job_id: int, exc: Exception) -> None:
    """Back off a job that raised; after MAX_JOB_ATTEMPTS park it (visible in the job list) and audit it."""
    with db.session_scope() as session:
        job = session.get(Job, job_id)
        if job is None:
            return
        job.attempts += 1
        job.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        job.lease_owner = job.lease_until = None
        if job.attempts >= MAX_JOB_ATTEMPTS:
            job.due_at = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)
            audit.record(session, "job_failed", "system", instance_id=job.instance_id, element_id=job.element_id,
                         detail={"job_id": job.id, "kind": job.kind, "error": job.last_error})
        else:
            job.due_at = clock.now() + backoff(job.attempts + 1, db.settings.job_lease_seconds)


def list_jobs(session: Session, kind: str | None = None, limit: int = 200) -> list[dict]:
    stmt = select(Job).order_by(Job.due_at).limit(limit)
    if kind:
        stmt = stmt.where(Job.kind == kind)
    return [{"id": j.id, "kind": j.kind, "due_at": j.due_at.isoformat(), "instance_id": j.instance_id,
             "element_id": j.element_id, "attempts": j.attempts, "lease_owner": j.lease_owner,
             "last_error": j.last_error} for j in session.scalars(stmt)]


def retry_incident(session: Session, incident_id: int, actor: str) -> dict:
    incident = session.get(Incident, incident_id)
    if incident is None or incident.status != "open":
        raise NotFound("事件不存在或已处理 / incident not found or not open")
    instance_id = incident.instance_id
    incident.status, incident.resolved_at = "resolved", clock.now()
    session.flush()

    def retry(unit: InstanceChange) -> StepResult:
        return unit.runner.retry_task(incident.task_id) if incident.task_id else unit.runner.step()

    unit = apply_change(session, instance_id, actor, retry)
    audit.record(session, "incident_retried", actor, instance_id=instance_id, element_id=incident.element_id)
    return instance_view(session, unit.instance, with_data=False)


def pending_for(session: Session, instance_id: int) -> list[Job]:
    return list(session.scalars(select(Job).where(Job.instance_id == instance_id)))
