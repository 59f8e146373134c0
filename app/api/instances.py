"""Instances: start, list (admin), read, cancel / suspend / resume / migrate (admin), events, bulk migration."""

from __future__ import annotations

from flask import request

from app.api.auth import authed, bp, require_admin
from app.errors import BadRequest, NotFound
from app.params import int_arg, json_body
from app.services import access
from app.services.reports import admin as admin_reports
from app.services.runtime import instances, migration


@bp.post("/processes/<key>/instances")
@authed()
def start(session, user, key):
    body = json_body()
    data = body.get("data") or {}
    if not isinstance(data, dict):
        raise BadRequest("data 必须是对象 / data must be an object")
    version = body.get("version")
    if version is not None and not isinstance(version, int):
        raise BadRequest("version 必须是整数 / version must be an integer")
    info = instances.start_by_hand(session, user, key, data=data, business_key=body.get("business_key"),
                                   version=version)
    return {k: info[k] for k in ("id", "process_key", "version", "status", "business_key", "tasks")}, 201


@bp.get("/instances")
@authed(write=False)
def list_instances(session, user):
    require_admin(user)
    filters = {k: request.args.get(k) for k in ("process_key", "status", "business_key")}
    page, per_page = int_arg("page", 1), min(int_arg("per_page", 20), 200)
    return admin_reports.list_instances(session, filters, page=page, per_page=per_page)


def _visible_instance(session, user, instance_id: int):
    return access.check_instance(session, user, instances.get_instance(session, instance_id))


@bp.get("/instances/<int:instance_id>")
@authed(write=False)
def get_instance(session, user, instance_id):
    return instances.instance_view(session, _visible_instance(session, user, instance_id))


def _migrate(session, user, instance_id):
    body = json_body()
    to_version = body.get("to_version")
    if not isinstance(to_version, int):
        raise BadRequest("to_version 必须是整数 / to_version must be an integer")
    return migration.migrate_instance(session, instance_id, to_version, user.username,
                                      dry_run=bool(body.get("dry_run")))


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
    for name in ("from_version", "to_version"):
        if not isinstance(body.get(name), int):
            raise BadRequest(f"{name} 必须是整数 / {name} must be an integer")
    return migration.migrate_bulk(session, key, body["from_version"], body["to_version"], user.username,
                                  dry_run=bool(body.get("dry_run", True)), business_key=body.get("business_key"),
                                  status=body.get("status"))
