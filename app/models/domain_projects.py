"""Project records of issue #12 (projects branch): the evidence a lifecycle stage requires (工商注册、
用地、备案/核准、施工许可 …) and the one claim (揭牌认领) of a listed project. Written by
``app/services/domain/evidence.py`` and ``claims.py``; the stage-completion check reads the evidence."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.models.base import Base


def _now() -> dt.datetime:
    return clock.now()


class ProjectEvidence(Base):
    """One piece of stage evidence of a project: a kind (``stage.evidence`` setting), its number or
    title, the date it was issued and optionally an attached file (sha256 of an uploaded document)."""

    __tablename__ = "project_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    title: Mapped[str] = mapped_column(String(200))
    number: Mapped[str | None] = mapped_column(String(64))
    issued_on: Mapped[dt.date | None] = mapped_column(Date)
    attachment: Mapped[str | None] = mapped_column(String(64))
    stage: Mapped[str | None] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16), default="page")  # page / api / stage_form
    instance_id: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)


class ProjectClaim(Base):
    """揭牌认领: the one unit that claimed a listed project (unique per project — a second claim fails)."""

    __tablename__ = "project_claim"
    __table_args__ = (UniqueConstraint("project_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    claimed_by: Mapped[str] = mapped_column(String(100))
    claim_reason: Mapped[str | None] = mapped_column(Text)
    approach: Mapped[str | None] = mapped_column(Text)
    target_sign_date: Mapped[dt.date | None] = mapped_column(Date)
    commissioner_name: Mapped[str | None] = mapped_column(String(64))
    contact_mobile: Mapped[str | None] = mapped_column(String(32))
    instance_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
