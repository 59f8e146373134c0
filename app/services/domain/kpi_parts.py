"""Record groups of the KPIs (part of :mod:`app.services.domain.kpis`, which documents the counting
rules): warnings, F-20 reports, capacity, the bulletin/dashboard activity counts, meeting 交办 items,
联办协办 cases and the 优质项目流转 credit split. Plain functions taking a session and a
:class:`~app.services.domain.kpi_scope.Scope`; :func:`kpis.indicators` is the only caller."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import func, select

from app.models.assessment import UnitReport
from app.models.domain import LIGHTS, CapacityLedger, Complaint, Project, TimelineEvent
from app.models.domain_processes import ActionItem, FactorIssue, ProjectTransfer
from app.services.domain.kpi_scope import (
    CAPACITY_RATING_SCORE,
    WARNING_LIGHTS,
    Scope,
    add_months,
    as_aware,
    count_value,
    local_midnight,
    months_between,
    rate_value,
)


def warnings_rate(session, scope: Scope, start, end) -> dict:
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


def red_unrectified(session, scope: Scope, end, days: int) -> int:
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


def report_due(month: str, cfg: dict) -> dt.datetime:
    y, m = int(month[:4]), int(month[5:7])
    nxt = add_months(dt.date(y, m, 1), 1)
    day = int(cfg["deadline.monthly.report_day"])
    # due at the end of the due day, local time
    return local_midnight(dt.date(nxt.year, nxt.month, day) + dt.timedelta(days=1))


def monthly_reports(session, scope: Scope, period: dict, ytd: bool, cfg: dict, as_of) -> dict:
    months = months_between(dt.date(period["year"], 1, 1) if ytd else period["first"], period["next"])
    expected = [m for m in months if report_due(m, cfg) <= as_of]
    reports = {}
    if scope.unit_key and expected:
        reports = {r.period: r for r in session.scalars(select(UnitReport).where(
            UnitReport.unit_key == scope.unit_key, UnitReport.period.in_(expected)))}
    why = "本期尚无到期的月报" if not expected else ""
    if not scope.unit_key:
        why = "月报按单位统计,请指定县区或单位"
    on_time = [m for m in expected if m in reports and as_aware(reports[m].submitted_at) <= report_due(m, cfg)]
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


def capacity(session, scope: Scope, year: int, cfg: dict, end: dt.datetime) -> dict:
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



# ---------------------------------------------------------------------------------- bulletin / dashboard counts


def _count(session, stmt) -> int:
    return int(session.scalar(stmt) or 0)


def activity(session, scope: Scope, start: dt.datetime, end: dt.datetime) -> dict:
    """Counts of the window (新入库, 落地, 开工, 投诉受理/办结/满意) and the current light board
    (在推项目 by light — a state, not period-bound)."""
    out = {}
    for key, column in (("new_projects", Project.created_at), ("landed_count", Project.landed_at),
                        ("started_count", Project.started_at)):
        out[key] = count_value(_count(session, scope.projects(
            select(func.count(Project.id)).where(column >= start, column < end))))
    lights = dict.fromkeys(LIGHTS, 0)
    for light, n in session.execute(scope.projects(
            select(Project.light, func.count(Project.id)).where(Project.status == "active").group_by(Project.light))):
        lights[light] = lights.get(light, 0) + int(n)
    out["active_projects"] = count_value(sum(lights.values()))
    out["pipeline_investment_wan"] = count_value(round(float(session.scalar(scope.projects(
        select(func.sum(Project.planned_investment_wan)).where(Project.status == "active"))) or 0.0), 4))
    for light in LIGHTS:
        out[f"light_{light}_count"] = count_value(lights[light])
    received = select(func.count(Complaint.id)).where(Complaint.received_at >= start, Complaint.received_at < end)
    closed = select(func.count(Complaint.id)).where(
        Complaint.status == "closed", Complaint.closed_at >= start, Complaint.closed_at < end)
    out["complaints_received"] = count_value(_count(session, scope.complaints(received)))
    out["complaints_closed"] = count_value(_count(session, scope.complaints(closed)))
    out["complaints_satisfied"] = count_value(_count(session, scope.complaints(
        closed.where(Complaint.satisfied.is_(True)))))
    return out


# ---------------------------------------------------------------------------------- 交办 and 联办协办


def meeting_assignments(session, scope: Scope, start, end, as_of) -> list[tuple[dt.datetime, bool]]:
    """Meeting 交办 items (``action_item`` rows with a meeting, process ``meeting_assignments``) counted
    in the window: closed in it, or still open with their due date inside it and passed by ``as_of``.
    → ``[(due, on_time)]``; on time = fed back (handled) by the due date and closed (销号)."""
    stmt = select(ActionItem.due_at, ActionItem.fed_back_at, ActionItem.closed_at).where(
        ActionItem.meeting_id.is_not(None), ActionItem.due_at.is_not(None),
        ((ActionItem.closed_at >= start) & (ActionItem.closed_at < end))
        | (ActionItem.closed_at.is_(None) & (ActionItem.due_at >= start) & (ActionItem.due_at < end)))
    if scope.region_code:
        stmt = stmt.where(ActionItem.region_code == scope.region_code)
    if scope.responsible_unit:
        stmt = stmt.where(ActionItem.owner_unit == scope.responsible_unit)
    if scope.park_id is not None or scope.chain_code:
        stmt = stmt.where(ActionItem.project_id.in_(scope.projects(select(Project.id))))
    out = []
    for due, fed_back, closed in session.execute(stmt):
        due, closed = as_aware(due), as_aware(closed)
        if closed is None and due >= as_of:
            continue
        done = as_aware(fed_back) or closed
        out.append((due, closed is not None and done is not None and done <= due))
    return out


def joint_handling(session, scope: Scope, start, end, as_of) -> dict:
    """联办协办按期办结率 (K-I1, process ``joint_handling``): ``factor_issue`` cases whose (current) due
    date falls in the window and has passed by ``as_of`` or that are already closed; on time = closed
    by the due date. A 市直部门 scope counts the cases it handles (named in ``departments``)."""
    stmt = select(FactorIssue.due_at, FactorIssue.closed_at, FactorIssue.departments).where(
        FactorIssue.due_at >= start, FactorIssue.due_at < end)
    if scope.responsible_unit:
        dept = scope.responsible_unit
        scope = Scope(scope.region_code, scope.park_id, scope.chain_code, scope.unit_key)
    else:
        dept = None
    if scope.region_code or scope.park_id is not None or scope.chain_code:
        stmt = stmt.where(FactorIssue.project_id.in_(scope.projects(select(Project.id))))
    total = on_time = 0
    for due, closed, departments in session.execute(stmt):
        due, closed = as_aware(due), as_aware(closed)
        if dept is not None and dept not in (departments or []):
            continue
        if closed is None and due >= as_of:
            continue
        total += 1
        on_time += int(closed is not None and closed <= due)
    return rate_value(on_time, total, "本期无到期的联办协办事项")


# ---------------------------------------------------------------------------------- 优质项目流转


def transfer_shares(session, scope: Scope) -> tuple[dict[int, float], dict[int, float]]:
    """Credit shares of transferred projects for a county or 市直部门 scope.

    → ``(in_scope, extra)``: ``in_scope`` = {project id: share} for projects now in the scope that came
    by a completed transfer (the receiving share, 1 − origin %); ``extra`` = {project id: share} for
    projects that left the scope (the origin's share). The latest completed transfer of a project
    counts; other scopes (city, park, chain) count transferred projects whole."""
    if not (scope.region_code or scope.responsible_unit) or scope.park_id is not None or scope.chain_code:
        return {}, {}
    rows = session.execute(
        select(ProjectTransfer.project_id, ProjectTransfer.origin_region_code, ProjectTransfer.origin_unit,
               ProjectTransfer.credit_split_origin_pct, Project.region_code, Project.responsible_unit)
        .join(Project, Project.id == ProjectTransfer.project_id)
        .where(ProjectTransfer.status == "completed").order_by(ProjectTransfer.id)).all()
    latest = {r[0]: r for r in rows}
    in_scope: dict[int, float] = {}
    extra: dict[int, float] = {}
    for pid, origin_region, origin_unit, pct, region, unit in latest.values():
        origin_share = max(0.0, min(100.0, float(50.0 if pct is None else pct))) / 100
        if scope.region_code:
            here, came_from = region == scope.region_code, origin_region == scope.region_code
        else:
            here, came_from = unit == scope.responsible_unit, origin_unit == scope.responsible_unit
        if here and not came_from:
            in_scope[pid] = 1 - origin_share
        elif came_from and not here:
            extra[pid] = origin_share
    return in_scope, extra


# ---------------------------------------------------------------------------------- flat views


def bulletin_counts(result: dict) -> dict:
    """The monthly bulletin's / dashboard's flat view of one :func:`kpis.indicators` result: the same
    values under the names ``handlers/bulletin.py`` reads (no counting here). Rates as percentages
    (``*_pct``), ``None`` when nothing was due."""
    ind = result["indicators"]

    def v(key):
        return ind[key]["value"]

    def pct(key):
        return None if v(key) is None else round(v(key) * 100, 2)

    lights = {light: v(f"light_{light}_count") for light in LIGHTS}
    funds = {"省外": v("funds_out_of_province_wan"), "市外省内": v("funds_in_province_wan"),
             "市内": v("funds_local_wan")}
    return {
        "period": result["period"]["label"], "region_code": result["region_code"],
        "responsible_unit": result.get("responsible_unit"),
        "new_projects": v("new_projects"), "signed": v("signed_count"), "signed_amount_wan": v("signed_amount_wan"),
        "landed": v("landed_count"), "started": v("started_count"), "funds_total_wan": v("funds_arrived_wan"),
        "funds_out_of_province_wan": v("funds_out_of_province_wan"), "funds_by_origin": funds, "lights": lights,
        "green": lights["green"], "yellow": lights["yellow"], "red": lights["red"],
        "active_projects": v("active_projects"), "visits": v("visits"),
        "complaints_received": v("complaints_received"), "complaints_closed": v("complaints_closed"),
        "complaints_satisfied": v("complaints_satisfied"),
        "assignments_on_time_pct": pct("assignments_on_time_rate"),
        "joint_handling_on_time_pct": pct("joint_handling_on_time_rate"),
    }
