"""Process versions, instances and their projections (human tasks, jobs, events, incidents)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, WriteOnlyMapped, mapped_column, relationship

from app import clock
from app.models.base import Base

ID = BigInteger().with_variant(Integer(), "sqlite")


def _now() -> dt.datetime:
    return clock.now()


class ProcessVersion(Base):
    """An immutable, content-hashed deployment of one process key (rule 2)."""

    __tablename__ = "process_version"
    __table_args__ = (
        UniqueConstraint("process_key", "version", name="uq_process_version_key_version"),
        UniqueConstraint("process_key", "content_hash", name="uq_process_version_key_hash"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    process_key: Mapped[str] = mapped_column(String(200), index=True)
    name: Mapped[str | None] = mapped_column(String(300))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    main_file: Mapped[str] = mapped_column(String(300))
    spec_json: Mapped[str] = mapped_column(Text)  # serialized spec + subprocess specs, parsed once
    serializer_version: Mapped[str] = mapped_column(String(16))
    timer_start: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {"element_id", "expression"}
    message_starts: Mapped[list[Any] | None] = mapped_column(JSON)  # message names that start it
    author: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
    change_note: Mapped[str | None] = mapped_column(Text)  # why this version (modeler deploy dialog)
    files: Mapped[list[ProcessFile]] = relationship(back_populates="version", cascade="all, delete-orphan",
                                                    order_by="ProcessFile.filename")


class ProcessFile(Base):
    __tablename__ = "process_file"
    __table_args__ = (UniqueConstraint("version_id", "filename"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16))  # bpmn | dmn | form
    content: Mapped[bytes] = mapped_column(LargeBinary)
    version: Mapped[ProcessVersion] = relationship(back_populates="files")


class Instance(Base):
    __tablename__ = "instance"
    __table_args__ = (Index("ix_instance_key_status", "process_key", "status"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(200))
    business_key: Mapped[str | None] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(16), default="running")
    state: Mapped[str] = mapped_column(Text)  # instance JSON without the spec
    serializer_version: Mapped[str] = mapped_column(String(16))
    lock_version: Mapped[int] = mapped_column(Integer, default=0)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # business keys for filters
    started_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=_now)
    ended_at: Mapped[dt.datetime | None]
    version: Mapped[ProcessVersion] = relationship()
    events: WriteOnlyMapped[AuditEvent] = relationship(passive_deletes=True)


class HumanTask(Base):
    """Projection of READY manual tasks (rule 5): the inbox is SQL over this table."""

    __tablename__ = "human_task"
    __table_args__ = (
        Index("ix_human_task_open_role", "state", "lane", "region_code", "due_at"),
        Index("ix_human_task_assignee", "assignee", "state"),
        # the inbox (services.tasks.inbox): its page in due order without a sort, the tasks that name
        # their candidates (partial: few rows), 已办 by who completed them
        Index("ix_human_task_open_due", "state", "due_at", "created_at", "id"),
        Index("ix_human_task_named_users", "state", sqlite_where=text("candidate_users IS NOT NULL"),
              postgresql_where=text("candidate_users IS NOT NULL")),
        Index("ix_human_task_named_orgs", "state", "lane", sqlite_where=text("candidate_orgs IS NOT NULL"),
              postgresql_where=text("candidate_orgs IS NOT NULL")),
        Index("ix_human_task_done", "completed_by", "state", "completed_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # SpiffWorkflow task UUID
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id", ondelete="CASCADE"), index=True)
    process_key: Mapped[str] = mapped_column(String(200), index=True)
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(300))
    lane: Mapped[str | None] = mapped_column(String(100))
    # named candidates (docs/CONTRACTS.md "Named units and people"): ",key1,key2," or NULL (role + county)
    candidate_orgs: Mapped[str | None] = mapped_column(String(1000))
    candidate_users: Mapped[str | None] = mapped_column(String(1000))
    assignee: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(16), default="open")  # open | completed | cancelled
    form_file: Mapped[str | None] = mapped_column(String(300))
    ui_file: Mapped[str | None] = mapped_column(String(300))
    due_at: Mapped[dt.datetime | None]
    warning: Mapped[str] = mapped_column(String(8), default="none")
    project_id: Mapped[int | None] = mapped_column(Integer, index=True)
    project_name: Mapped[str | None] = mapped_column(String(300))
    region_code: Mapped[str | None] = mapped_column(String(16))
    tier: Mapped[str | None] = mapped_column(String(16))
    stage: Mapped[str | None] = mapped_column(String(32))
    draft: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
    completed_at: Mapped[dt.datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(100))


class Job(Base):
    """Durable work: timers, timer-start schedules, messages, service retries (rule 6)."""

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_due", "due_at", "lease_until"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # timer | timer_start | message | start | retry
    due_at: Mapped[dt.datetime]
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instance.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int | None] = mapped_column(ForeignKey("process_version.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    element_id: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)


class MessageSubscription(Base):
    """What an instance waits for, so messages are routed by SQL, not by deserialising."""

    __tablename__ = "message_subscription"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    business_key: Mapped[str | None] = mapped_column(String(200))
    correlation: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Incident(Base):
    __tablename__ = "incident"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    element_id: Mapped[str | None] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    stack: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | resolved | cancelled
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
    resolved_at: Mapped[dt.datetime | None]


class AuditEvent(Base):
    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_type_at", "type", "at"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(40))
    at: Mapped[dt.datetime] = mapped_column(default=_now)
    actor: Mapped[str] = mapped_column(String(100))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instance.id", ondelete="CASCADE"), index=True)
    element_id: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(64), index=True)  # request / job run that wrote it


class AppSetting(Base):
    __tablename__ = "app_setting"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
