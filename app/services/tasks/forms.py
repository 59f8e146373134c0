"""Forms are contracts (rule 8): server-side JSON Schema validation with Chinese per-field messages."""

from __future__ import annotations

from jsonschema import Draft202012Validator, FormatChecker

from app.errors import FormInvalid

TYPE_ZH = {"string": "文本", "number": "数字", "integer": "整数", "boolean": "是/否", "array": "列表",
           "object": "对象", "null": "空"}


def _field(error) -> str:
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        path.append(missing)
    if error.validator == "dependentRequired":
        path.append(error.message.split("'")[1])
    return ".".join(path) or "_form"


_CHOICE = "请从给定选项中选择 / choose one of the allowed values"
_FORMATS = {"date": "日期格式应为 YYYY-MM-DD / date expected", "email": "邮箱格式不正确 / e-mail expected",
            "date-time": "时间格式不正确 / date-time expected"}


def _types(val) -> str:
    types = val if isinstance(val, list) else [val]
    return f"应为{'或'.join(TYPE_ZH.get(t, t) for t in types)} / must be {'/'.join(types)}"


# validator keyword -> message for its value (Chinese first)
MESSAGES = {
    "required": lambda val: "此项为必填项 / required",
    "type": _types,
    "enum": lambda val: _CHOICE, "const": lambda val: _CHOICE, "oneOf": lambda val: _CHOICE,
    "anyOf": lambda val: _CHOICE,
    "minimum": lambda val: f"不能小于 {val} / must be ≥ {val}",
    "maximum": lambda val: f"不能大于 {val} / must be ≤ {val}",
    "exclusiveMinimum": lambda val: f"必须大于 {val} / must be > {val}",
    "exclusiveMaximum": lambda val: f"必须小于 {val} / must be < {val}",
    "minLength": lambda val: "此项为必填项 / required" if val == 1 else f"至少 {val} 个字符 / at least {val} characters",
    "maxLength": lambda val: f"最多 {val} 个字符 / at most {val} characters",
    "minItems": lambda val: f"至少 {val} 项 / at least {val} items",
    "maxItems": lambda val: f"最多 {val} 项 / at most {val} items",
    "pattern": lambda val: "格式不正确 / wrong format",
    "format": lambda val: _FORMATS.get(val, "格式不正确 / wrong format"),
    "additionalProperties": lambda val: "包含未定义的字段 / unknown field",
}


def _message(error) -> str:
    template = MESSAGES.get(error.validator)
    if template is not None:
        return template(error.validator_value)
    field_schema = error.schema if isinstance(error.schema, dict) else {}
    return f"取值无效 / invalid value ({field_schema.get('title') or error.validator})"


def validate(schema: dict | None, data) -> dict:
    """Return the data if it satisfies ``schema``; raise FormInvalid with per-field errors."""
    if not isinstance(data, dict):
        raise FormInvalid("提交的数据必须是对象 / data must be a JSON object",
                          [{"field": "_form", "message": "提交的数据必须是对象 / data must be a JSON object"}])
    if not schema:
        return data
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    errors = []
    seen = set()
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        field = _field(error)
        if field in seen:
            continue
        seen.add(field)
        title = _title(schema, field)
        errors.append({"field": field, "title": title, "message": _message(error)})
    if errors:
        raise FormInvalid("表单填写有误,请按提示修改 / the form has errors", errors)
    return data


def _title(schema: dict, field: str) -> str | None:
    node = schema
    for part in field.split("."):
        props = node.get("properties", {}) if isinstance(node, dict) else {}
        if part in props:
            node = props[part]
        elif isinstance(node, dict) and "items" in node:
            node = node["items"]
        else:
            return None
    return node.get("title") if isinstance(node, dict) else None


# Server-side checks beyond the schema, keyed by form file (issue #12): (check, note) operator names
# (domain/operators/evidence.py). ``check(ctx, task, data)`` runs under the instance lock before the
# task completes and raises FormInvalid (422, nothing changes) or returns {"data": extra form data};
# ``note(ctx, task)`` returns a line the task page shows with the form (e.g. which evidence is present).
SERVER_CHECKS: dict[str, tuple[str | None, str | None]] = {
    "lc-stage.json": ("form_check_stage_evidence", "form_note_stage_evidence"),
    "li-claim.json": ("form_check_library_claim", None),
}


def server_check(ctx, task, data: dict) -> dict:
    """Run the form's registered check; returns ``data`` with what the check adds."""
    from app.services.runtime.service_calls import operations

    name = SERVER_CHECKS.get(task.form_file or "", (None, None))[0]
    if name is None:
        return data
    result = operations()[name](ctx, task=task, data=data) or {}
    return {**data, **(result.get("data") or {})}


def server_note(ctx, task) -> str | None:
    from app.services.runtime.service_calls import operations

    name = SERVER_CHECKS.get(task.form_file or "", (None, None))[1]
    return operations()[name](ctx, task=task) if name else None
