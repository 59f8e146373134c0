"""Moving a running workflow to another version's spec (SpiffWorkflow's diff utilities)."""

from __future__ import annotations

from dataclasses import dataclass, field

from SpiffWorkflow import TaskState
from SpiffWorkflow.bpmn.util.diff import diff_workflow, filter_tasks, migrate_workflow

from app.engine.runner import Runner
from app.engine.serializer import REGISTRY, SpecBundle


@dataclass
class MigrationCheck:
    allowed: bool
    changed: list[str] = field(default_factory=list)  # element ids that block the migration
    reason: str = ""


def check_and_migrate(runner: Runner, target: SpecBundle, apply: bool) -> MigrationCheck:
    """Refuse when a completed or started task's element changed or vanished; otherwise migrate."""
    wf = runner.wf
    top, sub_diffs = diff_workflow(REGISTRY, wf, target.spec, target.subprocess_specs)
    finished = TaskState.COMPLETED | TaskState.STARTED
    unsafe = filter_tasks(top.changed + top.removed, state=finished)
    blocked = sorted({t.task_spec.bpmn_id or t.task_spec.name for t in unsafe})
    for sp_id, diff in sub_diffs.items():
        if diff is None:
            blocked.append(f"subprocess:{wf.subprocesses[sp_id].spec.name}")
            continue
        blocked += sorted({t.task_spec.bpmn_id or t.task_spec.name
                           for t in filter_tasks(diff.changed + diff.removed, state=finished)})
    if blocked:
        return MigrationCheck(False, blocked, "已完成或进行中的环节在新版本中被修改或删除 / completed or started "
                                              f"elements changed in the target version: {', '.join(blocked)}")
    if apply:
        migrate_workflow(top, wf, target.spec)
        wf.subprocess_specs = dict(target.subprocess_specs)
        for sp_id, diff in sub_diffs.items():
            sp = wf.subprocesses[sp_id]
            migrate_workflow(diff, sp, target.subprocess_specs[sp.spec.name])
        wf.refresh_timers()
    return MigrationCheck(True)
