"""Running workflows: create, restore, step, serialize, and read their state into plain data.

Instances are stored WITHOUT their spec: the spec of a version is serialized once at deploy time
and restored into an in-process LRU cache; instance JSON names nothing but tasks and data
(ARCHITECTURE rule 7, reference §5 "cached spec").
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import traceback
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from SpiffWorkflow import TaskState
from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition as BpmnMessageDef
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition

from app.engine import clockpatch  # noqa: F401  (installs the app clock into the timer module)
from app.engine.scripting import AppScriptEngine, RestrictedEnvironment


class _CachedSpecWorkflowConverter(BpmnWorkflowConverter):
    """Writes no spec into instance JSON; restores against spec objects passed in the dict."""

    def to_dict(self, workflow):
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)  # skip the spec part
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct


_config = dict(SPIFF_CONFIG)
_config[BpmnWorkflow] = _CachedSpecWorkflowConverter
REGISTRY = BpmnWorkflowSerializer.configure(_config)
SERIALIZER = BpmnWorkflowSerializer(REGISTRY)
SERIALIZER_VERSION = SERIALIZER.VERSION

_FULL = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))  # for benchmarks only


@dataclass
class SpecBundle:
    spec: Any
    subprocess_specs: dict[str, Any]


def dump_spec(spec, subprocess_specs) -> str:
    """Serialize a parsed spec and its subprocess specs once (deploy time)."""
    return json.dumps({
        "spec": SERIALIZER.to_dict(spec),
        "subprocess_specs": {k: SERIALIZER.to_dict(v) for k, v in subprocess_specs.items()},
    })


class SpecCache:
    """LRU of restored spec objects per version id (thread-safe; specs are read-only)."""

    def __init__(self, size: int = 64):
        self.size = size
        self._items: OrderedDict[int, SpecBundle] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, version_id: int, loader: Callable[[], str]) -> SpecBundle:
        with self._lock:
            bundle = self._items.get(version_id)
            if bundle is not None:
                self._items.move_to_end(version_id)
                return bundle
        raw = json.loads(loader())
        bundle = SpecBundle(
            spec=SERIALIZER.from_dict(raw["spec"]),
            subprocess_specs={k: SERIALIZER.from_dict(v) for k, v in raw["subprocess_specs"].items()},
        )
        with self._lock:
            self._items[version_id] = bundle
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return bundle


SPEC_CACHE = SpecCache()


@dataclass
class UserTaskView:
    id: str
    element_id: str
    name: str | None
    lane: str | None
    form_file: str | None
    ui_file: str | None
    instructions: str | None
    due_at: dt.datetime | None
    warning: str
    data: dict
    assignee: str | None = None  # a literal assignee of the diagram (camunda:assignee, see engine/camunda.py)


@dataclass
class TimerView:
    task_id: str
    element_id: str
    due_at: dt.datetime
    cycle: bool


@dataclass
class ServiceFailure:
    task_id: str
    element_id: str
    message: str
    stack: str
    original: BaseException | None = None


@dataclass
class StepResult:
    failure: ServiceFailure | None = None
    fired_timers: list[str] = field(default_factory=list)


def make_script_engine(services: Callable[[str, dict, dict], Any], timeout: float = 2.0) -> AppScriptEngine:
    return AppScriptEngine(environment=RestrictedEnvironment(services=services, timeout=timeout))


class Runner:
    """One workflow in memory, for one state change. Not shared across threads."""

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
        dct = json.loads(state)
        dct[SERIALIZER.VERSION_KEY] = serializer_version
        SERIALIZER.migrate(dct)
        dct["spec"] = bundle.spec
        dct["subprocess_specs"] = dict(bundle.subprocess_specs)
        wf = SERIALIZER.from_dict(dct)
        wf.script_engine = script_engine
        return cls(wf)

    def dump(self) -> str:
        REGISTRY._encoder_mode = True
        try:
            dct = SERIALIZER.to_dict(self.wf)
        finally:
            REGISTRY._encoder_mode = False
        return json.dumps(dct, cls=SERIALIZER._encoder_cls, separators=(",", ":"))

    # -- stepping ----------------------------------------------------------------------------
    def step(self) -> StepResult:
        """Fire due timers and run engine tasks until everything waits; capture service failures."""
        result = StepResult()
        before = self._timer_marks()
        try:
            self.wf.refresh_timers()
            self.wf.do_engine_steps()
            self.wf.refresh_timers()
            self.wf.do_engine_steps()
        except WorkflowTaskException as exc:
            result.failure = self._failure(exc)
        except WorkflowException as exc:
            result.failure = ServiceFailure("", "", str(exc), traceback.format_exc(), exc)
        except Exception as exc:  # an engine fault must become an incident, never a crashed worker
            result.failure = ServiceFailure("", "", f"{type(exc).__name__}: {exc}", traceback.format_exc(), exc)
        result.fired_timers = self._fired_since(before)
        return result

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
        tasks = self.wf.get_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR)
        base = dict(self.wf.task_tree.data)
        if tasks:
            latest = max(tasks, key=lambda t: t.last_state_change)
            base.update(latest.data)
        return base

    def timers(self) -> list[TimerView]:
        out = []
        for task in self.wf.event_manager.tasks.values():
            definition = getattr(task.task_spec, "event_definition", None)
            if not isinstance(definition, TimerEventDefinition) or task.state != TaskState.WAITING:
                continue
            value = task._get_internal_data("event_value")
            cycle = isinstance(definition, CycleTimerEventDefinition)
            if isinstance(value, dict):
                if value.get("cycles") == 0:
                    continue
                value = value.get("next")
            if not value:
                continue
            try:
                due = TimerEventDefinition.get_datetime(value) if not cycle else dt.datetime.fromisoformat(value)
            except Exception:
                continue
            if due.tzinfo is None:
                due = due.replace(tzinfo=dt.UTC)
            out.append(TimerView(str(task.id), task.task_spec.bpmn_id or task.task_spec.name, due, cycle))
        return out

    def waiting_messages(self) -> list[str]:
        names = []
        for task in self.wf.event_manager.tasks.values():
            definition = getattr(task.task_spec, "event_definition", None)
            if isinstance(definition, BpmnMessageDef) and task.state == TaskState.WAITING:
                names.append(definition.name)
        return names

    def user_tasks(self) -> list[UserTaskView]:
        views = []
        for task in self.wf.get_tasks(state=TaskState.READY, manual=True):
            spec = task.task_spec
            props = (getattr(spec, "extensions", None) or {}).get("properties", {}) or {}
            due, warning = self._deadline(task)
            views.append(UserTaskView(
                id=str(task.id),
                element_id=spec.bpmn_id or spec.name,
                name=spec.bpmn_name,
                lane=spec.lane,
                form_file=props.get("formJsonSchemaFilename"),
                ui_file=props.get("formUiSchemaFilename"),
                instructions=(getattr(spec, "extensions", None) or {}).get("instructionsForEndUser"),
                due_at=due,
                warning=warning,
                data=task.data,
                assignee=props.get("assignee") or None,
            ))
        return views

    def _deadline(self, task) -> tuple[dt.datetime | None, str]:
        """Due time = earliest pending boundary timer; warning from the boundary timers that fired.

        The timers hang on the activity: for an item of a multi-instance or loop activity that is an
        ancestor, so the search walks up a few levels to the first node with boundary timers.
        """
        node = task
        for _ in range(3):
            parent = node.parent
            if parent is None:
                break
            boundaries = [c for c in parent.children if c is not node and isinstance(c.task_spec, BoundaryEvent)
                          and isinstance(getattr(c.task_spec, "event_definition", None), TimerEventDefinition)]
            if boundaries:
                return self._from_boundaries(boundaries)
            node = parent
        return None, "none"

    @staticmethod
    def _from_boundaries(boundaries) -> tuple[dt.datetime | None, str]:
        """Earliest pending deadline (or, when all have passed, the latest passed one) and the warning."""
        due: dt.datetime | None = None
        passed: dt.datetime | None = None
        warning = "none"
        rank = {"none": 0, "yellow": 1, "red": 2}
        for sibling in boundaries:
            spec = sibling.task_spec
            props = (getattr(spec, "extensions", None) or {}).get("properties", {}) or {}
            level = props.get("warningLevel")
            when = _event_time(sibling)
            if sibling.state == TaskState.WAITING and when is not None and (due is None or when < due):
                due = when
            fired = sibling.state in (TaskState.COMPLETED, TaskState.READY) or (
                sibling.state == TaskState.WAITING and isinstance(spec.event_definition, CycleTimerEventDefinition)
                and any(c.state & (TaskState.READY | TaskState.STARTED | TaskState.COMPLETED | TaskState.WAITING)
                        for c in sibling.children))  # a cycle that fired already
            if fired and sibling.state != TaskState.WAITING and when is not None and (passed is None or when > passed):
                passed = when
            if fired and not getattr(spec, "cancel_activity", True):
                level = level if level in rank else "yellow"
                if rank[level] > rank[warning]:
                    warning = level
        return due or passed, warning

    def task_exists(self, task_id: str) -> bool:
        try:
            return self.wf.get_task_from_id(UUID(task_id)) is not None
        except Exception:
            return False

    def element_states(self) -> dict[str, str]:
        """BPMN element id → 'completed' | 'active' | 'waiting' for diagram colouring."""
        out: dict[str, str] = {}
        order = {"completed": 0, "waiting": 1, "active": 2, "error": 3}
        for task in self.wf.get_tasks():
            bpmn_id = task.task_spec.bpmn_id
            if not bpmn_id:
                continue
            if task.state == TaskState.COMPLETED:
                state = "completed"
            elif task.state in (TaskState.READY, TaskState.STARTED):
                state = "active"
            elif task.state == TaskState.WAITING:
                state = "waiting"
            elif task.state == TaskState.ERROR:
                state = "error"
            else:
                continue
            if order[state] >= order.get(out.get(bpmn_id, "completed"), 0):
                out[bpmn_id] = state
        return out


def _event_time(task) -> dt.datetime | None:
    """A timer task's due time from its stored event value (None before it was evaluated)."""
    value = task._get_internal_data("event_value")
    if isinstance(value, dict):
        value = value.get("next") if value.get("cycles") else None
    if not value:
        return None
    try:
        when = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def element_instructions(bundle: SpecBundle, element_id: str) -> str | None:
    """The ``instructionsForEndUser`` text of a BPMN element (top level or any subprocess spec)."""
    for spec in (bundle.spec, *bundle.subprocess_specs.values()):
        for task_spec in spec.task_specs.values():
            if getattr(task_spec, "bpmn_id", None) == element_id:
                return (getattr(task_spec, "extensions", None) or {}).get("instructionsForEndUser")
    return None


def full_serialize(workflow: BpmnWorkflow) -> str:
    """SpiffWorkflow's own full serialization (spec embedded), for comparisons in benchmarks."""
    return _FULL.serialize_json(workflow)
