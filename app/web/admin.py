"""Process administration (admin role only): processes and versions, diff, upload and deploy,
instance admin (suspend / resume / cancel / incidents / migrate, bulk with a dry run), the job and
timer list, users / roles / org units."""

from __future__ import annotations

import datetime as dt
import functools
import json

from flask import Blueprint, Response, current_app, flash, g, jsonify, redirect, render_template, request, url_for

from app import get_db
from app.errors import AppError, BadRequest, DeploymentInvalid, NotFound
from app.params import INT32_MAX, to_int
from app.roles import ROLES
from app.services import audit, jobs
from app.services.definitions import deploy, layout
from app.services.definitions import diff as process_diff
from app.services.domain import users
from app.services.reports import admin as admin_reports
from app.services.reports import projects as report_projects
from app.services.reports import reference as reports
from app.services.runtime import instances, migration
from app.web.auth import roles_required

bp = Blueprint("admin", __name__, url_prefix="/admin")
_CST = dt.timezone(dt.timedelta(hours=8))

INSTANCE_STATUSES = ("running", "waiting", "suspended", "error", "completed", "cancelled")
JOB_KINDS = {"timer": "定时器", "timer_start": "定时启动", "message": "消息", "start": "启动", "retry": "重试"}
ORG_TYPES = ("committee", "office", "municipal_dept", "county_gov", "county_ipb", "park_admin", "chain_group",
             "factor_group", "external")


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


# ---------------------------------------------------------------------------------------- demo clock
@bp.context_processor
def _demo_clock() -> dict:
    """Every admin page shows the demo clock in demo mode (never in production)."""
    if not current_app.config.get("DEMO"):
        return {"demo_clock": None}
    from app import clock

    offset = clock.offset().total_seconds()
    return {"demo_clock": {"now": clock.now(), "offset_days": round(offset / 86400, 1)}}


@bp.post("/clock/advance")
@admin_only
@_action
def clock_advance():
    from app.demo import clock as demo_clock

    duration = (request.form.get("custom") or "").strip() or (request.form.get("duration") or "").strip()
    with get_db().session_scope() as s:
        now = demo_clock.advance(s, duration, bool(current_app.config.get("DEMO")), actor=g.user.username)
    flash(f"演示时钟已拨快至 {now.astimezone(_CST):%Y-%m-%d %H:%M}(北京时间),到期的定时器将在下一次调度时触发。",
          "success")
    return redirect(_back(url_for("admin.index")))


# ---------------------------------------------------------------------------------------- processes
@bp.get("")
@bp.get("/")
@admin_only
def index():
    with get_db().read_scope() as s:
        processes = deploy.list_processes(s)
        counts = admin_reports.instance_counts(s)
        open_incidents = admin_reports.open_incident_count(s)
    return render_template("admin/index.html", processes=processes, counts=counts, open_incidents=open_incidents,
                           deploy_errors=None, deploy_results=None)


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
                with get_db().session_scope() as s:
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
    with get_db().read_scope() as s:
        processes = deploy.list_processes(s)
        counts = admin_reports.instance_counts(s)
        open_incidents = admin_reports.open_incident_count(s)
    status = 422 if errors else 200
    return render_template("admin/index.html", processes=processes, counts=counts, open_incidents=open_incidents,
                           deploy_errors=errors, deploy_results=results, dry_run=dry_run), status


@bp.get("/processes/<key>")
@admin_only
def process_detail(key: str):
    with get_db().read_scope() as s:
        versions = deploy.list_versions(s, key)
        if not versions:
            raise NotFound(f"流程 {key} 未部署 / process {key} is not deployed")
        per_version = admin_reports.running_per_version(s, key)
    return render_template("admin/process.html", key=key, versions=versions, per_version=per_version)


@bp.get("/processes/<key>/versions/<int32:number>")
@admin_only
def version_detail(key: str, number: int):
    with get_db().read_scope() as s:
        view = admin_reports.version_view(s, key, number)
    config = {"url": url_for("admin.version_diagram", key=key, number=number)}
    return render_template("admin/version.html", v=view["version"], files=view["files"], latest=view["latest"],
                           diagram_config=config)


@bp.get("/processes/<key>/versions/<int32:number>/diagram.json")
@admin_only
def version_diagram(key: str, number: int):
    with get_db().read_scope() as s:
        v = admin_reports.get_version(s, key, number)
        main = next((f for f in v.files if f.filename == v.main_file), None)
        xml = layout.add_diagram_layout(main.content).decode("utf-8") if main else None
    return jsonify({"xml": xml, "states": {}, "due": {}, "process_key": key, "version": number})


