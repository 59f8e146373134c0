"""The task page: summary, instructions, the generated form; claim / unclaim / draft / complete.

Routes:
  GET  /tasks/<id>                         the page (404 unknown, 403 outside role/jurisdiction)
  POST /tasks/<id>                         ``action=draft`` → save_draft, otherwise complete
  POST /tasks/<id>/claim, /tasks/<id>/unclaim
  GET  /tasks/<id>/attachments/<sha256>    download a file referenced by the task's data/draft

Uploads are stored under ``ATTACHMENT_DIR/<sha[:2]>/<sha256>`` (content-addressed, written once),
at most ``MAX_UPLOAD_BYTES`` (5 MB) each, only pdf/png/jpg/docx/xlsx (extension *and* magic bytes);
the field value is ``{"sha256", "name", "size", "type"}``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from pathlib import Path

import nh3
from flask import Blueprint, current_app, flash, g, redirect, render_template, request, send_file, url_for
from markdown_it import MarkdownIt
from markupsafe import Markup

from app import get_db
from app.errors import FormInvalid, NotFound
from app.services import tasks
from app.services.runtime import instances
from app.services.tasks import forms
from app.web import formrender
from app.web.auth import login_required, safe_next

log = logging.getLogger(__name__)

bp = Blueprint("tasks", __name__, url_prefix="/tasks")

ALLOWED_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
MAGIC = {"pdf": (b"%PDF-",), "png": (b"\x89PNG\r\n\x1a\n",), "jpg": (b"\xff\xd8\xff",), "jpeg": (b"\xff\xd8\xff",),
         "docx": (b"PK\x03\x04",), "xlsx": (b"PK\x03\x04",)}
SHA_RE = re.compile(r"^[0-9a-f]{64}$")
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_MD = MarkdownIt("js-default")  # html disabled, links validated
_MD_ESCAPE = re.compile(r"([\\`*_{}\[\]()#+\-.!<>|~\"'=&:;/?$%@^,])")
ALLOWED_TAGS = {"p", "br", "strong", "em", "b", "i", "ul", "ol", "li", "a", "code", "pre", "blockquote", "h1", "h2",
                "h3", "h4", "h5", "h6", "hr", "table", "thead", "tbody", "tr", "th", "td", "del", "s"}


# -- instructions (BPMN instructionsForEndUser) --------------------------------------------------------
def render_instructions(text: str | None, data: dict | None = None) -> Markup:
    """Markdown (html disabled) → sanitized HTML. ``{{ name }}`` placeholders are replaced by the
    (markdown-escaped) value of that task-data key — a lookup, never template evaluation."""
    if not text:
        return Markup("")
    data = data or {}

    def sub(match):
        value = data.get(match.group(1))
        if value is None or isinstance(value, dict | list):
            return ""
        return _MD_ESCAPE.sub(r"\\\1", str(value))

    source = PLACEHOLDER.sub(sub, str(text))
    html = _MD.render(source)
    clean = nh3.clean(html, tags=ALLOWED_TAGS, attributes={"a": {"href", "title"}, "th": {"align"}, "td": {"align"}},
                      url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow")
    return Markup(clean)  # noqa: S704 - sanitized by nh3 just above


# -- uploads ------------------------------------------------------------------------------------
def attachment_path(sha256: str) -> Path:
    if not SHA_RE.match(sha256 or ""):
        raise NotFound("附件不存在 / attachment not found")
    return Path(current_app.config["ATTACHMENT_DIR"]) / sha256[:2] / sha256


def store_upload(storage) -> dict:
    """Check type and size, store by content hash, return the field value. Raises ValueError (Chinese)."""
    name = os.path.basename((storage.filename or "").replace("\\", "/")).strip() or "附件"
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in ALLOWED_TYPES:
        raise ValueError("文件类型不允许,仅支持 PDF、PNG、JPG、DOCX、XLSX / file type not allowed")
    limit = int(current_app.config.get("MAX_UPLOAD_BYTES") or 5 * 1024 * 1024)
    digest = hashlib.sha256()
    base = Path(current_app.config["ATTACHMENT_DIR"])
    base.mkdir(parents=True, exist_ok=True)
    size = 0
    head = b""
    fd, tmp = tempfile.mkstemp(dir=base, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            while True:
                chunk = storage.stream.read(64 * 1024)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise ValueError(f"文件超过 {limit // (1024 * 1024)} MB 的大小限制 / file too large")
                if len(head) < 16:
                    head += chunk[:16]
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise ValueError("文件为空 / empty file")
        if not any(head.startswith(m) for m in MAGIC[ext]):
            raise ValueError("文件内容与扩展名不符 / file content does not match its type")
        sha = digest.hexdigest()
        target = attachment_path(sha)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            os.unlink(tmp)
        else:
            os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return {"sha256": sha, "name": name[:200], "size": size, "type": ALLOWED_TYPES[ext]}


def _valid_existing(value) -> bool:
    return (isinstance(value, dict) and SHA_RE.match(str(value.get("sha256", ""))) is not None
            and attachment_path(value["sha256"]).is_file())


def _files_resolver(upload_errors: list[dict]):
    def resolve(schema, ui, path, name, _node, previous):
        multiple = formrender._type(schema) == "array"
        kept = None
        raw = request.form.get(f"_existing:{name}")
        if raw and request.form.get(f"_remove:{name}") != "1":
            try:
                kept = json.loads(raw)
            except ValueError:
                kept = None
        if multiple:
            kept = [v for v in (kept if isinstance(kept, list) else []) if _valid_existing(v)]
        elif not _valid_existing(kept):
            kept = None
        for storage in request.files.getlist(name):
            if not storage or not storage.filename:
                continue
            try:
                value = store_upload(storage)
            except ValueError as exc:
                upload_errors.append({"field": path, "title": schema.get("title"), "message": str(exc)})
                continue
            if multiple:
                kept.append(value)
            else:
                kept = value
        if multiple and not kept:
            return None
        return kept

    return resolve


def _referenced(value, sha: str) -> bool:
    if isinstance(value, dict):
        return value.get("sha256") == sha or any(_referenced(v, sha) for v in value.values())
    if isinstance(value, list):
        return any(_referenced(v, sha) for v in value)
    return False


# -- page ---------------------------------------------------------------------------------------
def _page(detail: dict, instructions: Markup, values: dict, errors: list[dict] | None = None, status: int = 200):
    fields = formrender.build_fields(detail.get("form"), detail.get("ui_schema"), values, errors)
    user = g.user
    actionable = detail["state"] == "open" and detail.get("can_act", detail["assignee"] in (None, user.username))
    from app.web.task_assignment import panel

    return render_template(
        "tasks/task.html", task=detail, fields=fields, errors=errors or [], assignment=panel(detail),
        instructions=instructions,
        form_title=(detail.get("form") or {}).get("title"), actionable=actionable,
        diagram_url=_diagram_url(detail, user),
    ), status


def _diagram_url(detail: dict, user) -> str | None:
    """The project page's diagram of this task's instance (current element highlighted there)."""
    if detail.get("project_id"):
        return f"/projects/{detail['project_id']}?instance={detail['instance_id']}#sec-diagram"
    if user.is_admin:
        return f"/admin/instances/{detail['instance_id']}"
    return None


def _load(session, task_id: str):
    detail = tasks.task_view(session, g.user, task_id)
    data = {}
    if detail["state"] == "open":
        try:
            data = instances.instance_data(session, instances.get_instance(session, detail["instance_id"]))
        except Exception:  # noqa: BLE001 - prefill is a convenience
            log.exception("could not read data of instance %s", detail["instance_id"])
    instructions = render_instructions(detail.get("instructions"), {**data, **detail.get("draft", {})})
    return detail, data, instructions


def _initial_values(detail: dict, data: dict) -> dict:
    schema = detail.get("form") or {}
    props = schema.get("properties") or {}
    values = formrender.defaults(schema)
    values.update({k: v for k, v in data.items() if k in props})
    values.update(detail.get("draft") or {})
    return values


@bp.get("/<task_id>")
@login_required
def show(task_id: str):
    with get_db().read_scope() as s:
        detail, data, instructions = _load(s, task_id)
    return _page(detail, instructions, _initial_values(detail, data))


@bp.post("/<task_id>")
@login_required
def submit(task_id: str):
    user = g.user
    with get_db().read_scope() as s:
        detail, data, instructions = _load(s, task_id)
    schema, ui = detail.get("form"), detail.get("ui_schema")
    upload_errors: list[dict] = []
    previous = _initial_values(detail, data)
    values = formrender.coerce(schema, ui, request.form, _files_resolver(upload_errors), previous)

    if request.form.get("action") == "draft":
        with get_db().session_scope() as s:
            tasks.save_draft(s, user, task_id, values)
        if upload_errors:
            return _page(detail, instructions, values, upload_errors, 422)
        flash("草稿已保存", "success")
        return redirect(url_for("tasks.show", task_id=task_id))

    try:
        if upload_errors:
            try:
                forms.validate(schema, values)
                other: list[dict] = []
            except FormInvalid as exc:
                other = exc.errors
            seen = {e["field"] for e in upload_errors}
            raise FormInvalid("表单填写有误,请按提示修改 / the form has errors",
                              upload_errors + [e for e in other if e.get("field") not in seen])
        with get_db().session_scope() as s:
            tasks.complete_task(s, user, task_id, values)
    except FormInvalid as exc:
        return _page(detail, instructions, values, exc.errors, 422)
    flash(f"任务已完成:{detail.get('name') or detail['element_id']}", "success")
    return redirect(url_for("inbox.index"))


@bp.post("/<task_id>/claim")
@login_required
def claim(task_id: str):
    with get_db().session_scope() as s:
        tasks.claim_task(s, g.user, task_id)
    flash("已认领,任务已转入“我的”待办", "success")
    return redirect(safe_next(request.form.get("next")) or url_for("tasks.show", task_id=task_id))


@bp.post("/<task_id>/unclaim")
@login_required
def unclaim(task_id: str):
    with get_db().session_scope() as s:
        tasks.unclaim_task(s, g.user, task_id)
    flash("已退回,任务重新进入可认领列表", "info")
    return redirect(safe_next(request.form.get("next")) or url_for("inbox.index"))


@bp.get("/<task_id>/attachments/<sha256>")
@login_required
def attachment(task_id: str, sha256: str):
    path = attachment_path(sha256)
    with get_db().read_scope() as s:
        detail = tasks.task_view(s, g.user, task_id)
        found = _referenced(detail.get("draft"), sha256)
        if not found:
            instance = instances.get_instance(s, detail["instance_id"])
            found = _referenced(instances.instance_data(s, instance), sha256)
    if not found or not path.is_file():
        raise NotFound("附件不存在 / attachment not found")
    name = request.args.get("name") or sha256
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    mimetype = ALLOWED_TYPES.get(ext, "application/octet-stream")
    return send_file(path, mimetype=mimetype, as_attachment=True, download_name=name, max_age=0)
