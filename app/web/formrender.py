"""JSON Schema (draft 2020-12 subset) + rjsf-style ui schema → field descriptions for the template,
and the reverse: an HTML form post → JSON data coerced to the schema's types.

Field description (a dict), one per property, in ``ui:order`` order::

    {"key", "path", "name", "id", "label", "required", "help", "placeholder", "widget",
     "type", "options": [{"value", "label", "selected"}], "value", "error", "attrs": {...},
     # widget == "group" (array of objects): "rows": [[field, ...], ...], "template": [field, ...]
     # widget == "object": "children": [field, ...]
    }

Widgets: text, email, number, integer, date, datetime, textarea, select, radio, checkbox
(boolean), checkboxes (array of enum), file (stores {"sha256", "name", "size", "type"}), hidden,
group (repeated rows; plain JS adds/removes rows), object (a fieldset of sub-fields).

HTML names: ``a`` for top-level fields, ``a[0][b]`` for a row field of the group ``a``, ``a[b]`` for
a sub-field of the object ``a``. Error paths from :func:`app.services.forms.validate` are dotted
(``a.0.b``) and are matched against each field's ``path``.
"""

from __future__ import annotations

import json
import re
from typing import Any

ROW_TOKEN = "__INDEX__"
_NAME_PART = re.compile(r"\[([^\]]*)\]")


# -- schema helpers -------------------------------------------------------------------------------
def _type(schema: dict) -> str | None:
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), None)
    return t


def _choices(schema: dict) -> list[tuple[Any, str]] | None:
    if isinstance(schema.get("oneOf"), list) and all(isinstance(o, dict) and "const" in o for o in schema["oneOf"]):
        return [(o["const"], str(o.get("title", o["const"]))) for o in schema["oneOf"]]
    if isinstance(schema.get("anyOf"), list) and all(isinstance(o, dict) and "const" in o for o in schema["anyOf"]):
        return [(o["const"], str(o.get("title", o["const"]))) for o in schema["anyOf"]]
    if isinstance(schema.get("enum"), list):
        names = schema.get("enumNames") if isinstance(schema.get("enumNames"), list) else None
        return [(v, str(names[i]) if names and i < len(names) else _label(v)) for i, v in enumerate(schema["enum"])]
    return None


def _label(value) -> str:
    if value is True:
        return "是"
    if value is False:
        return "否"
    return "" if value is None else str(value)


def is_file_field(schema: dict, ui: dict) -> bool:
    if ui.get("ui:widget") in ("file", "files"):
        return True
    props = schema.get("properties") if _type(schema) == "object" else None
    if isinstance(props, dict) and "sha256" in props:
        return True
    items = schema.get("items")
    return _type(schema) == "array" and isinstance(items, dict) and is_file_field(items, ui.get("items") or {})


def _ordered(props: dict, order: list | None) -> list[str]:
    keys = list(props)
    if not order:
        return keys
    out: list[str] = []
    rest = [k for k in keys if k not in order]
    for k in order:
        if k == "*":
            out.extend(rest)
        elif k in props and k not in out:
            out.append(k)
    if "*" not in order:
        out.extend(k for k in rest if k not in out)
    return out


_EXPLICIT_WIDGETS = {"textarea": "textarea", "date": "date", "email": "email", "datetime": "datetime", "text": "text",
                     "updown": "number", "range": "number", "password": "text", "color": "text"}
_FORMAT_WIDGETS = {"date": "date", "date-time": "datetime", "email": "email"}


def _structured_widget(schema: dict, explicit: str | None, t: str | None) -> str | None:
    """Arrays, objects and booleans: their widget, or None for scalar fields."""
    if t == "array":
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        return "group" if _type(items) == "object" else "checkboxes"
    if t == "object":
        return "object"
    if t == "boolean":
        return explicit if explicit in ("radio", "select") else "checkbox"
    return None


def widget_for(schema: dict, ui: dict) -> str:
    explicit = ui.get("ui:widget")
    t = _type(schema)
    if is_file_field(schema, ui):
        return "file"
    if explicit == "hidden":
        return "hidden"
    structured = _structured_widget(schema, explicit, t)
    if structured:
        return structured
    if _choices(schema) is not None:
        return explicit if explicit in ("radio", "select") else "select"
    if explicit in _EXPLICIT_WIDGETS:
        return _EXPLICIT_WIDGETS[explicit]
    if schema.get("format") in _FORMAT_WIDGETS:
        return _FORMAT_WIDGETS[schema["format"]]
    return t if t in ("number", "integer") else "text"


# -- schema + values → field descriptions ---------------------------------------------------------
def _html_id(path: str) -> str:
    return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", path.replace(".", "-"))


