"""The hot-instance cache (services.caches.HotInstances): a workflow kept in memory between changes
behaves exactly like one restored from its row, and is used only when the row still holds it.

The suite runs with ``INVESTFLOW_HOT_VERIFY=1`` (tests/conftest.py): every reuse in every test is also
checked against a fresh restore of the row.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from sqlalchemy import select

import tests.support  # noqa: F401  (registers the fixture's test_record handler)
from app.models.runtime import Instance
from tests.conftest import FIXTURES


def _bundle(name):
    from app.engine import compile_files
    from app.engine.serializer import SERIALIZER, SpecBundle
    from app.roles import ROLES
    from app.services.runtime.service_calls import operation_names

    files = [(name, (FIXTURES / "bpmn" / name).read_bytes())]
    if name == "onboarding.bpmn":
        files += [(f, (FIXTURES / "bpmn" / f).read_bytes()) for f in ("ob-basic.json", "ob-basic-uischema.json")]
    compiled = compile_files(files, operation_names(), set(ROLES))[0]
    raw = json.loads(compiled.spec_json)
    return SpecBundle(SERIALIZER.from_dict(raw["spec"]),
                      {k: SERIALIZER.from_dict(v) for k, v in raw["subprocess_specs"].items()})


def _comparable(runner) -> dict:
    """The stored JSON of a runner without the wall-clock instants SpiffWorkflow stamps on state changes."""
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "last_state_change"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(json.loads(runner.dump()))


class _Ids:
    """Deterministic task ids: both copies of a step draw the same sequence."""

    def __init__(self):
        self.n = 0

    def reset(self, start):
        self.n = start

    def __call__(self):
        self.n += 1
        return uuid.UUID(int=self.n)


@pytest.mark.parametrize("name", ["rework.bpmn", "rework_timer.bpmn", "rework_call.bpmn", "onboarding.bpmn"])
def test_a_step_on_the_kept_workflow_equals_the_step_on_a_restored_one(name, monkeypatch):
    from app import clock as app_clock
    from app.engine import Runner, make_script_engine
    from app.engine import serializer as ser

    frozen = [dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)]
    monkeypatch.setattr(app_clock, "real_now", lambda: frozen[0])
    ids = _Ids()
    monkeypatch.setattr(ser, "uuid4", ids)

    bundle = _bundle(name)
    engine = make_script_engine(lambda *a: {"ok": True})
    data = {"rounds": 0, "yellow_after": "P1D", "project_name": "测试", "amount_wan": 100}
    hot = Runner.new(bundle, data, engine)
    hot.compact_after = 10  # compaction happens many times on the way
    hot.step()
    steps = 0
    for i in range(120):
        ready = hot.user_tasks()
        if not ready:
            break
        task = ready[0]
        form = {"note": i, "first_note": "第一次", "approved": i == 119, "project_name": "测试", "amount_wan": 100}
        cold = Runner.restore(hot.dump(), bundle, engine, ser.SERIALIZER_VERSION)
        cold.compact_after = hot.compact_after
        start = 10_000 * (i + 1)
        for runner in (hot, cold):
            ids.reset(start)
            assert runner.complete(task.id, form).failure is None
        assert _comparable(hot) == _comparable(cold), f"step {i} ({task.element_id})"
        assert [u.id for u in hot.user_tasks()] == [str(t.id) for t in hot.wf.get_tasks(state=16, manual=True)]  # 16: READY
        steps += 1
        if i % 15 == 7:
            frozen[0] += dt.timedelta(days=2)  # timers fire in both copies
            cold = Runner.restore(hot.dump(), bundle, engine, ser.SERIALIZER_VERSION)
            cold.compact_after = hot.compact_after
            for runner in (hot, cold):
                ids.reset(start + 5_000)
                runner.step()
            assert _comparable(hot) == _comparable(cold), f"timers after step {i}"
    assert hot.completed and steps >= 5


def _row(db, instance_id) -> Instance:
    with db.read_scope() as s:
        inst = s.get(Instance, instance_id)
        s.expunge(inst)
        return inst


def test_the_next_change_reuses_the_kept_workflow(factory, db):
    factory.deploy_onboarding()
    inst = factory.start()
    hot = db.caches.hot
    hits = hot.hits
    first = factory.open_tasks(inst["id"])
    out = factory.complete(next(iter(first.values())), {"project_name": "甲", "amount_wan": 5})
    assert hot.hits == hits + 1
    assert out["tasks"] and len(hot) == 1
    assert _row(db, inst["id"]).lock_version == 1


@pytest.mark.parametrize("db_kind", ["sqlite", "pg"], indirect=True)
def test_a_row_changed_by_another_process_is_restored_not_taken_from_memory(factory, db, database_url):
    """Two Database objects on one database stand for two server processes, each with its own cache;
    they take turns completing the tasks of one instance, so each finds its kept workflow stale."""
    from app.db import Database
    from app.services import tasks
    from app.services.domain import users

    factory.deploy_onboarding()
    inst = factory.start()
    other = Database(database_url)
    seen = []
    try:
        for turn in range(6):
            side = db if turn % 2 == 0 else other
            task = next(iter(factory.open_tasks(inst["id"]).values()))
            misses = side.caches.hot.misses
            with side.session_scope() as s:
                tasks.complete_task(s, users.get_user(s, "admin"), task, {"project_name": f"第{turn}", "amount_wan": 6})
            if turn >= 2:  # the process's kept workflow is a version behind the row: restored instead
                assert side.caches.hot.misses == misses + 1, f"turn {turn}"
            seen.append(task)
            assert _row(db, inst["id"]).lock_version == turn + 1
    finally:
        other.dispose()
    assert len(set(seen)) == 6  # six different steps, none repeated from a stale copy
    assert not set(seen) & set(factory.open_tasks(inst["id"]).values())


def _fresh_instance(factory, db):
    """An onboarding instance at its first task, with nothing kept in memory; (instance, task id, complete)
    where ``complete(session)`` completes that task in the caller's transaction."""
    from app.services import tasks
    from app.services.domain import users

    factory.deploy_onboarding()
    inst = factory.start()
    db.caches.hot.clear()
    task = next(iter(factory.open_tasks(inst["id"]).values()))

    def complete(session):
        tasks.complete_task(session, users.get_user(session, "admin"), task, {"project_name": "甲", "amount_wan": 5})

    return inst, task, complete


