"""REST endpoints. Each write runs in one transaction; domain errors map to status codes once."""

from __future__ import annotations

import functools

from flask import Blueprint, current_app, g, request
from sqlalchemy import select

from app import clock
from app.errors import BadRequest, NotAllowed, NotAuthenticated, NotFound
from app.models.runtime import AuditEvent, Incident, Instance
from app.params import int_arg
from app.services import audit, deploy, instances, jobs, messages, migration, tasks, users

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _db():
    return current_app.extensions["db"]


def _user_from_request(session):
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return users.cached_user_for_token(session, header[len("Bearer "):].strip())
    loader = current_app.extensions.get("session_user_loader")
    if loader is not None:
        user = loader(session)  # web session (the browser UI calls the API too); CSRF checked by the loader
        if user is not None:
            return user
    raise NotAuthenticated("需要令牌 (Authorization: Bearer …) / token required")


def authed(write: bool = True):
    """Run the view with (session, user); one transaction for writes, a read transaction otherwise."""

    def deco(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            db = _db()
            scope = db.session_scope() if write else db.read_scope()
            with scope as session:
                user = _user_from_request(session)
                g.user = user
                return fn(session, user, *args, **kwargs)

        return wrapper

    return deco


def require_admin(user) -> None:
    if not user.is_admin:
        raise NotAllowed("仅流程管理员可执行此操作 / admin role required")


def _json() -> dict:
    if not request.data:
        return {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("请求体必须是 JSON 对象 / body must be a JSON object")
    return body


# -- deployments and processes -------------------------------------------------------------
@bp.post("/deployments")
@authed()
def create_deployment(session, user):
    require_admin(user)
    uploads = request.files.getlist("files")
    if not uploads:
        raise BadRequest("请用字段 files 上传至少一个文件 / upload at least one file in field 'files'")
    files = [(f.filename or "", f.read()) for f in uploads]
    dry_run = request.args.get("dry_run") in ("1", "true")
    note = (request.form.get("note") or "").strip()[:2000] or None
    versions = deploy.deploy_files(session, files, author=user.username, dry_run=dry_run, note=note)
    status = 201 if any(v["created"] for v in versions) else 200
    return {"versions": versions, "warnings": [w for v in versions for w in v.get("warnings", [])]}, status


@bp.get("/processes")
@authed(write=False)
def list_processes(session, user):
    items = deploy.list_processes(session)
    return {"items": items, "total": len(items)}


@bp.get("/processes/<key>/versions")
@authed(write=False)
def list_versions(session, user, key):
    items = deploy.list_versions(session, key)
    if not items:
        raise NotFound(f"流程 {key} 未部署 / process {key} is not deployed")
    return {"items": items, "total": len(items)}


@bp.post("/processes/<key>/instances")
@authed()
def start(session, user, key):
    body = _json()
    data = body.get("data") or {}
    if not isinstance(data, dict):
        raise BadRequest("data 必须是对象 / data must be an object")
    version = body.get("version")
    if version is not None and not isinstance(version, int):
        raise BadRequest("version 必须是整数 / version must be an integer")
    info = instances.start_instance(session, key, data=data, business_key=body.get("business_key"),
                                    version=version, actor=user.username)
    return {k: info[k] for k in ("id", "process_key", "version", "status", "business_key", "tasks")}, 201


# -- instances -----------------------------------------------------------------------------
@bp.get("/instances")
@authed(write=False)
def list_instances(session, user):
    require_admin(user)
    stmt = select(Instance)
    for key in ("process_key", "status", "business_key"):
        if request.args.get(key):
            stmt = stmt.where(getattr(Instance, key) == request.args[key])
    page, per_page = int_arg("page", 1), min(int_arg("per_page", 20), 200)
    from sqlalchemy import func

    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = session.scalars(stmt.order_by(Instance.id.desc()).offset((page - 1) * per_page).limit(per_page))
    return {"items": [instances.describe(session, i, with_data=False) for i in rows], "total": total}


def _visible_instance(session, user, instance_id: int) -> Instance:
    instance = instances.get_instance(session, instance_id)
    if not user.is_admin:
        region = user.region_code
        scope = (instance.summary or {}).get("region_code")
        if region and scope and scope != region:
            raise NotAllowed("无权查看其他县区的实例 / outside your jurisdiction")
    return instance


@bp.get("/instances/<int:instance_id>")
@authed(write=False)
def get_instance(session, user, instance_id):
    return instances.describe(session, _visible_instance(session, user, instance_id))


@bp.post("/instances/<int:instance_id>/<action>")
@authed()
def instance_action(session, user, instance_id, action):
    require_admin(user)
    if action == "cancel":
        return instances.cancel_instance(session, instance_id, user.username)
    if action == "suspend":
        return instances.suspend_instance(session, instance_id, user.username)
    if action == "resume":
        return instances.resume_instance(session, instance_id, user.username)
    if action == "migrate":
        body = _json()
        to_version = body.get("to_version")
        if not isinstance(to_version, int):
            raise BadRequest("to_version 必须是整数 / to_version must be an integer")
        return migration.migrate_instance(session, instance_id, to_version, user.username,
                                          dry_run=bool(body.get("dry_run")))
    raise NotFound(f"未知操作 {action} / unknown action")


@bp.get("/instances/<int:instance_id>/events")
@authed(write=False)
def instance_events(session, user, instance_id):
    _visible_instance(session, user, instance_id)
    rows = session.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance_id).order_by(AuditEvent.id))
    items = [audit.as_dict(e) for e in rows]
    return {"items": items, "total": len(items)}


