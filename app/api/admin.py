"""Admin operations: open incidents and their retry, jobs and timers."""

from __future__ import annotations

from flask import request

from app.api.auth import authed, bp, require_admin
from app.services import jobs
from app.services.reports import admin as admin_reports


@bp.get("/incidents")
@authed(write=False)
def list_incidents(session, user):
    require_admin(user)
    items = admin_reports.open_incidents(session)
    return {"items": items, "total": len(items)}


@bp.post("/incidents/<int:incident_id>/retry")
@authed()
def retry_incident(session, user, incident_id):
    require_admin(user)
    return jobs.retry_incident(session, incident_id, user.username)


@bp.get("/jobs")
@authed(write=False)
def list_jobs(session, user):
    require_admin(user)
    items = jobs.list_jobs(session, request.args.get("kind"))
    return {"items": items, "total": len(items)}