@pytest.mark.parametrize("db_kind", ["sqlite", "pg"], indirect=True)
def test_a_rolled_back_change_leaves_nothing_in_memory(factory, db):
    inst, task, complete = _fresh_instance(factory, db)
    with pytest.raises(RuntimeError, match="after the change"):
        with db.session_scope() as s:
            complete(s)
            raise RuntimeError("failure after the change")
    assert len(db.caches.hot) == 0
    assert _row(db, inst["id"]).lock_version == 0
    factory.complete(task, {"project_name": "甲", "amount_wan": 5})  # restored from the row, completes
    assert _row(db, inst["id"]).lock_version == 1


@pytest.mark.parametrize("db_kind", ["sqlite", "pg"], indirect=True)
def test_a_rolled_back_savepoint_leaves_nothing_in_memory(factory, db):
    inst, task, complete = _fresh_instance(factory, db)
    with db.session_scope() as s:
        savepoint = s.begin_nested()
        complete(s)
        savepoint.rollback()
    assert len(db.caches.hot) == 0
    assert _row(db, inst["id"]).lock_version == 0
    with db.session_scope() as s:
        with s.begin_nested():
            complete(s)
        assert len(db.caches.hot) == 0  # the savepoint committed, the transaction not yet
    assert len(db.caches.hot) == 1


