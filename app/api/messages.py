"""Messages: ``POST /messages/{name}`` correlates a message with waiting instances (or starts one)."""

from __future__ import annotations

from app.api.auth import authed, bp
from app.params import body_bool, body_object, json_body
from app.services.runtime import messages
from app.services.runtime.instances import check_business_key


@bp.post("/messages/<name>")
@authed()
def send_message(session, user, name):
    body = json_body()
    return messages.send_message(session, name, business_key=check_business_key(body.get("business_key")),
                                 correlation=body_object(body, "correlation"), data=body_object(body, "data"),
                                 actor=user.username, broadcast=body_bool(body, "broadcast"), user=user), 202
