"""Back-edge rework loops (退回修改 / 补正材料) cost the same at round 1,000 as at round 10.

SpiffWorkflow keeps every finished task; the engine wrapper compacts the tree (app/engine/compaction.py).
These tests drive the loops through the service layer with the moved clock, and compare a compacted
workflow step by step with one that keeps its whole history.
"""

from __future__ import annotations

import json
import statistics
import time

import pytest
from sqlalchemy import select

from app.models.runtime import HumanTask, Instance
from tests.conftest import FIXTURES

ROUNDS = 1000


def _open(db, instance_id):
    with db.read_scope() as s:
        rows = s.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                 HumanTask.state == "open")).all()
        return {t.element_id: (t.id, t.warning) for t in rows}


def _instance(db, instance_id):
    with db.read_scope() as s:
        inst = s.get(Instance, instance_id)
        s.expunge(inst)
        return inst


def _data(db, instance_id):
    from app.services import runtime

    with db.read_scope() as s:
        return runtime.instance_data(s, s.get(Instance, instance_id))


def _drive(factory, db, clock, key, rounds, remind_every=None):
    """Reject ``rounds`` times, then approve; returns (CPU seconds per round, state bytes per round, reminders)."""
    inst = factory.start(key, data={"rounds": 0})
    seconds, sizes, reminded = [], [], 0
    for i in range(rounds + 1):
        if remind_every and i and i % remind_every == 0:
            clock.advance("P2D")
            assert factory.run_jobs() >= 1
            assert _open(db, inst["id"])["submit"][1] == "yellow"
            reminded += 1
        t0 = time.process_time()  # CPU time of this process: other jobs on a shared machine do not count
        tasks = _open(db, inst["id"])
        assert set(tasks) == {"submit"}, f"round {i}: {tasks}"
        factory.complete(tasks["submit"][0], {"first_note": "第一次"} if i == 0 else {"note": f"第{i + 1}次"})
        tasks = _open(db, inst["id"])
        assert set(tasks) == {"review"}, f"round {i}: {tasks}"
        factory.complete(tasks["review"][0], {"approved": i == rounds})
        seconds.append(time.process_time() - t0)
        if i < rounds:
            sizes.append(len(_instance(db, inst["id"]).state))
    return inst["id"], seconds, sizes, reminded


def _typical(samples):
    """The lower quartile of a window: what a round costs when nothing else interferes. On a shared machine
    noise (another process on the core, a GC pass) only ever adds time, so a median of 50 rounds could still
    double under load; a cost that grows with history raises the whole distribution, its lower quartile too."""
    return statistics.quantiles(samples, n=4)[0]


def _assert_flat(seconds, sizes):
    # the late cost is the cheapest of the last three 50-round windows: a burst of load on the shared machine
    # can cover one window (it failed so twice in whole-suite runs), while a cost that grows with history
    # raises all three
    early = _typical(seconds[5:55])
    late = min(_typical(seconds[-151:-101]), _typical(seconds[-101:-51]), _typical(seconds[-51:-1]))
    assert late <= 1.5 * early, f"per-round cost grew: rounds 5-55 {early * 1000:.1f} ms, last 50 {late * 1000:.1f} ms"
    assert max(sizes[-50:]) <= 1.5 * max(sizes[5:55]), f"stored state grew: {max(sizes[5:55])} -> {max(sizes[-50:])}"


def _assert_ended(db, instance_id):
    inst = _instance(db, instance_id)
    assert inst.status == "completed"
    assert _open(db, instance_id) == {}
    data = _data(db, instance_id)
    assert data["rounds"] == ROUNDS + 1
    assert data["summary"] == f"第一次/{ROUNDS + 1}"  # written in round 1, read by the last condition's branch


def test_a_back_edge_loop_of_1000_rounds_stays_flat_and_ends(factory, db, clock):
    factory.deploy("rework.bpmn")
    instance_id, seconds, sizes, _ = _drive(factory, db, clock, "rework", ROUNDS)
    _assert_flat(seconds, sizes)
    _assert_ended(db, instance_id)