def _display(value, widget: str):
    if value is None:
        return ""
    if widget == "file":
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, list | dict) else str(value)


def _field(key: str, schema: dict, ui: dict, value, errors: dict, path: str, name: str, required: bool) -> dict:
    widget = widget_for(schema, ui)
    t = _type(schema)
    field: dict[str, Any] = {
        "key": key, "path": path, "name": name, "id": _html_id(path), "type": t, "widget": widget,
        "label": schema.get("title") or key, "required": required,
        "help": ui.get("ui:help") or schema.get("description"), "placeholder": ui.get("ui:placeholder"),
        "error": errors.get(path), "attrs": {}, "value": None, "options": [],
    }
    if widget in ("number", "integer"):
        # type="text" + inputmode: a browser drops an unparsable value of type="number", and the
        # page must show back exactly what the user typed next to the server's message
        field["attrs"] = {"inputmode": "numeric" if t == "integer" else "decimal", "autocomplete": "off"}
    if widget in ("text", "textarea", "email"):
        attrs = {}
        if isinstance(schema.get("maxLength"), int):
            attrs["maxlength"] = schema["maxLength"]
        if isinstance(schema.get("minLength"), int) and schema["minLength"] > 0:
            attrs["minlength"] = schema["minLength"]
        field["attrs"] = attrs
    if widget == "group":
        item_schema = schema.get("items") or {}
        item_ui = ui.get("items") or {}
        # never submitted: start with the minimum number of (empty) rows
        rows = value if isinstance(value, list) else [{} for _ in range(int(schema.get("minItems") or 0))]
        field["rows"] = [_children(item_schema, item_ui, row if isinstance(row, dict) else {}, errors,
                                   f"{path}.{i}", f"{name}[{i}]") for i, row in enumerate(rows)]
        field["template"] = _children(item_schema, item_ui, {}, {}, f"{path}.{ROW_TOKEN}", f"{name}[{ROW_TOKEN}]")
        field["item_title"] = item_schema.get("title") or "条目"
        field["min_items"] = schema.get("minItems") or 0
        field["max_items"] = schema.get("maxItems")
        # row-level errors (e.g. a missing required cell reported on the row itself)
        field["row_errors"] = {i: errors.get(f"{path}.{i}") for i in range(len(rows)) if errors.get(f"{path}.{i}")}
        return field
    if widget == "object":
        field["children"] = _children(schema, ui, value if isinstance(value, dict) else {}, errors, path, name)
        return field
    if widget == "checkboxes":
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        selected = value if isinstance(value, list) else []
        choices = _choices(items) or []
        field["options"] = [{"value": _display(v, "text"), "label": lab, "selected": v in selected}
                            for v, lab in choices]
        field["value"] = selected
        return field
    if widget == "file":
        field["multiple"] = t == "array"
        field["value"] = value if isinstance(value, dict | list) else None
        field["existing_json"] = json.dumps(field["value"], ensure_ascii=False) if field["value"] else ""
        return field
    if widget in ("select", "radio"):
        choices = _choices(schema)
        if choices is None and t == "boolean":
            choices = [(True, "是"), (False, "否")]
        field["options"] = [{"value": _display(v, "text"), "label": lab,
                             "selected": value is not None and (v == value or _display(v, "text") == _display(value, "text"))}
                            for v, lab in (choices or [])]
        field["value"] = _display(value, widget)
        return field
    if widget == "checkbox":
        field["value"] = value is True or value in ("true", "on", "1")
        return field
    field["value"] = _display(value, widget)
    return field


def _children(schema: dict, ui: dict, values: dict, errors: dict, path: str, name: str) -> list[dict]:
    props = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    out = []
    for key in _ordered(props, ui.get("ui:order")):
        sub = props.get(key)
        if not isinstance(sub, dict):
            continue
        sub_ui = ui.get(key) if isinstance(ui.get(key), dict) else {}
        value = values.get(key) if isinstance(values, dict) else None
        sub_path = f"{path}.{key}" if path else key
        sub_name = f"{name}[{key}]" if name else key
        out.append(_field(key, sub, sub_ui, value, errors, sub_path, sub_name, key in required))
    return out


def defaults(schema: dict | None) -> dict:
    """Top-level ``default`` values of the schema."""
    props = (schema or {}).get("properties") or {}
    return {k: v["default"] for k, v in props.items() if isinstance(v, dict) and "default" in v}


def build_fields(schema: dict | None, ui_schema: dict | None, values: dict | None = None,
                 errors: list[dict] | None = None) -> list[dict]:
    """Field descriptions for the template, values filled in and errors attached by path."""
    if not schema:
        return []
    by_path: dict[str, str] = {}
    for e in errors or []:
        field = str(e.get("field") or "_form")
        by_path.setdefault(field, e.get("message") or "取值无效")
    return _children(schema, ui_schema or {}, values or {}, by_path, "", "")


