"""Form data generated from a task's JSON Schema, for the demo player and the process tests."""

from __future__ import annotations

import copy
import re
from typing import Any

from app import clock
from app.errors import AppError
from app.services.tasks import forms

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc(body17: str) -> str:
    """Append the GB 32100 check character to a 17-character body."""
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(body17, _USCC_WEIGHTS, strict=True))
    return body17 + _USCC_CHARS[(31 - total % 31) % 31]



_PATTERN_CANDIDATES = ("13800000000", "0879-2123456", uscc("91530800MA0000001"), "2026-01-01", "DEMO-001", "001",
                       "A1")


def _string_value(schema: dict, name: str, index: int) -> str:
    fmt = schema.get("format")
    if fmt == "date":
        return clock.now().date().isoformat()
    if fmt == "date-time":
        return clock.now().replace(microsecond=0).isoformat()
    if fmt == "email":
        return "demo@example.com"
    pattern = schema.get("pattern")
    if pattern:
        for candidate in _PATTERN_CANDIDATES:
            try:
                if re.search(pattern, candidate):
                    return candidate
            except re.error:
                break
    text = "演示数据:" + str(schema.get("title") or name)
    min_len, max_len = int(schema.get("minLength") or 0), schema.get("maxLength")
    if len(text) < min_len:
        text += "。" * (min_len - len(text))
    if max_len is not None:
        text = text[: int(max_len)]
    return text


def _number_value(schema: dict, integer: bool) -> float | int:
    if "minimum" in schema:
        value = schema["minimum"]
    elif "exclusiveMinimum" in schema:
        value = schema["exclusiveMinimum"] + 1
    else:
        value = 1
    if "maximum" in schema:
        value = min(value, schema["maximum"])
    if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
        value = schema["exclusiveMaximum"] - 1
    return int(value) if integer else value


def _choice(schema: dict, index: int) -> tuple[bool, Any]:
    """(True, value) when the schema fixes or lists its values: const, enum, oneOf of consts, default."""
    if "const" in schema:
        return True, schema["const"]
    values = schema.get("enum") or None
    if values is None and schema.get("oneOf") and all(isinstance(o, dict) and "const" in o for o in schema["oneOf"]):
        values = [o["const"] for o in schema["oneOf"]]
    if values:
        return True, values[min(index, len(values) - 1)]
    if "default" in schema:
        return True, copy.deepcopy(schema["default"])
    return False, None


def _kind(schema: dict) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind is None and "properties" in schema:
        kind = "object"
    return kind


def _object_value(schema: dict, name: str, index: int, optional: bool) -> dict:
    out = {}
    required = set(schema.get("required") or [])
    for key, sub in (schema.get("properties") or {}).items():
        if key in required or optional:
            value = fill_value(sub, key, index, optional)
            if value is not None:
                out[key] = value
    return out


def _array_value(schema: dict, name: str, index: int, optional: bool) -> list:
    items = schema.get("items") or {"type": "string"}
    count = max(1, int(schema.get("minItems") or 0))
    if schema.get("maxItems") is not None:
        count = min(count, int(schema["maxItems"]))
    values = [fill_value(items, name, i, optional) for i in range(count)]
    if schema.get("uniqueItems") and isinstance(items, dict) and items.get("type") in ("string", None) \
            and not items.get("enum"):
        values = [f"{v}{i + 1}" if isinstance(v, str) and i else v for i, v in enumerate(values)]
    return values


_SCALARS = {
    "string": lambda schema, name, index: _string_value(schema, name, index),
    "integer": lambda schema, name, index: _number_value(schema, True),
    "number": lambda schema, name, index: _number_value(schema, False),
    "boolean": lambda schema, name, index: True,
}


def fill_value(schema: dict, name: str = "", index: int = 0, optional: bool = True) -> Any:
    """A valid value for ``schema`` (JSON Schema subset of docs/CONTRACTS.md): enums → first value
    (or the ``index``-th, to vary repeated items), numbers → minimum or 1, strings → a Chinese
    placeholder, dates → today, booleans → True, arrays → ``minItems`` (at least one) items."""
    if not isinstance(schema, dict):
        return None
    fixed, value = _choice(schema, index)
    if fixed:
        return value
    kind = _kind(schema)
    if kind == "object":
        return _object_value(schema, name, index, optional)
    if kind == "array":
        return _array_value(schema, name, index, optional)
    scalar = _SCALARS.get(kind)
    return scalar(schema, name, index) if scalar else None


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def fill_form(schema: dict | None, overrides: dict | None = None) -> dict:
    """Form data satisfying ``schema``: every field filled when that validates, else required only;
    ``overrides`` are dropped as a last resort when they do not fit the form."""
    if not schema:
        return dict(overrides or {})
    last: AppError | None = None
    for optional, extra in ((True, overrides), (False, overrides), (True, None), (False, None)):
        data = _merge(fill_value(schema, optional=optional) or {}, extra or {})
        try:
            return forms.validate(schema, data)
        except AppError as exc:
            last = exc
    raise last  # type: ignore[misc]


