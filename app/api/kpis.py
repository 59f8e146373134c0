"""GET /api/v1/kpis — indicators computed from the records (app/services/domain/kpis.py).

Query: ``year`` (required), ``quarter`` or ``month`` (optional), ``region_code``, ``park_id``,
``chain_code``, ``responsible_unit`` (a 市直部门 by name) with ``unit_key`` (its org key, for its F-20
reports and targets), ``ytd=1`` (window from 1 January). Jurisdiction: a county user sees their county only;
without ``region_code`` they get their own county. Rates are fractions (``value_kind: "fraction"``).
Registered on the shared ``bp`` blueprint (app/api/__init__.py).
"""

from __future__ import annotations

from flask import request

from app.api.auth import authed, bp
from app.errors import Invalid
from app.services.domain import kpis


@bp.get("/kpis")
@authed(write=False)
def get_kpis(session, user):
    args = request.args
    if not args.get("year"):
        raise Invalid("缺少参数 year / query parameter year is required")
    scope = kpis.kpi_scope_for(session, user, args)
    unit = (args.get("responsible_unit") or "").strip() or None  # a 市直部门 by name
    return kpis.indicators(session, args.get("year"), args.get("quarter"), args.get("month"),
                           region_code=scope["region_code"], park_id=scope["park_id"], chain_code=scope["chain_code"],
                           responsible_unit=unit,
                           unit_key=args.get("unit_key") or None, ytd=args.get("ytd") in ("1", "true"))
