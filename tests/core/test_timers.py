"""Timers fire from durable jobs with the moved application clock — never by sleeping."""

import datetime as dt

from sqlalchemy import func, select

from app.models.runtime import AuditEvent, HumanTask, Instance, Job
from tests.support import CALLS


def _fired(db, element_id=None):
    with db.read_scope() as s:
        stmt = select(func.count()).select_from(AuditEvent).where(AuditEvent.type == "timer_fired")
        if element_id:
            stmt = stmt.where(AuditEvent.element_id == element_id)
        return s.scalar(stmt)


def _task(db, instance_id, element_id):
    with db.read_scope() as s:
        return s.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                HumanTask.element_id == element_id))


def test_yellow_fires_after_its_duration_and_task_stays_open(factory, clock, db):
    factory.deploy_onboarding()
    inst = factory.start(data={"yellow_after": "P1D"})
    ut1 = _task(db, inst["id"], "ut1")
    assert ut1.warning == "none"
    assert ut1.due_at is not None
    clock.advance("PT23H")
    assert factory.run_jobs() == 0
    clock.advance("PT2H")
    assert factory.run_jobs() == 1
    assert _fired(db, "yellow1") == 1
    assert CALLS == [{"level": "yellow", "project_name": "测试项目"}]
    ut1 = _task(db, inst["id"], "ut1")
    assert ut1.state == "open" and ut1.warning == "yellow"
    assert factory.run_jobs() == 0  # nothing fires twice


def test_red_interrupts_and_routes_to_escalation(factory, clock, db):
    factory.deploy_onboarding()
    inst = factory.start()
    clock.advance("P3DT1M")
    factory.run_jobs()
    assert _task(db, inst["id"], "ut1").state == "cancelled"
    assert _task(db, inst["id"], "escalate").state == "open"
    assert _fired(db, "red1") == 1
    with db.read_scope() as s:
        assert s.scalar(select(func.count()).select_from(Job).where(Job.instance_id == inst["id"])) == 0


def test_completion_in_time_cancels_both_timer_jobs(factory, clock, db):
    factory.deploy_onboarding()
    inst = factory.start()
    with db.read_scope() as s:
        kinds = s.scalars(select(Job.element_id).where(Job.instance_id == inst["id"])).all()
    assert sorted(kinds) == ["red1", "yellow1"]
    factory.complete(_task(db, inst["id"], "ut1").id, {"project_name": "x", "amount_wan": 1})
    with db.read_scope() as s:
        assert s.scalar(select(func.count()).select_from(Job).where(Job.instance_id == inst["id"])) == 0
    clock.advance("P5D")
    assert factory.run_jobs() == 0
    assert _fired(db) == 0


def test_cycle_timer_fires_exactly_n_times(factory, clock, db):
    factory.deploy("timers.bpmn")
    inst = factory.start("reminders")
    for expected in (1, 2, 3):
        clock.advance("PT1H1M")
        factory.run_jobs()
        assert len(CALLS) == expected
    clock.advance("PT5H")
    factory.run_jobs()
    assert len(CALLS) == 3
    assert _fired(db, "remind") == 3
    assert _task(db, inst["id"], "work").state == "open"
    assert _task(db, inst["id"], "work").warning == "yellow"


def test_time_date_timer_fires_at_its_date(factory, clock, db):
    factory.deploy("timers.bpmn")
    release_at = (clock.now() + dt.timedelta(days=2)).isoformat()
    inst = factory.start("release", data={"release_at": release_at})
    assert _task(db, inst["id"], "publish") is None
    clock.advance("P1D")
    factory.run_jobs()
    assert _task(db, inst["id"], "publish") is None
    clock.advance("P1DT1M")
    factory.run_jobs()
    assert _task(db, inst["id"], "publish").state == "open"


def test_timer_start_event_creates_one_instance_per_occurrence(factory, clock, db):
    factory.deploy("timers.bpmn")

    def count():
        with db.read_scope() as s:
            return s.scalar(select(func.count()).select_from(Instance).where(Instance.process_key == "monthly"))

    assert count() == 0
    for n in (1, 2, 3):
        clock.advance("PT1H1M")
        factory.run_jobs()
        assert count() == n
    clock.advance("PT3H")
    factory.run_jobs()
    assert count() == 3
    with db.read_scope() as s:
        open_reports = s.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.element_id == "report",
                                                                                  HumanTask.state == "open"))
    assert open_reports == 3


def test_new_version_takes_over_timer_start_schedule(factory, db):
    from pathlib import Path

    from app.services.definitions import deploy

    factory.deploy("timers.bpmn")
    xml = (Path(__file__).parent.parent / "fixtures" / "bpmn" / "timers.bpmn").read_bytes()
    changed = xml.replace("编写月报".encode(), "编写月度报告".encode())
    with db.session_scope() as s:
        result = deploy.deploy_files(s, [("timers.bpmn", changed)], "tester")
    monthly = [r for r in result if r["process_key"] == "monthly"][0]
    assert monthly["created"] and monthly["version"] == 2
    with db.read_scope() as s:
        jobs = s.scalars(select(Job).where(Job.kind == "timer_start")).all()
    assert [j.version_id for j in jobs] == [monthly["id"]]


def test_api_task_items_carry_due_and_warning(factory, clock, client):
    factory.deploy_onboarding()
    token = factory.token("admin")
    factory.start()
    clock.advance("P1DT1H")
    factory.run_jobs()
    items = client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}).get_json()["items"]
    assert items[0]["warning"] == "yellow"
    assert items[0]["due_at"] is not None


def test_timer_started_instance_runs_to_completion(factory, clock, db):
    factory.deploy("timers.bpmn")
    clock.advance("PT1H1M")
    factory.run_jobs()
    with db.read_scope() as s:
        inst = s.scalar(select(Instance).where(Instance.process_key == "monthly"))
    report = factory.open_tasks(inst.id)["report"]
    assert factory.complete(report)["status"] == "completed"
