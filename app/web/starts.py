"""发起流程: the processes the user may start and their start forms (rendered like task forms)."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request

from app import get_db
from app.errors import FormInvalid
from app.services.tasks import starts
from app.web import formrender
from app.web.auth import login_required

bp = Blueprint("starts", __name__)


@bp.get("/start")
@login_required
def index():
    with get_db().read_scope() as s:
        items = starts.startable(s, g.user)
    return render_template("start/index.html", items=items)


def _page(key: str, schema: dict, values: dict, errors: list[dict], status: int = 200):
    fields = formrender.build_fields(schema, {}, values, errors)
    return render_template("start/form.html", key=key, fields=fields, errors=errors), status


@bp.get("/start/<key>")
@login_required
def form(key: str):
    with get_db().read_scope() as s:
        schema = starts.start_form(s, g.user, key)
    return _page(key, schema, formrender.defaults(schema), [])


@bp.post("/start/<key>")
@login_required
def submit(key: str):
    with get_db().read_scope() as s:
        schema = starts.start_form(s, g.user, key)
    values = formrender.coerce(schema, {}, request.form)
    try:
        with get_db().session_scope() as s:
            info = starts.start(s, g.user, key, values)
    except FormInvalid as exc:
        return _page(key, schema, values, exc.errors, 422)
    flash(f"流程已发起(实例 {info['id']})", "success")
    return redirect("/inbox?tab=unit")
