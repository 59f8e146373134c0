"""Assessment inputs that are records, not typed percentages (issue #12).

:class:`UnitReport` is the unit monthly report F-20 (reference/domain.md §3.3): the only parts of the
assessment a unit reports itself — "一把手"招商 (§A), 外出招商信息 (§B), 招商工作信息 (§D), problems and
next month's plan (§F). 来访企业报告 (§C) and 目标任务 (§E) come from the records and are not typed.
:class:`AssessmentTarget` holds the annual targets the office assigns to a unit (产业类省外到位资金 and
新签约亿元以上项目数), the denominators of block 1 of the scorecard.
Imported by :mod:`app.models` so ``Base.metadata`` is complete.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.models.base import Base


def _now() -> dt.datetime:
    return clock.now()


class UnitReport(Base):
    """F-20 月报 of one unit (county, park or 市直部门) for one month."""

    __tablename__ = "unit_report"
    __table_args__ = (UniqueConstraint("unit_key", "period", name="uq_unit_report_unit_period"),
                      Index("ix_unit_report_region_period", "region_code", "period"))

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_key: Mapped[str] = mapped_column(String(64))  # region code of a county, OrgUnit.key of a department
    unit_name: Mapped[str] = mapped_column(String(128))
    unit_kind: Mapped[str] = mapped_column(String(16), default="county")  # county/park/department
    region_code: Mapped[str | None] = mapped_column(String(12))
    period: Mapped[str] = mapped_column(String(7), index=True)  # "YYYY-MM"
    leader_trips: Mapped[int] = mapped_column(Integer, default=0)  # §A 一把手外出招商次数
    leader_enterprises_visited: Mapped[int] = mapped_column(Integer, default=0)
    leader_investors_received: Mapped[int] = mapped_column(Integer, default=0)
    trips: Mapped[list[Any]] = mapped_column(JSON, default=list)  # §B [{dates, destination, leader, ...}]
    work_info: Mapped[list[Any]] = mapped_column(JSON, default=list)  # §D [{title, date, channel}]
    problems: Mapped[str | None] = mapped_column(Text)  # §F
    due_at: Mapped[dt.datetime | None] = mapped_column()
    submitted_at: Mapped[dt.datetime] = mapped_column(default=_now)
    instance_id: Mapped[int | None] = mapped_column(Integer)


class AssessmentTarget(Base):
    """Annual targets of one unit (block 1 of the §4.3 scorecard)."""

    __tablename__ = "assessment_target"
    __table_args__ = (UniqueConstraint("unit_key", "year", name="uq_assessment_target_unit_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_key: Mapped[str] = mapped_column(String(64), index=True)
    year: Mapped[int] = mapped_column(Integer)
    funds_target_wan: Mapped[float | None] = mapped_column(Float)  # 产业类省外到位资金目标(万元)
    signed_1e8_target: Mapped[int | None] = mapped_column(Integer)  # 新签约亿元以上项目数目标
    note: Mapped[str | None] = mapped_column(String(256))
