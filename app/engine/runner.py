"""Running workflows: create, restore, step, serialize, and read their state into plain data."""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable
from typing import Any
from uuid import UUID

from SpiffWorkflow import TaskState
from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition as BpmnMessageDef
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition

from app.engine import (
    clockpatch,  # noqa: F401  (installs the app clock into the timer module)
    compaction,
    walks,  # noqa: F401  (task-tree walks in SpiffWorkflow's order without its iterator's overhead)
)
from app.engine.scripting import AppScriptEngine, RestrictedEnvironment
from app.engine.serializer import SERIALIZER_VERSION, SpecBundle, dump_workflow, restore_workflow
from app.engine.views import (
    ServiceFailure,
    StepResult,
    TimerView,
    UserTaskView,
    element_states,
    timer_view,
    user_task_view,
)


def make_script_engine(services: Callable[[str, dict, dict], Any], timeout: float = 2.0) -> AppScriptEngine:
    return AppScriptEngine(environment=RestrictedEnvironment(services=services, timeout=timeout))


class Runner:
    """One workflow in memory, for one state change. Not shared across threads."""

    compact_after = compaction.THRESHOLD  # finished tasks per (sub)workflow before a step compacts

    def __init__(self, workflow: BpmnWorkflow):
        self.wf = workflow

    # -- lifecycle ---------------------------------------------------------------------------
    @classmethod
    def new(cls, bundle: SpecBundle, data: dict, script_engine) -> Runner:
        wf = BpmnWorkflow(bundle.spec, bundle.subprocess_specs, script_engine=script_engine)
        wf.task_tree.data.update(data or {})
        for task in wf.get_tasks(state=TaskState.READY):  # the start task has been created READY
            task.data.update(data or {})
        return cls(wf)

    def fire_start_timers(self) -> StepResult:
        """Make a timer start event fire exactly once, now: the app's scheduler decided it is due.

        SpiffWorkflow would otherwise keep a cycle start event waiting inside this one instance (and
        catch up on every past occurrence of a dated cycle); the platform instead starts a NEW
        instance per occurrence (rule 6). So before the first step the start timer is primed to fire
        once, and after it a cycle start event is closed.
        """
        past = "2000-01-01T00:00:00+00:00"
        starts = [t for t in self.wf.get_tasks() if isinstance(t.task_spec, StartEvent)
                  and isinstance(getattr(t.task_spec, "event_definition", None), TimerEventDefinition)]
        for task in starts:
            if isinstance(task.task_spec.event_definition, CycleTimerEventDefinition):
                task._set_internal_data(event_value={"cycles": 1, "next": past, "duration": 0.0})
            else:
                task._set_internal_data(event_value=past)
        result = self.step()
        for task in starts:
            if task.state == TaskState.WAITING and isinstance(task.task_spec.event_definition,
                                                              CycleTimerEventDefinition):
                task.internal_data.pop("event_value", None)
                task._set_state(TaskState.COMPLETED)
                self.wf.event_manager.remove_task(task)
        result.fired_timers = [f for f in result.fired_timers if f not in {t.task_spec.bpmn_id for t in starts}]
        return result

    @classmethod
    def restore(cls, state: str, bundle: SpecBundle, script_engine, serializer_version: str) -> Runner:
        wf = restore_workflow(state, bundle, serializer_version)
        wf.script_engine = script_engine
        return cls(wf)

    def dump(self) -> str:
        return dump_workflow(self.wf)

    def use_script_engine(self, script_engine) -> None:
        """Reuse this workflow for another change (the hot cache): scripts run with that change's context."""
        self.wf.script_engine = script_engine

    def prepare_reuse(self) -> bool:
        """Make this in-memory workflow iterate like one restored from its JSON, before it is kept for the
        next change: a restore recreates subprocesses walking the task tables (parents before children),
        while a running workflow holds them in the order they started. False when it holds a subprocess
        a restore would not bring back (its call activity is gone): such a workflow is not kept."""
        subprocesses = self.wf.subprocesses
        if not subprocesses:
            return True
        order: list = []
        placed: set = set()

        def walk(flow) -> None:
            for task in flow.tasks.values():
                if task.id in subprocesses and task.id not in placed and isinstance(task.task_spec, SubWorkflowTask):
                    placed.add(task.id)
                    order.append(task.id)
                    walk(subprocesses[task.id])

        walk(self.wf)
        if len(order) != len(subprocesses):
            return False
        if list(subprocesses) != order:
            ordered = {task_id: subprocesses[task_id] for task_id in order}
            subprocesses.clear()
            subprocesses.update(ordered)
        return True

    def differs_from(self, state: str, restored: Runner) -> str | None:
        """Why this in-memory workflow is not what ``state`` (and ``restored``, restored from it) hold."""
        if self.dump() != state:
            return "its JSON is not the stored JSON (changed after it was saved?)"
        if compaction.fingerprint(self.wf) != compaction.fingerprint(restored.wf):
            return "its open state is not the restored one"
        return None

    # -- stepping ----------------------------------------------------------------------------
    def step(self) -> StepResult:
        """Fire due timers and run engine tasks until everything waits; capture service failures."""
        result = StepResult()
        before = self._timer_marks()
        try:
            self.wf.refresh_timers()
            self.wf.do_engine_steps()  # ends with refresh_timers(): a timer may have become READY
            if self._engine_work_ready():
                self.wf.do_engine_steps()
        except WorkflowTaskException as exc:
            result.failure = self._failure(exc)
        except WorkflowException as exc:
            result.failure = ServiceFailure("", "", str(exc), traceback.format_exc(), exc)
        except Exception as exc:  # an engine fault must become an incident, never a crashed worker
            result.failure = ServiceFailure("", "", f"{type(exc).__name__}: {exc}", traceback.format_exc(), exc)
        result.fired_timers = self._fired_since(before)
        self.compact()
        return result

    def compact(self, threshold: int | None = None) -> int:
        """Drop history no open task depends on (see :mod:`app.engine.compaction`); tasks removed.

        The compacted tree is serialized and restored once and must give the same open state
        (:func:`compaction.fingerprint`); otherwise :class:`compaction.CompactionMismatch` is raised
        and the caller refuses the change.
        """
        limit = self.compact_after if threshold is None else threshold
        if not compaction.needs_compaction(self.wf, limit):
            return 0
        before = compaction.fingerprint(self.wf)
        removed = compaction.compact(self.wf, limit)
        bundle = SpecBundle(self.wf.spec, dict(self.wf.subprocess_specs))
        after = compaction.fingerprint(restore_workflow(dump_workflow(self.wf), bundle, SERIALIZER_VERSION))
        if after != before:
            raise compaction.CompactionMismatch("压缩后的流程状态与压缩前不一致 / the compacted workflow does not "
                                                "restore to the same open state")
        return removed

    def _engine_work_ready(self) -> bool:
        return any(t.state == TaskState.READY and not t.task_spec.manual
                   for wf in (self.wf, *self.wf.subprocesses.values()) for t in wf.tasks.values())

    def stall_reason(self, result: StepResult) -> str | None:
        """Why the workflow after a step is inconsistent (None when it is fine).

        SpiffWorkflow stops walking the tree at depth 1,000 without an error, so a READY task can be
        left unrun or a user task be unreachable; neither may be saved as if all were well.
        """
        if self.wf.completed or result.failure is not None:
            return None
        ready = [t for wf in (self.wf, *self.wf.subprocesses.values()) for t in wf.tasks.values()
                 if t.state == TaskState.READY]
        unrun = sorted({t.task_spec.bpmn_id or t.task_spec.name for t in ready if not t.task_spec.manual})
        if unrun:
            return f"引擎留下未执行的环节 / the engine left ready steps unrun: {', '.join(unrun)}"
        if len(self.wf.tasks) < 1000:  # SpiffWorkflow's iterator stops at depth 1,000: a smaller tree is whole
            return None
        if len([t for t in ready if t.task_spec.manual]) != len(self.user_tasks()):
            return "部分待办无法访问 / some ready user tasks cannot be reached in the task tree"
        return None

    @staticmethod
    def describe_failure(exc: BaseException) -> ServiceFailure:
        """An engine exception raised outside :meth:`step` as element, message and stack."""
        task = getattr(exc, "task", None)
        element = (task.task_spec.bpmn_id or task.task_spec.name) if task is not None else ""
        original = getattr(exc, "original", None) or getattr(exc, "exception", None)
        message = f"{type(original or exc).__name__}: {original or exc}"
        return ServiceFailure(str(task.id) if task is not None else "", element, message,
                              "".join(traceback.format_exception(exc)), exc)

    def _timer_marks(self) -> dict[str, str]:
        return {str(t.id): json.dumps(t._get_internal_data("event_value"), default=str)
                for t in self.wf.event_manager.tasks.values()
                if isinstance(getattr(t.task_spec, "event_definition", None), TimerEventDefinition)}

    def _fired_since(self, before: dict[str, str]) -> list[str]:
        """Timers that fired: one-shot timers that completed, cycles whose next occurrence moved."""
        fired = []
        for task_id, mark in before.items():
            try:
                task = self.wf.get_task_from_id(UUID(task_id))
            except Exception:  # the task left the tree (branch reset or cancelled subprocess)
                continue
            if task is None:
                continue
            if isinstance(task.task_spec.event_definition, CycleTimerEventDefinition):
                now_mark = json.dumps(task._get_internal_data("event_value"), default=str)
                if now_mark != mark and mark != "null":
                    fired.append(self._element(task_id))
            elif task.state in (TaskState.COMPLETED, TaskState.READY, TaskState.STARTED):
                fired.append(self._element(task_id))
        return fired

    def _element(self, task_id: str) -> str:
        task = self.wf.get_task_from_id(UUID(task_id))
        return task.task_spec.bpmn_id or task.task_spec.name

    def _failure(self, exc: WorkflowTaskException) -> ServiceFailure:
        task = exc.task
        original = getattr(exc, "original", None) or getattr(exc, "exception", None)
        message = str(original) if original is not None else str(exc)
        return ServiceFailure(
            task_id=str(task.id) if task else "",
            element_id=(task.task_spec.bpmn_id or task.task_spec.name) if task else "",
            message=f"{(task.task_spec.bpmn_name or task.task_spec.bpmn_id) if task else ''}: {message}".strip(": "),
            stack="".join(traceback.format_exception(original or exc)),
            original=original,
        )

    def retry_task(self, task_id: str) -> StepResult:
        task = self.wf.get_task_from_id(UUID(task_id))
        if task.state == TaskState.ERROR:
            self.wf.reset_from_task_id(task.id)
        return self.step()

    def complete(self, task_id: str, data: dict) -> StepResult:
        task = self.wf.get_task_from_id(UUID(task_id))
        if task.state != TaskState.READY:
            raise WorkflowException("task is not ready")
        spec = task.task_spec
        if hasattr(spec, "add_data_from_form"):
            spec.add_data_from_form(task, data)
        else:
            task.set_data(**data)
        task.run()
        return self.step()

    def cancel(self) -> None:
        self.wf.cancel()

    def send_message(self, name: str, payload: dict) -> bool:
        """Deliver a message; False when nothing in this workflow waits for it."""
        for definition in (MessageEventDefinition(name), BpmnMessageDef(name)):
            try:
                self.wf.send_event(BpmnEvent(definition, payload))
                return True
            except WorkflowException:
                continue
        return False

    # -- reading -----------------------------------------------------------------------------
    @property
    def completed(self) -> bool:
        return self.wf.completed

    @property
    def data(self) -> dict:
        if self.wf.completed:
            return dict(self.wf.data)
        base = dict(self.wf.task_tree.data)
        latest = self._latest_open()
        if latest is not None:
            base.update(latest.data)
        return base

    def _latest_open(self):
        """The open task that changed last (the first in tree order among equals), as ``data`` reads it."""
        state = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR
        wf = self.wf
        if not wf.subprocesses and len(wf.tasks) < 1000:  # the flat table holds what the walk finds
            found = [t for t in wf.tasks.values() if t.state & state]
            if not found:
                return None
            latest = max(t.last_state_change for t in found)
            winners = [t for t in found if t.last_state_change == latest]
            if len(winners) == 1:
                return winners[0]
        tasks = wf.get_tasks(state=state)
        return max(tasks, key=lambda t: t.last_state_change) if tasks else None

    def _ready_user_tasks(self) -> list:
        """``wf.get_tasks(state=READY, manual=True)`` in the tree's order, read from the flat task table
        when that gives the same answer: no subprocesses (the tree walk descends into them in place) and
        a tree under SpiffWorkflow's 1,000-deep walk limit (a task whose children may be open is itself
        open or finished, so the walk reaches every open task). Creation order is the walk's order only
        when at most one task matches, so more matches take the walk."""
        wf = self.wf
        if not wf.subprocesses and len(wf.tasks) < 1000:
            found = [t for t in wf.tasks.values() if t.state == TaskState.READY and t.task_spec.manual]
            if len(found) <= 1:
                return found
        return wf.get_tasks(state=TaskState.READY, manual=True)

    def timers(self) -> list[TimerView]:
        views = (timer_view(task) for task in self.wf.event_manager.tasks.values())
        return [view for view in views if view is not None]

    def waiting_messages(self) -> list[str]:
        names = []
        for task in self.wf.event_manager.tasks.values():
            definition = getattr(task.task_spec, "event_definition", None)
            if isinstance(definition, BpmnMessageDef) and task.state == TaskState.WAITING:
                names.append(definition.name)
        return names

    def waiting_events(self) -> int:
        """How many tasks wait for an event of any kind (timer, message, signal, …)."""
        return len(self.wf.event_manager.tasks)

    def user_tasks(self) -> list[UserTaskView]:
        return [user_task_view(task) for task in self._ready_user_tasks()]

    def ready_user_task_ids(self) -> set[str]:
        """Ids of the READY user tasks of the workflow and its subprocesses (a flat scan, no tree walk)."""
        ready = TaskState.READY
        return {str(t.id) for wf in (self.wf, *self.wf.subprocesses.values()) for t in wf.tasks.values()
                if t.state == ready and t.task_spec.manual}

    def task_exists(self, task_id: str) -> bool:
        try:
            return self.wf.get_task_from_id(UUID(task_id)) is not None
        except Exception:
            return False

    def element_states(self) -> dict[str, str]:
        """BPMN element id → 'completed' | 'active' | 'waiting' for diagram colouring."""
        states = element_states(self.wf.get_tasks())
        for bpmn_id in compaction.compacted_elements(self.wf):
            states.setdefault(bpmn_id, "completed")
        return states
