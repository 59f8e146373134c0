"""Calendar helpers of the KPI queries and the two dashboard state counts that are not KPIs.

Periods are calendar months in China Standard Time (UTC+8, Pu'er local time): a project signed at
2026-05-31 20:00 UTC counts for June. Timestamps in the database are UTC, so month bounds are
converted before comparing; calendar-date columns (visit date) compare as dates.

Every count and sum of the platform's records — signings, landings, funds, lights, visits, complaints,
交办, 联办协办 — is an indicator of :mod:`app.services.domain.kpis` (the one KPI query behind the
scorecards, dashboards, bulletin and ``GET /api/v1/kpis``); this module only has the month bounds and
the stage funnel / library status counts of the dashboard.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select

from app.models.domain import STAGES, Project

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
