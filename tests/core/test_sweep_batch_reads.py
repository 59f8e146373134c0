"""The sweep's batch reads: a batch's open task rows come from one query after its instances are locked,
and the timer rows its own jobs consumed are neither deleted nor moved again — on SQLite and PostgreSQL.

What each test guards: the statements per timer job (no per-job read of task rows, no DELETE of the
fired timer's row, which the batch already took), the projections after mixed batches (the doctor's
full diff finds nothing: cycle timers re-inserted with their next due time, two changes of one instance
in one batch), and the adaptive batch size.
"""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import event, func, select

from app import clock as app_clock
from app.models.runtime import AuditEvent, HumanTask, Job
from app.ops import doctor
from app.services import jobs
from app.services.jobs import executor

both_databases = pytest.mark.parametrize("db_kind", ["sqlite", "pg"], indirect=True)

# A user task with a non-interrupting reminder (the row's warning changes when it fires) beside two message
# catches that each open a task: the timer job and two message jobs of one instance can share a batch.
PING_TIMER = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs_pt" targetNamespace="http://t">
  <bpmn:process id="ping_timer" name="ping" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>a</bpmn:outgoing></bpmn:startEvent>
    <bpmn:parallelGateway id="fork"><bpmn:incoming>a</bpmn:incoming>
      <bpmn:outgoing>b</bpmn:outgoing><bpmn:outgoing>c</bpmn:outgoing><bpmn:outgoing>h</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:userTask id="work" name="work"><bpmn:incoming>b</bpmn:incoming><bpmn:outgoing>d</bpmn:outgoing></bpmn:userTask>
    <bpmn:boundaryEvent id="nudge" name="nudge" attachedToRef="work" cancelActivity="false">
      <bpmn:outgoing>e</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:intermediateCatchEvent id="ping" name="ping"><bpmn:incoming>c</bpmn:incoming><bpmn:outgoing>f</bpmn:outgoing>
      <bpmn:messageEventDefinition id="md" messageRef="msg_ping"/></bpmn:intermediateCatchEvent>
    <bpmn:userTask id="after" name="after"><bpmn:incoming>f</bpmn:incoming><bpmn:outgoing>g</bpmn:outgoing></bpmn:userTask>
    <bpmn:intermediateCatchEvent id="pong" name="pong"><bpmn:incoming>h</bpmn:incoming><bpmn:outgoing>i</bpmn:outgoing>
      <bpmn:messageEventDefinition id="md2" messageRef="msg_pong"/></bpmn:intermediateCatchEvent>
    <bpmn:userTask id="later" name="later"><bpmn:incoming>i</bpmn:incoming><bpmn:outgoing>j</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="e4"><bpmn:incoming>j</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="e1"><bpmn:incoming>d</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="e2"><bpmn:incoming>e</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="e3"><bpmn:incoming>g</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="a" sourceRef="s" targetRef="fork"/>
    <bpmn:sequenceFlow id="b" sourceRef="fork" targetRef="work"/>
    <bpmn:sequenceFlow id="c" sourceRef="fork" targetRef="ping"/>
    <bpmn:sequenceFlow id="d" sourceRef="work" targetRef="e1"/>
    <bpmn:sequenceFlow id="e" sourceRef="nudge" targetRef="e2"/>
    <bpmn:sequenceFlow id="f" sourceRef="ping" targetRef="after"/>
    <bpmn:sequenceFlow id="g" sourceRef="after" targetRef="e3"/>
    <bpmn:sequenceFlow id="h" sourceRef="fork" targetRef="pong"/>
    <bpmn:sequenceFlow id="i" sourceRef="pong" targetRef="later"/>
    <bpmn:sequenceFlow id="j" sourceRef="later" targetRef="e4"/>
  </bpmn:process>
  <bpmn:message id="msg_ping" name="msg_ping"/>
  <bpmn:message id="msg_pong" name="msg_pong"/>
</bpmn:definitions>
"""


class Statements:
    """The statements the write engine runs while active (the demo clock's offset loader switched off)."""

    def __init__(self, db):
        self.db, self.seen, self.sizes = db, [], []

    def _before(self, conn, cursor, statement, params, context, executemany):
        self.seen.append(" ".join(statement.split()))
        self.sizes.append(len(params) if executemany else 1)  # parameter sets (rows) of the statement

    def __enter__(self):
        app_clock.install_loader(None)
        event.listen(self.db.engine, "before_cursor_execute", self._before)
        return self

    def __exit__(self, *exc):
        event.remove(self.db.engine, "before_cursor_execute", self._before)
        self.db.install_clock()

    def count(self, prefix: str) -> int:
        return sum(1 for s in self.seen if s.startswith(prefix))

    def rows(self, prefix: str) -> int:
        return sum(n for s, n in zip(self.seen, self.sizes, strict=True) if s.startswith(prefix))


def _fired(db, element_id: str) -> int:
    with db.read_scope() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.type == "timer_fired", AuditEvent.element_id == element_id))


def _doctor_clean(db):
    problems = doctor.check(db)  # the full diff of engine state against every projection
    assert problems == [], problems


