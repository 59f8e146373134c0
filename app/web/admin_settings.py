"""系统设置 admin page (issue #12): every [A] value of the platform, grouped, with its default;
an admin changes one value at a time (validated and audited by app/services/domain/settings.py).
Routes live on the admin blueprint (imported at the end of app/web/admin.py)."""

from __future__ import annotations

import json

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from app import get_db
from app.errors import AppError
from app.services.domain import settings
from app.web.auth import roles_required

bp = Blueprint("admin_settings", __name__, url_prefix="/admin")
admin_only = roles_required("admin")


def _shown(value) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)


def _page(error: str | None = None, error_key: str | None = None, typed: str | None = None, status: int = 200):
    with get_db().read_scope() as s:
        items = settings.listing(s)
    groups: dict[str, list] = {}
    for item in items:
        item["shown"] = typed if error_key == item["key"] and typed is not None else _shown(item["value"])
        item["default_shown"] = _shown(item["default"])
        item["changed"] = item["value"] != item["default"]
        groups.setdefault(item["group"], []).append(item)
    return render_template("admin/settings.html", groups=groups, error=error, error_key=error_key), status


@bp.get("/settings")
@admin_only
def settings_index():
    return _page()


def _parse(kind: str, text: str):
    """Form text → JSON value: numbers for number/int, lists/objects as JSON, durations as text."""
    text = (text or "").strip()
    if kind in ("number", "int"):
        try:
            return json.loads(text)
        except ValueError:
            return text  # validation turns it into a Chinese message
    if kind in ("points", "dates", "evidence"):
        if kind == "dates" and text and not text.startswith("["):
            return [d.strip() for d in text.replace(",", ",").split(",") if d.strip()]
        try:
            return json.loads(text or ("[]" if kind == "dates" else "{}"))
        except ValueError:
            return text
    return text


@bp.post("/settings/<key>")
@admin_only
def settings_update(key: str):
    text = request.form.get("value", "")
    definition = settings.BY_KEY.get(key)
    if definition is None:
        return _page("没有这个设置项 / unknown setting", key, text, 404)
    try:
        with get_db().session_scope() as s:
            if request.form.get("reset"):
                settings.put(s, key, definition.default, g.user.username)
            else:
                settings.put(s, key, _parse(definition.kind, text), g.user.username)
    except AppError as exc:
        return _page(exc.message, key, text, 422 if exc.status in (400, 422) else exc.status)
    flash(f"已保存设置:{definition.label}", "success")
    return redirect(url_for("admin_settings.settings_index") + f"#s-{key.replace('.', '-')}")
