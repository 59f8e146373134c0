"""Parsing request input the same way everywhere (API and pages): bad input is a clear 4xx, never a 500.

One layer, three doors:

- ``check_request`` (a ``before_request`` hook for every route): path, query and form values carry no
  NUL byte and no lone surrogate, and no query value is longer than ``MAX_QUERY_VALUE``.
- ``to_int`` / ``int_arg`` / ``page_args``: integers within 64 bits (and within a page range).
- ``loads`` / ``json_body`` / ``check_value``: JSON that the database and the engine can hold — at most
  ``MAX_DEPTH`` levels, integers within 64 bits, finite numbers (no NaN / Infinity), strings without NUL
  bytes or lone surrogates. ``body_int`` / ``body_str`` / ``body_bool`` read one typed field.
The ``int`` URL converter (``BoundedInt``) refuses ids beyond 64 bits with a 404, ``int32`` beyond 32 bits
(the domain tables' INTEGER ids and version numbers).
"""

from __future__ import annotations

import json
import math

from werkzeug.routing import IntegerConverter

from app.errors import BadRequest

INT_MAX = 2**63 - 1
INT32_MAX = 2**31 - 1  # domain and auth tables (and version numbers) use 32-bit INTEGER on PostgreSQL
MAX_DEPTH = 32
MAX_QUERY_VALUE = 1000
MAX_PAGE = 100_000


class BoundedInt(IntegerConverter):
    """``<int:…>`` within a signed 64-bit column: a bigger id cannot exist (404, not an overflow)."""

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):  # noqa: A002 - werkzeug names
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=INT_MAX if max is None else max, signed=signed)


class BoundedInt32(BoundedInt):
    """``<int32:…>`` for ids of 32-bit columns (projects, notifications, version numbers)."""

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):  # noqa: A002 - werkzeug names
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=INT32_MAX if max is None else max,
                         signed=signed)


# -- scalars ------------------------------------------------------------------------------------------------
def to_int(value, name: str, default: int | None = None, *, lo: int = -INT_MAX, hi: int = INT_MAX) -> int | None:
    """``value`` as an int; empty → ``default``; anything else (or out of range) → BadRequest naming it."""
    if value in (None, ""):
        return default
    if isinstance(value, bool):
        raise BadRequest(f"参数 {name} 必须是整数 / {name} must be an integer")
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except (TypeError, ValueError):
        raise BadRequest(f"参数 {name} 必须是整数 / {name} must be an integer") from None
    if not lo <= number <= hi:
        raise BadRequest(f"参数 {name} 超出范围 ({lo}…{hi}) / {name} out of range")
    return number


def int_arg(name: str, default: int | None = None, *, lo: int = -INT_MAX, hi: int = INT_MAX) -> int | None:
    """The query-string parameter ``name`` of the current request as an int."""
    from flask import request

    return to_int(request.args.get(name), name, default, lo=lo, hi=hi)


def page_args(default_per_page: int = 20, max_per_page: int = 200) -> tuple[int, int]:
    """``page`` (1…MAX_PAGE) and ``per_page`` (1…max_per_page) of the current request."""
    return (int_arg("page", 1, lo=1, hi=MAX_PAGE),
            int_arg("per_page", default_per_page, lo=1, hi=max_per_page))


def _text_problem(text: str) -> str | None:
    if text is None:
        return None
    if "\x00" in text:
        return "不能包含 NUL 字符 / must not contain NUL bytes"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "包含无效的 Unicode 字符 / contains invalid Unicode (lone surrogate)"
    return None


def check_text(text: str, name: str) -> str:
    problem = _text_problem(text)
    if problem:
        raise BadRequest(f"{name} {problem}", [{"message": f"{name} {problem}", "field": name}])
    return text


# -- JSON ------------------------------------------------------------------------------------------------------
def _refuse_constant(name: str):
    raise ValueError(f"{name} 不是有效的 JSON 数值 / {name} is not a JSON number")


