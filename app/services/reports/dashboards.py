"""Read models of the dashboards: KPIs per county, park, chain and month; rankings."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import clock
from app.models.domain import (
    STAGE_NAMES,
    Complaint,
    FundsArrival,
    Park,
    Project,
    Visit,
)
from app.services.domain import kpis
from app.services.domain import queries as dq
from app.services.domain import settings as settings_service
from app.services.reports.reference import (
    aware,
    chains,
    regions,
)


# ---------------------------------------------------------------------------------- dashboards
def current_period() -> str:
    return dq.period_of(clock.now())


def latest_period(session: Session) -> str:
    """The most recent month up to now with any recorded activity (funds, signings, landings, starts,
    visits, complaints) — what the dashboard opens on; the current month when nothing is recorded yet.
    At the start of a month this is usually the month just closed, the one the bulletin reports."""
    now = clock.now()
    current = dq.period_of(now)
    found = [session.scalar(select(func.max(FundsArrival.period)).where(FundsArrival.period <= current))]
    for column in (Project.signed_at, Project.landed_at, Project.started_at, Complaint.received_at):
        latest = session.scalar(select(func.max(column)).where(column <= now))
        found.append(dq.period_of(latest) if latest else None)
    visit = session.scalar(select(func.max(Visit.visit_date)).where(Visit.visit_date <= now.date()))
    found.append(f"{visit.year:04d}-{visit.month:02d}" if visit else None)
    found = [f for f in found if f]
    return max(found) if found else current


def _year_bounds(year: int, last_period: str | None = None) -> tuple[dt.datetime, dt.datetime]:
    start = dq.month_bounds(f"{year}-01")[0]
    end = dq.month_bounds(last_period or f"{year}-12")[1]
    return start, end


def dashboard(session: Session, period: str, region_code: str | None = None) -> dict:
    """KPI cards (month and YTD), per-county / park / chain / month series, county ranking, funnel."""
    dq.month_bounds(period)  # validates
    year = int(period[:4])
    ytd_start, ytd_end = _year_bounds(year, period)
    month = dq.kpi_snapshot(session, period, region_code)
    region_list = regions(session, region_code)
    per_region = _per_region(session, ytd_start, ytd_end, year, period, region_code)
    ytd = {k: sum(r[k] for r in per_region.values()) for k in
           ("signed", "landed", "started", "funds_total_wan", "funds_out_wan", "visits", "complaints")}
    ytd["signed_amount_wan"] = dq.signed_amount_wan(session, ytd_start, ytd_end, region_code)
    ranking = ranking_rows(session, year, period, region_code)
    county = [{"code": r["code"], "name": r["name"], **per_region.get(r["code"], _empty_region())}
              for r in region_list]
    return {
        "period": period, "year": year, "region_code": region_code,
        "month": month, "ytd": ytd,
        "lights": dq.light_counts(session, region_code),
        "funnel": [{"stage": s, "name": STAGE_NAMES[s], "count": n}
                   for s, n in dq.stage_funnel(session, region_code).items()],
        "library": dq.library_counts(session, region_code),
        "per_county": county,
        "per_park": _per_park(session, ytd_start, ytd_end, period, region_code),
        "per_chain": _per_chain(session, ytd_start, ytd_end, region_code),
        "per_month": _per_month(session, year, region_code),
        "ranking": ranking,
    }


def _empty_region() -> dict:
    return {"signed": 0, "landed": 0, "started": 0, "funds_total_wan": 0.0, "funds_out_wan": 0.0, "visits": 0,
            "complaints": 0, "green": 0, "blue": 0, "yellow": 0, "red": 0, "active": 0}


def _per_region(session: Session, start, end, year: int, period: str, region_code: str | None) -> dict[str, dict]:
    out: dict[str, dict] = defaultdict(_empty_region)

    def scoped(stmt, column):
        return stmt.where(column == region_code) if region_code else stmt

    for column, key in ((Project.signed_at, "signed"), (Project.landed_at, "landed"), (Project.started_at, "started")):
        stmt = scoped(select(Project.region_code, func.count(Project.id)).where(column >= start, column < end)
                      .group_by(Project.region_code), Project.region_code)
        for rc, n in session.execute(stmt):
            out[rc][key] = int(n)
    funds = scoped(select(Project.region_code, FundsArrival.origin, func.sum(FundsArrival.amount_wan))
                   .join(Project, Project.id == FundsArrival.project_id)
                   .where(FundsArrival.period >= f"{year}-01", FundsArrival.period <= period)
                   .group_by(Project.region_code, FundsArrival.origin), Project.region_code)
    for rc, origin, amount in session.execute(funds):
        out[rc]["funds_total_wan"] += float(amount or 0)
        if origin == "省外":
            out[rc]["funds_out_wan"] += float(amount or 0)
    lights = scoped(select(Project.region_code, Project.light, func.count(Project.id))
                    .where(Project.status == "active").group_by(Project.region_code, Project.light), Project.region_code)
    for rc, light, n in session.execute(lights):
        out[rc][light] = out[rc].get(light, 0) + int(n)
        out[rc]["active"] += int(n)
    visits = scoped(select(Visit.region_code, func.count(Visit.id)).where(
        Visit.visit_date >= dt.date(year, 1, 1), Visit.visit_date < dq.month_bounds(period)[3])
        .group_by(Visit.region_code), Visit.region_code)
    for rc, n in session.execute(visits):
        out[rc]["visits"] = int(n)
    complaints = scoped(select(Complaint.region_code, func.count(Complaint.id)).where(
        Complaint.received_at >= start, Complaint.received_at < end).group_by(Complaint.region_code),
        Complaint.region_code)
    for rc, n in session.execute(complaints):
        out[rc]["complaints"] = int(n)
    return out


def _per_park(session: Session, start, end, period: str, region_code: str | None) -> list[dict]:
    stmt = (select(Park.id, Park.name, Park.region_code, func.count(Project.id))
            .outerjoin(Project, (Project.park_id == Park.id) & (Project.status == "active"))
            .group_by(Park.id, Park.name, Park.region_code).order_by(Park.id))
    if region_code:
        stmt = stmt.where(Park.region_code == region_code)
    parks = {pid: {"id": pid, "name": name, "region_code": rc, "active": int(n), "signed": 0, "funds_wan": 0.0}
             for pid, name, rc, n in session.execute(stmt)}
    signed = (select(Project.park_id, func.count(Project.id)).where(
        Project.signed_at >= start, Project.signed_at < end, Project.park_id.is_not(None)).group_by(Project.park_id))
    for pid, n in session.execute(signed):
        if pid in parks:
            parks[pid]["signed"] = int(n)
    funds = (select(Project.park_id, func.sum(FundsArrival.amount_wan))
             .join(Project, Project.id == FundsArrival.project_id)
             .where(FundsArrival.period >= f"{period[:4]}-01", FundsArrival.period <= period,
                    Project.park_id.is_not(None)).group_by(Project.park_id))
    for pid, amount in session.execute(funds):
        if pid in parks:
            parks[pid]["funds_wan"] = float(amount or 0)
    return list(parks.values())


def _per_chain(session: Session, start, end, region_code: str | None) -> list[dict]:
    names = {c["code"]: c["name"] for c in chains(session)}
    out: dict[str | None, dict] = {}

    def row(code):
        return out.setdefault(code, {"code": code, "name": names.get(code or "", code or "未归链"), "active": 0,
                                     "signed": 0, "investment_wan": 0.0})

    stmt = select(Project.chain_code, func.count(Project.id), func.sum(Project.planned_investment_wan)).where(
        Project.status == "active").group_by(Project.chain_code)
    if region_code:
        stmt = stmt.where(Project.region_code == region_code)
    for code, n, amount in session.execute(stmt):
        r = row(code)
        r["active"], r["investment_wan"] = int(n), float(amount or 0)
    signed = select(Project.chain_code, func.count(Project.id)).where(
        Project.signed_at >= start, Project.signed_at < end).group_by(Project.chain_code)
    if region_code:
        signed = signed.where(Project.region_code == region_code)
    for code, n in session.execute(signed):
        row(code)["signed"] = int(n)
    for code in names:
        row(code)
    return sorted(out.values(), key=lambda r: (r["code"] is None, r["code"] or ""))


def _per_month(session: Session, year: int, region_code: str | None) -> list[dict]:
    start, end = _year_bounds(year)
    months = {f"{year}-{m:02d}": {"period": f"{year}-{m:02d}", "signed": 0, "landed": 0, "started": 0,
                                  "funds_total_wan": 0.0, "funds_out_wan": 0.0, "visits": 0, "complaints": 0}
              for m in range(1, 13)}
    for column, key in ((Project.signed_at, "signed"), (Project.landed_at, "landed"), (Project.started_at, "started")):
        stmt = select(column).where(column >= start, column < end)
        if region_code:
            stmt = stmt.where(Project.region_code == region_code)
        for (moment,) in session.execute(stmt):
            months[dq.period_of(aware(moment))][key] += 1
    funds = (select(FundsArrival.period, FundsArrival.origin, func.sum(FundsArrival.amount_wan))
             .where(FundsArrival.period >= f"{year}-01", FundsArrival.period <= f"{year}-12")
             .group_by(FundsArrival.period, FundsArrival.origin))
    if region_code:
        funds = funds.join(Project, Project.id == FundsArrival.project_id).where(Project.region_code == region_code)
    for period, origin, amount in session.execute(funds):
        if period in months:
            months[period]["funds_total_wan"] += float(amount or 0)
            if origin == "省外":
                months[period]["funds_out_wan"] += float(amount or 0)
    visits = select(Visit.visit_date).where(Visit.visit_date >= dt.date(year, 1, 1),
                                            Visit.visit_date < dt.date(year + 1, 1, 1))
    if region_code:
        visits = visits.where(Visit.region_code == region_code)
    for (day,) in session.execute(visits):
        months[day.strftime("%Y-%m")]["visits"] += 1
    complaints = select(Complaint.received_at).where(Complaint.received_at >= start, Complaint.received_at < end)
    if region_code:
        complaints = complaints.where(Complaint.region_code == region_code)
    for (moment,) in session.execute(complaints):
        months[dq.period_of(aware(moment))]["complaints"] += 1
    return list(months.values())


def ranking_rows(session: Session, year: int, period: str, region_code: str | None = None) -> list[dict]:
    """County league table from app/services/domain/kpis.py (the same numbers as the scorecards):
    落地率, 开工率 and 资金到位率 on the signing cohort (``kpi.cohort_years``, default 2) up to the end
    of ``period`` (a month); 资金到位率 counts evidence-backed funds only (§4.1).

    Ranked by 项目落地率 first (the policy weights landing most), then 资金到位率, then signings.
    Rates are fractions; ``None`` when nothing was signed (shown as —)."""
    month = int(dq.month_bounds(period)[2].month)
    cfg = settings_service.values(session)
    rows = []
    for r in regions(session, region_code):
        ind = kpis.indicators(session, int(period[:4]), month=month, region_code=r["code"], cfg=cfg)["indicators"]
        landing, start, funds = ind["landing_rate"], ind["start_rate"], ind["funds_arrival_rate"]
        rows.append({"code": r["code"], "name": r["name"], "signed": int(landing["denominator"] or 0),
                     "landed": int(landing["numerator"] or 0), "started": int(start["numerator"] or 0),
                     "agreed_wan": float(funds["denominator"] or 0), "funds_wan": float(funds["numerator"] or 0),
                     "landing_rate": landing["value"], "start_rate": start["value"], "funds_rate": funds["value"]})
    rows.sort(key=lambda s: (-(s["landing_rate"] or 0), -(s["funds_rate"] or 0), -s["signed"], s["code"] or ""))
    for i, s in enumerate(rows, 1):
        s["rank"] = i
    return rows
