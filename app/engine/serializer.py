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

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.helpers.registry import DefaultRegistry
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG


class _CachedSpecWorkflowConverter(BpmnWorkflowConverter):
    """Writes no spec into instance JSON; restores against spec objects passed in the dict."""

    def to_dict(self, workflow):
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)  # skip the spec part
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct


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
REGISTRY = BpmnWorkflowSerializer.configure(_config, registry=_ThreadLocalModeRegistry())
SERIALIZER = BpmnWorkflowSerializer(REGISTRY)
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
    return json.dumps(dct, cls=SERIALIZER._encoder_cls, separators=(",", ":"))


def restore_workflow(state: str, bundle: SpecBundle, serializer_version: str) -> BpmnWorkflow:
    """The workflow of stored instance JSON, against the cached spec objects of its version."""
    dct = json.loads(state)
    dct[SERIALIZER.VERSION_KEY] = serializer_version
    SERIALIZER.migrate(dct)
    dct["spec"] = bundle.spec
    dct["subprocess_specs"] = dict(bundle.subprocess_specs)
    return SERIALIZER.from_dict(dct)


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

