"""Operators of the assessment from records (issue #12): settings for BPMN, computed scorecard
inputs, the F-20 unit monthly report, and visits marked handled."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.models.assessment import UnitReport
from app.models.domain import AssessmentScore, Visit
from app.services.domain import kpis, settings
from app.services.domain.operators.projects import parse_datetime
from app.services.runtime.service_calls import OperatorContext, operator


@operator("settings_values")
def settings_values(ctx: OperatorContext, prefix: str | list | None = None) -> dict:
    """Current settings (``{key: value}``), all or those whose key starts with ``prefix`` (or any of a list).

    The one way BPMN reads [A] values (docs/CONTRACTS.md "Settings"): a service task at the start of a
    process stores the result (e.g. ``cfg``) and scripts/timers read ``cfg['deadline.annual.self']``."""
    values = settings.values(ctx.session)
    if not prefix:
        return values
    prefixes = [prefix] if isinstance(prefix, str) else list(prefix)
    return {k: v for k, v in values.items() if any(k.startswith(p) for p in prefixes)}


def _fmt(item: dict) -> str:
    value = item.get("value")
    if value is None:
        return "—"
    if item.get("unit") == "fraction":
        return f"{value * 100:.2f}%"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value}{'' if item.get('unit') in (None, '分') else item['unit']}"


@operator("assessment_indicators")
def assessment_indicators(ctx: OperatorContext, units: list[dict], year: Any, quarter: Any = None,
                          params: dict | None = None) -> list[dict]:
    """Scorecard inputs of each unit computed from the records (YTD to the period end), plus the
    quarterly 日常考评 totals already saved for the year (annual only) and a display dict ``shown``
    ({kpi_key: "48.00%"}, {kpi_key + "_why": reason}) for read-only instructions."""
    cfg = settings.values(ctx.session)
    if params:
        cfg.update({k: v for k, v in params.items() if k in cfg})
    quarter = int(quarter) if quarter not in (None, "") else None
    rows = kpis.unit_scorecard_inputs(ctx.session, units, int(year), quarter, cfg)
    for row in rows:
        if quarter is None:
            saved = ctx.session.scalars(select(AssessmentScore).where(
                AssessmentScore.unit_key == row["unit_key"], AssessmentScore.year == int(year),
                AssessmentScore.quarter.is_not(None)).order_by(AssessmentScore.quarter)).all()
            row["quarterly"] = [s.daily for s in saved]
        shown = {}
        for key, item in row["kpis"].items():
            shown[key] = _fmt(item)
            num, den = item.get("numerator"), item.get("denominator")
            basis = f"{num:g}/{den:g}" if isinstance(num, int | float) and isinstance(den, int | float) and den else ""
            shown[key + "_why"] = item.get("reason") or basis
        shown["capacity_grade"] = row.get("capacity_grade") or "—"
        row["shown"] = shown
    return rows


@operator("unit_report_save")
def unit_report_save(ctx: OperatorContext, unit_key: str, unit_name: str, period: str, report: dict,
                     region_code: str | None = None, unit_kind: str = "county", due_at: Any = None) -> dict:
    """Insert or replace the F-20 月报 of one unit for one month (submitted now)."""
    if not unit_key:
        raise ValueError("unit_key 必填 / unit_key required")
    kpis.period_of(str(period)[:4], month=str(period)[5:7])  # validates "YYYY-MM"
    if not isinstance(report, dict):
        raise ValueError("report 应为字典 / report must be a dict")

    def count(name: str) -> int:
        value = report.get(name) or 0
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError(f"{name} 应为非负整数 / {name} must be a non-negative integer")
        return int(value)

    counts = {name: count(name) for name in ("leader_trips", "leader_enterprises_visited",
                                             "leader_investors_received")}  # validate before touching rows
    for name in ("trips", "work_info"):
        if not isinstance(report.get(name) or [], list):
            raise ValueError(f"{name} 应为列表 / {name} must be a list")
    row = ctx.session.scalars(select(UnitReport).where(UnitReport.unit_key == str(unit_key),
                                                       UnitReport.period == str(period))).first()
    if row is None:
        row = UnitReport(unit_key=str(unit_key), period=str(period))
        ctx.session.add(row)
    row.unit_name = str(unit_name or unit_key)[:128]
    row.unit_kind = unit_kind or "county"
    row.region_code = region_code or None
    for name, value in counts.items():
        setattr(row, name, value)
    row.trips = list(report.get("trips") or [])
    row.work_info = list(report.get("work_info") or [])
    row.problems = report.get("problems")
    row.due_at = parse_datetime(due_at, "due_at") if due_at not in (None, "") else None
    row.submitted_at = ctx.now
    row.instance_id = ctx.instance_id
    ctx.session.flush()
    on_time = row.due_at is None or row.submitted_at <= row.due_at
    return {"unit_report_id": row.id, "on_time": on_time}


@operator("visit_handled")
def visit_handled(ctx: OperatorContext, visit_id: Any, due_days: Any = None) -> dict:
    """Mark a visit handled (its routing ended: accepted by the chain lead / 交办 done / 转办 received)."""
    row = ctx.session.get(Visit, int(visit_id))
    if row is None:
        raise ValueError(f"来访记录不存在 / visit {visit_id} not found")
    row.handled_at = ctx.now
    row.status = "handled"
    ctx.session.flush()
    on_time = row.handling_due_at is None or row.handled_at <= row.handling_due_at
    return {"visit_id": row.id, "handled_at": row.handled_at.isoformat(), "on_time": on_time}



@operator("efficiency_review")
def efficiency_review(ctx: OperatorContext, region_codes: list | None = None) -> dict:
    """D13 效能评价 over the active projects of the given counties (all when empty), as of now:
    each project's snapshot through ``handlers/efficiency.efficiency_flags``; returns the flagged
    projects (封存候选 P06-A, 违约退出 P06-B, 下架) for the quarterly inspection report."""
    from app.models.domain import Project
    from app.services.domain.operators.projects import project_snapshot
    from handlers.efficiency import efficiency_flags

    stmt = select(Project.id).where(Project.status == "active").order_by(Project.id)
    if region_codes:
        stmt = stmt.where(Project.region_code.in_([str(r) for r in region_codes]))
    candidates = []
    for pid in ctx.session.scalars(stmt):
        snap = project_snapshot(ctx, pid)
        result = efficiency_flags(project=snap, as_of=ctx.now.date().isoformat())
        if result["codes"]:
            candidates.append({"project_id": pid, "project_name": snap["name"], "region_code": snap["region_code"],
                               "codes": result["codes"], "summary": result["summary"],
                               "seal_candidate": result["seal_candidate"], "breach_exit": result["breach_exit"],
                               "unpublish": result["unpublish"]})
    text = "\n".join(f"{c['project_name']}:{c['summary']}" for c in candidates) or "本季度无触发效能评价标记的项目"
    return {"candidates": candidates, "count": len(candidates), "text": text}


@operator("unit_reports_save")
def unit_reports_save(ctx: OperatorContext, reports: list, period: str, due_at: Any = None) -> dict:
    """Save the F-20 reports collected by ``unit_monthly_report``: each item ``{"unit", "unit_kind",
    "submitted_at", "report"}``; the submission time is the task's completion time, not this call's."""
    saved = []
    for item in reports or []:
        unit = item.get("unit") or {}
        result = unit_report_save(ctx, unit.get("unit_key") or unit.get("region_code"), unit.get("unit_name"),
                                  period, item.get("report") or {}, region_code=unit.get("region_code"),
                                  unit_kind=item.get("unit_kind") or "county", due_at=due_at)
        row = ctx.session.get(UnitReport, result["unit_report_id"])
        submitted = parse_datetime(item.get("submitted_at"), "submitted_at") if item.get("submitted_at") else None
        if submitted is not None:
            row.submitted_at = submitted
        saved.append({"unit_key": row.unit_key, "on_time": row.due_at is None or row.submitted_at <= row.due_at})
    ctx.session.flush()
    return {"count": len(saved), "late": [s["unit_key"] for s in saved if not s["on_time"]], "saved": saved}


@operator("seed_items")
def seed_items(ctx: OperatorContext, period: str, units: list[dict]) -> list[dict]:
    """The seed's 督查通报 items of one month for counties and 市直部门 (seed 二(十)): F-20 status
    (按时/迟报/未报/未到期), "一把手"外出招商, 外出招商信息, 来访企业 (from the register), 招商工作信息,
    and 目标任务 (产业类省外到位资金 YTD ÷ annual target). ``units``: ``{"unit_key", "unit_name",
    "unit_kind": "county"|"department", "region_code"?}``."""
    year, month = int(str(period)[:4]), int(str(period)[5:7])
    cfg = settings.values(ctx.session)
    out = []
    for u in units or []:
        key = str(u.get("unit_key") or u.get("region_code") or "")
        kind = u.get("unit_kind") or ("county" if u.get("region_code") else "department")
        scope = ({"region_code": u.get("region_code")} if kind == "county"
                 else {"responsible_unit": u.get("unit_name")})
        month_k = kpis.indicators(ctx.session, year, month=month, unit_key=key, cfg=cfg, as_of=ctx.now,
                                  **scope)["indicators"]
        ytd_k = kpis.indicators(ctx.session, year, month=month, unit_key=key, cfg=cfg, as_of=ctx.now, ytd=True,
                                **scope)["indicators"]
        row = ctx.session.scalars(select(UnitReport).where(UnitReport.unit_key == key,
                                                           UnitReport.period == str(period))).first()
        due = kpis._report_due(str(period), cfg)  # noqa: SLF001 - the one due-date rule
        if row is None:
            status = "未报" if ctx.now >= due else "未到期"
        else:
            status = "按时" if row.submitted_at <= (row.due_at or due) else "迟报"
        target = ytd_k["funds_target_rate"]
        out.append({
            "unit_key": key, "unit_name": u.get("unit_name") or key, "unit_kind": kind, "report_status": status,
            "leader_trips": row.leader_trips if row else 0, "trip_reports": len(row.trips or []) if row else 0,
            "work_info": len(row.work_info or []) if row else 0, "visits": int(month_k["visits"]["value"] or 0),
            "signed": int(month_k["signed_count"]["value"] or 0),
            "funds_target_rate": target["value"], "funds_target_reason": target["reason"],
        })
    return out
