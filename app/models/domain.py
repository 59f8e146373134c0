"""Domain tables of the investment-promotion platform (reference/domain.md §3.1).

Reference data: :class:`Region`, :class:`Park`, :class:`Chain`, :class:`Enterprise`.
The project and what hangs off it: :class:`Project`, :class:`StageRecord`, :class:`TimelineEvent`
(the project's 自动记录), :class:`Agreement`, :class:`Milestone`, :class:`Visit`.
Growing records (funds, complaints, capacity ledger, reports, assessments, notifications) live in
:mod:`app.models.domain_records` and are re-exported here, so ``from app.models.domain import X``
works for every domain table.

Conventions: money in 万元 (``*_wan``), timestamps are aware UTC (``UTCDateTime``), calendar dates
(signing date, visit date, milestone due date) are plain ``date``. Stage codes ``S1_PLAN`` …
``S7_START`` (plus ``DONE`` once 开工); library status in Chinese (待招商/在谈/签约/落地/开工/封存/已退出/终止);
``light`` in ``green``/``blue``/``yellow``/``red``; ``status`` in ``active``/``sealed``/``exited``/``terminated``.
``instance_id`` columns are plain integers (no FK) so the domain tables do not depend on the
runtime schema.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock
from app.models.base import Base


def _now() -> dt.datetime:
    return clock.now()


STAGES: tuple[str, ...] = ("S1_PLAN", "S2_SCREEN", "S3_VISIT", "S4_NEGOTIATE", "S5_SIGN", "S6_LAND", "S7_START")
STAGE_NAMES: dict[str, str] = {
    "S1_PLAN": "策划包装",
    "S2_SCREEN": "目标企业筛选",
    "S3_VISIT": "实地考察",
    "S4_NEGOTIATE": "商务谈判",
    "S5_SIGN": "合作协议签署",
    "S6_LAND": "推动项目落地",
    "S7_START": "项目开工",
    "DONE": "已开工",
}
# Library status while the project is *in* the stage (entering S6 means S5 completed: 签约).
STAGE_LIBRARY_STATUS: dict[str, str] = {
    "S1_PLAN": "待招商",
    "S2_SCREEN": "待招商",
    "S3_VISIT": "在谈",
    "S4_NEGOTIATE": "在谈",
    "S5_SIGN": "在谈",
    "S6_LAND": "签约",
    "S7_START": "落地",
    "DONE": "开工",
}
STATUS_LIBRARY_STATUS: dict[str, str] = {"sealed": "封存", "exited": "已退出", "terminated": "终止"}
PROJECT_STATUSES: tuple[str, ...] = ("active", "sealed", "exited", "terminated")
LIGHTS: tuple[str, ...] = ("green", "blue", "yellow", "red")
TIERS: tuple[str, ...] = ("重大", "重点", "一般")
TOP500_TAGS: frozenset[str] = frozenset({"世界500强", "中国企业500强", "中国民营企业500强"})
CHAIN_LEADER_TAGS: frozenset[str] = frozenset({"链主", "链主企业"})


class Region(Base):
    """县区 (GB/T 2260 code)."""

    __tablename__ = "region"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    short_name: Mapped[str] = mapped_column(String(32))
    seat: Mapped[str | None] = mapped_column(String(64))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class Park(Base):
    """工业园区."""

    __tablename__ = "park"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(String(16), unique=True)  # demo key, e.g. "PK01"
    name: Mapped[str] = mapped_column(String(128))
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    level: Mapped[str | None] = mapped_column(String(16))  # 国家级/省级/市级
    leading_industries: Mapped[list[Any]] = mapped_column(JSON, default=list)


class Chain(Base):
    """重点产业链."""

    __tablename__ = "chain"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)  # "C01"
    name: Mapped[str] = mapped_column(String(128))
    lead_org_unit_key: Mapped[str | None] = mapped_column(String(64))  # OrgUnit.key of the 牵头单位
    chief_name: Mapped[str | None] = mapped_column(String(64))  # 链长
    links: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{code, name, position}]


class Enterprise(Base):
    """企业 (target, visiting, investing)."""

    __tablename__ = "enterprise"

    id: Mapped[int] = mapped_column(primary_key=True)
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)  # 统一社会信用代码
    name: Mapped[str] = mapped_column(String(200), index=True)
    hq_region: Mapped[str | None] = mapped_column(String(64))
    nature: Mapped[str | None] = mapped_column(String(32))  # 民营/国有/外资…
    industry: Mapped[str | None] = mapped_column(String(64))  # GB/T 4754 code or label
    rank_tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    chain_code: Mapped[str | None] = mapped_column(ForeignKey("chain.code"), index=True)
    library_status: Mapped[str | None] = mapped_column(String(16))  # 目标企业库 status
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)  # derived: 目标/在谈/来访/签约/落地
    source: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)


class Visit(Base):
    """来访企业登记 (P03)."""

    __tablename__ = "visit"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_date: Mapped[dt.date] = mapped_column(Date, index=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"), index=True)
    enterprise_name: Mapped[str | None] = mapped_column(String(200))  # when not (yet) in enterprises
    visitors: Mapped[list[Any]] = mapped_column(JSON, default=list)
    interests: Mapped[list[Any]] = mapped_column(JSON, default=list)
    host: Mapped[str | None] = mapped_column(String(128))  # receiving unit
    region_code: Mapped[str | None] = mapped_column(String(12), index=True)
    routing_type: Mapped[str | None] = mapped_column(String(16))  # 链长/交办/转办/投诉…
    routed_to: Mapped[str | None] = mapped_column(String(128))
    chain_code: Mapped[str | None] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(16), default="registered", index=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id"), index=True)
    instance_id: Mapped[int | None] = mapped_column(Integer, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
    # 交办/转办 handling: due when routed, set handled when the receiving unit's routing ends
    handling_due_at: Mapped[dt.datetime | None] = mapped_column()
    handled_at: Mapped[dt.datetime | None] = mapped_column()

    enterprise: Mapped[Enterprise | None] = relationship()


class Project(Base):
    """招商项目 — one row per project, whichever process currently drives it."""

    __tablename__ = "project"
    __table_args__ = (Index("ix_project_region_stage", "region_code", "stage"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"), index=True)
    park_id: Mapped[int | None] = mapped_column(ForeignKey("park.id"), index=True)
    chain_code: Mapped[str | None] = mapped_column(ForeignKey("chain.code"), index=True)
    chain_action: Mapped[str | None] = mapped_column(String(8))  # 建链/延链/补链/强链
    is_industrial: Mapped[bool] = mapped_column(Boolean, default=True)
    planned_investment_wan: Mapped[float] = mapped_column(Float, default=0.0)
    tier: Mapped[str | None] = mapped_column(String(8), index=True)  # 重大/重点/一般
    stage: Mapped[str] = mapped_column(String(16), default="S1_PLAN", index=True)
    library_status: Mapped[str] = mapped_column(String(16), default="待招商", index=True)
    light: Mapped[str] = mapped_column(String(8), default="green", index=True)
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    supervisor_role: Mapped[str | None] = mapped_column(String(64))
    supervisor_name: Mapped[str | None] = mapped_column(String(64))
    commissioner_name: Mapped[str | None] = mapped_column(String(64))
    responsible_unit: Mapped[str | None] = mapped_column(String(128))
    factor_units: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # the 1+1+N team and the 项目主管 as records (org unit keys, usernames)
    responsible_org_key: Mapped[str | None] = mapped_column(String(100), index=True)
    commissioner_username: Mapped[str | None] = mapped_column(String(100))
    factor_org_keys: Mapped[list[Any] | None] = mapped_column(JSON, default=list)
    supervisor_username: Mapped[str | None] = mapped_column(String(100))
    industry: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(16))  # 线索/来访/库内认领
    created_by: Mapped[str | None] = mapped_column(String(100))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"), index=True)
    designated_major: Mapped[bool] = mapped_column(Boolean, default=False)  # 统筹推进 / 重大库
    prereview_result: Mapped[str | None] = mapped_column(String(16))  # 通过/有条件通过/否决…
    description: Mapped[str | None] = mapped_column(Text)
    signed_at: Mapped[dt.datetime | None] = mapped_column()
    landed_at: Mapped[dt.datetime | None] = mapped_column()
    started_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=_now, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=_now, onupdate=_now)

    enterprise: Mapped[Enterprise | None] = relationship()
    stage_records: Mapped[list[StageRecord]] = relationship(
        back_populates="project", order_by="StageRecord.id", cascade="all, delete-orphan")
    agreements: Mapped[list[Agreement]] = relationship(
        back_populates="project", order_by="Agreement.id", cascade="all, delete-orphan")

    @property
    def current_stage_record(self) -> StageRecord | None:
        for rec in reversed(self.stage_records):
            if rec.completed_at is None:
                return rec
        return None


class StageRecord(Base):
    """One stay of a project in a stage (planned due, actual start/end, warning colour)."""

    __tablename__ = "stage_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    stage: Mapped[str] = mapped_column(String(16), index=True)
    limit_days: Mapped[int | None] = mapped_column(Integer)
    planned_due: Mapped[dt.datetime | None] = mapped_column()
    started_at: Mapped[dt.datetime] = mapped_column(default=_now)
    completed_at: Mapped[dt.datetime | None] = mapped_column()
    light: Mapped[str] = mapped_column(String(8), default="green", index=True)

    project: Mapped[Project] = relationship(back_populates="stage_records")


class TimelineEvent(Base):
    """The project's 自动记录: every stage change, warning, decision and note, with who and where."""

    __tablename__ = "timeline_event"
    __table_args__ = (Index("ix_timeline_event_project_at", "project_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"))
    at: Mapped[dt.datetime] = mapped_column(default=_now)
    kind: Mapped[str] = mapped_column(String(32), index=True)  # stage/light/status/update/agreement/…
    title: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    actor: Mapped[str | None] = mapped_column(String(64))
    instance_id: Mapped[int | None] = mapped_column(Integer, index=True)
    element_id: Mapped[str | None] = mapped_column(String(128))


