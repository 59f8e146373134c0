"""Growing domain records: funds arrivals, complaints, capacity ledger, reports, assessments,
notifications. Imported (and re-exported) by :mod:`app.models.domain`; import from there."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.models.base import Base


def _now() -> dt.datetime:
    return clock.now()


class FundsArrival(Base):
    """实际到位资金 (F-12), one row per project, month, origin and nature."""

    __tablename__ = "funds_arrival"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    period: Mapped[str] = mapped_column(String(7), index=True)  # "YYYY-MM"
    amount_wan: Mapped[float] = mapped_column(Float)
    origin: Mapped[str] = mapped_column(String(16), default="省外")  # 省外/市外省内/市内
    nature: Mapped[str] = mapped_column(String(16), default="固定资产")  # 固定资产/流动资金
    evidence: Mapped[str | None] = mapped_column(String(256))
    instance_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)


class Complaint(Base):
    """企业投诉 (P07)."""

    __tablename__ = "complaint"

    id: Mapped[int] = mapped_column(primary_key=True)
    complainant: Mapped[str] = mapped_column(String(200))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id"), index=True)
    category: Mapped[str | None] = mapped_column(String(32), index=True)
    region_code: Mapped[str | None] = mapped_column(String(12), index=True)
    content: Mapped[str | None] = mapped_column(Text)
    handler_unit: Mapped[str | None] = mapped_column(String(128))
    received_at: Mapped[dt.datetime] = mapped_column(default=_now, index=True)
    due_at: Mapped[dt.datetime | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="received", index=True)  # received/handling/closed
    reply: Mapped[str | None] = mapped_column(Text)
    satisfied: Mapped[bool | None] = mapped_column(Boolean)
    closed_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    instance_id: Mapped[int | None] = mapped_column(Integer, index=True)


class CapacityLedger(Base):
    """承载能力台账: one factor of a county (or park) in a half-year period."""

    __tablename__ = "capacity_ledger"
    __table_args__ = (Index("ix_capacity_ledger_scope", "region_code", "park_id", "period", "factor"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    park_id: Mapped[int | None] = mapped_column(ForeignKey("park.id"), index=True)
    period: Mapped[str] = mapped_column(String(8), index=True)  # "2026H2"
    factor: Mapped[str] = mapped_column(String(32))  # 工业用地/能耗/用水/用电/天然气/标准厂房…
    total: Mapped[float | None] = mapped_column(Float)
    used: Mapped[float | None] = mapped_column(Float)
    committed: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(16))
    rating: Mapped[str | None] = mapped_column(String(8))  # 充足/紧张/不足
    note: Mapped[str | None] = mapped_column(String(256))
    updated_at: Mapped[dt.datetime] = mapped_column(default=_now, onupdate=_now)

    @property
    def available(self) -> float | None:
        if self.total is None:
            return None
        return self.total - (self.used or 0.0) - (self.committed or 0.0)


class Report(Base):
    """Generated bulletin / inspection / assessment / capacity report."""

    __tablename__ = "report"
    __table_args__ = (Index("ix_report_kind_period", "kind", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # monthly/quarterly/annual/capacity
    period: Mapped[str] = mapped_column(String(16))  # "2026-05", "2026Q2", "2026", "2026H1"
    region_code: Mapped[str | None] = mapped_column(String(12), index=True)
    title: Mapped[str] = mapped_column(String(200))
    sections: Mapped[list[Any] | dict[str, Any]] = mapped_column(JSON, default=list)
    instance_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)


class AssessmentScore(Base):
    """考核结果 of one unit for a year (or a quarter)."""

    __tablename__ = "assessment_score"
    __table_args__ = (Index("ix_assessment_score_unit_year", "unit_key", "year", "quarter"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_key: Mapped[str] = mapped_column(String(64))
    unit_name: Mapped[str] = mapped_column(String(128))
    year: Mapped[int] = mapped_column(Integer, index=True)
    quarter: Mapped[int | None] = mapped_column(Integer)
    scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    daily: Mapped[float] = mapped_column(Float, default=0.0)
    year_end: Mapped[float] = mapped_column(Float, default=0.0)
    bonus: Mapped[float] = mapped_column(Float, default=0.0)
    penalty: Mapped[float] = mapped_column(Float, default=0.0)
    total: Mapped[float] = mapped_column(Float, default=0.0)
    grade: Mapped[str | None] = mapped_column(String(16))
    instance_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)


class Notification(Base):
    """站内通知. Addressed to one user (``user_id``) or to a role, optionally within a county
    (``region_code``; NULL = city-wide). ``user_id`` is not a foreign key so this table does not
    depend on the auth schema."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_read", "user_id", "read_at"),
                      Index("ix_notification_role_region", "role", "region_code"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(Integer)
    role: Mapped[str | None] = mapped_column(String(64))
    region_code: Mapped[str | None] = mapped_column(String(12))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(256))
    level: Mapped[str] = mapped_column(String(16), default="info")  # info/warning/danger
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id"), index=True)
    instance_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(default=_now, index=True)
    read_at: Mapped[dt.datetime | None] = mapped_column()
