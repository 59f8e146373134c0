"""Moving a running workflow to another version's spec.

SpiffWorkflow's ``SpecDiff`` compares every serialized attribute, so renaming a label blocks, a
renamed id makes the element and every neighbour (whose inputs/outputs name it) look changed, and
an element it cannot find by id is matched by guessing from its neighbours. Here:

* specs align by id, or by an explicit ``mapping`` {old_id: new_id} for renamed or replaced elements
  (including the helper specs named after them, ``old_id.BoundaryEventSplit`` …);
* before comparing, every name in the old spec is translated through the alignment, and cosmetic
  attributes are ignored: the label (``bpmn_name``, a timer's event name), ``documentation``,
  ``instructionsForEndUser`` and the lane; diagram layout (DI) is not part of a spec at all;
* a migration is refused when a completed or started task — or a completed element that compaction
  removed from the tree — is structurally changed or gone in the target.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

from SpiffWorkflow import TaskState
from SpiffWorkflow.bpmn.util.diff import migrate_workflow

from app.engine.compaction import compacted_elements
from app.engine.runner import Runner
from app.engine.serializer import REGISTRY, SpecBundle

FINISHED = TaskState.COMPLETED | TaskState.STARTED
OPEN_DEFINITE = TaskState.READY | TaskState.WAITING | TaskState.ERROR
# what never blocks: labels and texts, and the lane (who does an element's work does not change work
# already done; an open task takes the target's lane)
COSMETIC = {"bpmn_name", "documentation", "lane"}
COSMETIC_EXTENSIONS = {"instructionsForEndUser"}


class MappingInvalid(ValueError):
    """An explicit id mapping names an element that does not exist in the source or the target."""


@dataclass
class MigrationCheck:
    allowed: bool
    changed: list[str] = field(default_factory=list)  # element ids that block the migration
    reason: str = ""
    cosmetic: list[str] = field(default_factory=list)  # element ids whose label/documentation changed
    mapped: dict[str, str] = field(default_factory=dict)  # explicit id renames applied
    removed: list[str] = field(default_factory=list)  # blocking ids absent from the target: map them?


@dataclass
class _Diff:
    alignment: dict  # old spec -> new spec (None: removed)
    changed: set  # old specs whose structure changed
    cosmetic: set  # old specs whose label/documentation changed


def _helper_map(old_spec, mapping: dict[str, str]) -> dict[str, str]:
    """Spec names to translate: the mapped ids and helper specs named after them."""
    names = {}
    for name in old_spec.task_specs:
        for old, new in mapping.items():
            if name == old:
                names[name] = new
            elif name.startswith(old + ".") or name.startswith(old + " "):
                names[name] = new + name[len(old):]
    return names


def _translate(value, names: dict[str, str]):
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, list):
        return [_translate(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _translate(v, names) for k, v in value.items()}
    return value


def _normalised(spec_dict: dict) -> dict:
    out = {k: v for k, v in spec_dict.items() if k not in COSMETIC}
    if isinstance(out.get("extensions"), dict):
        out["extensions"] = {k: v for k, v in out["extensions"].items() if k not in COSMETIC_EXTENSIONS}
    event = out.get("event_definition")
    if isinstance(event, dict) and "Timer" in str(event.get("typename", "")):
        out["event_definition"] = {k: v for k, v in event.items() if k != "name"}  # a timer's name is its label
    return out


def _compare(old, new, names: dict[str, str]) -> tuple[bool, bool]:
    """(structurally changed, cosmetically changed) for an aligned pair of task specs."""
    before, after = _translate(REGISTRY.convert(old), names), REGISTRY.convert(new)
    if before.get("typename") != after.get("typename"):
        return True, False
    structural = _normalised(before) != _normalised(after)
    return structural, (not structural) and before != after


def _spec_diff(old_spec, new_spec, mapping: dict[str, str]) -> _Diff:
    """Align by id, or by the explicit mapping — never by guessing from neighbours (SpiffWorkflow's
    ``SpecDiff`` would silently treat a replaced element as the old one)."""
    mapped = _helper_map(old_spec, mapping)
    alignment = {old: new_spec.task_specs.get(mapped.get(name, name)) for name, old in old_spec.task_specs.items()}
    names = {old.name: new.name for old, new in alignment.items() if new is not None}
    changed, cosmetic = set(), set()
    for old, new in alignment.items():
        if old is None or new is None:
            continue
        structural, label = _compare(old, new, names)
        if structural:
            changed.add(old)
        elif label:
            cosmetic.add(old)
    return _Diff(alignment, changed, cosmetic)


def _check_mapping(bundle_specs: list, target_specs: list, mapping: dict[str, str]) -> None:
    old_ids = {s.bpmn_id for spec in bundle_specs for s in spec.task_specs.values() if s.bpmn_id}
    new_ids = {s.bpmn_id for spec in target_specs for s in spec.task_specs.values() if s.bpmn_id}
    for old, new in mapping.items():
        if not isinstance(old, str) or not isinstance(new, str):
            raise MappingInvalid("映射必须是 {\"旧元素ID\": \"新元素ID\"} / mapping must map element ids to element ids")
        if old not in old_ids:
            raise MappingInvalid(f"当前版本中没有元素 {old} / element '{old}' is not in the instance's version")
        if new not in new_ids:
            raise MappingInvalid(f"目标版本中没有元素 {new} / element '{new}' is not in the target version")


def _element(spec) -> str:
    return spec.bpmn_id or spec.name


def _blocking(workflow, diff: _Diff, removed: set[str]) -> set[str]:
    blocked = set()
    finished = {t.task_spec for t in workflow.tasks.values() if t.state & FINISHED}
    for task in workflow.tasks.values():  # an open task whose element is gone has nowhere to live
        if task.state & OPEN_DEFINITE and diff.alignment.get(task.task_spec, task.task_spec) is None:
            blocked.add(_element(task.task_spec))
            if task.task_spec.bpmn_id:
                removed.add(task.task_spec.bpmn_id)
    for spec in finished:  # completed or started
        gone = diff.alignment.get(spec, spec) is None
        if gone or spec in diff.changed:
            blocked.add(_element(spec))
        if gone and spec.bpmn_id:
            removed.add(spec.bpmn_id)
    return blocked


def _compacted_blocking(wf, target: SpecBundle, mapping: dict[str, str], diffs: dict, removed: set[str]) -> set[str]:
    """Completed elements that compaction removed (of the top process or any subprocess) still count."""
    ids = compacted_elements(wf)
    blocked: set[str] = set()
    if not ids:
        return blocked
    pairs = {wf.spec.name: (wf.spec, target.spec)}
    pairs.update({name: (spec, target.subprocess_specs.get(name)) for name, spec in wf.subprocess_specs.items()})
    for name, (old, new) in pairs.items():
        present = {s.bpmn_id: s for s in old.task_specs.values() if s.bpmn_id in ids}
        if not present:
            continue
        if new is None:
            blocked |= set(present)
            continue
        diff = diffs.get(name) or _spec_diff(old, new, mapping)
        for bpmn_id, spec in present.items():
            if diff.alignment.get(spec) is None:
                blocked.add(bpmn_id)
                removed.add(bpmn_id)
            elif spec in diff.changed:
                blocked.add(bpmn_id)
    return blocked


def check_and_migrate(runner: Runner, target: SpecBundle, apply: bool,
                      mapping: dict[str, str] | None = None) -> MigrationCheck:
    """Refuse when a completed or started element changed structurally or vanished; otherwise migrate.

    Raises :class:`MappingInvalid` when ``mapping`` names an unknown element.
    """
    wf = runner.wf
    mapping = dict(mapping or {})
    _check_mapping([wf.spec, *wf.subprocess_specs.values()], [target.spec, *target.subprocess_specs.values()],
                   mapping)
    top = _spec_diff(wf.spec, target.spec, mapping)
    removed: set[str] = set()
    blocked = _blocking(wf, top, removed)
    cosmetic = {_element(s) for s in top.cosmetic}
    sub_diffs = {}
    for sp_id, sp in wf.subprocesses.items():
        new_spec = target.subprocess_specs.get(sp.spec.name)
        if new_spec is None:
            blocked.add(f"subprocess:{sp.spec.name}")
            continue
        sub_diffs[sp_id] = _spec_diff(sp.spec, new_spec, mapping)
        blocked |= _blocking(sp, sub_diffs[sp_id], removed)
        cosmetic |= {_element(s) for s in sub_diffs[sp_id].cosmetic}
    diffs = {wf.spec.name: top, **{wf.subprocesses[k].spec.name: d for k, d in sub_diffs.items()}}
    blocked |= _compacted_blocking(wf, target, mapping, diffs, removed)
    if blocked:
        ids = sorted(blocked)
        reason = ("已完成或进行中的环节在新版本中被修改或删除 / completed or started elements changed in the target "
                  f"version: {', '.join(ids)}")
        if removed:
            reason += (f"; 目标版本中没有 {', '.join(sorted(removed))},如已改名请用 mapping 指定 / not in the target "
                       'version: if renamed, pass {"mapping": {"old_id": "new_id"}}')
        return MigrationCheck(False, ids, reason, sorted(cosmetic), mapping, sorted(removed))
    if apply:
        _apply(wf, top, target.spec, {t.id: t for t in wf.tasks.values()})
        wf.subprocess_specs = dict(target.subprocess_specs)
        for sp_id, diff in sub_diffs.items():
            sp = wf.subprocesses[sp_id]
            _apply(sp, diff, target.subprocess_specs[sp.spec.name], sp.tasks)
        wf.refresh_timers()
    return MigrationCheck(True, [], "", sorted(cosmetic), mapping)


def _apply(workflow, diff: _Diff, spec, tasks: dict) -> None:
    alignment = {task: diff.alignment.get(task.task_spec) for task in tasks.values()}
    migrate_workflow(SimpleNamespace(alignment=alignment), workflow, spec)
