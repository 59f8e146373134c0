"""Tasks: the caller's inbox, one task with its form, claim / unclaim / complete."""

from __future__ import annotations

from flask import request

from app.api.auth import authed, bp
from app.params import body_object, int_arg, json_body, page_args
from app.services import tasks


@bp.get("/tasks")
@authed(write=False)
def list_tasks(session, user):
    filters = {k: request.args.get(k) for k in tasks.FILTERS + ("due",)}
    if filters.get("instance_id"):
        int_arg("instance_id", 0)
    page, per_page = page_args()
    return tasks.list_tasks(session, user, filters=filters, page=page, per_page=per_page,
                            search=request.args.get("q"), mine=request.args.get("mine") in ("1", "true"),
                            scope=request.args.get("scope") if request.args.get("scope") in ("mine", "done") else "unit")


@bp.get("/tasks/<task_id>")
@authed(write=False)
def get_task(session, user, task_id):
    return tasks.task_view(session, user, task_id)


@bp.post("/tasks/<task_id>/claim")
@authed()
def claim(session, user, task_id):
    return tasks.claim_task(session, user, task_id)


@bp.post("/tasks/<task_id>/unclaim")
@authed()
def unclaim(session, user, task_id):
    return tasks.unclaim_task(session, user, task_id)


@bp.post("/tasks/<task_id>/complete")
@authed()
def complete(session, user, task_id):
    body = json_body()
    return tasks.complete_task(session, user, task_id, body_object(body, "data"))
