"""Assign and delegate from the task page (指派 / 转交) and the absence setting (代理人); the same
service as the API (tasks.assignment)."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request

from app import get_db
from app.errors import Invalid
from app.services.tasks import assignment
from app.services.tasks.commands import get_task
from app.web.auth import login_required

bp = Blueprint("task_assignment", __name__)


def panel(detail: dict) -> dict:
    """What the task page offers: assign (with the candidates) and delegate (with colleagues)."""
    if detail.get("state") != "open":
        return {}
    user = g.user
    with get_db().read_scope() as s:
        task = get_task(s, detail["id"])
        out = {}
        if assignment.may_assign(s, user, task):
            out["candidates"] = [{"username": u.username, "name": u.display_name or u.username}
                                 for u in assignment.candidates(s, task)]
        if task.assignee == user.username:
            out["colleagues"] = [{"username": u.username, "name": u.display_name or u.username}
                                 for u in assignment.colleagues(s, user)]
    return out


def _done(task_id: str, action, message: str):
    try:
        with get_db().session_scope() as s:
            action(s)
    except Invalid as exc:
        flash(exc.message, "error")
        return redirect(f"/tasks/{task_id}")
    flash(message, "success")
    return redirect(f"/tasks/{task_id}")


@bp.post("/tasks/<task_id>/assign")
@login_required
def assign(task_id: str):
    who = (request.form.get("assignee") or "").strip()
    return _done(task_id, lambda s: assignment.assign_task(s, g.user, task_id, who), f"已指派给 {who}")


@bp.post("/tasks/<task_id>/delegate")
@login_required
def delegate(task_id: str):
    who = (request.form.get("assignee") or "").strip()
    return _done(task_id, lambda s: assignment.delegate_task(s, g.user, task_id, who), f"已转交给 {who}")


@bp.route("/me/absence", methods=["GET", "POST"])
@login_required
def absence():
    errors = []
    if request.method == "POST":
        try:
            with get_db().session_scope() as s:
                if request.form.get("action") == "clear":
                    assignment.clear_absence(s, g.user)
                else:
                    assignment.set_absence(s, g.user, request.form.get("deputy"), request.form.get("from"),
                                           request.form.get("to"))
            flash("代理人设置已保存", "success")
            return redirect("/me/absence")
        except Invalid as exc:
            errors = exc.errors
    with get_db().read_scope() as s:
        current = assignment.get_absence(s, g.user)
        mates = [{"username": u.username, "name": u.display_name or u.username}
                 for u in assignment.colleagues(s, g.user)]
    return render_template("tasks/absence.html", current=current, colleagues=mates, errors=errors,
                           values=request.form), 422 if errors else 200
