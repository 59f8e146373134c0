"""The SQL round trips of one task completion over the API are fixed: a new one must fail here.

A completion in the middle of a sequential flow (token cached, form cached) is, on SQLite:
BEGIN IMMEDIATE, the task row joined with its instance row (PostgreSQL: ``FOR UPDATE OF instance``), the
conditional UPDATE marking the task completed, the INSERT of the next task row, the audit INSERT and the
``lock_version``-guarded UPDATE of the instance. The open-task and timer projections are derived from the
engine result (no read-back); a completion that removes timers adds one DELETE, nothing else.
The projections stay exactly what the doctor's full diff expects.
"""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from app import clock
from app.models.runtime import AuditEvent, HumanTask, Job
from app.ops import doctor

pytestmark = pytest.mark.parametrize("db_kind", ["sqlite", "pg"], indirect=True)

FORM = {"project_name": "计数", "amount_wan": 100}


class Statements:
    """Every statement the database engines run while active.

    The demo clock re-reads its offset (its own read transaction) at most once a second; that loader
    is switched off meanwhile, so a slow machine cannot add its statements to the count.
    """

    def __init__(self, db):
        self.db = db
        self.engines = {db.engine, db.read_engine}
        self.seen: list[str] = []

    def _before(self, conn, cursor, statement, params, context, executemany):
        self.seen.append(" ".join(statement.split())[:120])

    def __enter__(self):
        clock.install_loader(None)
        for engine in self.engines:
            event.listen(engine, "before_cursor_execute", self._before)
        return self

    def __exit__(self, *exc):
        for engine in self.engines:
            event.remove(engine, "before_cursor_execute", self._before)
        self.db.install_clock()

    def report(self) -> str:
        return "\n".join(self.seen)


def _complete(client, token, task_id):
    res = client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": FORM},
                      headers={"Authorization": f"Bearer {token}"})
    assert res.status_code == 200, res.get_data(as_text=True)
    return res.get_json()


def _writes_begin(db) -> int:
    return 1 if db.is_sqlite else 0  # SQLite writers send BEGIN IMMEDIATE; psycopg begins implicitly


def test_one_completion_costs_a_fixed_number_of_statements(factory, db, client):
    factory.deploy_onboarding()
    token = factory.token("admin")
    inst = factory.start()
    first = _complete(client, token, inst["tasks"][0]["id"])  # warms the token and form caches
    with Statements(db) as sql:
        after = _complete(client, token, first["tasks"][0]["id"])
    assert len(after["tasks"]) == 2  # a parallel split: both rows in one INSERT
    begin = _writes_begin(db)
    assert len(sql.seen) <= 5 + begin, sql.report()
    assert not [s for s in sql.seen if s.startswith("SELECT") and "FROM instance" in s and "JOIN" not in s], \
        sql.report()  # the instance row comes with the task row, not in a second read
    assert not doctor.check_instance(db, inst["id"])


def test_a_completion_that_removes_timers_adds_only_their_delete(factory, db, client):
    factory.deploy_onboarding()
    token = factory.token("admin")
    inst = factory.start()
    with db.read_scope() as s:
        assert s.scalars(select(Job).where(Job.instance_id == inst["id"], Job.kind == "timer")).all()
    with Statements(db) as sql:
        _complete(client, token, inst["tasks"][0]["id"])
    begin = _writes_begin(db)
    # + the token lookup of the first request and the form file read once per version
    assert len(sql.seen) <= 6 + begin + 4, sql.report()
    assert len([s for s in sql.seen if s.startswith("DELETE FROM job")]) == 1, sql.report()
    assert not [s for s in sql.seen if s.startswith("SELECT") and "FROM job" in s], sql.report()
    assert not doctor.check_instance(db, inst["id"])


def test_every_completion_of_a_flow_keeps_the_bound_and_the_projections_right(factory, db, client):
    factory.deploy_onboarding()
    token = factory.token("admin")
    inst = factory.start()
    tasks = _complete(client, token, inst["tasks"][0]["id"])["tasks"]
    counts = []
    while tasks:
        with Statements(db) as sql:
            tasks = _complete(client, token, tasks[0]["id"])["tasks"]
        counts.append(len(sql.seen))
        assert not doctor.check_instance(db, inst["id"]), sql.report()
    assert counts and max(counts) <= 6 + _writes_begin(db), counts
    with db.read_scope() as s:
        assert not s.scalars(select(HumanTask).where(HumanTask.instance_id == inst["id"],
                                                     HumanTask.state == "open")).all()
        types = s.scalars(select(AuditEvent.type).where(AuditEvent.instance_id == inst["id"])
                          .order_by(AuditEvent.id)).all()
    assert types[-2:] == ["task_completed", "instance_completed"]  # written in one INSERT, in order
