"""Read-only SQL over the domain tables, shared by the ``kpi_snapshot`` operator (monthly bulletin)
and the web dashboards. Plain functions taking a session; no Flask.

Periods are calendar months in China Standard Time (UTC+8, Pu'er local time): a project signed at
2026-05-31 20:00 UTC counts for June. Timestamps in the database are UTC, so month bounds are
converted before comparing; calendar-date columns (visit date) compare as dates.
Counting rules follow reference/domain.md §4.1: signed/landed/started are the P05 stage-event
timestamps on the project; 到位资金 are the F-12 rows of the month (省外 is the primary series).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import and_, func, select

from app.models.domain import LIGHTS, STAGES, Agreement, Complaint, FundsArrival, Project, Visit

LOCAL_TZ = dt.timezone(dt.timedelta(hours=8), "CST")
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def month_bounds(period: str) -> tuple[dt.datetime, dt.datetime, dt.date, dt.date]:
    """``'YYYY-MM'`` → (start UTC, end UTC exclusive, first date, first date of next month)."""
    m = _PERIOD.match(str(period or ""))
    if not m:
        raise ValueError(f"期间格式应为 YYYY-MM / period must be 'YYYY-MM', got {period!r}")
    year, month = int(m.group(1)), int(m.group(2))
    first = dt.date(year, month, 1)
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    start = dt.datetime(first.year, first.month, 1, tzinfo=LOCAL_TZ).astimezone(dt.UTC)
    end = dt.datetime(nxt.year, nxt.month, 1, tzinfo=LOCAL_TZ).astimezone(dt.UTC)
    return start, end, first, nxt


def period_of(moment: dt.datetime) -> str:
    """The ``'YYYY-MM'`` (local time) containing an aware datetime."""
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m")


def _region(stmt, column, region_code: str | None):
    return stmt.where(column == region_code) if region_code else stmt


def _count_projects_in(session, column, start, end, region_code) -> int:
    stmt = select(func.count(Project.id)).where(column >= start, column < end)
    return int(session.scalar(_region(stmt, Project.region_code, region_code)) or 0)


def signed_amount_wan(session, start: dt.datetime, end: dt.datetime, region_code: str | None = None) -> float:
    """Σ agreed investment of the projects signed in [start, end): the project's 投资协议 amounts,
    or its planned investment when no agreement is registered."""
    agreed = (select(func.sum(Agreement.agreed_investment_wan))
              .where(Agreement.project_id == Project.id, Agreement.kind == "投资协议")
              .correlate(Project).scalar_subquery())
    stmt = select(func.sum(func.coalesce(agreed, Project.planned_investment_wan))).where(
        Project.signed_at >= start, Project.signed_at < end)
    return float(session.scalar(_region(stmt, Project.region_code, region_code)) or 0.0)


def funds_by_origin(session, period: str, region_code: str | None = None) -> dict[str, float]:
    stmt = (select(FundsArrival.origin, func.sum(FundsArrival.amount_wan))
            .where(FundsArrival.period == period).group_by(FundsArrival.origin))
    if region_code:
        stmt = stmt.join(Project, Project.id == FundsArrival.project_id).where(Project.region_code == region_code)
    return {origin: float(total or 0.0) for origin, total in session.execute(stmt)}


def light_counts(session, region_code: str | None = None) -> dict[str, int]:
    """Active projects by warning light (current state, not period-bound)."""
    stmt = select(Project.light, func.count(Project.id)).where(Project.status == "active").group_by(Project.light)
    counts = {light: 0 for light in LIGHTS}
    for light, n in session.execute(_region(stmt, Project.region_code, region_code)):
        counts[light] = counts.get(light, 0) + int(n)
    return counts


def library_counts(session, region_code: str | None = None) -> dict[str, int]:
    """K-P1: projects by library status."""
    stmt = select(Project.library_status, func.count(Project.id)).group_by(Project.library_status)
    return {status: int(n) for status, n in session.execute(_region(stmt, Project.region_code, region_code))}


def stage_funnel(session, region_code: str | None = None) -> dict[str, int]:
    """Active projects per stage, S1 → S7 then DONE (开工)."""
    stmt = select(Project.stage, func.count(Project.id)).where(Project.status == "active").group_by(Project.stage)
    counts = {stage: 0 for stage in (*STAGES, "DONE")}
    for stage, n in session.execute(_region(stmt, Project.region_code, region_code)):
        counts[stage] = counts.get(stage, 0) + int(n)
    return counts


def complaint_counts(session, start: dt.datetime, end: dt.datetime, region_code: str | None = None) -> dict[str, int]:
    received = select(func.count(Complaint.id)).where(Complaint.received_at >= start, Complaint.received_at < end)
    closed = select(func.count(Complaint.id)).where(
        Complaint.status == "closed", Complaint.closed_at >= start, Complaint.closed_at < end)
    satisfied = closed.where(Complaint.satisfied.is_(True))
    return {
        "complaints_received": int(session.scalar(_region(received, Complaint.region_code, region_code)) or 0),
        "complaints_closed": int(session.scalar(_region(closed, Complaint.region_code, region_code)) or 0),
        "complaints_satisfied": int(session.scalar(_region(satisfied, Complaint.region_code, region_code)) or 0),
    }


def visit_count(session, first: dt.date, nxt: dt.date, region_code: str | None = None) -> int:
    stmt = select(func.count(Visit.id)).where(and_(Visit.visit_date >= first, Visit.visit_date < nxt))
    return int(session.scalar(_region(stmt, Visit.region_code, region_code)) or 0)


def kpi_snapshot(session, period: str, region_code: str | None = None) -> dict[str, Any]:
    """Counts and sums of one month for the monthly bulletin (月通报), city-wide or for one county."""
    start, end, first, nxt = month_bounds(period)
    funds = funds_by_origin(session, period, region_code)
    lights = light_counts(session, region_code)
    active = select(func.count(Project.id)).where(Project.status == "active")
    result: dict[str, Any] = {
        "period": period,
        "region_code": region_code,
        "new_projects": _count_projects_in(session, Project.created_at, start, end, region_code),
        "signed": _count_projects_in(session, Project.signed_at, start, end, region_code),
        "signed_amount_wan": signed_amount_wan(session, start, end, region_code),
        "landed": _count_projects_in(session, Project.landed_at, start, end, region_code),
        "started": _count_projects_in(session, Project.started_at, start, end, region_code),
        "funds_total_wan": float(sum(funds.values())),
        "funds_out_of_province_wan": float(funds.get("省外", 0.0)),
        "funds_by_origin": funds,
        "lights": lights,
        "green": lights.get("green", 0),
        "yellow": lights.get("yellow", 0),
        "red": lights.get("red", 0),
        "active_projects": int(session.scalar(_region(active, Project.region_code, region_code)) or 0),
        "visits": visit_count(session, first, nxt, region_code),
    }
    result.update(complaint_counts(session, start, end, region_code))
    return result
