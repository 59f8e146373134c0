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
* 会议交办 (``action_item`` rows with a meeting, process ``meeting_assignments``): closed in the window,
  or open with the due date inside the window and passed; on time when fed back by the due date and
  closed. ``assignments_on_time_rate`` = (visitor 交办/转办 + meeting 交办 on time) ÷ (both counted);
  ``handling_timely_rate`` (交办与来访办理, scorecard K-V2/K-M3) counts every routed visit + meeting 交办;
* 联办协办 (``factor_issue``, process ``joint_handling``): ``joint_handling_on_time_rate`` = cases closed
  by their (current) due date ÷ cases due in the window (passed, or already closed); a 市直部门 counts
  the cases naming it among the factor departments (scorecard 本地联办协办按期办结率);
* 优质项目流转 (``project_transfer`` completed): a transferred project's **signed count and amount**
  (``signed_count``, ``signed_amount_wan``) are credited to the origin county/unit with the transfer's
  ``credit_split_origin_pct`` (the agreed split, default 50) and to the receiving one with the rest —
  fractional counts (0.5 个) are intended. City, park and chain scopes count it whole; other indicators
  count it where the project now is;
* bulletin/dashboard counts (新入库, 新落地, 新开工 in the window; 到位资金 by origin; 受理/办结/满意投诉)
  and the current light board (在推项目 by light, not period-bound); :func:`bulletin_counts` is their
  flat view for ``handlers/bulletin.py`` and the Excel export;
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
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import clock
from app.errors import Invalid
from app.models.assessment import AssessmentTarget
from app.models.domain import (
    CHAIN_LEADER_TAGS,
    TOP500_TAGS,
    Complaint,
    Enterprise,
    FundsArrival,
    Park,
    Project,
    StageRecord,
    Visit,
)
from app.services.domain import kpi_dept, kpi_parts
from app.services.domain import settings as settings_service
from app.services.domain.kpi_parts import bulletin_counts, capacity_grade  # noqa: F401  (re-exported)
from app.services.domain.kpi_parts import report_due as _report_due  # noqa: F401  (seed_items)
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
    labelled,
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
    signed_window = (Project.signed_at >= start, Project.signed_at < end)
    signed_rows = session.execute(scope.projects(
        select(Project.id, agreed_subquery(), Project.enterprise_id).where(*signed_window))).all()
    shares, extra = kpi_parts.transfer_shares(session, scope)
    credited = [(pid, float(a or 0), shares.get(pid, 1.0)) for pid, a, _ in signed_rows]
    if extra:
        credited += [(pid, float(a or 0), extra[pid]) for pid, a in session.execute(
            select(Project.id, agreed_subquery()).where(Project.id.in_(list(extra)), *signed_window))]
    tags: dict[int, list] = {}
    ent_ids = {e for *_, e in signed_rows if e is not None}
    if ent_ids:
        tags = {eid: list(rt or []) for eid, rt in session.execute(
            select(Enterprise.id, Enterprise.rank_tags).where(Enterprise.id.in_(ent_ids)))}
    top_tags = set(TOP500_TAGS) | set(CHAIN_LEADER_TAGS)
    signed_total = round(sum(share for *_, share in credited), 4)  # fractional only with a 流转 split
    out["signed_count"] = count_value(int(signed_total) if float(signed_total).is_integer() else signed_total)
    out["signed_amount_wan"] = count_value(round(sum(a * share for _, a, share in credited), 4))
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
    by_origin = dict.fromkeys(("省外", "市外省内", "市内"), 0.0)
    industrial_out_evidenced = 0.0
    for origin, industrial, evidence, amount in session.execute(funds_stmt):
        amount = float(amount or 0)
        by_origin[origin] = by_origin.get(origin, 0.0) + amount
        if origin == "省外" and industrial and evidence:
            industrial_out_evidenced += amount
    out["funds_arrived_wan"] = count_value(round(sum(by_origin.values()), 4))
    out["funds_out_of_province_wan"] = count_value(round(by_origin["省外"], 4))
    out["funds_in_province_wan"] = count_value(round(by_origin["市外省内"], 4))
    out["funds_local_wan"] = count_value(round(by_origin["市内"], 4))
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
    out["warning_rectified_rate"] = kpi_parts.warnings_rate(session, scope, start, end)
    out["start_overdue_count"] = count_value(int(session.scalar(scope.projects(
        select(func.count(Project.id)).join(StageRecord, StageRecord.project_id == Project.id)
        .where(Project.status == "active", StageRecord.stage == "S7_START", StageRecord.completed_at.is_(None),
               StageRecord.light == "red"))) or 0))
    out["red_unrectified_count"] = count_value(kpi_parts.red_unrectified(session, scope, end, int(cfg["kpi.red_unrectified_days"])))

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
    assigned = [h is not None and h <= due for rt, due, h in counted if rt in ("交办", "转办")]
    meeting = [ok for _, ok in kpi_parts.meeting_assignments(session, scope, start, end, as_of)]
    out["meeting_assignments_on_time_rate"] = rate_value(sum(meeting), len(meeting), "本期无到期的会议交办事项")
    out["assignments_on_time_rate"] = rate_value(sum(assigned) + sum(meeting), len(assigned) + len(meeting),
                                                 "本期无到期的交办/转办及会议交办事项")
    visit_ok = [h is not None and h <= due for _, due, h in counted]
    out["handling_timely_rate"] = rate_value(sum(visit_ok) + sum(meeting), len(visit_ok) + len(meeting),
                                             "本期无到期的交办与来访办理事项")

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
    out["joint_handling_on_time_rate"] = kpi_parts.joint_handling(session, scope, start, end, as_of)
    out.update(kpi_parts.activity(session, scope, start, end))

    # -- F-20 monthly reports
    out.update(kpi_parts.monthly_reports(session, scope, period, ytd, cfg, as_of))

    # -- capacity
    out["capacity_index"] = kpi_parts.capacity(session, scope, period["year"], cfg, end)

    labelled(out, LABELS)
    return {"region_code": scope.region_code, "park_id": scope.park_id, "chain_code": scope.chain_code,
            "unit_key": scope.unit_key, "responsible_unit": scope.responsible_unit,
            "period": {"label": period["label"], "kind": period["kind"], "year": period["year"],
                       "quarter": period["quarter"], "month": period["month"],
                       "start": start.isoformat(), "end": end.isoformat(), "ytd": bool(ytd)},
            "value_kind": "fraction", "indicators": out}


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
    "issue_timely_pct": "joint_handling_on_time_rate", "assignments_on_time_pct": "assignments_on_time_rate",
}
# the 产业链牵头单位 / 要素保障部门 profiles (kpi_dept.py): only present for those departments
PROFILE_RATES = {
    "chain_signed_target_pct": "chain_signed_target_rate", "chain_landing_start_pct": "chain_landing_start_rate",
    "target_library_docking_pct": "target_library_docking_rate",
    "visit_intake_conversion_pct": "visit_intake_conversion_rate", "info_meeting_pct": "info_meeting_rate",
    "consult_on_time_pct": "consult_on_time_rate", "capacity_ledger_timely_pct": "capacity_ledger_timely_rate",
    "escalation_rate_pct": "escalation_rate", "service_rating_pct": "service_rating_rate",
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
    for key, src in PROFILE_RATES.items():
        if src in ind:
            item = ind[src]
            unit[key] = None if item["value"] is None else round(item["value"] * 100, 4)
            if item["value"] is None:
                reasons[key] = item.get("reason") or "无记录"
    for key, src in SCORECARD_COUNTS.items():
        unit[key] = int(ind[src]["value"] or 0)
    if "chain_big_count" in ind:
        unit["chain_big_count"] = int(ind["chain_big_count"]["value"] or 0)
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
        as_of = clock.now()
        kpi = indicators(session, year, quarter, region_code=region, park_id=u.get("park_id"),
                         chain_code=u.get("chain_code"), unit_key=key, ytd=True, cfg=cfg,
                         responsible_unit=u.get("responsible_unit"), as_of=as_of)
        kind = u.get("unit_kind") or ("department" if u.get("responsible_unit") else "county")
        profile, chains = ("county", []) if kind != "department" else kpi_dept.profile_of(session, key)
        if kind == "department":
            period = kpi["period"]
            kpi["indicators"].update(kpi_dept.profile_indicators(
                session, profile, chains, key, u.get("responsible_unit") or u.get("unit_name") or key, period["year"],
                dt.datetime.fromisoformat(period["start"]), dt.datetime.fromisoformat(period["end"]), as_of, cfg,
                kpi["indicators"]))
        row = scorecard_inputs(kpi)
        row.update({"unit_key": key, "unit_name": u.get("unit_name") or key, "region_code": region,
                    "unit_kind": kind, "profile": profile, "chains": chains,
                    "responsible_unit": u.get("responsible_unit")})
        row["kpis"] = {k: {f: v.get(f) for f in ("label", "value", "numerator", "denominator", "unit", "reason")}
                       for k, v in kpi["indicators"].items()}
        out.append(row)
    return out


def parks_of(session: Session, region_code: str | None = None) -> list[dict]:
    stmt = select(Park.id, Park.name, Park.region_code).order_by(Park.id)
    if region_code:
        stmt = stmt.where(Park.region_code == region_code)
    return [{"id": i, "name": n, "region_code": r} for i, n, r in session.execute(stmt)]
