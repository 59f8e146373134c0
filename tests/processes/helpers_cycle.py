"""Helpers for the city-level and periodic processes (visitor, complaint, capacity, supervision,
library): a fixed application clock, timer-start schedules re-created after the ``deployed``
fixture removed them, multi-instance tasks completed one by one, and row readers for the records
these processes write (Visit, Complaint, CapacityLedger, Report, AssessmentScore).

Builds on :class:`tests.processes.conftest.Flow`; nothing here changes the conftest fixtures.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import delete, func, select
from sqlalchemy.orm import selectinload

from app.demo import clock as clock_admin
from app.models.domain import AssessmentScore, CapacityLedger, Complaint, Report, Visit
from app.models.runtime import HumanTask, Instance, Job, ProcessVersion
from app.services.definitions import occurrences as timer_starts
from app.services.definitions import versions
from app.services.runtime import instances
from tests.processes.conftest import Flow, form_data

CST = dt.timezone(dt.timedelta(hours=8))


# ---------------------------------------------------------------- clock and timer starts


def set_clock(flow: Flow, when: str) -> dt.datetime:
    """Put the application clock at ``when`` (ISO, local time when naive), whatever the real date is."""
    with flow.db.session_scope() as s:
        return clock_admin.set_to(s, when, demo=True, actor="test")


def schedule_timer_start(flow: Flow, process_key: str) -> Job:
    """Re-create the timer-start job of the latest version of ``process_key`` the way a deploy
    does (``app/services/deploy.py::_reschedule_timer_start``): occurrence 1 at the first due time."""
    with flow.db.session_scope() as s:
        version = s.scalars(select(ProcessVersion).where(ProcessVersion.process_key == process_key)
                            .order_by(ProcessVersion.version.desc())).first()
        assert version is not None and version.timer_start, f"{process_key} has no timer start event"
        s.execute(delete(Job).where(Job.kind == "timer_start", Job.version_id == version.id))
        due = timer_starts.first_occurrence(version.timer_start, flow.clock.now())
        job = Job(kind="timer_start", due_at=due, version_id=version.id,
                  element_id=version.timer_start["element_id"], payload={"occurrence": 1})
        s.add(job)
        s.flush()
        s.expunge(job)
        return job


def start_occurrence(flow: Flow, process_key: str, data: dict | None = None) -> int:
    """Start a periodic process the way its timer-start job does (the start timer fires once, now),
    with start data such as ``period`` and the unit scope. A plain ``start_instance`` of these
    processes waits on the start timer instead (see the xfail tests in test_capacity/test_supervision)."""
    with flow.db.session_scope() as s:
        return instances.start_instance(s, process_key, data=data or {}, actor="timer", fire_start_timer=True)["id"]


def timer_start_jobs(flow: Flow, process_key: str) -> list[Job]:
    with flow.db.read_scope() as s:
        return list(s.scalars(select(Job).join(ProcessVersion, ProcessVersion.id == Job.version_id)
                              .where(Job.kind == "timer_start", ProcessVersion.process_key == process_key)
                              .order_by(Job.due_at)))


def count_instances(flow: Flow, process_key: str) -> int:
    with flow.db.read_scope() as s:
        return int(s.scalar(select(func.count()).select_from(Instance).where(Instance.process_key == process_key)))


# ---------------------------------------------------------------- tasks


def open_tasks(flow: Flow, instance_id: int, element_id: str) -> list[HumanTask]:
    """Every open task of ``element_id`` (one per item of a multi-instance task), oldest first."""
    with flow.db.read_scope() as s:
        return list(s.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                      HumanTask.element_id == element_id,
                                                      HumanTask.state == "open")
                              .order_by(HumanTask.created_at, HumanTask.id)))


def complete_task(flow: Flow, task: HumanTask, overrides: dict | None = None, username: str = "admin") -> dict:
    """Complete one given task (not "the newest of its element") with schema-valid data + overrides."""
    with flow.db.read_scope() as s:
        version_id = s.scalar(select(Instance.version_id).where(Instance.id == task.instance_id))
        schema = versions.load_form(s, version_id, task.form_file)
    return flow.factory.complete(task.id, form_data(schema, overrides), username=username)


def complete_each(flow: Flow, instance_id: int, element_id: str, overrides: Callable[[HumanTask], dict] | dict,
                  username: str = "admin") -> list[str]:
    """Complete every open task of a multi-instance ``element_id``; ``overrides(task)`` gives each
    item's answers (the task row carries the item's ``region_code``). Returns the region codes in
    the order completed."""
    tasks = open_tasks(flow, instance_id, element_id)
    assert tasks, f"no open {element_id} in instance {instance_id}; open: {sorted(flow.open_tasks(instance_id))}"
    done = []
    for task in tasks:
        complete_task(flow, task, overrides(task) if callable(overrides) else overrides, username=username)
        done.append(task.region_code)
    return done


# ---------------------------------------------------------------- rows


def visit(flow: Flow, visit_id: int) -> Visit:
    with flow.db.read_scope() as s:
        return s.scalar(select(Visit).where(Visit.id == visit_id).options(selectinload(Visit.enterprise)))


def complaint(flow: Flow, complaint_id: int) -> Complaint:
    with flow.db.read_scope() as s:
        return s.get(Complaint, complaint_id)


def reports(flow: Flow, kind: str) -> list[Report]:
    with flow.db.read_scope() as s:
        return list(s.scalars(select(Report).where(Report.kind == kind).order_by(Report.id)))


def ledger(flow: Flow, period: str) -> list[CapacityLedger]:
    with flow.db.read_scope() as s:
        return list(s.scalars(select(CapacityLedger).where(CapacityLedger.period == period)
                              .order_by(CapacityLedger.region_code, CapacityLedger.id)))


def assessment_scores(flow: Flow, year: int, quarter: int | None = None) -> dict[str, AssessmentScore]:
    with flow.db.read_scope() as s:
        stmt = select(AssessmentScore).where(AssessmentScore.year == year)
        stmt = stmt.where(AssessmentScore.quarter.is_(None) if quarter is None else AssessmentScore.quarter == quarter)
        return {row.unit_key: row for row in s.scalars(stmt)}


def section(report: Report, key: str) -> dict:
    """A report section by key (titles are numbered 一、二、… and change with the content)."""
    sections = report.sections if isinstance(report.sections, list) else []
    for item in sections:
        if item.get("key") == key:
            return item
    raise AssertionError(f"report {report.id} has no section {key!r}; keys: {[i.get('key') for i in sections]}")


def table_row(sect: dict, first_cell: str) -> list:
    for row in sect["table"]["rows"]:
        if row[0] == first_cell:
            return row
    raise AssertionError(f"no row {first_cell!r} in section {sect.get('key')}")
