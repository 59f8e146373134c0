"""Instances: start, list (admin), read, cancel / suspend / resume / migrate (admin), events, bulk migration."""

from __future__ import annotations

from flask import request

from app.api.auth import authed, bp, require_admin
from app.errors import NotFound
from app.params import INT32_MAX, body_bool, body_int, body_object, body_str, json_body, page_args
from app.services import access
from app.services.reports import admin as admin_reports
from app.services.runtime import instances, migration


@bp.post("/processes/<key>/instances")
@authed()
def start(session, user, key):
    body = json_body()
    info = instances.start_by_hand(session, user, key, data=body_object(body, "data"),
                                   business_key=body_str(body, "business_key", max_len=instances.BUSINESS_KEY_MAX),
                                   version=body_int(body, "version", lo=1, hi=INT32_MAX))
    return {k: info[k] for k in ("id", "process_key", "version", "status", "business_key", "tasks")}, 201


@bp.get("/instances")
@authed(write=False)
def list_instances(session, user):
    require_admin(user)
    filters = {k: request.args.get(k) for k in ("process_key", "status", "business_key")}
    page, per_page = page_args()
    return admin_reports.list_instances(session, filters, page=page, per_page=per_page)


def _visible_instance(session, user, instance_id: int):
    return access.check_instance(session, user, instances.get_instance(session, instance_id))


@bp.get("/instances/<int:instance_id>")
@authed(write=False)
def get_instance(session, user, instance_id):
    return instances.instance_view(session, _visible_instance(session, user, instance_id))


def _migrate(session, user, instance_id):
    body = json_body()
    return migration.migrate_instance(session, instance_id, body_int(body, "to_version", required=True, lo=1, hi=INT32_MAX),
                                      user.username, dry_run=body_bool(body, "dry_run"),
                                      mapping=body.get("mapping"))


ACTIONS = {
    "cancel": lambda session, user, iid: instances.cancel_instance(session, iid, user.username),
    "suspend": lambda session, user, iid: instances.suspend_instance(session, iid, user.username),
    "resume": lambda session, user, iid: instances.resume_instance(session, iid, user.username),
    "migrate": _migrate,
}


@bp.post("/instances/<int:instance_id>/<action>")
@authed()
def instance_action(session, user, instance_id, action):
    require_admin(user)
    if action not in ACTIONS:
        raise NotFound(f"未知操作 {action} / unknown action")
    return ACTIONS[action](session, user, instance_id)


@bp.get("/instances/<int:instance_id>/events")
@authed(write=False)
def instance_events(session, user, instance_id):
    _visible_instance(session, user, instance_id)
    items = admin_reports.instance_events(session, instance_id)
    return {"items": items, "total": len(items)}


@bp.post("/processes/<key>/migrations")
@authed()
def bulk_migrate(session, user, key):
    require_admin(user)
    body = json_body()
    return migration.migrate_bulk(session, key, body_int(body, "from_version", required=True, lo=1, hi=INT32_MAX),
                                  body_int(body, "to_version", required=True, lo=1, hi=INT32_MAX), user.username,
                                  dry_run=body_bool(body, "dry_run", True),
                                  business_key=body_str(body, "business_key", max_len=instances.BUSINESS_KEY_MAX),
                                  status=body_str(body, "status", max_len=20), mapping=body.get("mapping"))
