"""Project pages: the list with filters and the project page (header, timeline, stage plan vs actual,
1+1+N team, documents, the instance diagram). County users see only their county's projects."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, render_template, request, send_file, url_for

from app import get_db
from app.errors import NotFound
from app.params import int_arg
from app.services import access
from app.services.reports import projects as report_projects
from app.services.reports import reference as reports
from app.web import project_records
from app.web.auth import login_required

bp = Blueprint("projects", __name__)

LIST_FILTERS = ("region_code", "stage", "light", "tier", "chain_code", "status", "q")


@bp.get("/projects")
@login_required
def index():
    region = access.user_region(g.user)
    filters = {k: (request.args.get(k) or "").strip() for k in LIST_FILTERS}
    if region:
        filters["region_code"] = region
    page = max(1, int_arg("page", 1, hi=100_000))
    with get_db().read_scope() as s:
        data = report_projects.list_projects(s, region_code=region, filters=filters, page=page)
        options = reports.filter_options(s, region)

    def link(**changes):
        args = {k: v for k, v in filters.items() if v}
        args.update(changes)
        return url_for("projects.index", **args)

    return render_template("projects/index.html", data=data, filters=filters, options=options, link=link,
                           scoped_region=region, can_edit=access.may_edit_projects(g.user))


@bp.get("/projects/<int32:project_id>")
@login_required
def detail(project_id: int):
    with get_db().read_scope() as s:
        project = report_projects.get_project(s, project_id)
        access.check_region(g.user, project.region_code)
        data = report_projects.project_detail(s, project_id)
        records = project_records.panel(s, g.user, project_id)  # evidence, 揭牌认领, 解封 (issue #12)
    selected = int_arg("instance", lo=1)
    diagram_instance = selected if selected in {i["id"] for i in data["instances"]} else data["main_instance_id"]
    config = {"url": url_for("projects.diagram", project_id=project_id, instance=diagram_instance)
              if diagram_instance else None, "instance_id": diagram_instance}
    return render_template("projects/detail.html", data=data, p=data["project"], diagram_config=config,
                           diagram_instance=diagram_instance, records=records,
                           can_edit=access.may_edit_projects(g.user) and access.in_jurisdiction(g.user, project.region_code))


@bp.get("/projects/<int32:project_id>/diagram.json")
@login_required
def diagram(project_id: int):
    with get_db().read_scope() as s:
        project = report_projects.get_project(s, project_id)
        access.check_region(g.user, project.region_code)
        data = report_projects.project_diagram(s, project_id, int_arg("instance", lo=1))
    return jsonify(data)


@bp.get("/projects/<int32:project_id>/documents/<sha256>")
@login_required
def document(project_id: int, sha256: str):
    """Download a file uploaded in one of the project's tasks (jurisdiction as for the project page)."""
    from app.web.tasks import ALLOWED_TYPES, attachment_path

    path = attachment_path(sha256)  # 404 for anything that is not a stored sha256
    with get_db().read_scope() as s:
        project = report_projects.get_project(s, project_id)
        access.check_region(g.user, project.region_code)
        doc = report_projects.project_document(s, project_id, sha256)
    if not path.is_file():
        raise NotFound("附件文件不存在 / attachment file missing")
    name = doc["name"]
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return send_file(path, mimetype=ALLOWED_TYPES.get(ext, "application/octet-stream"), as_attachment=True,
                     download_name=name, max_age=0)
