"""台账: the complaint and visit ledgers. County users see their county; external roles see none."""

from __future__ import annotations

from flask import Blueprint, g, render_template, request

from app import get_db
from app.errors import NotAllowed
from app.params import int_arg
from app.services import access
from app.services.reports import records
from app.web.auth import login_required

bp = Blueprint("records", __name__, url_prefix="/records")


def _scope() -> str | None:
    if access.is_external(g.user):
        raise NotAllowed("外部用户不能查看台账 / external users cannot see the ledgers")
    return access.user_region(g.user)


@bp.get("/complaints")
@login_required
def complaints():
    status = (request.args.get("status") or "").strip() or None
    with get_db().read_scope() as s:
        data = records.list_complaints(s, region_code=_scope(), status=status, page=int_arg("page", 1))
    return render_template("records/complaints.html", data=data, status=status or "",
                           statuses=records.COMPLAINT_STATUS_NAMES)


@bp.get("/visits")
@login_required
def visits():
    status = (request.args.get("status") or "").strip() or None
    with get_db().read_scope() as s:
        data = records.list_visits(s, region_code=_scope(), status=status, page=int_arg("page", 1))
    return render_template("records/visits.html", data=data, status=status or "",
                           statuses=records.VISIT_STATUS_NAMES)


def init_app(app) -> None:
    @app.context_processor
    def _records_nav():
        user = g.get("user")
        return {"is_external": bool(user is not None and access.is_external(user))}
