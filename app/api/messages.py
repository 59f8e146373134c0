"""Messages: ``POST /messages/{name}`` correlates a message with waiting instances (or starts one)."""

from __future__ import annotations

from app.api.auth import authed, bp
from app.errors import BadRequest
from app.params import json_body
from app.services.runtime import messages
from app.services.runtime.instances import check_business_key


@bp.post("/messages/<name>")
@authed()
def send_message(session, user, name):
    body = json_body()
    correlation = body.get("correlation") or {}
    if not isinstance(correlation, dict):
        raise BadRequest("correlation 必须是对象 / correlation must be an object")
    data = body.get("data") or {}
    if not isinstance(data, dict):
        raise BadRequest("data 必须是对象 / data must be an object")
    broadcast = body.get("broadcast", False)
    if not isinstance(broadcast, bool):
        raise BadRequest("broadcast 必须是布尔值 / broadcast must be a boolean")
    return messages.send_message(session, name, business_key=check_business_key(body.get("business_key")),
                                 correlation=correlation, data=data, actor=user.username, broadcast=broadcast,
                                 user=user), 202
