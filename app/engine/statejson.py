"""The text of instance JSON: written and read with orjson, equal in meaning to the standard library's.

An instance's state is dumped at every change and parsed at every restore (a due-job's, a change of an
instance this process does not hold). With the standard ``json`` module that was about a sixth of a
sweep's time (measured with py-spy on ``investflow worker``: loads 6 %, dumps 9.5 %); orjson does the
same work in a third to a quarter of the time.

What is written is what SpiffWorkflow's encoder (``SERIALIZER._encoder_cls``) would write, parsed:

- the same ``default`` for what JSON has no type for: registered types (datetime, timedelta, UUID…)
  become their typename dicts, callables and modules ``null``, sets lists, anything else a TypeError.
  Datetimes are passed to it (``OPT_PASSTHROUGH_DATETIME``) rather than written as orjson's strings.
- keys that are not strings become strings as ``json`` makes them (``OPT_NON_STR_KEYS``).
- whatever orjson refuses (an integer past 64 bits, a float subclass…) is written by ``json`` instead,
  the whole document, so a state is never written half one way. So is a state whose data holds a
  ``uuid.UUID`` (orjson would write it as a plain string, not as SpiffWorkflow's typename dict): the
  parts of instance JSON that carry user data are looked through for one first (:func:`_holds_uuid`).

Two differences, both on the side of strict JSON (RFC 8259): non-ASCII text is written as UTF-8, not
``\\uXXXX`` escapes (the same string once parsed, and a third of the bytes for Chinese), and a non-finite
float (NaN, ±Infinity, which JSON has no literal for) is written ``null``. Reading accepts both forms:
text orjson refuses (a ``NaN`` written by an older release) is read by ``json``, and so is text with a
run of 19 digits, which may be an integer past 64 bits (orjson would read it as a float).

``INVESTFLOW_JSON_VERIFY=1`` (the test suite) also encodes every state with ``json`` and raises
:class:`StateJsonMismatch` where the two parse differently.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable
from types import ModuleType
from typing import Any
from uuid import UUID

import orjson

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


class StateJsonMismatch(AssertionError):
    """Verify mode: orjson's text and the standard encoder's parse to different values."""


def encoder_default(registry) -> Callable[[Any], Any]:
    """The ``default`` of SpiffWorkflow's ``SpiffEncoder`` for ``registry``, as a function."""
    typenames, to_dict = registry.typenames, registry.convert_to_dict

    def default(obj):
        typename = typenames.get(type(obj))
        if typename is not None:
            return to_dict[typename](obj)
        if callable(obj) or isinstance(obj, ModuleType):
            return None
        if isinstance(obj, set):
            return list(obj)
        raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")

    return default


def dumps(obj: Any, default: Callable[[Any], Any], fallback_cls: type[json.JSONEncoder]) -> str:
    """Instance JSON ``obj`` (SpiffWorkflow's ``to_dict``) as compact text (see the module's notes for
    what differs from ``json.dumps``)."""
    if _holds_uuid(obj):
        return _standard(obj, fallback_cls)
    try:
        text = orjson.dumps(obj, default=default, option=_OPTIONS).decode("utf-8")
    except (TypeError, orjson.JSONEncodeError):
        return _standard(obj, fallback_cls)
    if VERIFY:
        _verify(obj, text, fallback_cls)
    return text


def _standard(obj: Any, encoder_cls: type[json.JSONEncoder]) -> str:
    return json.dumps(obj, cls=encoder_cls, separators=(",", ":"))


_LONG_NUMBER = re.compile(r"\d{19}")


def loads(text: str) -> Any:
    if _LONG_NUMBER.search(text):
        return json.loads(text)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)  # NaN / Infinity literals, written by the standard encoder


def _holds_uuid(workflow: dict) -> bool:
    """A ``uuid.UUID`` (exactly: subclasses such as task ids go to ``default``) in the user data of
    instance JSON: workflow data, correlations and events, task data, data deltas and internal data
    (message payloads), the same in every subprocess."""
    parts = [workflow.get("data"), workflow.get("correlations"), workflow.get("bpmn_events")]
    for task in (workflow.get("tasks") or {}).values():  # data: the root's; a child's is a delta against its parent
        parts += (task.get("data"), task.get("delta"), task.get("internal_data"))
    if any(_any_uuid(part) for part in parts if part):
        return True
    return any(_holds_uuid(sub) for sub in (workflow.get("subprocesses") or {}).values() if isinstance(sub, dict))


def _any_uuid(value: Any) -> bool:
    if type(value) is UUID:
        return True
    if isinstance(value, dict):
        value = value.values()
    elif not isinstance(value, _CONTAINERS):
        return False
    # no call for a scalar: this runs over an instance's data at every dump
    return any(type(item) is UUID or (isinstance(item, _CONTAINERS) and _any_uuid(item)) for item in value)


_CONTAINERS = (dict, list, tuple)


def _verify(obj: Any, text: str, fallback_cls: type[json.JSONEncoder]) -> None:
    expected = json.loads(_standard(obj, fallback_cls))
    if _finite(expected) != json.loads(text):
        raise StateJsonMismatch("orjson wrote instance JSON that parses differently from the standard encoder's")


def _finite(value: Any) -> Any:
    """``value`` with non-finite floats as ``None`` (what orjson writes for them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


VERIFY = False


def install() -> None:
    global VERIFY
    VERIFY = os.environ.get("INVESTFLOW_JSON_VERIFY", "").strip().lower() in {"1", "true", "yes", "on"}


install()
