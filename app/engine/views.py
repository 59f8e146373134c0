"""Plain data read out of a workflow: what the services project into their tables.

Dataclasses for user tasks, timers, service failures and step results, plus the deadline rule
(a task's due time and warning level from the boundary timers on its activity).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from SpiffWorkflow import TaskState
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent

if TYPE_CHECKING:
    from app.engine.serializer import SpecBundle


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


def element_instructions(bundle: SpecBundle, element_id: str) -> str | None:
    """The ``instructionsForEndUser`` text of a BPMN element (top level or any subprocess spec)."""
    for spec in (bundle.spec, *bundle.subprocess_specs.values()):
        for task_spec in spec.task_specs.values():
            if getattr(task_spec, "bpmn_id", None) == element_id:
                return (getattr(task_spec, "extensions", None) or {}).get("instructionsForEndUser")
    return None


def task_deadline(task) -> tuple[dt.datetime | None, str]:
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
            return _from_boundaries(boundaries)
        node = parent
    return None, "none"


_RANK = {"none": 0, "yellow": 1, "red": 2}


def _cycle_fired(sibling) -> bool:
    return (sibling.state == TaskState.WAITING
            and isinstance(sibling.task_spec.event_definition, CycleTimerEventDefinition)
            and any(c.state & (TaskState.READY | TaskState.STARTED | TaskState.COMPLETED | TaskState.WAITING)
                    for c in sibling.children))


def _from_boundaries(boundaries) -> tuple[dt.datetime | None, str]:
    """Earliest pending deadline (or, when all have passed, the latest passed one) and the warning."""
    due: dt.datetime | None = None
    passed: dt.datetime | None = None
    warning = "none"
    for sibling in boundaries:
        spec = sibling.task_spec
        props = (getattr(spec, "extensions", None) or {}).get("properties", {}) or {}
        level = props.get("warningLevel")
        when = event_time(sibling)
        if sibling.state == TaskState.WAITING and when is not None and (due is None or when < due):
            due = when
        fired = sibling.state in (TaskState.COMPLETED, TaskState.READY) or _cycle_fired(sibling)
        if fired and sibling.state != TaskState.WAITING and when is not None and (passed is None or when > passed):
            passed = when
        if fired and not getattr(spec, "cancel_activity", True):
            level = level if level in _RANK else "yellow"
            if _RANK[level] > _RANK[warning]:
                warning = level
    return due or passed, warning


def event_time(task) -> dt.datetime | None:
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


def timer_view(task) -> TimerView | None:
    """The pending due time of a waiting timer event task, or None."""
    definition = getattr(task.task_spec, "event_definition", None)
    if not isinstance(definition, TimerEventDefinition) or task.state != TaskState.WAITING:
        return None
    value = task._get_internal_data("event_value")
    cycle = isinstance(definition, CycleTimerEventDefinition)
    if isinstance(value, dict):
        if value.get("cycles") == 0:
            return None
        value = value.get("next")
    if not value:
        return None
    try:
        due = TimerEventDefinition.get_datetime(value) if not cycle else dt.datetime.fromisoformat(value)
    except Exception:
        return None
    if due.tzinfo is None:
        due = due.replace(tzinfo=dt.UTC)
    return TimerView(str(task.id), task.task_spec.bpmn_id or task.task_spec.name, due, cycle)


def user_task_view(task) -> UserTaskView:
    spec = task.task_spec
    extensions = getattr(spec, "extensions", None) or {}
    props = extensions.get("properties", {}) or {}
    due, warning = task_deadline(task)
    return UserTaskView(
        id=str(task.id),
        element_id=spec.bpmn_id or spec.name,
        name=spec.bpmn_name,
        lane=spec.lane,
        form_file=props.get("formJsonSchemaFilename"),
        ui_file=props.get("formUiSchemaFilename"),
        instructions=extensions.get("instructionsForEndUser"),
        due_at=due,
        warning=warning,
        data=task.data,
        assignee=props.get("assignee") or None,
    )


_STATE_ORDER = {"completed": 0, "waiting": 1, "active": 2, "error": 3}


def _state_name(state) -> str | None:
    if state == TaskState.COMPLETED:
        return "completed"
    if state in (TaskState.READY, TaskState.STARTED):
        return "active"
    if state == TaskState.WAITING:
        return "waiting"
    if state == TaskState.ERROR:
        return "error"
    return None


def element_states(tasks) -> dict[str, str]:
    """BPMN element id → 'completed' | 'active' | 'waiting' | 'error' for diagram colouring."""
    out: dict[str, str] = {}
    for task in tasks:
        bpmn_id = task.task_spec.bpmn_id
        state = _state_name(task.state) if bpmn_id else None
        if state is None:
            continue
        if _STATE_ORDER[state] >= _STATE_ORDER.get(out.get(bpmn_id, "completed"), 0):
            out[bpmn_id] = state
    return out
