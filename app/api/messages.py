"""Messages: ``POST /messages/{name}`` correlates a message with waiting instances (or starts one)."""

from __future__ import annotations

from app.api.auth import authed, bp
from app.errors import BadRequest
from app.params import json_body
from app.services.runtime import messages


@bp.post("/messages/<name>")
@authed()
def send_message(session, user, name):
    body = json_body()
    correlation = body.get("correlation") or {}
    if not isinstance(correlation, dict):
        raise BadRequest("correlation 必须是对象 / correlation must be an object")
    return messages.send_message(session, name, business_key=body.get("business_key"), correlation=correlation,
                                 data=body.get("data") or {}, actor=user.username,
                                 broadcast=bool(body.get("broadcast"))), 202
