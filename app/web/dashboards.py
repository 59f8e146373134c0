"""Dashboards (KPI cards, ECharts per county / park / chain / month, county ranking) and the Excel
exports of the monthly bulletin and the assessment tables. County users see their county only;
the exports cover the whole city and are for city-level users."""

from __future__ import annotations

import re

from flask import Blueprint, Response, g, render_template, request, url_for

from app import get_db
from app.errors import BadRequest, NotAllowed
from app.services import access
from app.services.domain import queries as domain_queries
from app.services.reports import dashboards as report_dashboards
from app.services.reports import exports as report_exports
from app.services.reports import reference as reports
from app.web.auth import login_required

bp = Blueprint("dashboards", __name__)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_YEAR = re.compile(r"^\d{4}$")


def _period(value: str | None) -> str:
    period = (value or "").strip()
    if not period:
        with get_db().read_scope() as s:
            period = report_dashboards.latest_period(s)
    try:
        domain_queries.month_bounds(period)
    except ValueError:
        raise BadRequest(f"期间格式应为 YYYY-MM / period must be YYYY-MM, got {period!r}") from None
    return period


def _year(value: str | None) -> int:
    text = (value or "").strip() or report_dashboards.current_period()[:4]
    if not _YEAR.match(text):
        raise BadRequest(f"年份格式应为 YYYY / year must be YYYY, got {text!r}")
    return int(text)


def _require_city_level() -> None:
    if access.user_region(g.user):
        raise NotAllowed("全市汇总报表仅限市级用户导出 / city-wide exports are for city-level users")


@bp.get("/dashboards")
@login_required
def index():
    region = access.user_region(g.user)
    period = _period(request.args.get("period"))
    with get_db().read_scope() as s:
        data = report_dashboards.dashboard(s, period, region)
        region_name = reports.region_names(s).get(region or "", region) if region else None
    charts = {
        "per_county": data["per_county"], "per_park": data["per_park"], "per_chain": data["per_chain"],
        "per_month": data["per_month"], "funnel": data["funnel"], "lights": data["lights"],
    }
    return render_template("dashboards/index.html", data=data, charts=charts, period=period,
                           scoped_region=region, region_name=region_name, can_export=not region,
                           bulletin_url=url_for("dashboards.bulletin", period=period),
                           assessment_url=url_for("dashboards.assessment", year=period[:4]))


@bp.get("/dashboards/export/bulletin.xlsx")
@login_required
def bulletin():
    _require_city_level()
    period = _period(request.args.get("period"))
    with get_db().read_scope() as s:
        content = report_exports.bulletin_xlsx(s, period)
    return _xlsx(content, f"bulletin-{period}.xlsx")


@bp.get("/dashboards/export/assessment.xlsx")
@login_required
def assessment():
    _require_city_level()
    year = _year(request.args.get("year"))
    with get_db().read_scope() as s:
        content = report_exports.assessment_xlsx(s, year)
    return _xlsx(content, f"assessment-{year}.xlsx")


def _xlsx(content: bytes, filename: str) -> Response:
    response = Response(content, mimetype=XLSX)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
