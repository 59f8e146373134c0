"""Failure policy: one backoff for service tasks, jobs and mail; retries and incidents of service tasks."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.db import database_of
from app.engine import StepResult
from app.models.runtime import Incident, Instance, Job
from app.services import audit


def backoff(attempt: int, base_seconds: float) -> dt.timedelta:
    """The wait before retry number ``attempt`` (1-based): base, 2×base, 4×base, …"""
    return dt.timedelta(seconds=base_seconds * (2 ** max(attempt - 1, 0)))


def handle_service_failure(session: Session, instance: Instance, result: StepResult, prior_attempts: int = 0) -> bool:
    """Schedule a retry (False) or, after the last attempt, open an incident (True)."""
    settings = database_of(session).settings
    failure = result.failure
    retry = session.scalar(select(Job).where(Job.instance_id == instance.id, Job.kind == "retry",
                                             Job.task_id == failure.task_id))
    attempts = max(retry.attempts if retry else 0, prior_attempts) + 1
    audit.record(session, "service_failed", "system", instance_id=instance.id, element_id=failure.element_id,
                 detail={"message": failure.message, "attempt": attempts})
    if attempts < settings.service_retries and failure.task_id:
        due = clock.now() + backoff(attempts, settings.service_backoff_seconds)
        if retry is None:
            session.add(Job(kind="retry", due_at=due, instance_id=instance.id, task_id=failure.task_id,
                            element_id=failure.element_id, attempts=attempts, last_error=failure.message,
                            created_at=clock.now()))
        else:
            retry.due_at, retry.attempts, retry.last_error = due, attempts, failure.message
            retry.lease_owner = retry.lease_until = None
        return False
    if retry is not None:
        session.delete(retry)
    open_incident(session, instance.id, failure.task_id or None, failure.element_id, failure.message,
                  failure.stack, attempts)
    return True


def open_incident(session: Session, instance_id: int, task_id: str | None, element_id: str | None, message: str,
                  stack: str = "", attempts: int = 1) -> None:
    session.add(Incident(instance_id=instance_id, task_id=task_id, element_id=element_id, message=message,
                         stack=(stack or "")[-20000:], attempts=attempts, created_at=clock.now()))
    audit.record(session, "incident_opened", "system", instance_id=instance_id, element_id=element_id,
                 detail={"message": message})


def open_engine_incident(session: Session, instance_id: int, element_id: str, message: str, stack: str = "") -> None:
    """A change the engine could not apply (rolled back): the instance gets an incident and status ``error``.

    Runs in its own transaction after the rollback; the same failure again counts as another attempt.
    """
    instance = session.get(Instance, instance_id, with_for_update=True)
    if instance is None or instance.status in ("completed", "cancelled"):
        return
    audit.record(session, "step_refused", "system", instance_id=instance_id, element_id=element_id or None,
                 detail={"message": message})
    same = session.scalar(select(Incident).where(Incident.instance_id == instance_id, Incident.status == "open",
                                                 Incident.message == message))
    if same is not None:
        same.attempts += 1
    else:
        open_incident(session, instance_id, None, element_id or None, message, stack)
    if instance.status != "suspended":
        instance.status = "error"


def incident_view(incident: Incident) -> dict:
    """One serialization of an incident for the API and the admin pages."""
    return {"id": incident.id, "instance_id": incident.instance_id, "element_id": incident.element_id,
            "task_id": incident.task_id, "message": incident.message, "attempts": incident.attempts,
            "status": incident.status, "created_at": incident.created_at.isoformat() if incident.created_at else None,
            "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None}
