"""Operators for the growing records: visits, complaints, capacity ledger, bulletin KPIs, reports and assessments."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from app.models.domain import (
    AssessmentScore,
    CapacityLedger,
    Complaint,
    Enterprise,
    Report,
    Visit,
)
from app.services.domain import kpis
from app.services.domain.operators.projects import add_event, get_project, iso, parse_date, parse_datetime
from app.services.domain.queries import month_bounds
from app.services.runtime.service_calls import OperatorContext, operator

# ---------------------------------------------------------------- KPIs, reports, assessments


@operator("bulletin_kpis")
def bulletin_kpis(ctx: OperatorContext, period: str, region_code: str | None = None,
                  responsible_unit: str | None = None) -> dict:
    """The monthly bulletin's numbers of one month (``YYYY-MM``), city-wide, for a county or a 市直部门:
    :func:`kpis.indicators` of the month in the flat view :func:`kpis.bulletin_counts` (the same values)."""
    text = str(period or "")
    month_bounds(text)  # ValueError unless YYYY-MM
    result = kpis.indicators(ctx.session, text[:4], month=text[5:7], region_code=region_code or None,
                             responsible_unit=responsible_unit or None, as_of=ctx.now)
    return kpis.bulletin_counts(result)


@operator("report_save")
def report_save(ctx: OperatorContext, kind: str, period: str, title: str, sections: Any,
                region_code: str | None = None) -> dict:
    if kind not in ("monthly", "quarterly", "annual", "capacity"):
        raise ValueError(f"未知报告类型 / unknown report kind {kind!r}")
    row = Report(kind=kind, period=str(period), region_code=region_code or None, title=str(title)[:200],
                 sections=sections if sections is not None else [], instance_id=ctx.instance_id, created_at=ctx.now)
    ctx.session.add(row)
    ctx.session.flush()
    return {"report_id": row.id}


@operator("assessment_save")
def assessment_save(ctx: OperatorContext, unit_key: str, unit_name: str, year: int, scores: dict, daily: float,
                    year_end: float, bonus: float, penalty: float, total: float, grade: str,
                    quarter: int | None = None) -> dict:
    """Insert or replace the result of one unit for (year, quarter)."""
    year = int(year)
    quarter = int(quarter) if quarter not in (None, "") else None
    stmt = select(AssessmentScore).where(AssessmentScore.unit_key == unit_key, AssessmentScore.year == year,
                                         AssessmentScore.quarter.is_(None) if quarter is None
                                         else AssessmentScore.quarter == quarter)
    row = ctx.session.scalars(stmt).first()
    if row is None:
        row = AssessmentScore(unit_key=unit_key, year=year, quarter=quarter)
        ctx.session.add(row)
    row.unit_name = unit_name
    row.scores = dict(scores or {})
    row.daily, row.year_end = float(daily or 0), float(year_end or 0)
    row.bonus, row.penalty, row.total = float(bonus or 0), float(penalty or 0), float(total or 0)
    row.grade = grade
    row.instance_id = ctx.instance_id
    row.created_at = ctx.now
    ctx.session.flush()
    return {"id": row.id}


# ---------------------------------------------------------------- visits


def _add_tag(enterprise: Enterprise, tag: str) -> None:
    tags = list(enterprise.tags or [])
    if tag not in tags:
        enterprise.tags = [*tags, tag]


@operator("visit_register")
def visit_register(ctx: OperatorContext, visit: dict) -> dict:
    if not isinstance(visit, dict):
        raise ValueError("visit 应为字典 / visit must be a dict")
    session = ctx.session
    enterprise = None
    if visit.get("enterprise_id") not in (None, ""):
        enterprise = session.get(Enterprise, int(visit["enterprise_id"]))
        if enterprise is None:
            raise ValueError(f"企业不存在 / enterprise {visit['enterprise_id']} not found")
    elif visit.get("uscc"):
        enterprise = session.scalars(select(Enterprise).where(Enterprise.uscc == visit["uscc"])).first()
        if enterprise is None:
            enterprise = Enterprise(uscc=visit["uscc"], name=visit.get("enterprise_name") or visit["uscc"],
                                    hq_region=visit.get("hq_region"), source="来访登记", rank_tags=[], tags=[])
            session.add(enterprise)
    elif visit.get("enterprise_name"):
        enterprise = session.scalars(select(Enterprise).where(Enterprise.name == visit["enterprise_name"])).first()
    name = visit.get("enterprise_name") or (enterprise.name if enterprise is not None else None)
    if not name:
        raise ValueError("来访企业必填 / enterprise_id, uscc or enterprise_name required")
    if enterprise is not None:
        _add_tag(enterprise, "来访")
    row = Visit(visit_date=parse_date(visit.get("visit_date"), "visit_date") or ctx.now.date(),
                enterprise=enterprise, enterprise_name=name, visitors=list(visit.get("visitors") or []),
                interests=list(visit.get("interests") or []), host=visit.get("host"),
                region_code=visit.get("region_code") or None, chain_code=visit.get("chain_code") or None,
                status=visit.get("status") or "registered", instance_id=ctx.instance_id)
    session.add(row)
    session.flush()
    return {"visit_id": row.id, "enterprise_id": row.enterprise_id}


@operator("visit_route")
def visit_route(ctx: OperatorContext, visit_id: int, routing_type: str, routed_to: str,
                chain_code: str | None = None, routed_to_org: str | None = None, due_days: Any = None,
                due_at: Any = None) -> dict:
    """Record where a visit went. The target is an org unit: ``routed_to_org`` (交办/转办), or for
    链长牵头单位 the chain's lead unit from the chain registry; ``routed_to`` becomes that unit's name.
    ``due_at`` (a date-time, e.g. ``working_days_due``'s) or ``due_days`` (calendar days) sets the handling due
    date counted in the assessment."""
    from app.models.auth import OrgUnit
    from app.models.domain import Chain

    row = ctx.session.get(Visit, int(visit_id))
    if row is None:
        raise ValueError(f"来访记录不存在 / visit {visit_id} not found")
    if routing_type == "链长牵头单位" and chain_code and not routed_to_org:
        chain = ctx.session.get(Chain, chain_code)
        routed_to_org = chain.lead_org_unit_key if chain is not None else None
    if routed_to_org:
        org = ctx.session.scalar(select(OrgUnit).where(OrgUnit.key == routed_to_org))
        if org is None:
            raise ValueError(f"承接单位不存在 / unknown org unit {routed_to_org!r}")
        routed_to = org.name
    row.routing_type = routing_type
    row.routed_to = routed_to
    if chain_code:
        row.chain_code = chain_code
    row.status = "routed"
    if due_at not in (None, ""):
        row.handling_due_at = parse_datetime(due_at, "due_at")
    elif due_days not in (None, ""):
        row.handling_due_at = ctx.now + dt.timedelta(days=int(due_days))
    ctx.session.flush()
    return {"visit_id": row.id, "routing_type": row.routing_type, "routed_to": row.routed_to,
            "routed_to_org": routed_to_org, "chain_code": row.chain_code, "status": row.status}


# ---------------------------------------------------------------- complaints


@operator("complaint_register")
def complaint_register(ctx: OperatorContext, complaint: dict) -> dict:
    if not isinstance(complaint, dict):
        raise ValueError("complaint 应为字典 / complaint must be a dict")
    if not complaint.get("complainant"):
        raise ValueError("投诉人必填 / complainant required")
    project = None
    if complaint.get("project_id") not in (None, ""):
        project = get_project(ctx, complaint["project_id"])
    received = parse_datetime(complaint.get("received_at"), "received_at") or ctx.now
    due = parse_datetime(complaint.get("due_at"), "due_at")
    if due is None and complaint.get("due_days") not in (None, ""):
        due = received + dt.timedelta(days=int(complaint["due_days"]))
    row = Complaint(complainant=str(complaint["complainant"])[:200], project_id=project.id if project else None,
                    category=complaint.get("category"), content=complaint.get("content"),
                    region_code=complaint.get("region_code") or (project.region_code if project else None),
                    handler_unit=complaint.get("handler_unit"), received_at=received, due_at=due,
                    status=complaint.get("status") or "received", instance_id=ctx.instance_id)
    ctx.session.add(row)
    ctx.session.flush()
    if project is not None:
        add_event(ctx, project.id, "complaint", f"收到投诉:{row.category or ''}".rstrip(":"),
                  {"complaint_id": row.id, "complainant": row.complainant, "due_at": iso(due)})
        ctx.session.flush()
    return {"complaint_id": row.id, "region_code": row.region_code, "due_at": iso(due)}


def _as_bool(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        v = value.strip().lower()
        if v in ("true", "1", "yes", "满意", "是"):
            return True
        if v in ("false", "0", "no", "不满意", "否"):
            return False
        raise ValueError(f"satisfied 应为是/否 / satisfied must be a boolean, got {value!r}")
    return bool(value)


@operator("complaint_close")
def complaint_close(ctx: OperatorContext, complaint_id: int, reply: str, satisfied: Any) -> dict:
    row = ctx.session.get(Complaint, int(complaint_id))
    if row is None:
        raise ValueError(f"投诉不存在 / complaint {complaint_id} not found")
    row.reply = reply
    row.satisfied = _as_bool(satisfied)
    row.status = "closed"
    row.closed_at = ctx.now
    if row.project_id is not None:
        add_event(ctx, row.project_id, "complaint", "投诉办结",
                  {"complaint_id": row.id, "satisfied": row.satisfied})
    ctx.session.flush()
    on_time = row.due_at is None or row.closed_at <= row.due_at
    return {"complaint_id": row.id, "status": row.status, "satisfied": row.satisfied, "on_time": on_time}


# ---------------------------------------------------------------- capacity ledger


def _num(value: Any, field: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{field} 应为数字 / {field} must be a number, got {value!r}") from None


@operator("capacity_record")
def capacity_record(ctx: OperatorContext, region_code: str, period: str, factors: list[dict], rating: str | None = None,
                    park_id: int | None = None) -> dict:
    """Insert or update one ledger row per factor for (region, park, period)."""
    if not region_code:
        raise ValueError("region_code 必填 / region_code required")
    park_id = int(park_id) if park_id not in (None, "") else None
    count = 0
    for i, f in enumerate(factors or []):
        if not isinstance(f, dict) or not f.get("factor"):
            raise ValueError(f"factors[{i}] 需要 factor / each factor needs a 'factor' name")
        stmt = select(CapacityLedger).where(
            CapacityLedger.region_code == region_code, CapacityLedger.period == str(period),
            CapacityLedger.factor == f["factor"],
            CapacityLedger.park_id.is_(None) if park_id is None else CapacityLedger.park_id == park_id)
        row = ctx.session.scalars(stmt).first()
        if row is None:
            row = CapacityLedger(region_code=region_code, park_id=park_id, period=str(period), factor=f["factor"])
            ctx.session.add(row)
        row.total = _num(f.get("total"), f"factors[{i}].total")
        row.used = _num(f.get("used"), f"factors[{i}].used")
        row.committed = _num(f.get("committed"), f"factors[{i}].committed")
        row.unit = f.get("unit")
        row.rating = f.get("rating") or rating
        row.note = f.get("note")
        row.updated_at = ctx.now
        count += 1
    ctx.session.flush()
    return {"count": count}