@bp.post("/processes/<key>/migrations")
@authed()
def bulk_migrate(session, user, key):
    require_admin(user)
    body = _json()
    for name in ("from_version", "to_version"):
        if not isinstance(body.get(name), int):
            raise BadRequest(f"{name} 必须是整数 / {name} must be an integer")
    return migration.migrate_bulk(session, key, body["from_version"], body["to_version"], user.username,
                                  dry_run=bool(body.get("dry_run", True)), business_key=body.get("business_key"),
                                  status=body.get("status"))


# -- incidents and jobs ----------------------------------------------------------------------
@bp.get("/incidents")
@authed(write=False)
def list_incidents(session, user):
    require_admin(user)
    rows = session.scalars(select(Incident).where(Incident.status == "open").order_by(Incident.id))
    items = [{"id": i.id, "instance_id": i.instance_id, "element_id": i.element_id, "message": i.message,
              "attempts": i.attempts, "created_at": i.created_at.isoformat()} for i in rows]
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


# -- tasks -----------------------------------------------------------------------------------
@bp.get("/tasks")
@authed(write=False)
def list_tasks(session, user):
    filters = {k: request.args.get(k) for k in tasks.FILTERS + ("due",)}
    if filters.get("instance_id"):
        int_arg("instance_id", 0)
    return tasks.list_tasks(session, user, filters=filters, page=int_arg("page", 1),
                            per_page=int_arg("per_page", 20), search=request.args.get("q"),
                            mine=request.args.get("mine") in ("1", "true"))


@bp.get("/tasks/<task_id>")
@authed(write=False)
def get_task(session, user, task_id):
    return tasks.task_detail(session, user, task_id)


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
    body = _json()
    data = body.get("data", {})
    return tasks.complete_task(session, user, task_id, data)


# -- messages --------------------------------------------------------------------------------
@bp.post("/messages/<name>")
@authed()
def send_message(session, user, name):
    body = _json()
    correlation = body.get("correlation") or {}
    if not isinstance(correlation, dict):
        raise BadRequest("correlation 必须是对象 / correlation must be an object")
    return messages.send_message(session, name, business_key=body.get("business_key"), correlation=correlation,
                                 data=body.get("data") or {}, actor=user.username,
                                 broadcast=bool(body.get("broadcast"))), 202


@bp.get("/clock")
def get_clock():
    return {"now": clock.now().isoformat(), "offset_seconds": clock.offset().total_seconds()}


@bp.get("/openapi.json")
def openapi():
    from app.api.openapi import document

    return document(current_app)