@both_databases
def test_a_timer_job_costs_no_task_read_and_no_timer_delete(factory, clock, db, caplog):
    factory.deploy_onboarding()
    n = 12
    for _ in range(n):
        factory.start()
    clock.advance("P1DT1M")  # every yellow timer is due; the red ones stay
    caplog.set_level(logging.INFO, logger=executor.__name__)
    with Statements(db) as seen:
        assert jobs.run_due(db, worker_id="w") == n
    batches = seen.count("INSERT INTO audit_event")  # one multi-row INSERT per batch
    assert 1 <= batches <= 3, seen.seen
    # the open task rows of a batch: one read for the batch, none per job
    assert seen.count("SELECT human_task.") == batches, seen.seen
    assert seen.rows("UPDATE human_task") == n  # the warning turns yellow
    assert seen.rows("UPDATE instance") == n
    # the batch's row writes are queued and sent as one executemany per statement
    assert seen.count("UPDATE human_task") == batches and seen.count("UPDATE instance") == batches, seen.seen
    # the fired yellow timer's row was taken by the batch: no per-job DELETE of it
    assert seen.count("DELETE FROM job WHERE job.instance_id") == 0, seen.seen
    assert not any("SAVEPOINT" in s for s in seen.seen)  # the fast path ran through
    assert "fast path" not in caplog.text
    with db.read_scope() as s:
        assert s.scalar(select(func.count()).select_from(Job).where(Job.element_id == "red1")) == n
        assert s.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.warning == "yellow")) == n
    _doctor_clean(db)


@both_databases
def test_cycle_timers_and_interrupting_timers_in_one_batch_leave_exact_projections(factory, clock, db):
    factory.deploy_onboarding()
    factory.deploy("timers.bpmn")  # also schedules the monthly timer start (a timer_start job)
    yellow_only = [factory.start() for _ in range(3)]
    cycles = [factory.start("reminders") for _ in range(3)]
    clock.advance("PT1H1M")  # the first reminder of each cycle is due
    jobs.run_due(db, worker_id="w")
    assert _fired(db, "remind") == 3
    with db.read_scope() as s:  # the consumed row came back with the cycle's next due time
        rows = s.execute(select(Job.instance_id, Job.due_at).where(Job.element_id == "remind")).all()
    assert sorted(r.instance_id for r in rows) == sorted(c["id"] for c in cycles)
    assert all(r.due_at > app_clock.now() for r in rows)
    _doctor_clean(db)
    both = [factory.start() for _ in range(2)]
    clock.advance("P3DT1M")  # yellow and red of the new ones, red of the first ones, reminders again
    jobs.run_due(db, worker_id="w")
    assert _fired(db, "red1") == _fired(db, "yellow1") == len(yellow_only) + len(both)
    for inst in (*yellow_only, *both):
        assert sorted(factory.open_tasks(inst["id"])) == ["escalate"]
    _doctor_clean(db)
    assert jobs.run_due(db, worker_id="w") == 0


@both_databases
def test_later_changes_of_an_instance_in_a_batch_read_what_the_earlier_ones_wrote(factory, clock, db, caplog):
    """The prefetched task rows serve an instance's first change only: its timer job sets the warning,
    then two message jobs of the same instance (same batch, later in instance order) each open a task;
    the last change keeps the task the one before it inserted."""
    with db.session_scope() as s:
        from app.services.definitions import deploy

        deploy.deploy_files(s, [("ping_timer.bpmn", PING_TIMER)], "tester")
    instances = [factory.start("ping_timer", business_key=f"bk-{i}") for i in range(3)]
    target = instances[1]["id"]
    clock.advance("PT1H1M")  # the reminders are due …
    with db.session_scope() as s:  # … and, after the target's reminder, two messages to it
        for name in ("msg_ping", "msg_pong"):
            s.add(Job(kind="message", due_at=app_clock.now(), instance_id=target,
                      payload={"name": name, "business_key": "bk-1"}))
    caplog.set_level(logging.INFO, logger=executor.__name__)
    with Statements(db) as seen:
        assert jobs.run_due(db, worker_id="w") == 5
    assert "fast path" not in caplog.text  # no job of the batch failed and ran again alone
    # one warning update per reminder: the messages' changes read the rows the changes before them wrote
    assert seen.rows("UPDATE human_task") == 3, seen.seen
    assert sorted(factory.open_tasks(target)) == ["after", "later", "work"]
    with db.read_scope() as s:
        warnings = dict(s.execute(select(HumanTask.instance_id, HumanTask.warning)
                                  .where(HumanTask.element_id == "work")).all())
    assert set(warnings.values()) == {"yellow"} and _fired(db, "nudge") == 3
    _doctor_clean(db)


def test_the_batch_size_follows_the_cost_per_job():
    assert executor.next_batch_size(20, 0.1) == 40  # 5 ms a job: 0.2 s of work
    assert executor.next_batch_size(20, 2.0) == executor.MIN_BATCH  # a very slow batch
    assert executor.next_batch_size(50, 0.01) == executor.MAX_BATCH
    assert executor.next_batch_size(0, 0.0) == executor.BATCH_SIZE
