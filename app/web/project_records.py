"""Project library writes from the browser: /projects/new, /projects/<id>/edit, and starting the
library admission (P01) of a created project. The same service as the API (domain.projects)."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from app import get_db
from app.errors import Invalid, NotAllowed
from app.services import access
from app.services.domain import projects as records
from app.services.reports import reference
from app.services.runtime import instances
from app.web.auth import login_required

bp = Blueprint("project_records", __name__)

FORM_FIELDS = ("name", "region_code", "amount_wan", "chain_code", "park_code", "enterprise_id", "enterprise_name",
               "industry", "source", "tier", "description")


def _options(session) -> dict:
    region = access.user_region(g.user)
    return {"regions": reference.regions(session, region), "chains": reference.chains(session),
            "parks": reference.parks(session, region), "enterprises": reference.enterprise_choices(session),
            "sources": records.SOURCES, "tiers": ("重大", "重点", "一般")}


def _body(form, editing: bool) -> dict:
    body = {}
    for key in FORM_FIELDS:
        value = (form.get(key) or "").strip()
        if key in ("tier", "enterprise_id", "enterprise_name", "park_code", "chain_code") and not value:
            if editing and key in ("park_code", "chain_code"):
                body[key] = None
            continue
        body[key] = value
    return body


def _render(values: dict, errors: list[dict], project=None, status: int = 200):
    with get_db().read_scope() as s:
        options = _options(s)
    by_field = {}
    for e in errors:
        by_field.setdefault(e.get("field") or "_form", []).append(e["message"])
    return render_template("projects/form.html", values=values, errors=by_field, options=options,
                           project=project), status


@bp.route("/projects/new", methods=["GET", "POST"])
@login_required
def new():
    if not access.may_edit_projects(g.user):
        raise NotAllowed("无权登记项目 / you may not create projects")
    if request.method == "GET":
        return _render({"region_code": access.user_region(g.user) or "", "source": "线索"}, [])
    body = _body(request.form, editing=False)
    try:
        with get_db().session_scope() as s:
            created = records.create_project(s, g.user, body)
    except Invalid as exc:
        return _render(dict(request.form), exc.errors, status=422)
    flash(f"项目已登记:{created['code']} {created['name']}", "success")
    return redirect(url_for("projects.detail", project_id=created["id"]))


@bp.route("/projects/<int:project_id>/edit", methods=["GET", "POST"])
@login_required
def edit(project_id: int):
    with get_db().read_scope() as s:
        current = records.project_dict(s, records.get_project(s, g.user, project_id))
    access.check_project_write(g.user, current["region_code"])
    if request.method == "GET":
        return _render({k: current.get(k) if current.get(k) is not None else "" for k in FORM_FIELDS}, [], current)
    body = _body(request.form, editing=True)
    try:
        with get_db().session_scope() as s:
            records.update_project(s, g.user, project_id, body)
    except Invalid as exc:
        return _render(dict(request.form), exc.errors, current, status=422)
    flash("项目信息已保存", "success")
    return redirect(url_for("projects.detail", project_id=project_id))


@bp.post("/projects/<int:project_id>/admission")
@login_required
def admission(project_id: int):
    """Start the library admission (P01 library_admission) of a created project; its first task
    (入库申报) goes to the county's investment-promotion bureau."""
    with get_db().session_scope() as s:
        p = records.get_project(s, g.user, project_id)
        access.check_project_write(g.user, p.region_code)
        data = {"project_id": p.id, "project_name": p.name, "region_code": p.region_code, "tier": p.tier,
                "stage": p.stage, "chain_code": p.chain_code,
                "enterprise_name": p.enterprise.name if p.enterprise is not None else "", "entry_type": "project"}
        info = instances.start_by_hand(s, g.user, "library_admission", data=data, business_key=f"library-{p.id}")
    flash(f"已发起入库申报(流程实例 {info['id']})", "success")
    return redirect(url_for("inbox.index", tab="unit"))