class Agreement(Base):
    """合作协议 (F-11). kind 投资协议 counts as 签约; 框架协议 is 意向签约 only (§4.1)."""

    __tablename__ = "agreement"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="投资协议")
    sign_date: Mapped[dt.date] = mapped_column(Date, index=True)
    agreed_investment_wan: Mapped[float] = mapped_column(Float, default=0.0)
    exit_clause: Mapped[str | None] = mapped_column(Text)
    bond_wan: Mapped[float | None] = mapped_column(Float)
    incentive_terms: Mapped[list[Any]] = mapped_column(JSON, default=list)
    instance_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)

    project: Mapped[Project] = relationship(back_populates="agreements")
    milestones: Mapped[list[Milestone]] = relationship(
        back_populates="agreement", order_by="Milestone.due_date", cascade="all, delete-orphan")


class Milestone(Base):
    """履约节点 of an agreement (注册, 首期资金, 供地, 开工, 投产)."""

    __tablename__ = "milestone"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    due_date: Mapped[dt.date] = mapped_column(Date, index=True)
    done_at: Mapped[dt.datetime | None] = mapped_column()

    agreement: Mapped[Agreement] = relationship(back_populates="milestones")


# Growing records, re-exported so every domain table imports from here.
from app.models.domain_records import (  # noqa: E402
    AssessmentScore,
    CapacityLedger,
    Complaint,
    FundsArrival,
    Notification,
    Report,
)

__all__ = [
    "Agreement", "AssessmentScore", "CapacityLedger", "Chain", "Complaint", "Enterprise", "FundsArrival",
    "Milestone", "Notification", "Park", "Project", "Region", "Report", "StageRecord", "TimelineEvent", "Visit",
    "STAGES", "STAGE_NAMES", "STAGE_LIBRARY_STATUS", "STATUS_LIBRARY_STATUS", "PROJECT_STATUSES", "LIGHTS",
    "TIERS", "TOP500_TAGS", "CHAIN_LEADER_TAGS",
]
