"""站内通知: the list page, mark read, and the bell's unread count (context processor in auth)."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from sqlalchemy import func, select

from app import get_db
from app.errors import NotFound
from app.models.domain import Notification
from app.services.domain import notifications as svc
from app.web.auth import login_required, safe_next

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


def _visible(user):
    return svc.visible_filter(user.id, user.roles or [], user.region_code)


def unread_count(user) -> int:
    """Unread notifications the user may see (one indexed COUNT)."""
    with get_db().read_scope() as s:
        return int(s.scalar(select(func.count()).select_from(Notification)
                            .where(_visible(user), Notification.read_at.is_(None))) or 0)


def _plain(row: Notification) -> dict:
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
    marked = 0
    with get_db().session_scope() as s:
        if ids:
            visible = set(s.scalars(select(Notification.id).where(Notification.id.in_(ids), _visible(user))))
        else:  # all unread
            visible = set(s.scalars(select(Notification.id).where(_visible(user), Notification.read_at.is_(None))
                                    .limit(1000)))
        for nid in visible:
            if svc.mark_read(s, nid):
                marked += 1
    return marked


@bp.post("/<int:notification_id>/read")
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
