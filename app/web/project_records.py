"""Project library writes from the browser: /projects/new, /projects/<id>/edit, and starting the
library admission (P01) of a created project. The same service as the API (domain.projects)."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from app import get_db
from app.errors import Conflict, Invalid, NotAllowed
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


# ---------------------------------------------------------------- issue #12: evidence, 揭牌认领, 解封


def panel(session, user, project_id: int) -> dict:
    """What the project page shows of the project's records: stage evidence (required / present), the
    claim, and which of the actions below the user may take."""
    from app.services.domain import claims, evidence, project_moves

    p = records.get_project(session, user, project_id)
    listed = evidence.project_evidence(session, user, project_id)
    claim = claims.get_claim(session, project_id)
    editor = access.may_edit_projects(user) and access.in_jurisdiction(user, p.region_code)
    return {"evidence": listed, "current": listed["required"].get(p.stage, []),
            "claim": claims.claim_dict(session, claim) if claim is not None else None,
            "can_attach": editor,
            "can_claim": claim is None and claims.may_claim(user) and access.org_key(user) is not None
            and claims.open_claim_task(session, project_id) is not None,
            "can_reactivate": p.status == "sealed" and project_moves.may_reactivate(user)}


def _back(project_id: int):
    return redirect(url_for("projects.detail", project_id=project_id) + "#sec-evidence")


def _flash_errors(exc) -> None:
    flash(exc.message + ":" + ";".join(e["message"] for e in exc.errors or []), "error")


@bp.post("/projects/<int:project_id>/evidence")
@login_required
def attach_evidence(project_id: int):
    from app.services.domain import evidence

    body = {k: (request.form.get(k) or "").strip() for k in ("kind", "title", "number", "issued_on")}
    body = {k: v for k, v in body.items() if v}
    try:
        with get_db().session_scope() as s:
            row = evidence.attach_evidence(s, g.user, project_id, body)
    except Invalid as exc:
        _flash_errors(exc)
        return _back(project_id)
    flash(f"已登记转段材料:{row['title']}", "success")
    return _back(project_id)


@bp.post("/projects/<int:project_id>/claim")
@login_required
def claim(project_id: int):
    from app.api.projects import claim_listed_project

    body = {k: (request.form.get(k) or "").strip() for k in ("claim_reason", "approach", "target_sign_date")}
    try:
        with get_db().session_scope() as s:
            made = claim_listed_project(s, g.user, project_id, {k: v for k, v in body.items() if v})
    except (Invalid, Conflict) as exc:
        _flash_errors(exc)
        return _back(project_id)
    flash(f"揭牌认领成功:{made['org_unit_name']}为本项目认领单位", "success")
    return _back(project_id)


@bp.post("/projects/<int:project_id>/reactivate")
@login_required
def reactivate(project_id: int):
    try:
        with get_db().session_scope() as s:
            done = records.reactivate_project(s, g.user, project_id, request.form.get("reason"))
    except (Invalid, Conflict) as exc:
        _flash_errors(exc)
        return _back(project_id)
    flash(f"项目已重新激活,全程调度从“{done['stage']}”阶段继续(流程实例 {done['instance_id']})", "success")
    return redirect(url_for("projects.detail", project_id=project_id))