def test_a_loop_with_a_boundary_timer_on_the_reworked_task_stays_flat_and_its_reminders_fire(factory, db, clock):
    factory.deploy("rework_timer.bpmn")
    instance_id, seconds, sizes, reminded = _drive(factory, db, clock, "rework_timer", ROUNDS, remind_every=100)
    assert reminded == ROUNDS // 100
    _assert_flat(seconds, sizes)
    _assert_ended(db, instance_id)


def test_a_loop_around_a_call_activity_stays_flat_and_ends(factory, db, clock):
    factory.deploy("rework_call.bpmn")
    instance_id, seconds, sizes, _ = _drive(factory, db, clock, "rework_call", ROUNDS)
    _assert_flat(seconds, sizes)
    _assert_ended(db, instance_id)
    state = json.loads(_instance(db, instance_id).state)
    assert len(state["subprocesses"]) <= 3  # not one per round


# -- the compacted workflow is the same workflow ---------------------------------------------------

def _bundle(name):
    from app.engine import compile_files
    from app.engine.serializer import SERIALIZER, SpecBundle

    compiled = compile_files([(name, (FIXTURES / "bpmn" / name).read_bytes())], set(), set())[0]
    raw = json.loads(compiled.spec_json)
    return SpecBundle(SERIALIZER.from_dict(raw["spec"]),
                      {k: SERIALIZER.from_dict(v) for k, v in raw["subprocess_specs"].items()})


def _observable(runner):
    return {
        "tasks": sorted((u.element_id, u.name, u.lane, json.dumps(u.data, sort_keys=True, default=str), u.warning,
                         str(u.due_at)) for u in runner.user_tasks()),
        "timers": sorted((t.element_id, str(t.due_at), t.cycle) for t in runner.timers()),
        "messages": sorted(runner.waiting_messages()),
        "data": json.dumps(runner.data, sort_keys=True, default=str),
        "elements": runner.element_states(),
        "completed": runner.completed,
    }


@pytest.mark.parametrize("name", ["rework.bpmn", "rework_timer.bpmn", "rework_call.bpmn"])
def test_compaction_changes_nothing_a_later_step_can_observe(name, monkeypatch):
    """Two copies of one instance in lock step, one never compacted: same tasks, data, timers, colours."""
    import datetime as dt

    from app import clock as app_clock
    from app.engine import Runner, make_script_engine
    from app.engine.serializer import SERIALIZER_VERSION

    frozen = [dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)]  # one instant for both copies
    monkeypatch.setattr(app_clock, "real_now", lambda: frozen[0])

    bundle = _bundle(name)
    engine = make_script_engine(lambda *a: None)
    full, compact = Runner.new(bundle, {"rounds": 0}, engine), Runner.new(bundle, {"rounds": 0}, engine)
    full.compact_after = 10 ** 9
    full.step()
    compact.step()
    removed = 0
    for i in range(60):  # below SpiffWorkflow's recursion limit for the uncompacted copy
        for element, data in (("submit", {"note": i, **({"first_note": "第一次"} if i == 0 else {})}),
                              ("review", {"approved": i == 59})):
            for runner in (full, compact):
                task = next(u for u in runner.user_tasks() if u.element_id == element)
                assert runner.complete(task.id, data).failure is None
            before = len(compact.wf.tasks)
            compact = Runner.restore(compact.dump(), bundle, engine, SERIALIZER_VERSION)
            removed += max(0, before - len(compact.wf.tasks))
            assert _observable(compact) == _observable(full), f"round {i}, after {element}"
        if i % 10 == 5:
            frozen[0] += dt.timedelta(days=2)  # let the reminder fire in both copies
            for runner in (full, compact):
                runner.step()
    assert compact.completed and full.completed
    assert len(compact.wf.tasks) < len(full.wf.tasks) / 5
