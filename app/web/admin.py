"""Process administration (admin role only): processes and versions, diff, upload and deploy,
instance admin (suspend / resume / cancel / incidents / migrate, bulk with a dry run), the job and
timer list, users / roles / org units."""

from __future__ import annotations

import functools
import json

from flask import Blueprint, Response, current_app, flash, g, jsonify, redirect, render_template, request, url_for
from sqlalchemy import func, select

from app.errors import AppError, BadRequest, DeploymentInvalid, NotFound
from app.models.auth import OrgUnit, User
from app.models.runtime import AuditEvent, Incident, Instance, ProcessVersion
from app.params import to_int
from app.roles import ROLES
from app.services import audit, deploy, instances, jobs, migration, process_diff, report_projects, reports, users
from app.web.auth import roles_required

bp = Blueprint("admin", __name__, url_prefix="/admin")

INSTANCE_STATUSES = ("running", "waiting", "suspended", "error", "completed", "cancelled")
JOB_KINDS = {"timer": "定时器", "timer_start": "定时启动", "message": "消息", "start": "启动", "retry": "重试"}
ORG_TYPES = ("committee", "office", "municipal_dept", "county_gov", "county_ipb", "park_admin", "chain_group",
             "factor_group", "external")


def _db():
    return current_app.extensions["db"]


def admin_only(fn):
    return roles_required("admin")(fn)


def _back(default: str) -> str:
    target = request.form.get("next") or ""
    return target if target.startswith("/admin") and not target.startswith("//") else default


