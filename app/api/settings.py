"""Settings API: GET /api/v1/settings (any signed-in user) and PUT /api/v1/settings/{key} (admin,
validated, audited). The registry and rules: app/services/domain/settings.py."""

from __future__ import annotations

from app.api.auth import authed, bp, require_admin
from app.errors import Invalid
from app.params import json_body as _json
from app.services.domain import settings


@bp.get("/settings")
@authed(write=False)
def list_settings(session, user):
    return {"items": settings.listing(session)}


@bp.put("/settings/<key>")
@authed()
def put_setting(session, user, key):
    require_admin(user)
    body = _json()
    if "value" not in body:
        raise Invalid("请求体需要 value 字段 / body must be {\"value\": …}")
    return settings.put(session, key, body["value"], user.username)
