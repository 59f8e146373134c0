"""Deployments and processes: deploy files (admin), list processes and their versions."""

from __future__ import annotations

from flask import request

from app.api.auth import authed, bp, require_admin
from app.errors import BadRequest, NotFound
from app.services.definitions import deploy


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
