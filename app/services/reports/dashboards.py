"""Read models of the dashboards: KPIs per county, park, chain and month; rankings."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import clock
from app.models.domain import (
    STAGE_NAMES,
    Complaint,
    FundsArrival,
    Project,
    Visit,
)
from app.services.domain import kpis
from app.services.domain import queries as dq
from app.services.domain import settings as settings_service
from app.services.reports.reference import (
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


def dashboard(session: Session, period: str, region_code: str | None = None) -> dict:
    """KPI cards (month and YTD), per-county / park / chain / month series, county ranking, funnel.

    Every number is a value of ``kpis.indicators`` (the one KPI query; the same as ``GET /api/v1/kpis``,
    the scorecards and the bulletin): the month card is the month's indicators, YTD and the per-county,
    per-park and per-chain rows are 1 January → the month's end (``ytd=True``), the per-month series is
    each month's indicators. Only the stage funnel and library counts (state, not KPIs) are read here."""
    dq.month_bounds(period)  # validates
    year, month = int(period[:4]), int(period[5:7])
    cfg = settings_service.values(session)

    def ind(**scope):
        return kpis.indicators(session, year, month=month, cfg=cfg, **scope)

    month_view = kpis.bulletin_counts(ind(region_code=region_code))
    ytd_view = _row(ind(region_code=region_code, ytd=True))
    per_region = {r["code"]: (r, ind(region_code=r["code"], ytd=True)) for r in regions(session, region_code)}
    return {
        "period": period, "year": year, "region_code": region_code,
        "month": month_view, "ytd": ytd_view,
        "lights": month_view["lights"],
        "funnel": [{"stage": s, "name": STAGE_NAMES[s], "count": n}
                   for s, n in dq.stage_funnel(session, region_code).items()],
        "library": dq.library_counts(session, region_code),
        "per_county": [{"code": code, "name": r["name"], **_row(result)} for code, (r, result) in per_region.items()],
        "per_park": _per_park(session, ind, region_code),
        "per_chain": _per_chain(session, ind, region_code),
        "per_month": _per_month(session, year, region_code, cfg),
        "ranking": _ranked([(r, result) for r, result in per_region.values()]),
    }


def _row(result: dict) -> dict:
    """The dashboard row of one indicators result (YTD or a month)."""
    v = kpis.bulletin_counts(result)
    return {"signed": v["signed"], "landed": v["landed"], "started": v["started"],
            "funds_total_wan": v["funds_total_wan"], "funds_out_wan": v["funds_out_of_province_wan"],
            "visits": v["visits"], "complaints": v["complaints_received"], "active": v["active_projects"],
            "signed_amount_wan": v["signed_amount_wan"], **v["lights"]}


def _per_park(session: Session, ind, region_code: str | None) -> list[dict]:
    out = []
    for pk in kpis.parks_of(session, region_code):
        i = ind(region_code=pk["region_code"], park_id=pk["id"], ytd=True)["indicators"]
        out.append({"id": pk["id"], "name": pk["name"], "region_code": pk["region_code"],
                    "active": i["active_projects"]["value"], "signed": i["signed_count"]["value"],
                    "funds_wan": i["funds_arrived_wan"]["value"]})
    return out


def _per_chain(session: Session, ind, region_code: str | None) -> list[dict]:
    out = []
    for c in chains(session):
        i = ind(region_code=region_code, chain_code=c["code"], ytd=True)["indicators"]
        out.append({"code": c["code"], "name": c["name"], "active": i["active_projects"]["value"],
                    "signed": i["signed_count"]["value"], "investment_wan": i["pipeline_investment_wan"]["value"]})
    return sorted(out, key=lambda r: r["code"] or "")


def _per_month(session: Session, year: int, region_code: str | None, cfg: dict) -> list[dict]:
    """Each month of the year (months after today are empty: nothing can have happened yet)."""
    current = dq.period_of(clock.now())
    rows = []
    for m in range(1, 13):
        period = f"{year}-{m:02d}"
        if period > current:
            rows.append({"period": period, "signed": 0, "landed": 0, "started": 0, "funds_total_wan": 0.0,
                         "funds_out_wan": 0.0, "visits": 0, "complaints": 0})
            continue
        r = _row(kpis.indicators(session, year, month=m, region_code=region_code, cfg=cfg))
        rows.append({"period": period, **{k: r[k] for k in ("signed", "landed", "started", "funds_total_wan",
                                                             "funds_out_wan", "visits", "complaints")}})
    return rows


def _ranked(per_region: list[tuple[dict, dict]]) -> list[dict]:
    """County league table: 落地率, 开工率 and 资金到位率 on the signing cohort (``kpi.cohort_years``,
    default 2) up to the period end; 资金到位率 counts evidence-backed funds only (§4.1).

    Ranked by 项目落地率 first (the policy weights landing most), then 资金到位率, then signings.
    Rates are fractions; ``None`` when nothing was signed (shown as —)."""
    rows = []
    for r, result in per_region:
        ind = result["indicators"]
        landing, start, funds = ind["landing_rate"], ind["start_rate"], ind["funds_arrival_rate"]
        rows.append({"code": r["code"], "name": r["name"], "signed": int(landing["denominator"] or 0),
                     "landed": int(landing["numerator"] or 0), "started": int(start["numerator"] or 0),
                     "agreed_wan": float(funds["denominator"] or 0), "funds_wan": float(funds["numerator"] or 0),
                     "landing_rate": landing["value"], "start_rate": start["value"], "funds_rate": funds["value"]})
    rows.sort(key=lambda s: (-(s["landing_rate"] or 0), -(s["funds_rate"] or 0), -s["signed"], s["code"] or ""))
    for i, s in enumerate(rows, 1):
        s["rank"] = i
    return rows


def ranking_rows(session: Session, year: int, period: str, region_code: str | None = None) -> list[dict]:
    """The county league table of ``period`` (a month) from ``kpis.indicators`` (see :func:`_ranked`)."""
    month = int(dq.month_bounds(period)[2].month)
    cfg = settings_service.values(session)
    return _ranked([(r, kpis.indicators(session, int(period[:4]), month=month, region_code=r["code"], cfg=cfg))
                    for r in regions(session, region_code)])