def check_value(value, name: str = "data"):
    """Walk a decoded JSON value (iteratively: no recursion to exhaust) and refuse what cannot be stored."""
    stack = [(value, 1, name)]
    while stack:
        node, depth, path = stack.pop()
        if depth > MAX_DEPTH:
            raise BadRequest(f"JSON 嵌套超过 {MAX_DEPTH} 层 / nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, dict):
            for key, child in node.items():
                check_text(str(key), path)
                stack.append((child, depth + 1, f"{path}.{key}"))
        elif isinstance(node, list | tuple):
            stack.extend((child, depth + 1, f"{path}[{i}]") for i, child in enumerate(node))
        elif isinstance(node, str):
            check_text(node, path)
        elif isinstance(node, bool) or node is None:
            continue
        elif isinstance(node, int):
            if not -INT_MAX <= node <= INT_MAX:
                raise BadRequest(f"{path} 超出 64 位整数范围 / integer beyond 64 bits", [
                    {"message": "整数超出范围 / integer out of range", "field": path}])
        elif isinstance(node, float) and not math.isfinite(node):
            raise BadRequest(f"{path} 不是有限数值 / NaN and Infinity are not allowed",
                             [{"message": "不是有限数值 / not a finite number", "field": path}])
    return value


def _depth_ok(text: str) -> bool:
    """Nesting depth by bracket count (strings skipped), before the recursive parser sees the text."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:  # a form's body: too few brackets to nest too deep
        return True
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def loads(data: bytes | str, name: str = "请求体"):
    """Strict JSON: UTF-8, bounded depth, no NaN/Infinity, values checked (BadRequest otherwise)."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise BadRequest(f"{name}不是 UTF-8 编码 / body is not UTF-8") from None
    if not _depth_ok(text):
        raise BadRequest(f"JSON 嵌套超过 {MAX_DEPTH} 层 / nested deeper than {MAX_DEPTH} levels")
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"{name}不是有效的 JSON / body is not valid JSON: {str(exc)[:200]}") from None
    return check_value(value)


def json_body() -> dict:
    """The current request's JSON object body (empty body → ``{}``); anything else is a 400."""
    from flask import request

    if not request.data:
        return {}
    body = loads(request.get_data(cache=True))
    if not isinstance(body, dict):
        raise BadRequest("请求体必须是 JSON 对象 / body must be a JSON object")
    return body


def body_int(body: dict, name: str, *, required: bool = False, lo: int = -INT_MAX, hi: int = INT_MAX):
    value = body.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise BadRequest(f"{name} 必须是整数 / {name} must be an integer",
                         [{"message": f"{name} 必须是整数 / must be an integer", "field": name}])
    return value


def body_str(body: dict, name: str, *, max_len: int = 200):
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{name} 必须是字符串 / {name} must be a string",
                         [{"message": f"{name} 必须是字符串 / must be a string", "field": name}])
    if len(value) > max_len:
        raise BadRequest(f"{name} 不能超过 {max_len} 个字符 / {name} is too long",
                         [{"message": f"不能超过 {max_len} 个字符 / too long", "field": name}])
    return value


def body_bool(body: dict, name: str, default: bool = False) -> bool:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise BadRequest(f"{name} 必须是布尔值 / {name} must be true or false",
                         [{"message": "必须是布尔值 / must be a boolean", "field": name}])
    return value


def body_object(body: dict, name: str) -> dict:
    value = body.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"{name} 必须是对象 / {name} must be an object",
                         [{"message": "必须是对象 / must be an object", "field": name}])
    return value


# -- every request -------------------------------------------------------------------------------------------
def check_request():
    """``before_request``: no NUL / lone surrogate in path, query or form; bounded query values."""
    from flask import request as proxy

    request = proxy._get_current_object()  # one proxy lookup for the attributes below
    check_text(request.path, "路径 / path")
    for key, value in request.args.items(multi=True):
        check_text(key, key)
        check_text(value, key)
        if len(value) > MAX_QUERY_VALUE:
            raise BadRequest(f"参数 {key} 过长(最多 {MAX_QUERY_VALUE} 字符) / query parameter {key} is too long")
    if request.method not in ("GET", "HEAD", "OPTIONS") and request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        for key, value in request.form.items(multi=True):
            check_text(key, key)
            check_text(value, key)


def init_app(app) -> None:
    app.url_map.converters["int"] = BoundedInt
    app.url_map.converters["int32"] = BoundedInt32
    app.before_request(check_request)
