"""挂图作战 board: active projects by stage (S1..S7) × county, coloured by warning light."""

from __future__ import annotations

from flask import Blueprint, current_app, g, render_template, request

from app.services import access
from app.services.reports import board
from app.services.reports import reference as reports
from app.web.auth import login_required

bp = Blueprint("board", __name__)


@bp.get("/board")
@login_required
def index():
    region = access.user_region(g.user)
    filters = {"chain_code": (request.args.get("chain_code") or "").strip(),
               "tier": (request.args.get("tier") or "").strip(),
               "only_warn": request.args.get("only_warn") in ("1", "on", "true")}
    with current_app.extensions["db"].read_scope() as s:
        matrix = board.board_matrix(s, region_code=region, chain_code=filters["chain_code"] or None,
                                      tier=filters["tier"] or None,
                                      lights=("yellow", "red") if filters["only_warn"] else None)
        options = reports.filter_options(s, region)
    return render_template("board/index.html", matrix=matrix, filters=filters, options=options,
                           scoped_region=region)
