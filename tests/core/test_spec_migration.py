"""Moving a running workflow to another version: cosmetics never block, renamed ids can be mapped."""

from __future__ import annotations

import json

import pytest

from tests.conftest import FIXTURES


def _bundle(name):
    from app.engine import compile_files
    from app.engine.serializer import SERIALIZER, SpecBundle

    compiled = compile_files([(name, (FIXTURES / "bpmn" / name).read_bytes())], set(), {"zsw_office"})[0]
    raw = json.loads(compiled.spec_json)
    return SpecBundle(SERIALIZER.from_dict(raw["spec"]),
                      {k: SERIALIZER.from_dict(v) for k, v in raw["subprocess_specs"].items()})


def _at_review(rounds=0, name="rework.bpmn"):
    """An instance that completed 提交材料 ``rounds + 1`` times and now waits in 审核."""
    from app.engine import Runner, make_script_engine

    runner = Runner.new(_bundle(name), {"rounds": 0}, make_script_engine(lambda *a: None))
    runner.step()
    for i in range(rounds + 1):
        submit = next(u for u in runner.user_tasks() if u.element_id == "submit")
        runner.complete(submit.id, {"first_note": "第一次"} if i == 0 else {})
        if i < rounds:
            review = next(u for u in runner.user_tasks() if u.element_id == "review")
            runner.complete(review.id, {"approved": False})
    assert [u.element_id for u in runner.user_tasks()] == ["review"]
    return runner


def test_a_label_and_documentation_change_never_blocks_and_the_open_task_takes_the_new_name():
    from app.engine import check_and_migrate

    runner = _at_review()
    check = check_and_migrate(runner, _bundle("rework_v2_label.bpmn"), apply=True)
    assert check.allowed, check.reason
    assert set(check.cosmetic) == {"submit", "review"}
    runner.step()
    [review] = runner.user_tasks()
    assert (review.element_id, review.name) == ("review", "材料审核")


def test_a_structural_change_of_a_completed_element_is_refused_and_nothing_changes():
    from app.engine import check_and_migrate

    runner = _at_review()
    before = runner.dump()
    check = check_and_migrate(runner, _bundle("rework_v2_structural.bpmn"), apply=True)
    assert not check.allowed
    assert check.changed == ["count"]
    assert runner.dump() == before


def test_a_structural_change_of_an_element_compaction_removed_is_still_refused():
    from app.engine import check_and_migrate

    runner = _at_review(rounds=30)  # the early rounds' 计数 tasks are compacted away
    assert "count" in runner.wf.task_tree.internal_data.get("compacted", [])
    check = check_and_migrate(runner, _bundle("rework_v2_structural.bpmn"), apply=False)
    assert not check.allowed and "count" in check.changed


def test_a_renamed_id_of_a_completed_task_blocks_unless_it_is_mapped():
    from app.engine import check_and_migrate

    runner = _at_review()
    target = _bundle("rework_v2_renamed.bpmn")
    refused = check_and_migrate(runner, target, apply=False)
    assert not refused.allowed and "submit" in refused.changed and refused.removed == ["submit"]
    assert "mapping" in refused.reason
    check = check_and_migrate(runner, target, apply=True, mapping={"submit": "hand_in"})
    assert check.allowed, check.reason
    assert check.mapped == {"submit": "hand_in"}
    runner.step()
    review = next(u for u in runner.user_tasks())
    runner.complete(review.id, {"approved": False})
    assert [u.element_id for u in runner.user_tasks()] == ["hand_in"]  # the loop now runs the new element


def test_a_mapping_to_an_unknown_element_is_refused_with_a_reason():
    from app.engine import MappingInvalid, check_and_migrate

    runner = _at_review()
    with pytest.raises(MappingInvalid, match="nope"):
        check_and_migrate(runner, _bundle("rework_v2_renamed.bpmn"), apply=False, mapping={"submit": "nope"})
    with pytest.raises(MappingInvalid, match="ghost"):
        check_and_migrate(runner, _bundle("rework_v2_renamed.bpmn"), apply=False, mapping={"ghost": "hand_in"})


def test_a_changed_element_of_a_subprocess_that_compaction_removed_still_blocks():
    """rework_call: 计数 runs inside the called 准备材料; after 30 rounds those subprocesses are gone."""
    from app.engine import Runner, check_and_migrate, make_script_engine

    runner = Runner.new(_bundle("rework_call.bpmn"), {"rounds": 0}, make_script_engine(lambda *a: None))
    runner.step()
    for i in range(30):
        for element, data in (("submit", {"first_note": "第一次"} if i == 0 else {}), ("review", {"approved": False})):
            task = next(u for u in runner.user_tasks() if u.element_id == element)
            runner.complete(task.id, data)
    assert len(runner.wf.subprocesses) < 5
    changed = (FIXTURES / "bpmn" / "rework_call.bpmn").read_bytes().replace(b"rounds = rounds + 1", b"rounds += 2")
    target = _compile_bytes("rework_call.bpmn", changed)
    check = check_and_migrate(runner, target, apply=False)
    assert not check.allowed and "count" in check.changed


def _compile_bytes(name, content):
    from app.engine import compile_files
    from app.engine.serializer import SERIALIZER, SpecBundle

    compiled = next(c for c in compile_files([(name, content)], set(), set()) if c.process_key == "rework_call")
    raw = json.loads(compiled.spec_json)
    return SpecBundle(SERIALIZER.from_dict(raw["spec"]),
                      {k: SERIALIZER.from_dict(v) for k, v in raw["subprocess_specs"].items()})
