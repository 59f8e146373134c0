"""Concurrent writers: exactly one completion wins, the rest get 409, nothing is lost (SQLite and PostgreSQL)."""

import threading

import pytest
from sqlalchemy import func, select

from app.errors import AppError
from app.models.runtime import AuditEvent, HumanTask
from app.services import tasks
from app.services.domain import users

pytestmark = pytest.mark.parametrize("db_kind", ["sqlite", "pg"], indirect=True)


def test_twenty_threads_complete_the_same_task_once(factory, db):
    factory.deploy_onboarding()
    inst = factory.start()
    task_id = factory.open_tasks(inst["id"])["ut1"]
    outcomes, barrier = [], threading.Barrier(20)

    def worker():
        barrier.wait()
        try:
            with db.session_scope() as s:
                user = users.get_user(s, "admin")
                tasks.complete_task(s, user, task_id, {"project_name": "并发", "amount_wan": 1})
            outcomes.append(200)
        except AppError as exc:
            outcomes.append(exc.status)
        except Exception as exc:  # any other error is a bug: it would be a 500
            outcomes.append(repr(exc))

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes, key=str) == [200] + [409] * 19
    with db.read_scope() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.type == "task_completed")) == 1
        open_now = s.scalars(select(HumanTask.element_id).where(HumanTask.instance_id == inst["id"],
                                                                HumanTask.state == "open")).all()
    assert open_now == ["ut2"]


def test_concurrent_claims_one_winner(factory, db):
    factory.deploy_onboarding()
    for i in range(5):
        factory.user(f"o{i}", "zsw_office")
    inst = factory.start()
    task_id = factory.open_tasks(inst["id"])["ut1"]
    outcomes, barrier = [], threading.Barrier(5)

    def claim(name):
        barrier.wait()
        try:
            with db.session_scope() as s:
                tasks.claim_task(s, users.get_user(s, name), task_id)
            outcomes.append(name)
        except AppError as exc:
            outcomes.append(exc.status)

    threads = [threading.Thread(target=claim, args=(f"o{i}",)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [o for o in outcomes if isinstance(o, str)]
    assert len(winners) == 1 and sorted(o for o in outcomes if not isinstance(o, str)) == [409] * 4
