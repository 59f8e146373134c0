"""Periods, scopes and small helpers shared by the KPI queries (see :mod:`app.services.domain.kpis`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import Invalid, NotFound
from app.models.domain import (
    Agreement,
    Chain,
    Complaint,
    Park,
    Project,
    Visit,
)
from app.services.access import check_region, user_region
from app.services.domain.queries import LOCAL_TZ

CAPACITY_RATING_SCORE = {"充足": 100, "紧张": 60, "不足": 20}
WARNING_LIGHTS = ("yellow", "red")

LABELS: dict[str, tuple[str, str]] = {
    "landing_rate": ("项目落地率", "fraction"),
    "start_rate": ("开工率", "fraction"),
    "funds_arrival_rate": ("资金到位率", "fraction"),
    "funds_target_rate": ("产业类省外到位资金目标完成率", "fraction"),
    "signed_1e8_rate": ("新签约亿元以上项目数完成率", "fraction"),
    "signed_count": ("新签约项目数", "个"),
    "signed_amount_wan": ("协议投资额", "万元"),
    "major_projects": ("亿元以上新签约项目", "个"),
    "big_10e8_count": ("10亿元以上新签约项目", "个"),
    "big_50e8_count": ("50亿元以上新签约项目", "个"),
    "top_firm_count": ("500强/链主企业新签约项目", "个"),
    "funds_arrived_wan": ("实际到位资金", "万元"),
    "funds_out_of_province_wan": ("省外到位资金", "万元"),
    "on_time_transition_rate": ("转段及时率", "fraction"),
    "warning_rectified_rate": ("预警整改率", "fraction"),
    "start_overdue_count": ("超时限未开工项目", "个"),
    "red_unrectified_count": ("红灯超期未整改项目", "个"),
    "visits": ("来访企业数", "个"),
    "visit_register_timely_rate": ("来访企业登记(报告)及时率", "fraction"),
    "visits_handled_rate": ("来访企业办结率", "fraction"),
    "assignments_on_time_rate": ("交办/转办及会议交办按期办结率", "fraction"),
    "handling_timely_rate": ("交办与来访办理及时率", "fraction"),
    "complaints_on_time_rate": ("投诉按期办结率", "fraction"),
    "complaint_satisfaction_rate": ("投诉满意率", "fraction"),
    "joint_handling_on_time_rate": ("联办协办按期办结率", "fraction"),
    "meeting_assignments_on_time_rate": ("会议交办事项按期办结率", "fraction"),
    "new_projects": ("新入库项目数", "个"),
    "landed_count": ("新落地项目数", "个"),
    "started_count": ("新开工项目数", "个"),
    "funds_in_province_wan": ("市外省内到位资金", "万元"),
    "funds_local_wan": ("市内到位资金", "万元"),
    "active_projects": ("在推项目数(当前)", "个"),
    "pipeline_investment_wan": ("在推项目计划总投资(当前)", "万元"),
    "light_green_count": ("绿灯项目(当前)", "个"),
    "light_blue_count": ("蓝灯项目(当前)", "个"),
    "light_yellow_count": ("黄灯项目(当前)", "个"),
    "light_red_count": ("红灯项目(当前)", "个"),
    "complaints_received": ("受理投诉", "件"),
    "complaints_closed": ("办结投诉", "件"),
    "complaints_satisfied": ("满意件数", "件"),
    "monthly_report_timely_rate": ("月报报送率(迟报另行扣分)", "fraction"),
    "late_report_count": ("月报迟报/未报(次)", "次"),
    "leader_investment_rate": ("“一把手”招商达标率", "fraction"),
    "trip_info_rate": ("外出招商信息报告达标率", "fraction"),
    "work_info_rate": ("招商工作信息报告达标率", "fraction"),
    "capacity_index": ("承载指数", "分"),
}


# ---------------------------------------------------------------------------------- periods


def local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ).astimezone(dt.UTC)


def add_months(day: dt.date, n: int) -> dt.date:
    m = day.month - 1 + n
    return dt.date(day.year + m // 12, m % 12 + 1, 1)


def period_of(year: Any, quarter: Any = None, month: Any = None) -> dict:
    """Validate and describe a period: a year, a quarter of it or a month of it."""
    try:
        year = int(year)
    except (TypeError, ValueError):
        raise Invalid("year 应为四位年份 / year must be an integer such as 2026") from None
    if not 2000 <= year <= 2100:
        raise Invalid("year 超出范围 2000–2100 / year out of range")
    if quarter not in (None, "") and month not in (None, ""):
        raise Invalid("quarter 与 month 只能选一个 / give quarter or month, not both")
    if quarter not in (None, ""):
        try:
            quarter = int(quarter)
        except (TypeError, ValueError):
            quarter = 0
        if quarter not in (1, 2, 3, 4):
            raise Invalid("quarter 应为 1–4 / quarter must be 1..4")
        first = dt.date(year, 3 * quarter - 2, 1)
        return {"kind": "quarter", "year": year, "quarter": quarter, "month": None, "first": first,
                "next": add_months(first, 3), "label": f"{year}Q{quarter}"}
    if month not in (None, ""):
        try:
            month = int(month)
        except (TypeError, ValueError):
            month = 0
        if not 1 <= month <= 12:
            raise Invalid("month 应为 1–12 / month must be 1..12")
        first = dt.date(year, month, 1)
        return {"kind": "month", "year": year, "quarter": None, "month": month, "first": first,
                "next": add_months(first, 1), "label": f"{year}-{month:02d}"}
    return {"kind": "year", "year": year, "quarter": None, "month": None, "first": dt.date(year, 1, 1),
            "next": dt.date(year + 1, 1, 1), "label": str(year)}


def months_between(first: dt.date, nxt: dt.date) -> list[str]:
    out, day = [], first
    while day < nxt:
        out.append(f"{day.year:04d}-{day.month:02d}")
        day = add_months(day, 1)
    return out


# ---------------------------------------------------------------------------------- helpers


def rate_value(num: float, den: float, empty_reason: str) -> dict:
    if not den:
        return {"value": None, "numerator": num, "denominator": den, "reason": empty_reason}
    return {"value": num / den, "numerator": num, "denominator": den, "reason": None}


def count_value(n: float) -> dict:
    return {"value": n, "numerator": n, "denominator": None, "reason": None}


def labelled(values: dict, labels: dict) -> dict:
    """Give each indicator its label and unit from ``labels`` (key -> (中文, unit)) and round fractions to
    six places; returns ``values``, changed in place."""
    for key, item in values.items():
        label, unit = labels[key]
        item.setdefault("label", label)
        item.setdefault("unit", unit)
        if item.get("value") is not None and unit == "fraction":
            item["value"] = round(item["value"], 6)
    return values


def as_aware(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


class Scope:
    """Which projects (and visits, complaints, reports) an indicator set covers."""

    def __init__(self, region_code=None, park_id=None, chain_code=None, unit_key=None, responsible_unit=None):
        self.responsible_unit = responsible_unit or None  # a 市直部门 by name (project.responsible_unit)
        self.region_code = region_code or None
        self.park_id = int(park_id) if park_id not in (None, "") else None
        self.chain_code = chain_code or None
        self.unit_key = unit_key or self.region_code

    def projects(self, stmt):
        if self.region_code:
            stmt = stmt.where(Project.region_code == self.region_code)
        if self.park_id is not None:
            stmt = stmt.where(Project.park_id == self.park_id)
        if self.chain_code:
            stmt = stmt.where(Project.chain_code == self.chain_code)
        if self.responsible_unit:
            stmt = stmt.where(Project.responsible_unit == self.responsible_unit)
        return stmt

    def visits(self, stmt):
        if self.region_code:
            stmt = stmt.where(Visit.region_code == self.region_code)
        if self.chain_code:
            stmt = stmt.where(Visit.chain_code == self.chain_code)
        if self.park_id is not None:
            stmt = stmt.where(Visit.project_id.in_(select(Project.id).where(Project.park_id == self.park_id)))
        if self.responsible_unit:
            stmt = stmt.where(Visit.routed_to == self.responsible_unit)
        return stmt

    def complaints(self, stmt):
        if self.region_code:
            stmt = stmt.where(Complaint.region_code == self.region_code)
        if self.responsible_unit:
            stmt = stmt.where(Complaint.handler_unit == self.responsible_unit)
        elif self.park_id is not None or self.chain_code:
            stmt = stmt.where(Complaint.project_id.in_(self.projects(select(Project.id))))
        return stmt


def agreed_subquery():
    agreed = (select(func.sum(Agreement.agreed_investment_wan))
              .where(Agreement.project_id == Project.id, Agreement.kind == "投资协议")
              .correlate(Project).scalar_subquery())
    return func.coalesce(agreed, Project.planned_investment_wan)


# ---------------------------------------------------------------------------------- the indicators


def kpi_scope_for(session: Session, user, args) -> dict:
    """Resolve and check the scope of a KPI request (county, park, chain): 404/422/403 before counting."""
    region = args.get("region_code") or None
    park_id = args.get("park_id") or None
    if park_id is not None:
        try:
            park = session.get(Park, int(park_id))
        except ValueError:
            raise Invalid("park_id 应为整数 / park_id must be an integer") from None
        if park is None:
            raise NotFound("园区不存在 / park not found")
        if region and park.region_code != region:
            raise Invalid("园区不属于该县区 / the park is not in that county")
        region = park.region_code
    region = region or user_region(user)
    chain = args.get("chain_code") or None
    if chain is not None and session.get(Chain, chain) is None:
        raise NotFound("产业链不存在 / chain not found")
    check_region(user, region)
    return {"region_code": region, "park_id": park_id, "chain_code": chain}