def test_verify_mode_refuses_a_kept_workflow_changed_after_it_was_saved(factory, db):
    factory.deploy_onboarding()
    inst = factory.start()
    assert db.settings.hot_verify  # tests/conftest.py turns it on for the whole suite
    stamp, runner = db.caches.hot._items[inst["id"]]
    runner.wf.task_tree.data["project_name"] = "篡改"  # what a caller holding the runner after commit might do
    task = next(iter(factory.open_tasks(inst["id"]).values()))
    with pytest.raises(RuntimeError, match="differs from its row"):
        factory.complete(task, {"project_name": "甲", "amount_wan": 5})
    factory.complete(task, {"project_name": "甲", "amount_wan": 5})  # the bad entry is gone: restored


def test_size_zero_keeps_nothing(factory, db):
    factory.deploy_onboarding()
    db.caches.hot.size = 0
    try:
        inst = factory.start()
        factory.complete(next(iter(factory.open_tasks(inst["id"]).values())), {"project_name": "甲", "amount_wan": 5})
        assert len(db.caches.hot) == 0
    finally:
        db.caches.hot.size = 256
    with db.read_scope() as s:
        assert s.scalar(select(Instance.lock_version).where(Instance.id == inst["id"])) == 1


def test_only_save_change_writes_an_instance_state():
    """The cache's safety rests on this: every write of ``instance.state`` bumps the lock version, and
    the one statement that writes it (change._UPDATE_INSTANCE) does. A new writer must go through it."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "app"
    writers = re.compile(r"(update\((Instance|_T)\b|Instance\.__table__\.update\(|UPDATE\s+instance\b)", re.I)
    found = []
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for match in writers.finditer(text):
            end = text.find("\n\n", match.end())  # the statement and what chains on it, to the next blank line
            statement = text[match.start():end if end > 0 else len(text)]
            if re.search(r"\bstate\s*=(?!=)", statement):
                found.append(f"{path.relative_to(root)}:{text.count(chr(10), 0, match.start()) + 1}")
    assert found == ["services/runtime/change.py:" + str(_update_line(root / "services/runtime/change.py"))], found


def _update_line(path) -> int:
    text = path.read_text(encoding="utf-8")
    return text.count("\n", 0, text.index("_UPDATE_INSTANCE = (update(_T)")) + 1


def test_a_large_instance_is_not_kept(factory, db, monkeypatch):
    from app.services.caches import HotInstances

    factory.deploy_onboarding()
    monkeypatch.setattr(HotInstances, "MAX_STATE_BYTES", 100)  # every instance is "large" now
    inst = factory.start()
    factory.complete(factory.open_tasks(inst["id"])["ut1"], {"project_name": "甲", "amount_wan": 1})
    assert len(db.caches.hot) == 0
    monkeypatch.setattr(HotInstances, "MAX_STATE_BYTES", 128 * 1024)
    factory.complete(factory.open_tasks(inst["id"])["ut2"], {"project_name": "甲", "amount_wan": 1})
    assert len(db.caches.hot) == 1


def test_a_due_job_keeps_in_memory_only_a_workflow_that_was_kept_already(factory, db, clock):
    """The sweep does not fill the cache with the instances it restores (nobody touches them next), but
    an instance people are working on stays kept through its timers."""
    factory.deploy_onboarding()
    hot = db.caches.hot
    cold = factory.start()
    hot.clear()  # as if another process had started it
    warm = factory.start()
    assert set(hot._items) == {warm["id"]}
    hits = hot.hits
    clock.advance("P1DT1M")
    assert factory.run_jobs() >= 2  # both yellow timers fired
    assert hot.hits == hits + 1  # the kept workflow was used by its job…
    assert set(hot._items) == {warm["id"]}  # …and kept again; the restored one was not
    with db.read_scope() as s:
        fired = {s.get(Instance, i).lock_version for i in (cold["id"], warm["id"])}
    assert fired == {1}  # each written once more by its timer
