"""Audit trail: every start, completion, claim, cancel, deploy, timer firing and message."""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.orm import Session

from app import clock
from app.models.runtime import AuditEvent
from app.ops.context import current as current_request_id


def event(type_: str, actor: str, *, instance_id: int | None = None, element_id: str | None = None,
          detail: dict | None = None) -> dict:
    """One audit row as values (time and request id taken now), for :func:`record_many`."""
    return {"type": type_, "actor": actor or "system", "instance_id": instance_id, "element_id": element_id,
            "detail": detail or {}, "at": clock.now(), "request_id": current_request_id()}


def record(session: Session, type_: str, actor: str, *, instance_id: int | None = None,
           element_id: str | None = None, detail: dict | None = None) -> None:
    """Append an audit event in the caller's transaction (a plain Core INSERT: events are never updated,
    so the ORM's bulk-insert machinery — a few hundred µs per call — is skipped)."""
    row = event(type_, actor, instance_id=instance_id, element_id=element_id, detail=detail)
    pending = session.info.get(_BUFFER)
    if pending is not None:  # a job batch: written by flush() in one multi-row INSERT before its commit
        pending.append(row)
        return
    session.connection().execute(_INSERT, row)


def record_many(session: Session, events: list[dict]) -> None:
    """Append events made by :func:`event` in one statement (executemany), in the given order."""
    if not events:
        return
    pending = session.info.get(_BUFFER)
    if pending is not None:
        pending.extend(events)
        return
    session.connection().execute(_INSERT, events if len(events) > 1 else events[0])


_INSERT = insert(AuditEvent.__table__)
_BUFFER = "audit_buffer"


def buffer(session: Session) -> None:
    """Collect this session's events until ``flush`` (one round trip per job batch instead of per event)."""
    session.info.setdefault(_BUFFER, [])


def flush(session: Session) -> None:
    """Write the collected events (in their order) and stop collecting."""
    rows = session.info.pop(_BUFFER, None)
    if rows:
        session.connection().execute(_INSERT, rows)


def as_dict(event: AuditEvent) -> dict:
    return {"id": event.id, "type": event.type, "at": event.at.isoformat(), "actor": event.actor,
            "instance_id": event.instance_id, "element_id": event.element_id, "detail": event.detail or {},
            "request_id": event.request_id}
