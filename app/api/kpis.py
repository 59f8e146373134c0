"""GET /api/v1/kpis — indicators computed from the records (app/services/domain/kpis.py).

Query: ``year`` (required), ``quarter`` or ``month`` (optional), ``region_code``, ``park_id``,
``chain_code``, ``responsible_unit`` (a 市直部门 by name) with ``unit_key`` (its org key, for its F-20
reports and targets), ``ytd=1`` (window from 1 January). Jurisdiction: a county user sees their county only;
without ``region_code`` they get their own county. Rates are fractions (``value_kind: "fraction"``).
Registered on the shared ``bp`` blueprint (app/api/__init__.py).
"""

from __future__ import annotations

from flask import request

from app.api.routes import authed, bp
from app.errors import Invalid, NotFound
from app.models.domain import Chain, Park
from app.services.access import check_region, user_region
from app.services.domain import kpis


@bp.get("/kpis")
@authed(write=False)
def get_kpis(session, user):
    args = request.args
    if not args.get("year"):
        raise Invalid("缺少参数 year / query parameter year is required")
    region = args.get("region_code") or None
    park_id = args.get("park_id") or None
    if park_id is not None:
        try:
            park = session.get(Park, int(park_id))
        except ValueError:
            raise Invalid("park_id 应为整数 / park_id must be an integer") from None
        if park is None:
            raise NotFound("园区不存在 / park not found")
        if region and park.region_code != region:
            raise Invalid("园区不属于该县区 / the park is not in that county")
        region = park.region_code
    region = region or user_region(user)
    chain = args.get("chain_code") or None
    if chain is not None and session.get(Chain, chain) is None:
        raise NotFound("产业链不存在 / chain not found")
    check_region(user, region)
    unit = (args.get("responsible_unit") or "").strip() or None  # a 市直部门 by name
    return kpis.indicators(session, args.get("year"), args.get("quarter"), args.get("month"),
                           region_code=region, park_id=park_id, chain_code=chain, responsible_unit=unit,
                           unit_key=args.get("unit_key") or None, ytd=args.get("ytd") in ("1", "true"))