# -- form post → data ------------------------------------------------------------------------------
def _parse_name(name: str) -> list[str]:
    head = name.split("[", 1)[0]
    return [head, *_NAME_PART.findall(name[len(head):])]


def _nest(form) -> dict:
    """A flat MultiDict with ``a[0][b]`` names → nested dict (lists of values at the leaves)."""
    tree: dict = {}
    for raw_name in form.keys():
        if raw_name == "csrf_token" or raw_name.startswith("_"):
            continue
        parts = _parse_name(raw_name)
        if not parts or any(p == ROW_TOKEN for p in parts):
            continue
        node = tree
        for p in parts[:-1]:
            nxt = node.get(p)
            if not isinstance(nxt, dict):
                nxt = {}
                node[p] = nxt
            node = nxt
        node[parts[-1]] = form.getlist(raw_name)
    return tree


def _number(raw: str, integer: bool):
    text = raw.strip().replace(",", "").replace(",", "")
    if text == "":
        return None
    try:
        number = float(text)
    except ValueError:
        return raw  # keep what the user typed: the validator reports the type error
    if integer:
        return int(number) if number.is_integer() else raw
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number


def _scalar(schema: dict, raw: str):
    """One submitted string → the schema's type; '' → None (omitted)."""
    choices = _choices(schema)
    if choices is not None:
        for value, _ in choices:
            if _display(value, "text") == raw:
                return value
        return raw if raw != "" else None
    t = _type(schema)
    if t in ("number", "integer"):
        return _number(raw, t == "integer")
    if t == "boolean":
        if raw in ("true", "on", "1", "是"):
            return True
        if raw in ("false", "0", "否"):
            return False
        return None if raw == "" else raw
    if raw.strip() == "":
        return None
    return raw.strip() if schema.get("format") in ("date", "date-time", "email") else raw


def _coerce(schema: dict, ui: dict, node, files_for, path: str, name: str, previous):
    widget = widget_for(schema, ui)
    t = _type(schema)
    if widget == "file":
        return files_for(schema, ui, path, name, node, previous)
    if widget == "group":
        item_schema = schema.get("items") or {}
        item_ui = ui.get("items") or {}
        rows = node if isinstance(node, dict) else {}
        out = []
        for idx in sorted((k for k in rows if str(k).isdigit()), key=int):
            prev = previous[int(idx)] if isinstance(previous, list) and int(idx) < len(previous) else None
            row = _coerce_object(item_schema, item_ui, rows[idx], files_for, f"{path}.{len(out)}", f"{name}[{idx}]", prev)
            if any(v not in (None, "", [], False) for v in row.values()):
                out.append(row)
        return out
    if widget == "object":
        return _coerce_object(schema, ui, node if isinstance(node, dict) else {}, files_for, path, name, previous)
    values = node if isinstance(node, list) else ([] if node is None else [node])
    if widget == "checkboxes":
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        return [v for v in (_scalar(items, str(x)) for x in values) if v is not None]
    if widget == "checkbox" and t == "boolean":
        return any(str(v) in ("true", "on", "1") for v in values)
    raw = str(values[-1]) if values else ""
    return _scalar(schema, raw)


def _coerce_object(schema: dict, ui: dict, node: dict, files_for, path: str, name: str, previous) -> dict:
    props = schema.get("properties") or {}
    out: dict[str, Any] = {}
    previous = previous if isinstance(previous, dict) else {}
    for key, sub in props.items():
        if not isinstance(sub, dict):
            continue
        sub_ui = ui.get(key) if isinstance(ui.get(key), dict) else {}
        value = _coerce(sub, sub_ui, node.get(key) if isinstance(node, dict) else None, files_for,
                        f"{path}.{key}" if path else key, f"{name}[{key}]" if name else key, previous.get(key))
        if value is not None:
            out[key] = value
    return out


def coerce(schema: dict | None, ui_schema: dict | None, form, files_for=None, previous: dict | None = None) -> dict:
    """Form post (MultiDict) → data typed per the schema. Empty inputs are omitted (so ``required``
    reports them); values that do not parse are kept as typed (so the validator reports them and the
    page shows them again). ``files_for(schema, ui, path, name, node, previous)`` resolves file fields."""
    if not schema:
        return {}
    tree = _nest(form)

    def no_files(_schema, _ui, _path, _name, _node, prev):
        return prev

    return _coerce_object(schema, ui_schema or {}, tree, files_for or no_files, "", "", previous or {})
