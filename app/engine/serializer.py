"""Instance and spec serialization.

Instances are stored WITHOUT their spec: the spec of a version is serialized once at deploy time
(:func:`dump_spec`) and restored into an in-process LRU cache (a :class:`SpecCache`, owned per database by ``services.caches``); instance JSON
names nothing but tasks and data (ARCHITECTURE rule 7, reference §5 "cached spec").
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import SpiffWorkflow.task as _spiff_task
from SpiffWorkflow import TaskState
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnSubWorkflowConverter,
    BpmnWorkflowConverter,
    TaskConverter,
)
from SpiffWorkflow.bpmn.serializer.helpers.registry import DefaultRegistry
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.deep_merge import DeepMerge

from app.engine import statejson


class _TaskId(UUID):
    """A task id read from instance JSON that keeps its text.

    Every restore parses each id three to four times (the task, its key, its parent's children, its
    children's parent) and every dump formats it again as often; a restore parses each distinct id
    once (:func:`_task_id`) and the dump reuses the text. Equal to and hashed like the plain UUID.
    """

    __slots__ = ("_text",)

    def __init__(self, text: str):
        super().__init__(text)
        object.__setattr__(self, "_text", UUID.__str__(self))

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"UUID('{self._text}')"

    def __reduce__(self):
        return UUID, (self._text,)


def _new_task_id() -> UUID:
    """A fresh task id that keeps its text, like the restored ones: a workflow kept in memory between
    changes (the hot cache) dumps the tasks its steps created without formatting their ids each time."""
    fresh = uuid4()
    task_id = object.__new__(_TaskId)
    object.__setattr__(task_id, "int", fresh.int)
    object.__setattr__(task_id, "is_safe", fresh.is_safe)
    object.__setattr__(task_id, "_text", UUID.__str__(fresh))
    return task_id


_shipped_uuid4 = _spiff_task.uuid4
_spiff_task.uuid4 = _new_task_id  # SpiffWorkflow's Task() draws ids from this name only


def draw_plain_task_ids(plain: bool) -> None:
    """New tasks get SpiffWorkflow's plain ``uuid4`` ids (True) or ids that keep their text (False, the default)."""
    _spiff_task.uuid4 = _shipped_uuid4 if plain else _new_task_id

_restoring = threading.local()


def _task_id(text: str) -> UUID:
    """The id of ``text``, parsed once per restore (the memo lives for one :func:`restore_workflow`)."""
    memo = getattr(_restoring, "ids", None)
    if memo is None:
        return _TaskId(text)
    found = memo.get(text)
    if found is None:
        found = memo[text] = _TaskId(text)
    return found


class _TaskIdKeys:
    """Task mappings of (sub)workflows are keyed by :func:`_task_id`."""

    def mapping_from_dict(self, mapping, key_class=None, **kwargs):
        return super().mapping_from_dict(mapping, _task_id if key_class is UUID else key_class, **kwargs)


class _CachedSpecWorkflowConverter(_TaskIdKeys, BpmnWorkflowConverter):
    """Writes no spec into instance JSON; restores against spec objects passed in the dict."""

    def to_dict(self, workflow):
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)  # skip the spec part
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct


class _SubWorkflowConverter(_TaskIdKeys, BpmnSubWorkflowConverter):
    pass


class _TaskConverter(TaskConverter):
    """SpiffWorkflow's task restore (data stored as a delta against the parent) with ids from :func:`_task_id`,
    and its dump with the parent looked up once instead of three times (the same dict, key for key)."""

    def to_dict(self, task):
        parent = task.parent
        if parent is None:
            data, delta = task.data, {}
        else:
            data = {}
            delta = {"updates": DeepMerge.get_updated_keys(parent.data, task.data),
                     "deletions": DeepMerge.get_deleted_keys(parent.data, task.data)}
        return {
            "id": str(task.id),
            "parent": str(task._parent) if parent is not None else None,
            "children": [str(child) for child in task._children],
            "last_state_change": task.last_state_change,
            "state": task.state,
            "task_spec": task.task_spec.name,
            "triggered": task.triggered,
            "internal_data": self.registry.convert(task.internal_data),
            "data": data,
            "delta": delta,
        }

    def from_dict(self, dct, workflow):
        task_spec = workflow.spec.task_specs.get(dct["task_spec"])
        task = self.target_class(workflow, task_spec, state=dct["state"], id=_task_id(dct["id"]))
        task._parent = _task_id(dct["parent"]) if dct["parent"] is not None else None
        task._children = [_task_id(child) for child in dct["children"]]
        task.last_state_change = dct["last_state_change"]
        task.triggered = dct["triggered"]
        task.internal_data = self.registry.restore(dct["internal_data"])
        if isinstance(task_spec, CatchingEvent) and task.has_state(TaskState.WAITING):
            task.workflow.top_workflow.event_manager.add_task(task)
        delta = dct.get("delta")
        if delta and task.parent is not None:
            data = DeepMerge.merge({}, task.parent.data)
            data.update(self.registry.restore(delta.get("updates", {})))
            for key in delta.get("deletions", {}):
                data.pop(key, None)
        else:
            data = self.registry.restore(dct["data"])
        task.data = data
        return task


class _ThreadLocalModeRegistry(DefaultRegistry):
    """SpiffWorkflow's registry with its encoder-mode switch kept per thread.

    ``serialize_json`` flips ``registry._encoder_mode`` for the duration of one dump; on a registry
    shared by all request threads that flag would leak into another thread's conversion (a spec
    dumped at deploy would come back with raw datetimes). The flag lives in thread-local storage, so
    each call sees only its own mode; everything else in the registry is read-only after configuration.
    """

    _local = threading.local()

    @property
    def _encoder_mode(self) -> bool:
        return getattr(self._local, "encoder_mode", False)

    @_encoder_mode.setter
    def _encoder_mode(self, value: bool) -> None:
        self._local.encoder_mode = value


_config = dict(SPIFF_CONFIG)
_config[BpmnWorkflow] = _CachedSpecWorkflowConverter
_config[BpmnSubWorkflow] = _SubWorkflowConverter
_config[Task] = _TaskConverter
REGISTRY = BpmnWorkflowSerializer.configure(_config, registry=_ThreadLocalModeRegistry())
REGISTRY.register(_TaskId, lambda v: {"value": str(v)}, lambda v: UUID(v["value"]), typename="UUID")
SERIALIZER = BpmnWorkflowSerializer(REGISTRY)
_ENCODER_DEFAULT = statejson.encoder_default(REGISTRY)
SERIALIZER_VERSION = SERIALIZER.VERSION


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


def dump_workflow(workflow: BpmnWorkflow) -> str:
    """Instance JSON (no spec) of a workflow."""
    REGISTRY._encoder_mode = True
    try:
        dct = SERIALIZER.to_dict(workflow)
    finally:
        REGISTRY._encoder_mode = False
    return statejson.dumps(dct, _ENCODER_DEFAULT, SERIALIZER._encoder_cls)


def restore_workflow(state: str, bundle: SpecBundle, serializer_version: str) -> BpmnWorkflow:
    """The workflow of stored instance JSON, against the cached spec objects of its version."""
    dct = statejson.loads(state)
    dct[SERIALIZER.VERSION_KEY] = serializer_version
    SERIALIZER.migrate(dct)
    dct["spec"] = bundle.spec
    dct["subprocess_specs"] = dict(bundle.subprocess_specs)
    outer = getattr(_restoring, "ids", None)
    _restoring.ids = {}
    try:
        return SERIALIZER.from_dict(dct)
    finally:
        _restoring.ids = outer


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

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

