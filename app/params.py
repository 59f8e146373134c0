"""Parsing request parameters the same way everywhere (API and pages): bad input is a clear 400."""

from __future__ import annotations

from app.errors import BadRequest


def to_int(value, name: str, default: int | None = None) -> int | None:
    """``value`` as an int; empty → ``default``; anything else → BadRequest naming the parameter."""
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"参数 {name} 必须是整数 / {name} must be an integer") from None


def int_arg(name: str, default: int | None = None) -> int | None:
    """The query-string parameter ``name`` of the current request as an int."""
    from flask import request

    return to_int(request.args.get(name), name, default)


def json_body() -> dict:
    """The current request's JSON object body (empty body → ``{}``); anything else is a 400."""
    from flask import request

    if not request.data:
        return {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("请求体必须是 JSON 对象 / body must be a JSON object")
    return body