@bp.get("/processes/<key>/versions/<int32:number>/files/<path:filename>")
@admin_only
def version_file(key: str, number: int, filename: str):
    with get_db().read_scope() as s:
        v = admin_reports.get_version(s, key, number)
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
    with get_db().read_scope() as s:
        versions = deploy.list_versions(s, key)
        if not versions:
            raise NotFound(f"流程 {key} 未部署 / process {key} is not deployed")
        latest = versions[0]["version"]
        b = to_int(request.args.get("b"), "b", latest, hi=INT32_MAX)
        a = to_int(request.args.get("a"), "a", max(1, b - 1), hi=INT32_MAX)
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
    page = max(1, to_int(request.args.get("page"), "page", 1, hi=100_000))
    per_page = 25
    with get_db().read_scope() as s:
        filters = {**f, "project_id": to_int(f["project_id"], "project_id", hi=INT32_MAX)}
        listed = admin_reports.list_instances(s, filters, page=page, per_page=per_page, business_key_like=True)
        items, total = listed["items"], listed["total"]
        incidents = admin_reports.open_incidents(s)
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
    with get_db().read_scope() as s:
        inst = instances.get_instance(s, instance_id)
        info = instances.instance_view(s, inst, with_data=True)
        events = admin_reports.instance_events(s, instance_id)
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
    with get_db().read_scope() as s:
        return jsonify(report_projects.instance_diagram(s, instances.get_instance(s, instance_id)))


@bp.post("/instances/<int:instance_id>/<any(suspend, resume, cancel):action>")
@admin_only
@_action
def instance_action(instance_id: int, action: str):
    fn = {"suspend": instances.suspend_instance, "resume": instances.resume_instance,
          "cancel": instances.cancel_instance}[action]
    with get_db().session_scope() as s:
        fn(s, instance_id, g.user.username)
    labels = {"suspend": "已挂起", "resume": "已恢复", "cancel": "已取消"}
    flash(f"实例 {instance_id} {labels[action]}", "success")
    return redirect(_back(url_for("admin.instance_detail", instance_id=instance_id)))


@bp.post("/instances/<int:instance_id>/migrate")
@admin_only
@_action
def instance_migrate(instance_id: int):
    to_version = to_int(request.form.get("to_version"), "to_version", hi=INT32_MAX)
    if to_version is None:
        raise BadRequest("请选择目标版本 / choose the target version")
    dry_run = request.form.get("dry_run") in ("1", "on", "true")
    with get_db().session_scope() as s:
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
    with get_db().session_scope() as s:
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
            src = to_int(values["from_version"], "from_version", hi=INT32_MAX)
            dst = to_int(values["to_version"], "to_version", hi=INT32_MAX)
            if src is None or dst is None:
                raise BadRequest("请填写源版本和目标版本 / from and to versions are required")
            with get_db().session_scope() as s:
                result = migration.migrate_bulk(s, values["process_key"], src, dst, g.user.username,
                                                dry_run=dry_run, business_key=values["business_key"] or None,
                                                status=values["status"] or None)
        except AppError as exc:
            flash(exc.message, "error")
    with get_db().read_scope() as s:
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
    with get_db().read_scope() as s:
        items = jobs.list_jobs(s, kind, limit=500)
    return render_template("admin/jobs.html", items=items, kind=kind or "", kinds=JOB_KINDS)


# ---------------------------------------------------------------------------------------- users
@bp.get("/users")
@admin_only
def users_index():
    return _users_page({}, None)


def _users_page(values: dict, error: str | None, status: int = 200):
    with get_db().read_scope() as s:
        listing = admin_reports.users_and_orgs(s)
        org_rows, user_rows = listing["orgs"], listing["users"]
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
        users.check_password_policy(password, values["username"])
        if not values["roles"]:
            raise BadRequest("请至少选择一个角色 / choose at least one role")
        with get_db().session_scope() as s:
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
        with get_db().session_scope() as s:
            if admin_reports.org_exists(s, values["key"]):
                raise BadRequest(f"机构代码 {values['key']} 已存在 / org key exists")
            users.create_org(s, values["key"], values["name"], region_code=values["region_code"] or None,
                             type_=values["type"] or None, parent_key=values["parent"] or None)
            audit.record(s, "org_created", g.user.username, detail={"key": values["key"]})
    except AppError as exc:
        return _users_page({"org_form": values}, exc.message, 422)
    flash(f"已创建组织机构 {values['name']}", "success")
    return redirect(url_for("admin.users_index"))