def _action(fn):
    """A POST action in one transaction; domain errors become a flash message, not an error page."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except AppError as exc:
            if exc.status in (403, 404):
                raise
            flash(exc.message, "error")
            return redirect(_back(url_for("admin.instances_index")))

    return wrapper


# ---------------------------------------------------------------------------------------- processes
@bp.get("")
@bp.get("/")
@admin_only
def index():
    with _db().read_scope() as s:
        processes = deploy.list_processes(s)
        counts = _instance_counts(s)
        open_incidents = s.scalar(select(func.count(Incident.id)).where(Incident.status == "open")) or 0
    return render_template("admin/index.html", processes=processes, counts=counts, open_incidents=open_incidents,
                           deploy_errors=None, deploy_results=None)


def _instance_counts(session) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for key, status, n in session.execute(select(Instance.process_key, Instance.status, func.count(Instance.id))
                                          .group_by(Instance.process_key, Instance.status)):
        out.setdefault(key, {})[status] = int(n)
    return out


@bp.post("/deploy")
@admin_only
def deploy_upload():
    uploads = [f for f in request.files.getlist("files") if f and f.filename]
    dry_run = request.form.get("dry_run") in ("1", "on", "true")
    limit = current_app.config.get("MAX_UPLOAD_BYTES", 5 * 1024 * 1024)
    errors, results = None, None
    if not uploads:
        errors = [{"file": "", "element_id": None, "line": None,
                   "message": "请选择至少一个 .bpmn / .dmn / .json 文件 / choose at least one file"}]
    else:
        files = []
        for f in uploads:
            content = f.read(limit + 1)
            if len(content) > limit:
                errors = [{"file": f.filename, "element_id": None, "line": None,
                           "message": f"文件超过 {limit // 1024 // 1024} MB 上限 / file too large"}]
                break
            files.append((f.filename.replace("\\", "/").rsplit("/", 1)[-1], content))
        if errors is None:
            try:
                with _db().session_scope() as s:
                    results = deploy.deploy_files(s, files, author=g.user.username, dry_run=dry_run)
            except DeploymentInvalid as exc:
                errors = exc.errors
    if errors is None and not dry_run:
        created = [r for r in results if r["created"]]
        if created:
            flash("部署成功:" + "、".join(f"{r['process_key']} v{r['version']}" for r in created), "success")
        else:
            flash("内容与已部署版本相同,未创建新版本 / identical content, no new version", "info")
        for w in [w for r in results for w in r.get("warnings", [])][:20]:
            flash(f"提示 / warning:{w['file']} · {w.get('element_id') or '-'} · {w['message']}", "info")
        return redirect(url_for("admin.index"))
    with _db().read_scope() as s:
        processes = deploy.list_processes(s)
        counts = _instance_counts(s)
        open_incidents = s.scalar(select(func.count(Incident.id)).where(Incident.status == "open")) or 0
    status = 422 if errors else 200
    return render_template("admin/index.html", processes=processes, counts=counts, open_incidents=open_incidents,
                           deploy_errors=errors, deploy_results=results, dry_run=dry_run), status


@bp.get("/processes/<key>")
@admin_only
def process_detail(key: str):
    with _db().read_scope() as s:
        versions = deploy.list_versions(s, key)
        if not versions:
            raise NotFound(f"流程 {key} 未部署 / process {key} is not deployed")
        per_version = dict(s.execute(select(ProcessVersion.version, func.count(Instance.id))
                                     .join(Instance, Instance.version_id == ProcessVersion.id)
                                     .where(ProcessVersion.process_key == key,
                                            Instance.status.not_in(("completed", "cancelled")))
                                     .group_by(ProcessVersion.version)).all())
    return render_template("admin/process.html", key=key, versions=versions, per_version=per_version)


def _version(session, key: str, number: int) -> ProcessVersion:
    v = session.scalar(select(ProcessVersion).where(ProcessVersion.process_key == key,
                                                    ProcessVersion.version == number))
    if v is None:
        raise NotFound(f"流程 {key} 没有版本 v{number} / process {key} has no version {number}")
    return v


@bp.get("/processes/<key>/versions/<int:number>")
@admin_only
def version_detail(key: str, number: int):
    with _db().read_scope() as s:
        v = _version(s, key, number)
        files = [{"filename": f.filename, "kind": f.kind, "size": len(f.content or b""),
                  "text": (f.content or b"").decode("utf-8", "replace") if f.kind == "form" else None}
                 for f in v.files]
        info = {"id": v.id, "process_key": v.process_key, "name": v.name, "version": v.version,
                "hash": v.content_hash, "author": v.author, "created_at": v.created_at.isoformat(),
                "main_file": v.main_file, "timer_start": v.timer_start, "message_starts": v.message_starts or []}
        latest = s.scalar(select(func.max(ProcessVersion.version)).where(ProcessVersion.process_key == key))
    config = {"url": url_for("admin.version_diagram", key=key, number=number)}
    return render_template("admin/version.html", v=info, files=files, latest=latest, diagram_config=config)


@bp.get("/processes/<key>/versions/<int:number>/diagram.json")
@admin_only
def version_diagram(key: str, number: int):
    with _db().read_scope() as s:
        v = _version(s, key, number)
        main = next((f for f in v.files if f.filename == v.main_file), None)
        xml = process_diff.with_layout(main.content).decode("utf-8") if main else None
    return jsonify({"xml": xml, "states": {}, "due": {}, "process_key": key, "version": number})


@bp.get("/processes/<key>/versions/<int:number>/files/<path:filename>")
@admin_only
def version_file(key: str, number: int, filename: str):
    with _db().read_scope() as s:
        v = _version(s, key, number)
        f = next((f for f in v.files if f.filename == filename), None)
        if f is None:
            raise NotFound(f"文件 {filename} 不存在 / file not found")
        content = f.content
    response = Response(content, mimetype="application/octet-stream")
    safe = filename.replace('"', "").replace("\r", "").replace("\n", "")
    response.headers["Content-Disposition"] = f'attachment; filename="{safe}"'
    return response


@bp.get("/processes/<key>/diff")
@admin_only
def process_diff_view(key: str):
    with _db().read_scope() as s:
        versions = deploy.list_versions(s, key)
        if not versions:
            raise NotFound(f"流程 {key} 未部署 / process {key} is not deployed")
        latest = versions[0]["version"]
        b = to_int(request.args.get("b"), "b", latest)
        a = to_int(request.args.get("a"), "a", max(1, b - 1))
        diff = process_diff.diff_versions(s, key, a, b)
    from app.web.visual_diff import diagram_marks, split_files

    visual = diagram_marks(diff, url_for("admin.version_diagram", key=key, number=a),
                           url_for("admin.version_diagram", key=key, number=b))
    changed_files, same_files = split_files(diff["files"])
    return render_template("admin/diff.html", key=key, versions=versions, a=a, b=b, diff=diff, visual=visual,
                           changed_files=changed_files, same_files=same_files)


# ---------------------------------------------------------------------------------------- instances
@bp.get("/instances")
@admin_only
def instances_index():
    f = {k: (request.args.get(k) or "").strip() for k in ("process_key", "status", "business_key", "project_id")}
    page = max(1, to_int(request.args.get("page"), "page", 1))
    per_page = 25
    with _db().read_scope() as s:
        stmt = select(Instance)
        if f["process_key"]:
            stmt = stmt.where(Instance.process_key == f["process_key"])
        if f["status"]:
            stmt = stmt.where(Instance.status == f["status"])
        if f["business_key"]:
            stmt = stmt.where(Instance.business_key.ilike(f"%{f['business_key']}%"))
        if f["project_id"]:
            pid = to_int(f["project_id"], "project_id")
            ids = [i.id for i in report_projects.project_instances(s, pid)]
            stmt = stmt.where(Instance.id.in_(ids or [-1]))
        total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = s.scalars(stmt.order_by(Instance.id.desc()).offset((page - 1) * per_page).limit(per_page)).all()
        items = [instances.describe(s, i, with_data=False) for i in rows]
        incidents = [{"id": i.id, "instance_id": i.instance_id, "element_id": i.element_id, "message": i.message,
                      "attempts": i.attempts, "created_at": i.created_at.isoformat()}
                     for i in s.scalars(select(Incident).where(Incident.status == "open").order_by(Incident.id))]
        keys = [p["process_key"] for p in deploy.list_processes(s)]
    pages = max(1, -(-int(total) // per_page))

    def link(**changes):
        args = {k: v for k, v in f.items() if v}
        args.update(changes)
        return url_for("admin.instances_index", **args)

    return render_template("admin/instances.html", items=items, total=total, page=page, pages=pages, filters=f,
                           incidents=incidents, keys=keys, statuses=INSTANCE_STATUSES,
                           status_names=reports.INSTANCE_STATUS_NAMES, link=link)


@bp.get("/instances/<int:instance_id>")
@admin_only
def instance_detail(instance_id: int):
    with _db().read_scope() as s:
        inst = instances.get_instance(s, instance_id)
        info = instances.describe(s, inst, with_data=True)
        events = [audit.as_dict(e) for e in s.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance_id)
                                                       .order_by(AuditEvent.id))]
        for e in events:
            e["detail_text"] = json.dumps(e["detail"], ensure_ascii=False) if e["detail"] else ""
        info["data_json"] = json.dumps(info.get("data") or {}, ensure_ascii=False, indent=2, sort_keys=True)
        versions = [v["version"] for v in deploy.list_versions(s, inst.process_key)]
        pending = [{"id": j.id, "kind": j.kind, "due_at": j.due_at.isoformat(), "element_id": j.element_id,
                    "attempts": j.attempts} for j in jobs.pending_for(s, instance_id)]
    config = {"url": url_for("admin.instance_diagram", instance_id=instance_id)}
    return render_template("admin/instance.html", inst=info, events=events, versions=versions, pending=pending,
                           diagram_config=config, status_names=reports.INSTANCE_STATUS_NAMES)


@bp.get("/instances/<int:instance_id>/diagram.json")
@admin_only
def instance_diagram(instance_id: int):
    with _db().read_scope() as s:
        return jsonify(report_projects.instance_diagram(s, instances.get_instance(s, instance_id)))


@bp.post("/instances/<int:instance_id>/<any(suspend, resume, cancel):action>")
@admin_only
@_action
def instance_action(instance_id: int, action: str):
    fn = {"suspend": instances.suspend_instance, "resume": instances.resume_instance,
          "cancel": instances.cancel_instance}[action]
    with _db().session_scope() as s:
        fn(s, instance_id, g.user.username)
    labels = {"suspend": "已挂起", "resume": "已恢复", "cancel": "已取消"}
    flash(f"实例 {instance_id} {labels[action]}", "success")
    return redirect(_back(url_for("admin.instance_detail", instance_id=instance_id)))


@bp.post("/instances/<int:instance_id>/migrate")
@admin_only
@_action
def instance_migrate(instance_id: int):
    to_version = to_int(request.form.get("to_version"), "to_version")
    if to_version is None:
        raise BadRequest("请选择目标版本 / choose the target version")
    dry_run = request.form.get("dry_run") in ("1", "on", "true")
    with _db().session_scope() as s:
        result = migration.migrate_instance(s, instance_id, to_version, g.user.username, dry_run=dry_run)
    flash(_migration_message(result, dry_run), "success" if result["result"] in ("migrated", "allowed",
                                                                                 "unchanged") else "error")
    return redirect(url_for("admin.instance_detail", instance_id=instance_id))


def _migration_message(r: dict, dry_run: bool) -> str:
    base = f"实例 {r['id']}:v{r.get('from_version', '?')} → v{r.get('to_version', '?')} "
    if r["result"] == "allowed":
        return base + "可以迁移(试运行,未改变) / migration allowed (dry run)"
    if r["result"] == "migrated":
        return base + "已迁移 / migrated"
    if r["result"] == "unchanged":
        return base + "已在该版本 / already on that version"
    return base + f"不能迁移 / refused:{r.get('reason') or ''}"


@bp.post("/incidents/<int:incident_id>/retry")
@admin_only
@_action
def incident_retry(incident_id: int):
    with _db().session_scope() as s:
        info = jobs.retry_incident(s, incident_id, g.user.username)
    flash(f"已重试故障 {incident_id},实例状态:{reports.INSTANCE_STATUS_NAMES.get(info['status'], info['status'])}",
          "success")
    return redirect(_back(url_for("admin.instances_index")))


@bp.route("/migrations", methods=["GET", "POST"])
@admin_only
def migrations():
    """Bulk migration. With JavaScript the page dry-runs via the API and migrates in chunks with a
    progress bar; without it, this form posts here (dry run first, then execute)."""
    form = request.form if request.method == "POST" else request.args
    values = {k: (form.get(k) or "").strip() for k in ("process_key", "from_version", "to_version", "business_key",
                                                        "status")}
    result = None
    if request.method == "POST":
        dry_run = form.get("execute") != "1"
        try:
            if not values["process_key"]:
                raise BadRequest("请选择流程 / choose a process")
            src = to_int(values["from_version"], "from_version")
            dst = to_int(values["to_version"], "to_version")
            if src is None or dst is None:
                raise BadRequest("请填写源版本和目标版本 / from and to versions are required")
            with _db().session_scope() as s:
                result = migration.migrate_bulk(s, values["process_key"], src, dst, g.user.username,
                                                dry_run=dry_run, business_key=values["business_key"] or None,
                                                status=values["status"] or None)
        except AppError as exc:
            flash(exc.message, "error")
    with _db().read_scope() as s:
        processes = [{"process_key": p["process_key"], "name": p["name"],
                      "versions": [v["version"] for v in deploy.list_versions(s, p["process_key"])]}
                     for p in deploy.list_processes(s)]
    config = {"api": url_for("api.bulk_migrate", key="__KEY__"),
              "instance_api": url_for("api.instance_action", instance_id=0, action="migrate"),
              "processes": processes}
    return render_template("admin/migrations.html", processes=processes, values=values, result=result,
                           config=config, statuses=INSTANCE_STATUSES, status_names=reports.INSTANCE_STATUS_NAMES)


# ---------------------------------------------------------------------------------------- jobs
@bp.get("/jobs")
@admin_only
def jobs_index():
    kind = (request.args.get("kind") or "").strip() or None
    with _db().read_scope() as s:
        items = jobs.list_jobs(s, kind, limit=500)
    return render_template("admin/jobs.html", items=items, kind=kind or "", kinds=JOB_KINDS)


# ---------------------------------------------------------------------------------------- users
@bp.get("/users")
@admin_only
def users_index():
    return _users_page({}, None)


def _users_page(values: dict, error: str | None, status: int = 200):
    with _db().read_scope() as s:
        orgs = s.scalars(select(OrgUnit).order_by(OrgUnit.region_code.is_not(None), OrgUnit.region_code,
                                                  OrgUnit.key)).all()
        org_rows = [{"id": o.id, "key": o.key, "name": o.name, "type": o.type, "region_code": o.region_code,
                     "parent_id": o.parent_id} for o in orgs]
        by_id = {o["id"]: o for o in org_rows}
        user_rows = [{"username": u.username, "display_name": u.display_name, "email": u.email,
                      "roles": list(u.roles or []), "org": by_id.get(u.org_unit_id), "active": u.active,
                      "created_at": u.created_at.isoformat() if u.created_at else None}
                     for u in s.scalars(select(User).order_by(User.username))]
        region_list = reports.regions(s)
    role_counts: dict[str, int] = {}
    for u in user_rows:
        for r in u["roles"]:
            role_counts[r] = role_counts.get(r, 0) + 1
    return render_template("admin/users.html", users=user_rows, orgs=org_rows, roles=list(ROLES.values()),
                           role_counts=role_counts, values=values, error=error, org_types=ORG_TYPES,
                           regions=region_list), status


@bp.post("/users")
@admin_only
def users_create():
    values = {k: (request.form.get(k) or "").strip() for k in ("username", "display_name", "email", "org")}
    values["roles"] = request.form.getlist("roles")
    password = request.form.get("password") or ""
    try:
        if len(password) < 8:
            raise BadRequest("密码至少 8 位 / password needs at least 8 characters")
        if not values["roles"]:
            raise BadRequest("请至少选择一个角色 / choose at least one role")
        with _db().session_scope() as s:
            users.create_user(s, values["username"], values["roles"], org=values["org"] or None, password=password,
                              display_name=values["display_name"] or None, email=values["email"] or None)
            audit.record(s, "user_created", g.user.username, detail={"username": values["username"],
                                                                     "roles": values["roles"]})
    except AppError as exc:
        return _users_page(values, exc.message, 422 if exc.status in (400, 422) else exc.status)
    flash(f"已创建用户 {values['username']}", "success")
    return redirect(url_for("admin.users_index"))


@bp.post("/orgs")
@admin_only
def orgs_create():
    values = {k: (request.form.get(k) or "").strip() for k in ("key", "name", "type", "region_code", "parent")}
    try:
        if not values["key"] or not values["name"]:
            raise BadRequest("机构代码和名称必填 / key and name are required")
        with _db().session_scope() as s:
            if s.scalar(select(OrgUnit.id).where(OrgUnit.key == values["key"])):
                raise BadRequest(f"机构代码 {values['key']} 已存在 / org key exists")
            users.create_org(s, values["key"], values["name"], region_code=values["region_code"] or None,
                             type_=values["type"] or None, parent_key=values["parent"] or None)
            audit.record(s, "org_created", g.user.username, detail={"key": values["key"]})
    except AppError as exc:
        return _users_page({"org_form": values}, exc.message, 422)
    flash(f"已创建组织机构 {values['name']}", "success")
    return redirect(url_for("admin.users_index"))
