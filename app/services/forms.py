"""Forms are contracts (rule 8): server-side JSON Schema validation with Chinese per-field messages."""

from __future__ import annotations

import copy
import json

from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import FormInvalid
from app.models.runtime import ProcessFile

TYPE_ZH = {"string": "文本", "number": "数字", "integer": "整数", "boolean": "是/否", "array": "列表",
           "object": "对象", "null": "空"}


_CACHE: dict[tuple, dict | None] = {}


def load_form(session: Session, version_id: int, filename: str | None) -> dict | None:
    """A version's form (versions are immutable, so forms are cached per database and version)."""
    if not filename:
        return None
    key = (str(session.get_bind().url), version_id, filename)
    if key in _CACHE:
        return copy.deepcopy(_CACHE[key])
    content = session.scalar(select(ProcessFile.content).where(ProcessFile.version_id == version_id,
                                                               ProcessFile.filename == filename.split("/")[-1]))
    form = json.loads(content) if content else None
    if len(_CACHE) > 2048:
        _CACHE.clear()
    _CACHE[key] = form
    return copy.deepcopy(form)


def _field(error) -> str:
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        path.append(missing)
    if error.validator == "dependentRequired":
        path.append(error.message.split("'")[1])
    return ".".join(path) or "_form"


def _message(error, schema: dict) -> str:
    v, val = error.validator, error.validator_value
    field_schema = error.schema if isinstance(error.schema, dict) else {}
    if v == "required":
        return "此项为必填项 / required"
    if v == "type":
        types = val if isinstance(val, list) else [val]
        return f"应为{'或'.join(TYPE_ZH.get(t, t) for t in types)} / must be {'/'.join(types)}"
    if v in ("enum", "const", "oneOf", "anyOf"):
        return "请从给定选项中选择 / choose one of the allowed values"
    if v == "minimum":
        return f"不能小于 {val} / must be ≥ {val}"
    if v == "maximum":
        return f"不能大于 {val} / must be ≤ {val}"
    if v == "exclusiveMinimum":
        return f"必须大于 {val} / must be > {val}"
    if v == "exclusiveMaximum":
        return f"必须小于 {val} / must be < {val}"
    if v == "minLength":
        return "此项为必填项 / required" if val == 1 else f"至少 {val} 个字符 / at least {val} characters"
    if v == "maxLength":
        return f"最多 {val} 个字符 / at most {val} characters"
    if v == "minItems":
        return f"至少 {val} 项 / at least {val} items"
    if v == "maxItems":
        return f"最多 {val} 项 / at most {val} items"
    if v == "pattern":
        return "格式不正确 / wrong format"
    if v == "format":
        return {"date": "日期格式应为 YYYY-MM-DD / date expected", "email": "邮箱格式不正确 / e-mail expected",
                "date-time": "时间格式不正确 / date-time expected"}.get(val, "格式不正确 / wrong format")
    if v == "additionalProperties":
        return "包含未定义的字段 / unknown field"
    return f"取值无效 / invalid value ({field_schema.get('title') or v})"


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
        errors.append({"field": field, "title": title, "message": _message(error, schema)})
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
