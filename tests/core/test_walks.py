"""app.engine.walks: the task-tree walks give SpiffWorkflow's iterator order on real diagrams (call
activities, boundary timers, parallel branches, back edges), and a walk that differs is caught — by
``mismatches`` and, in the suite's verify mode, by every step."""

from __future__ import annotations

import datetime as dt

import pytest

from app.engine import walks
from tests.core.test_hot_instances import _bundle


def _run(name, monkeypatch, check, steps=40):
    """Drive a fixture through completions and timer firings; ``check(runner)`` after every change."""
    from app import clock as app_clock
    from app.engine import Runner, make_script_engine

    frozen = [dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)]
    monkeypatch.setattr(app_clock, "real_now", lambda: frozen[0])
    runner = Runner.new(_bundle(name), {"rounds": 0, "yellow_after": "P1D", "project_name": "测试",
                                        "amount_wan": 100}, make_script_engine(lambda *a: {"ok": True}))
    runner.step()
    check(runner)
    done = 0
    for i in range(steps):
        ready = runner.user_tasks()
        if not ready:
            break
        form = {"note": i, "first_note": "第一次", "approved": i == steps - 1, "project_name": "测试", "amount_wan": 100}
        assert runner.complete(ready[-1].id, form).failure is None
        check(runner)
        if i % 7 == 3:
            frozen[0] += dt.timedelta(days=2)  # boundary timers fire
            runner.step()
            check(runner)
        done += 1
    return done


@pytest.mark.parametrize("name", ["rework_call.bpmn", "rework_timer.bpmn", "onboarding.bpmn", "timers.bpmn",
                                  "named_lanes.bpmn"])
def test_walks_give_spiffworkflows_order_on_every_query(name, monkeypatch):
    seen = []

    def check(runner):
        assert walks.mismatches(runner.wf) == []
        seen.append(len(runner.wf.tasks))

    assert _run(name, monkeypatch, check) >= 1
    assert max(seen) > 5  # the trees checked were not trivial


def test_a_walk_that_differs_is_caught(monkeypatch):
    monkeypatch.setattr(walks, "VERIFY", False)  # the steps themselves would stop at the first difference
    monkeypatch.setattr(walks, "MAX_DEPTH", 2)  # stops descending long before SpiffWorkflow does
    found = []
    _run("onboarding.bpmn", monkeypatch, lambda runner: found.extend(walks.mismatches(runner.wf)), steps=2)
    assert found


def test_verify_mode_refuses_a_step_whose_walk_differs(monkeypatch):
    """The difference surfaces as the step's failure (an incident for the platform), never as a saved step."""
    runners = []
    _run("onboarding.bpmn", monkeypatch, runners.append, steps=0)
    runner = runners[0]
    task = runner.user_tasks()[0]
    monkeypatch.setattr(walks, "VERIFY", True)
    monkeypatch.setattr(walks, "MAX_DEPTH", 2)
    result = runner.complete(task.id, {"project_name": "测试", "amount_wan": 100})
    assert result.failure is not None and "WalkMismatch" in result.failure.message


def test_the_bench_baseline_runs_spiffworkflow_as_shipped(monkeypatch):
    """``engine.as_shipped`` (the bench's raw side) takes the walks out and puts them back, even on error."""
    from app.engine import as_shipped

    assert walks.installed()
    with pytest.raises(RuntimeError), as_shipped():
        assert not walks.installed()
        assert _run("onboarding.bpmn", monkeypatch, lambda runner: None, steps=3) >= 1  # SpiffWorkflow's own walks
        raise RuntimeError("the measurement failed")
    assert walks.installed()
