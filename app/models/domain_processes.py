"""Records of the supporting processes (reference/domain.md P08, P09, P12): 联办协办 factor issues,
优质项目流转 transfers, meetings and their 交办 action items. Written by the operators in
``app/services/domain/operators/{joint,transfer,meetings}.py``; the KPIs (K-I1, K-M3) read them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.models.base import Base


def _now() -> dt.datetime:
    return clock.now()


ISSUE_CATEGORIES = ("用地", "环评", "融资", "电力", "用水", "用工", "其他")


class FactorIssue(Base):
    """联办协办 case: one 要素保障 problem of a project, handled by one or more factor departments."""

    __tablename__ = "factor_issue"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    category: Mapped[str] = mapped_column(String(16), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    urgency: Mapped[str] = mapped_column(String(8), default="一般")
    departments: Mapped[list[Any]] = mapped_column(JSON, default=list)
    raised_by: Mapped[str | None] = mapped_column(String(100))
    raised_at: Mapped[dt.datetime] = mapped_column(default=_now, index=True)
    due_at: Mapped[dt.datetime | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # open/closed
    light: Mapped[str] = mapped_column(String(8), default="green")
    rounds: Mapped[int] = mapped_column(Integer, default=1)
    resolution: Mapped[str | None] = mapped_column(Text)
    replies: Mapped[list[Any]] = mapped_column(JSON, default=list)
    closed_at: Mapped[dt.datetime | None] = mapped_column()
    on_time: Mapped[bool | None] = mapped_column(Boolean)
    instance_id: Mapped[int | None] = mapped_column(Integer, index=True)


class ProjectTransfer(Base):
    """优质项目流转 offer: a project offered by its county to another county or park."""

    __tablename__ = "project_transfer"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    origin_region_code: Mapped[str | None] = mapped_column(String(12))
    origin_unit: Mapped[str | None] = mapped_column(String(128))
    target_region_code: Mapped[str] = mapped_column(String(12), index=True)
    target_park: Mapped[str | None] = mapped_column(String(128))
    target_unit: Mapped[str | None] = mapped_column(String(128))
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    credit_split_origin_pct: Mapped[float] = mapped_column(Float, default=50.0)
    status: Mapped[str] = mapped_column(String(16), default="offered", index=True)
    # offered / declined / accepted / rejected (office refused) / completed
    note: Mapped[str | None] = mapped_column(Text)
    offered_at: Mapped[dt.datetime] = mapped_column(default=_now)
    decided_at: Mapped[dt.datetime | None] = mapped_column()
    instance_id: Mapped[int | None] = mapped_column(Integer, index=True)


MEETING_TYPES = ("年度工作会", "季度会", "专题会", "办公室会议", "要素保障组会议", "产业链招商组会议")


class Meeting(Base):
    """调度会议 (年度/季度/专题…) with its agenda and decisions."""

    __tablename__ = "meeting"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_type: Mapped[str] = mapped_column(String(16), index=True)
    title: Mapped[str] = mapped_column(String(200))
    meeting_date: Mapped[dt.date | None] = mapped_column(Date)
    chair: Mapped[str | None] = mapped_column(String(64))
    agenda: Mapped[list[Any]] = mapped_column(JSON, default=list)
    decisions: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="planned")  # planned/signed/closed
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
    instance_id: Mapped[int | None] = mapped_column(Integer, index=True)


class ActionItem(Base):
    """交办事项: a meeting decision assigned to an owner unit with a deadline, tracked to closure.
    Rows with ``meeting_id`` NULL are 预审附加条件 (有条件通过) tracked the same way (operators/conditions.py);
    the 交办 KPI (K-M3, ``on_time`` of closed rows) counts the rows with a meeting."""

    __tablename__ = "action_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meeting.id"), index=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    owner_unit: Mapped[str] = mapped_column(String(128), index=True)
    region_code: Mapped[str | None] = mapped_column(String(12), index=True)
    assigned_at: Mapped[dt.datetime] = mapped_column(default=_now)
    due_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16), default="assigned", index=True)
    # assigned / received / fed_back / closed
    light: Mapped[str] = mapped_column(String(8), default="green")
    received_at: Mapped[dt.datetime | None] = mapped_column()
    feedback: Mapped[str | None] = mapped_column(Text)
    fed_back_at: Mapped[dt.datetime | None] = mapped_column()
    returns: Mapped[int] = mapped_column(Integer, default=0)
    closed_at: Mapped[dt.datetime | None] = mapped_column()
    on_time: Mapped[bool | None] = mapped_column(Boolean)
    instance_id: Mapped[int | None] = mapped_column(Integer, index=True)
