"""站内通知: the list page and mark read (the bell's count is services.domain.notifications.unread_count)."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from app import get_db
from app.errors import NotFound
from app.services.domain import notifications as svc
from app.web.auth import login_required, safe_next

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


def _plain(row) -> dict:
    return {"id": row.id, "title": row.title, "body": row.body, "link": safe_next(row.link),
            "level": row.level if row.level in ("info", "warning", "danger") else "info",
            "created_at": row.created_at, "read": row.read_at is not None, "project_id": row.project_id}


@bp.get("")
@login_required
def index():
    user = g.user
    unread_only = request.args.get("unread") == "1"
    with get_db().read_scope() as s:
        rows = svc.list_for_user(s, user.id, user.roles or [], user.region_code, unread_only=unread_only, limit=100)
        items = [_plain(r) for r in rows]
    return render_template("inbox/notifications.html", items=items, unread_only=unread_only)


def _mark(ids: list[int]) -> int:
    user = g.user
    with get_db().session_scope() as s:
        return svc.mark_visible_read(s, user.id, user.roles or [], user.region_code, ids)


@bp.post("/<int32:notification_id>/read")
@login_required
def mark_read(notification_id: int):
    if not _mark([notification_id]):
        raise NotFound("通知不存在 / notification not found")
    nxt = safe_next(request.form.get("next"))
    return redirect(nxt or url_for("notifications.index"))


@bp.post("/read-all")
@login_required
def mark_all_read():
    n = _mark([])
    flash(f"已将 {n} 条通知标记为已读", "success")
    return redirect(url_for("notifications.index"))
