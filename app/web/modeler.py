"""The web modeler (admin): bpmn-js Modeler page, live validation and deploy of the edited diagram.

The edited BPMN is validated / deployed together with the companion files (forms, DMN tables,
called BPMN files) of the latest deployed version of the same process key, so an edit in the
browser never has to re-upload forms. Drafts live in the browser (localStorage), not on the server.
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, render_template, request, url_for

from app import get_db
from app.errors import AppError, BadRequest, DeploymentInvalid, NotFound, TooLarge
from app.params import to_int
from app.roles import ROLES
from app.services.definitions import bpmn_xml, deploy, diff
from app.services.reports import admin as admin_views
from app.services.runtime.service_calls import operation_names
from app.web.auth import roles_required

bp = Blueprint("modeler", __name__, url_prefix="/admin/modeler")


def init_app(app) -> None:
    """Chinese role names for lane labels in the modeler and every diagram viewer (bpmn-zh.js)."""
    app.jinja_env.globals.setdefault("role_names", {r.key: r.name for r in ROLES.values()})


@bp.get("")
@bp.get("/")
@roles_required("admin")
def index():
    key = (request.args.get("key") or "").strip()
    number = request.args.get("version")
    initial = None
    with get_db().read_scope() as s:
        processes = [{"process_key": p["process_key"], "name": p["name"], "latest_version": p["latest_version"],
                      "versions": [v["version"] for v in deploy.list_versions(s, p["process_key"])]}
                     for p in deploy.list_processes(s)]
        forms: list[str] = []
        if key:
            if number:
                version = admin_views.get_version(s, key, to_int(number, "version"))
            else:
                version = admin_views.latest_version(s, key)
            if version is None:
                raise NotFound(f"流程 {key} 没有该版本 / process {key} has no such version")
            xml = admin_views.main_diagram(version) or ""
            initial = {"xml": xml, "filename": version.main_file,
                       "key": key, "version": version.version}
            forms = [f.filename for f in version.files if f.kind == "form"]
    config = {
        "initial": initial,
        "validate_url": url_for("modeler.validate"),
        "preview_url": url_for("modeler.preview"),
        "deploy_url": url_for("modeler.deploy_diagram"),
        "admin_process_url": url_for("admin.process_detail", key="__KEY__"),
        "roles": [{"key": r.key, "name": r.name} for r in ROLES.values()],
        "operators": sorted(operation_names()),
        "forms": forms,
        "processes": [{"key": p["process_key"], "versions": p["versions"]} for p in processes],
    }
    return render_template("modeler/index.html", config=config, processes=processes, initial=initial)


def _payload() -> tuple[str, bytes]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("xml"), str):
        raise BadRequest("请求体应为 JSON:{xml, filename} / body must be JSON {xml, filename}")
    xml = body["xml"].encode("utf-8")
    limit = current_app.config.get("MAX_UPLOAD_BYTES", 5 * 1024 * 1024)
    if len(xml) > limit:
        raise TooLarge(f"图超过 {limit // 1024 // 1024} MB 上限 / diagram too large")
    name = str(body.get("filename") or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name:
        name = "diagram.bpmn"
    if not name.lower().endswith(".bpmn"):
        name = name.rsplit(".", 1)[0] + ".bpmn" if "." in name else name + ".bpmn"
    return name, xml


def _bundle(session, filename: str, xml: bytes, key_hint: str | None) -> tuple[list[tuple[str, bytes]], list[str]]:
    """The edited file plus the non-main files of the latest version of each process key it defines."""
    files = [(filename, xml)]
    keys: list[str] = []
    try:
        keys = [p["id"] for p in bpmn_xml.process_ids(xml) if p["id"]]
    except AppError:
        keys = []
    if key_hint and key_hint not in keys:
        keys.append(key_hint)
    names = {filename}
    for key in keys:
        latest = admin_views.latest_version(session, key)
        if latest is None:
            continue
        for f in latest.files:
            if f.filename == latest.main_file or f.filename in names:
                continue
            names.add(f.filename)
            files.append((f.filename, f.content))
    return files, keys


def _key_hint() -> str | None:
    body = request.get_json(silent=True) or {}
    key = body.get("key") if isinstance(body, dict) else None
    return key.strip() if isinstance(key, str) and key.strip() else None


@bp.post("/validate")
@roles_required("admin")
def validate():
    filename, xml = _payload()
    with get_db().read_scope() as s:
        files, keys = _bundle(s, filename, xml, _key_hint())
    try:
        compiled = deploy.validate_files(files)
    except DeploymentInvalid as exc:
        return jsonify({"valid": False, "errors": exc.errors, "warnings": getattr(exc, "warnings", []),
                        "files": [n for n, _ in files], "keys": keys})
    return jsonify({"valid": True, "errors": [], "files": [n for n, _ in files],
                    "warnings": [w.as_dict() for c in compiled for w in c.warnings],
                    "processes": [{"process_key": c.process_key, "name": c.name} for c in compiled]})


NOTE_MAX = 2000


def _note() -> str:
    body = request.get_json(silent=True) or {}
    note = body.get("note") if isinstance(body, dict) else None
    note = note.strip() if isinstance(note, str) else ""
    if not note:
        raise BadRequest("请填写变更说明(部署前必填) / a change note is required to deploy")
    if len(note) > NOTE_MAX:
        raise BadRequest(f"变更说明最多 {NOTE_MAX} 字 / change note too long")
    return note


@bp.post("/preview")
@roles_required("admin")
def preview():
    """What a deploy would do: validation, warnings and, per process key, the diff against the latest version."""
    filename, xml = _payload()
    with get_db().read_scope() as s:
        files, keys = _bundle(s, filename, xml, _key_hint())
        bases = {}
        for key in keys:
            latest = admin_views.latest_version(s, key)
            if latest is not None:
                main = next((f for f in latest.files if f.filename == latest.main_file), None)
                bases[key] = {"version": latest.version, "hash": latest.content_hash,
                              "content": main.content if main else b""}
    try:
        compiled = deploy.validate_files(files)
    except DeploymentInvalid as exc:
        return jsonify({"valid": False, "errors": exc.errors, "warnings": getattr(exc, "warnings", [])})
    processes = []
    for c in compiled:
        base = bases.get(c.process_key)
        entry = {"process_key": c.process_key, "name": c.name, "base_version": base["version"] if base else None,
                 "identical": bool(base and base["hash"] == c.content_hash)}
        if base:
            try:
                entry["diff"] = diff.diff_documents(base["content"], xml)
            except AppError as exc:
                entry["error"] = exc.message
        processes.append(entry)
    return jsonify({"valid": True, "errors": [], "warnings": [w.as_dict() for c in compiled for w in c.warnings],
                    "processes": processes})


@bp.post("/deploy")
@roles_required("admin")
def deploy_diagram():
    filename, xml = _payload()
    note = _note()
    try:
        with get_db().session_scope() as s:
            files, _keys = _bundle(s, filename, xml, _key_hint())
            versions = deploy.deploy_files(s, files, author=g.user.username, note=note)
    except DeploymentInvalid as exc:
        return jsonify({"errors": exc.errors, "warnings": getattr(exc, "warnings", [])}), 422
    for v in versions:
        v["url"] = url_for("admin.process_detail", key=v["process_key"])
    status = 201 if any(v["created"] for v in versions) else 200
    return jsonify({"versions": versions, "warnings": [w for v in versions for w in v.get("warnings", [])]}), status


# ---------------------------------------------------------------------------------------- DMN tables
# The decision tables of a deployed process, edited in the browser (dmn-js) with the same
# validate / deploy cycle: the edited table replaces its file in the latest version's bundle.
def _dmn_bundle(session, key: str, filename: str, xml: bytes) -> list[tuple[str, bytes]]:
    latest = admin_views.latest_version(session, key)
    if latest is None:
        raise NotFound(f"流程 {key} 未部署 / process {key} is not deployed")
    if not any(f.filename == filename and f.kind == "dmn" for f in latest.files):
        raise NotFound(f"流程 {key} 的最新版本没有决策表 {filename} / no such DMN file")
    return [(f.filename, xml if f.filename == filename else f.content) for f in latest.files]


def _dmn_payload() -> tuple[str, str, bytes]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("xml"), str) or not isinstance(body.get("key"), str) \
            or not isinstance(body.get("filename"), str):
        raise BadRequest("请求体应为 JSON:{key, filename, xml} / body must be JSON {key, filename, xml}")
    xml = body["xml"].encode("utf-8")
    limit = current_app.config.get("MAX_UPLOAD_BYTES", 5 * 1024 * 1024)
    if len(xml) > limit:
        raise TooLarge(f"决策表超过 {limit // 1024 // 1024} MB 上限 / table too large")
    return body["key"].strip(), body["filename"].strip(), xml


@bp.get("/dmn")
@roles_required("admin")
def dmn_index():
    key = (request.args.get("key") or "").strip()
    filename = (request.args.get("file") or "").strip()
    tables = []
    initial = None
    with get_db().read_scope() as s:
        latest_by_key = admin_views.latest_versions(s)
        for p in deploy.list_processes(s):
            latest = latest_by_key[p["process_key"]]
            for f in latest.files:
                if f.kind == "dmn":
                    tables.append({"key": p["process_key"], "version": latest.version, "filename": f.filename,
                                   "process_name": p["name"]})
                    if f.filename == filename and p["process_key"] == key:
                        initial = {"key": key, "version": latest.version, "filename": f.filename,
                                   "xml": f.content.decode("utf-8")}
    if (key or filename) and initial is None:
        raise NotFound(f"流程 {key} 的最新版本没有决策表 {filename} / no such DMN file")
    config = {"initial": initial, "validate_url": url_for("modeler.dmn_validate"),
              "deploy_url": url_for("modeler.dmn_deploy"),
              "admin_process_url": url_for("admin.process_detail", key="__KEY__")}
    return render_template("modeler/dmn.html", tables=tables, initial=initial, config=config)


@bp.post("/dmn/validate")
@roles_required("admin")
def dmn_validate():
    key, filename, xml = _dmn_payload()
    with get_db().read_scope() as s:
        files = _dmn_bundle(s, key, filename, xml)
    try:
        compiled = deploy.validate_files(files)
    except DeploymentInvalid as exc:
        return jsonify({"valid": False, "errors": exc.errors, "warnings": getattr(exc, "warnings", [])})
    return jsonify({"valid": True, "errors": [], "warnings": [w.as_dict() for c in compiled for w in c.warnings]})


@bp.post("/dmn/deploy")
@roles_required("admin")
def dmn_deploy():
    key, filename, xml = _dmn_payload()
    note = _note()
    try:
        with get_db().session_scope() as s:
            files = _dmn_bundle(s, key, filename, xml)
            versions = deploy.deploy_files(s, files, author=g.user.username, note=note)
    except DeploymentInvalid as exc:
        return jsonify({"errors": exc.errors, "warnings": getattr(exc, "warnings", [])}), 422
    for v in versions:
        v["url"] = url_for("admin.process_detail", key=v["process_key"])
    status = 201 if any(v["created"] for v in versions) else 200
    return jsonify({"versions": versions, "warnings": [w for v in versions for w in v.get("warnings", [])]}), status


# ---------------------------------------------------------------------------------------- forms
# JSON Schema + UI schema of a user task's form, edited field by field with a live preview rendered
# by the task page's own renderer (app/web/formrender.py + macros/form.html); saved as files of a
# new version of the process.
def _ui_name(filename: str) -> str:
    stem = filename[:-5] if filename.endswith(".json") else filename
    return f"{stem}-uischema.json"


def _form_payload() -> tuple[str, str, dict, dict]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("schema"), dict) or \
            not isinstance(body.get("ui") or {}, dict) or not isinstance(body.get("filename"), str):
        raise BadRequest("请求体应为 JSON:{key, filename, schema, ui} / body must be JSON {key, filename, schema, ui}")
    filename = body["filename"].strip()
    if not filename.endswith(".json") or "/" in filename or filename.endswith("-uischema.json"):
        raise BadRequest("表单文件名应为 xxx.json / form file name must end in .json")
    key = body.get("key") if isinstance(body.get("key"), str) else ""
    return key.strip(), filename, body["schema"], body.get("ui") or {}


def _form_files(filename: str, schema: dict, ui: dict) -> list[tuple[str, bytes]]:
    import json

    dump = lambda doc: json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8")  # noqa: E731
    return [(filename, dump(schema)), (_ui_name(filename), dump(ui))]


def _form_errors(files: list[tuple[str, bytes]]) -> list[dict]:
    names = {n for n, _ in files}
    try:
        deploy.validate_files(files)
    except DeploymentInvalid as exc:
        return [e for e in exc.errors if e.get("file") in names]
    return []


@bp.get("/forms")
@roles_required("admin")
def forms_index():
    import json

    key = (request.args.get("key") or "").strip()
    filename = (request.args.get("file") or "").strip()
    listed = []
    initial = None
    with get_db().read_scope() as s:
        latest_by_key = admin_views.latest_versions(s)
        for p in deploy.list_processes(s):
            latest = latest_by_key[p["process_key"]]
            contents = {f.filename: f.content for f in latest.files if f.kind == "form"}
            for name in sorted(contents):
                if name.endswith("-uischema.json"):
                    continue
                listed.append({"key": p["process_key"], "version": latest.version, "filename": name,
                               "process_name": p["name"]})
                if name == filename and p["process_key"] == key:
                    ui = contents.get(_ui_name(name))
                    initial = {"key": key, "version": latest.version, "filename": name,
                               "schema": json.loads(contents[name]), "ui": json.loads(ui) if ui else {}}
    if (key or filename) and initial is None:
        raise NotFound(f"流程 {key} 的最新版本没有表单 {filename} / no such form file")
    config = {"initial": initial, "preview_url": url_for("modeler.forms_preview"),
              "deploy_url": url_for("modeler.forms_deploy")}
    return render_template("modeler/forms.html", listed=listed, initial=initial, config=config)


@bp.post("/forms/preview")
@roles_required("admin")
def forms_preview():
    from flask import render_template_string

    from app.web import formrender

    _key, filename, schema, ui = _form_payload()
    errors = _form_errors(_form_files(filename, schema, ui))
    if errors:
        return jsonify({"valid": False, "errors": errors, "html": ""})
    fields = formrender.build_fields(schema, ui, formrender.defaults(schema))
    html = render_template_string('{% from "macros/form.html" import render_fields %}{{ render_fields(fields) }}',
                                  fields=fields)
    return jsonify({"valid": True, "errors": [], "html": html})


@bp.post("/forms/deploy")
@roles_required("admin")
def forms_deploy():
    key, filename, schema, ui = _form_payload()
    note = _note()
    edited = dict(_form_files(filename, schema, ui))
    try:
        with get_db().session_scope() as s:
            latest = admin_views.latest_version(s, key)
            if latest is None or not any(f.filename == filename for f in latest.files):
                raise NotFound(f"流程 {key} 的最新版本没有表单 {filename} / no such form file")
            files = [(f.filename, edited.pop(f.filename, f.content)) for f in latest.files] + list(edited.items())
            versions = deploy.deploy_files(s, files, author=g.user.username, note=note)
    except DeploymentInvalid as exc:
        return jsonify({"errors": exc.errors, "warnings": getattr(exc, "warnings", [])}), 422
    for v in versions:
        v["url"] = url_for("admin.process_detail", key=v["process_key"])
    status = 201 if any(v["created"] for v in versions) else 200
    return jsonify({"versions": versions, "warnings": [w for v in versions for w in v.get("warnings", [])]}), status
