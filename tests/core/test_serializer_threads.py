"""Serialization shares SpiffWorkflow's registry between threads; no call may see another's mode."""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid

from tests.conftest import FIXTURES


def _runner():
    from app.engine import Runner, compile_files, make_script_engine
    from app.engine.serializer import SERIALIZER, SpecBundle

    compiled = compile_files([("rework_timer.bpmn", (FIXTURES / "bpmn" / "rework_timer.bpmn").read_bytes())],
                             set(), set())[0]
    raw = json.loads(compiled.spec_json)
    bundle = SpecBundle(SERIALIZER.from_dict(raw["spec"]),
                        {k: SERIALIZER.from_dict(v) for k, v in raw["subprocess_specs"].items()})
    data = {"rounds": 0, "at": dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC), "ref": uuid.UUID(int=7),
            "wait": dt.timedelta(days=3), "nested": {"when": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}}
    runner = Runner.new(bundle, data, make_script_engine(lambda *a: None))
    runner.step()
    return runner, bundle, compiled


def test_the_encoder_mode_of_one_thread_is_invisible_to_another():
    from app.engine.serializer import REGISTRY

    inside, release = threading.Event(), threading.Event()

    def dumping():
        REGISTRY._encoder_mode = True  # what SpiffWorkflow does for the duration of a dump
        inside.set()
        release.wait(5)
        REGISTRY._encoder_mode = False

    worker = threading.Thread(target=dumping)
    worker.start()
    assert inside.wait(5)
    try:
        assert REGISTRY._encoder_mode is False
    finally:
        release.set()
        worker.join()


def test_eight_threads_serializing_at_once_all_write_what_one_thread_writes():
    from app.engine.serializer import SERIALIZER_VERSION, dump_spec, dump_workflow, restore_workflow

    runner, bundle, compiled = _runner()
    expected_state = dump_workflow(runner.wf)
    expected_spec = dump_spec(bundle.spec, bundle.subprocess_specs)
    workflows = [restore_workflow(expected_state, bundle, SERIALIZER_VERSION) for _ in range(8)]
    start = threading.Barrier(8)
    problems: list[str] = []

    def work(n: int):
        start.wait()
        try:
            for i in range(60):
                if (i + n) % 3 == 0:
                    got = dump_spec(bundle.spec, bundle.subprocess_specs)
                    if got != expected_spec:
                        problems.append(f"thread {n}: spec differs")
                else:
                    got = dump_workflow(workflows[n])
                    if got != expected_state:
                        problems.append(f"thread {n}: state differs")
        except Exception as exc:  # a crash in a thread is a failure of the test, not a lost message
            problems.append(f"thread {n}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert problems == []
    restored = restore_workflow(expected_state, bundle, SERIALIZER_VERSION)
    assert restored.task_tree.data["at"] == dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
    assert restored.task_tree.data["ref"] == uuid.UUID(int=7)
