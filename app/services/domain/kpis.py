"""KPIs computed from the platform's records — the one query module behind the scorecards, the
dashboards' league table, the monthly bulletin and ``GET /api/v1/kpis`` (issue #12; reference §4.1–4.2).

``indicators(session, year, quarter=None, month=None, region_code=None, park_id=None, chain_code=None)``
returns::

    {"region_code", "park_id", "chain_code", "unit_key", "period": {"label", "kind", "year", "quarter",
     "month", "start", "end"}, "value_kind": "fraction",
     "indicators": {key: {"label", "value", "numerator", "denominator", "unit", "reason"}}}

``value`` of a rate is a **fraction** (0–1, ``unit: "fraction"``), = numerator / denominator; counts
(``unit: "个"``) and amounts (``unit: "万元"``) have ``value == numerator`` and ``denominator: None``.
When a rate has no records to count (denominator 0, no target, no ledger), ``value`` is ``None`` and
``reason`` says why; the scorecard scores such an indicator **0** and shows the reason — it is never
left out and the rest renormalised.

Counting rules (§4.1; thresholds and cohort length are settings, ``kpi.*``):

* cohort rates (落地率, 开工率, 资金到位率): projects signed from 1 January of ``year − cohort_years + 1``
  to the end of the period; exited projects stay in, sealed ones never signed; 资金到位率 counts only
  funds arrivals with evidence (F-12 凭证), up to the period's last month;
* period counts (签约, 亿元以上, 10亿/50亿, 500强/链主): signed within the window — the period itself, or
  1 January to the period end with ``ytd=True`` (what the scorecards use: 序时进度 targets);
* targets (到位资金目标完成率, 亿元以上项目数完成率) come from ``assessment_target`` (the office's annual
  targets for the unit); 产业类 省外 evidence-backed funds only;
* 转段及时率: stage records completed in the window, on time when completed by their planned due;
  预警整改率: yellow/red lights raised in the window that went back to green or whose stage was passed
  before the period end;
* visits: 登记及时 when registered within ``kpi.visit_register_wd`` working days of the visit; handled
  when ``visit.handled_at`` is set (the routing ended); 交办/转办 on time when handled by its due;
* complaints: closed in the window, or still open past a due date inside the window; on time when closed
  by the due date; 满意率 = satisfied ÷ closed with an answer;
* F-20 月报 (``unit_report``): one report expected per month of the window whose due date (the
  ``deadline.monthly.report_day`` of the next month, local time) has passed; 报送率 = submitted ÷ expected,
  迟报/未报 (the penalty count) = expected − submitted on time — lateness is punished once, by the penalty;
  "一把手"招商 / 外出招商信息 / 招商工作信息 = months meeting the ``kpi.*_per_month`` requirement ÷ months expected;
* scopes: a county (``region_code``), a park, a chain, or a 市直部门 (``responsible_unit`` = its name: the
  projects it is responsible for, the visits routed to it, the complaints it handles);
* 承载能力: the unit's latest capacity ledger of the year recorded before the period end (D11 ratings), composite index with the
  ``capacity.weights`` and grade with ``capacity.bands`` (优/良/中/差).

Times are compared in UTC against local (UTC+8) period bounds, as in :mod:`queries`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import clock
from app.errors import Invalid
from app.models.assessment import AssessmentTarget, UnitReport
from app.models.domain import (
    CHAIN_LEADER_TAGS,
    TOP500_TAGS,
    CapacityLedger,
    Complaint,
    Enterprise,
    FundsArrival,
    Park,
    Project,
    StageRecord,
    TimelineEvent,
    Visit,
)
from app.services.domain import settings as settings_service
from app.services.domain.kpi_scope import (  # noqa: F401  (re-exported: the KPI vocabulary)
    CAPACITY_RATING_SCORE,
    LABELS,
    WARNING_LIGHTS,
    Scope,
    add_months,
    agreed_subquery,
    as_aware,
    count_value,
    kpi_scope_for,
    local_midnight,
    months_between,
    period_of,
    rate_value,
)
from app.services.domain.queries import LOCAL_TZ


def indicators(session: Session, year: Any, quarter: Any = None, month: Any = None, *, region_code: str | None = None,
               park_id: Any = None, chain_code: str | None = None, unit_key: str | None = None, ytd: bool = False,
               cfg: dict | None = None, as_of: dt.datetime | None = None, responsible_unit: str | None = None) -> dict:
    """All indicators of one scope and period (see the module docstring for the rules)."""
    period = period_of(year, quarter, month)
    cfg = cfg if cfg is not None else settings_service.values(session)
    scope = Scope(region_code, park_id, chain_code, unit_key, responsible_unit)
    as_of = as_of or clock.now()
    start = local_midnight(dt.date(period["year"], 1, 1) if ytd else period["first"])
    end = local_midnight(period["next"])
    last_month = months_between(period["first"], period["next"])[-1]
    out: dict[str, dict] = {}

    # -- cohort rates
    cohort_from = local_midnight(dt.date(period["year"] - int(cfg["kpi.cohort_years"]) + 1, 1, 1))
    cohort = session.execute(scope.projects(
        select(Project.id, Project.landed_at, Project.started_at, agreed_subquery())
        .where(Project.signed_at >= cohort_from, Project.signed_at < end))).all()
    signed_n = len(cohort)
    landed = sum(1 for _, la, _, _ in cohort if la is not None and as_aware(la) < end)
    started = sum(1 for _, _, st, _ in cohort if st is not None and as_aware(st) < end)
    why = f"{cohort_from.astimezone(LOCAL_TZ):%Y}年以来无签约项目(分母为0)"
    out["landing_rate"] = rate_value(landed, signed_n, why)
    out["start_rate"] = rate_value(started, signed_n, why)
    agreed_total = sum(float(a or 0) for *_, a in cohort)
    funds_total = 0.0
    if cohort:
        funds_total = float(session.scalar(select(func.sum(FundsArrival.amount_wan)).where(
            FundsArrival.project_id.in_([c[0] for c in cohort]), FundsArrival.period <= last_month,
            FundsArrival.evidence.is_not(None), FundsArrival.evidence != "")) or 0.0)
    out["funds_arrival_rate"] = rate_value(round(funds_total, 4), round(agreed_total, 4), why)

    # -- signings in the window
    signed_rows = session.execute(scope.projects(
        select(Project.id, agreed_subquery(), Project.enterprise_id)
        .where(Project.signed_at >= start, Project.signed_at < end))).all()
    tags: dict[int, list] = {}
    ent_ids = {e for *_, e in signed_rows if e is not None}
    if ent_ids:
        tags = {eid: list(rt or []) for eid, rt in session.execute(
            select(Enterprise.id, Enterprise.rank_tags).where(Enterprise.id.in_(ent_ids)))}
    top_tags = set(TOP500_TAGS) | set(CHAIN_LEADER_TAGS)
    out["signed_count"] = count_value(len(signed_rows))
    out["signed_amount_wan"] = count_value(round(sum(float(a or 0) for _, a, _ in signed_rows), 4))
    n_1e8 = sum(1 for _, a, _ in signed_rows if float(a or 0) >= float(cfg["kpi.signed_1e8_wan"]))
    out["major_projects"] = count_value(n_1e8)
    out["big_10e8_count"] = count_value(sum(1 for _, a, _ in signed_rows if float(a or 0) >= float(cfg["kpi.big_10e8_wan"])))
    out["big_50e8_count"] = count_value(sum(1 for _, a, _ in signed_rows if float(a or 0) >= float(cfg["kpi.big_50e8_wan"])))
    out["top_firm_count"] = count_value(sum(1 for _, _, e in signed_rows if e is not None and set(tags.get(e, [])) & top_tags))

    # -- funds in the window, and the targets
    first_month = months_between(dt.date(period["year"], 1, 1) if ytd else period["first"], period["next"])[0]
    funds_stmt = scope.projects(
        select(FundsArrival.origin, Project.is_industrial, FundsArrival.evidence, func.sum(FundsArrival.amount_wan))
        .join(Project, Project.id == FundsArrival.project_id)
        .where(FundsArrival.period >= first_month, FundsArrival.period <= last_month)
        .group_by(FundsArrival.origin, Project.is_industrial, FundsArrival.evidence))
    total = out_prov = industrial_out_evidenced = 0.0
    for origin, industrial, evidence, amount in session.execute(funds_stmt):
        amount = float(amount or 0)
        total += amount
        if origin == "省外":
            out_prov += amount
            if industrial and evidence:
                industrial_out_evidenced += amount
    out["funds_arrived_wan"] = count_value(round(total, 4))
    out["funds_out_of_province_wan"] = count_value(round(out_prov, 4))
    target = None
    if scope.unit_key:
        target = session.scalars(select(AssessmentTarget).where(
            AssessmentTarget.unit_key == scope.unit_key, AssessmentTarget.year == period["year"])).first()
    if target is not None and target.funds_target_wan:
        out["funds_target_rate"] = rate_value(round(industrial_out_evidenced, 4), float(target.funds_target_wan), "")
    else:
        out["funds_target_rate"] = {"value": None, "numerator": round(industrial_out_evidenced, 4), "denominator": None,
                                    "reason": "未下达年度到位资金目标"}
    if target is not None and target.signed_1e8_target:
        out["signed_1e8_rate"] = rate_value(n_1e8, int(target.signed_1e8_target), "")
    else:
        out["signed_1e8_rate"] = {"value": None, "numerator": n_1e8, "denominator": None,
                                  "reason": "未下达亿元以上签约项目数目标"}

    # -- process management: stages and warnings
    stage_rows = session.execute(scope.projects(
        select(StageRecord.completed_at, StageRecord.planned_due)
        .join(Project, Project.id == StageRecord.project_id)
        .where(StageRecord.completed_at >= start, StageRecord.completed_at < end))).all()
    on_time = sum(1 for done, due in stage_rows if due is None or as_aware(done) <= as_aware(due))
    out["on_time_transition_rate"] = rate_value(on_time, len(stage_rows), "本期无转段记录")
    out["warning_rectified_rate"] = _warnings(session, scope, start, end)
    out["start_overdue_count"] = count_value(int(session.scalar(scope.projects(
        select(func.count(Project.id)).join(StageRecord, StageRecord.project_id == Project.id)
        .where(Project.status == "active", StageRecord.stage == "S7_START", StageRecord.completed_at.is_(None),
               StageRecord.light == "red"))) or 0))
    out["red_unrectified_count"] = count_value(_red_unrectified(session, scope, end, int(cfg["kpi.red_unrectified_days"])))

    # -- visits and 交办/转办
    visit_rows = session.execute(scope.visits(
        select(Visit.visit_date, Visit.created_at, Visit.routing_type, Visit.handling_due_at, Visit.handled_at)
        .where(Visit.visit_date >= period["first"] if not ytd else Visit.visit_date >= dt.date(period["year"], 1, 1),
               Visit.visit_date < period["next"]))).all()
    holidays, workdays = cfg["calendar.holidays"], cfg["calendar.workdays"]
    reg_limit = int(cfg["kpi.visit_register_wd"])
    timely = sum(1 for day, created, *_ in visit_rows
                 if settings_service.working_days_between(
                     day, as_aware(created).astimezone(LOCAL_TZ).date(), holidays, workdays) <= reg_limit)
    out["visits"] = count_value(len(visit_rows))
    out["visit_register_timely_rate"] = rate_value(timely, len(visit_rows), "本期无来访企业")
    handled = sum(1 for *_, h in visit_rows if h is not None and as_aware(h) < end)
    out["visits_handled_rate"] = rate_value(handled, len(visit_rows), "本期无来访企业")
    due_rows = [(rt, as_aware(due), as_aware(h)) for _, _, rt, due, h in visit_rows if due is not None]
    counted = [(rt, due, h) for rt, due, h in due_rows if (h is not None and h < end) or due < min(end, as_of)]
    assigned = [(rt, due, h) for rt, due, h in counted if rt in ("交办", "转办")]
    out["assignments_on_time_rate"] = rate_value(sum(1 for _, due, h in assigned if h is not None and h <= due),
                                            len(assigned), "本期无到期的交办/转办事项")
    out["handling_timely_rate"] = rate_value(sum(1 for _, due, h in counted if h is not None and h <= due),
                                        len(counted), "本期无到期的交办与来访办理事项")

    # -- complaints
    comp_rows = session.execute(scope.complaints(
        select(Complaint.status, Complaint.due_at, Complaint.closed_at, Complaint.satisfied)
        .where(((Complaint.closed_at >= start) & (Complaint.closed_at < end))
               | ((Complaint.closed_at.is_(None)) & (Complaint.due_at >= start) & (Complaint.due_at < end))))).all()
    counted_c = [(st, as_aware(due), as_aware(closed), sat) for st, due, closed, sat in comp_rows
                 if closed is not None or as_aware(due) < as_of]
    out["complaints_on_time_rate"] = rate_value(
        sum(1 for _, due, closed, _ in counted_c if closed is not None and (due is None or closed <= due)),
        len(counted_c), "本期无办结或到期的投诉")
    answered = [sat for _, _, closed, sat in counted_c if closed is not None and sat is not None]
    out["complaint_satisfaction_rate"] = rate_value(sum(1 for s in answered if s), len(answered), "本期无投诉满意度评价")
    out["issue_timely_rate"] = _joint_handling(session, scope, start, end)

    # -- F-20 monthly reports
    out.update(_monthly_reports(session, scope, period, ytd, cfg, as_of))

    # -- capacity
    out["capacity_index"] = _capacity(session, scope, period["year"], cfg, end)

    for key, item in out.items():
        label, unit = LABELS[key]
        item.setdefault("label", label)
        item.setdefault("unit", unit)
        if item.get("value") is not None and unit == "fraction":
            item["value"] = round(item["value"], 6)
    return {"region_code": scope.region_code, "park_id": scope.park_id, "chain_code": scope.chain_code,
            "unit_key": scope.unit_key, "responsible_unit": scope.responsible_unit,
            "period": {"label": period["label"], "kind": period["kind"], "year": period["year"],
                       "quarter": period["quarter"], "month": period["month"],
                       "start": start.isoformat(), "end": end.isoformat(), "ytd": bool(ytd)},
            "value_kind": "fraction", "indicators": out}


def _warnings(session, scope: Scope, start, end) -> dict:
    """Yellow/red lights raised in the window; rectified = back to green (or the stage passed) before ``end``."""
    project_ids = scope.projects(select(Project.id))
    raised = session.execute(select(TimelineEvent.project_id, TimelineEvent.at, TimelineEvent.detail).where(
        TimelineEvent.kind == "light", TimelineEvent.at >= start, TimelineEvent.at < end,
        TimelineEvent.project_id.in_(project_ids))).all()
    raised = [(pid, as_aware(at)) for pid, at, detail in raised if (detail or {}).get("to") in WARNING_LIGHTS]
    if not raised:
        return rate_value(0, 0, "本期无黄/红灯预警")
    later = defaultdict(list)
    for pid, at, kind, detail in session.execute(select(
            TimelineEvent.project_id, TimelineEvent.at, TimelineEvent.kind, TimelineEvent.detail).where(
            TimelineEvent.project_id.in_({p for p, _ in raised}), TimelineEvent.kind.in_(("light", "stage")),
            TimelineEvent.at < end)):
        if kind == "stage" or (detail or {}).get("to") == "green":
            later[pid].append(as_aware(at))
    fixed = sum(1 for pid, at in raised if any(t > at for t in later[pid]))
    return rate_value(fixed, len(raised), "")


def _joint_handling(session, scope: Scope, start, end) -> dict:
    """联办协办按期办结率 from the project timeline: events ``kind == "joint_handling"`` with
    ``detail = {"case_id", "due_at", "closed_at"}`` (ISO), written when a 联办协办 case closes
    (docs/CONTRACTS.md "Assessment records"); on time when closed by its due date."""
    rows = session.execute(select(TimelineEvent.detail).where(
        TimelineEvent.kind == "joint_handling", TimelineEvent.project_id.in_(scope.projects(select(Project.id))))).all()
    total = on_time = 0
    for (detail,) in rows:
        detail = detail or {}
        try:
            closed = as_aware(dt.datetime.fromisoformat(str(detail.get("closed_at"))))
        except ValueError:
            continue
        if not start <= closed < end:
            continue
        total += 1
        due = detail.get("due_at")
        if not due or closed <= as_aware(dt.datetime.fromisoformat(str(due))):
            on_time += 1
    return rate_value(on_time, total, "本期无办结的联办协办事项")


def _red_unrectified(session, scope: Scope, end, days: int) -> int:
    """Active red projects whose (last) red light is older than ``days`` at ``end``."""
    reds = session.execute(scope.projects(select(Project.id).where(
        Project.status == "active", Project.light == "red"))).scalars().all()
    if not reds:
        return 0
    n = 0
    for pid in reds:
        last = session.scalar(select(func.max(TimelineEvent.at)).where(
            TimelineEvent.project_id == pid, TimelineEvent.kind == "light", TimelineEvent.at < end))
        if last is not None and as_aware(last) <= end - dt.timedelta(days=days):
            n += 1
    return n


def _report_due(month: str, cfg: dict) -> dt.datetime:
    y, m = int(month[:4]), int(month[5:7])
    nxt = add_months(dt.date(y, m, 1), 1)
    day = int(cfg["deadline.monthly.report_day"])
    # due at the end of the due day, local time
    return local_midnight(dt.date(nxt.year, nxt.month, day) + dt.timedelta(days=1))


def _monthly_reports(session, scope: Scope, period: dict, ytd: bool, cfg: dict, as_of) -> dict:
    months = months_between(dt.date(period["year"], 1, 1) if ytd else period["first"], period["next"])
    expected = [m for m in months if _report_due(m, cfg) <= as_of]
    reports = {}
    if scope.unit_key and expected:
        reports = {r.period: r for r in session.scalars(select(UnitReport).where(
            UnitReport.unit_key == scope.unit_key, UnitReport.period.in_(expected)))}
    why = "本期尚无到期的月报" if not expected else ""
    if not scope.unit_key:
        why = "月报按单位统计,请指定县区或单位"
    on_time = [m for m in expected if m in reports and as_aware(reports[m].submitted_at) <= _report_due(m, cfg)]
    submitted = [m for m in expected if m in reports]
    n = len(expected) if scope.unit_key else 0
    leader = sum(1 for m in expected if m in reports and reports[m].leader_trips >= int(cfg["kpi.leader_trips_per_month"]))
    trips = sum(1 for m in expected if m in reports and len(reports[m].trips or []) >= int(cfg["kpi.trips_per_month"]))
    info = sum(1 for m in expected if m in reports and len(reports[m].work_info or []) >= int(cfg["kpi.work_info_per_month"]))
    return {
        "monthly_report_timely_rate": rate_value(len(submitted), n, why),
        "late_report_count": count_value(n - len(on_time)),
        "leader_investment_rate": rate_value(leader, n, why),
        "trip_info_rate": rate_value(trips, n, why),
        "work_info_rate": rate_value(info, n, why),
    }


def capacity_grade(index: float | None, bands: dict) -> str | None:
    if index is None:
        return None
    for word in ("优", "良", "中"):
        if index >= float(bands[word]):
            return word
    return "差"


def _capacity(session, scope: Scope, year: int, cfg: dict, end: dt.datetime) -> dict:
    if not scope.region_code:
        return {"value": None, "numerator": None, "denominator": None, "grade": None,
                "reason": "承载能力按县区/园区评估,请指定县区"}
    stmt = select(CapacityLedger.period, CapacityLedger.factor, CapacityLedger.rating).where(
        CapacityLedger.region_code == scope.region_code, CapacityLedger.period.like(f"{year}%"),
        CapacityLedger.updated_at < end,
        CapacityLedger.park_id.is_(None) if scope.park_id is None else CapacityLedger.park_id == scope.park_id)
    rows = session.execute(stmt).all()
    if not rows:
        return {"value": None, "numerator": None, "denominator": None, "grade": None,
                "reason": f"截至期末无{year}年承载能力评估台账"}
    latest = max(p for p, _, _ in rows)
    weights = cfg["capacity.weights"]
    num = den = 0.0
    for p, factor, rating in rows:
        if p != latest or rating not in CAPACITY_RATING_SCORE:
            continue
        w = float(weights.get(factor, 0))
        num += w * CAPACITY_RATING_SCORE[rating]
        den += w
    index = round(num / den, 2) if den else None
    return {"value": index, "numerator": round(num, 4), "denominator": den, "period": latest,
            "grade": capacity_grade(index, cfg["capacity.bands"]),
            "reason": None if index is not None else f"{latest} 台账无有效评级"}


# ---------------------------------------------------------------------------------- scorecard inputs

# scorecard input key (handlers/scorecard.py, percentages) ← KPI key (fraction)
SCORECARD_RATES = {
    "funds_target_rate_pct": "funds_target_rate", "signed_1e8_rate_pct": "signed_1e8_rate",
    "landing_rate_pct": "landing_rate", "start_rate_pct": "start_rate", "funds_arrival_rate_pct": "funds_arrival_rate",
    "on_time_transition_rate_pct": "on_time_transition_rate", "warning_rectified_rate_pct": "warning_rectified_rate",
    "monthly_report_timely_pct": "monthly_report_timely_rate", "leader_investment_pct": "leader_investment_rate",
    "trip_info_pct": "trip_info_rate", "visit_report_timely_pct": "visit_register_timely_rate",
    "work_info_pct": "work_info_rate", "handling_timely_pct": "handling_timely_rate",
    "complaint_timely_pct": "complaints_on_time_rate", "complaint_satisfaction_pct": "complaint_satisfaction_rate",
    "issue_timely_pct": "issue_timely_rate",
}
SCORECARD_COUNTS = {"big_10e8_count": "big_10e8_count", "top_firm_count": "top_firm_count",
                    "big_50e8_count": "big_50e8_count", "start_overdue_count": "start_overdue_count",
                    "red_unrectified_count": "red_unrectified_count", "late_report_count": "late_report_count"}


def scorecard_inputs(kpi: dict) -> dict:
    """The indicator dict ``handlers/scorecard.py`` scores, from :func:`indicators` (computed, read-only),
    with ``reasons`` for every indicator that has no value (it scores 0)."""
    ind = kpi["indicators"]
    unit: dict[str, Any] = {}
    reasons: dict[str, str] = {}
    for key, src in SCORECARD_RATES.items():
        item = ind[src]
        unit[key] = None if item["value"] is None else round(item["value"] * 100, 4)
        if item["value"] is None:
            reasons[key] = item.get("reason") or "无记录"
    for key, src in SCORECARD_COUNTS.items():
        unit[key] = int(ind[src]["value"] or 0)
    cap = ind["capacity_index"]
    unit["capacity_grade"] = cap.get("grade")
    unit["capacity_index"] = cap.get("value")
    if cap.get("grade") is None:
        reasons["capacity_grade"] = cap.get("reason") or "无承载能力评估结果"
    unit["reasons"] = reasons
    return unit


def unit_scorecard_inputs(session: Session, units: list[dict], year: int, quarter: int | None = None,
                          cfg: dict | None = None) -> list[dict]:
    """Scorecard inputs of each unit (``{"region_code"|"unit_key", "unit_name"}``), YTD to the period end."""
    cfg = cfg if cfg is not None else settings_service.values(session)
    out = []
    for u in units or []:
        if not isinstance(u, dict):
            raise Invalid("每个考核对象应为对象 / each unit must be an object")
        region = u.get("region_code")
        key = str(u.get("unit_key") or region or "")
        if not key:
            raise Invalid("考核对象需要 region_code 或 unit_key / each unit needs region_code or unit_key")
        kpi = indicators(session, year, quarter, region_code=region, park_id=u.get("park_id"),
                         chain_code=u.get("chain_code"), unit_key=key, ytd=True, cfg=cfg,
                         responsible_unit=u.get("responsible_unit"))
        row = scorecard_inputs(kpi)
        row.update({"unit_key": key, "unit_name": u.get("unit_name") or key, "region_code": region})
        row["kpis"] = {k: {f: v.get(f) for f in ("label", "value", "numerator", "denominator", "unit", "reason")}
                       for k, v in kpi["indicators"].items()}
        out.append(row)
    return out


def parks_of(session: Session, region_code: str | None = None) -> list[dict]:
    stmt = select(Park.id, Park.name, Park.region_code).order_by(Park.id)
    if region_code:
        stmt = stmt.where(Park.region_code == region_code)
    return [{"id": i, "name": n, "region_code": r} for i, n, r in session.execute(stmt)]
