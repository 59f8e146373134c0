"""Admin read models — one copy for the admin pages and the API: the instance list (filters, paging),
open incidents, instance counts per process and status, instances per version, an instance's events."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models.runtime import AuditEvent, Incident, Instance, ProcessVersion
from app.services import audit
from app.services.reports.projects import project_instances
from app.services.runtime.failures import incident_view
from app.services.runtime.instances import instance_view

INSTANCE_FILTERS = ("process_key", "status", "business_key", "project_id")


def list_instances(session: Session, filters: dict | None = None, *, page: int = 1, per_page: int = 20,
                   business_key_like: bool = False) -> dict:
    """``{"items", "total"}``; ``business_key`` matches exactly, or as a substring with ``business_key_like``."""
    f = {k: v for k, v in (filters or {}).items() if v not in (None, "")}
    stmt = select(Instance)
    for key in ("process_key", "status"):
        if f.get(key):
            stmt = stmt.where(getattr(Instance, key) == f[key])
    if f.get("business_key"):
        bk = f["business_key"]
        stmt = stmt.where(Instance.business_key.contains(bk, autoescape=True) if business_key_like
                          else Instance.business_key == bk)
    if f.get("project_id") is not None:
        ids = [i.id for i in project_instances(session, int(f["project_id"]))]
        stmt = stmt.where(Instance.id.in_(ids or [-1]))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Instance.id.desc()).offset((page - 1) * per_page).limit(per_page)).all()
    return {"items": [instance_view(session, i, with_data=False) for i in rows], "total": int(total)}


def open_incidents(session: Session) -> list[dict]:
    return [incident_view(i) for i in session.scalars(
        select(Incident).where(Incident.status == "open").order_by(Incident.id))]


def open_incident_count(session: Session) -> int:
    return int(session.scalar(select(func.count(Incident.id)).where(Incident.status == "open")) or 0)


def instance_counts(session: Session) -> dict[str, dict[str, int]]:
    """{process_key: {status: n}}."""
    out: dict[str, dict[str, int]] = {}
    for key, status, n in session.execute(select(Instance.process_key, Instance.status, func.count(Instance.id))
                                          .group_by(Instance.process_key, Instance.status)):
        out.setdefault(key, {})[status] = int(n)
    return out


def running_per_version(session: Session, key: str) -> dict[int, int]:
    return dict(session.execute(select(ProcessVersion.version, func.count(Instance.id))
                                .join(Instance, Instance.version_id == ProcessVersion.id)
                                .where(ProcessVersion.process_key == key,
                                       Instance.status.not_in(("completed", "cancelled")))
                                .group_by(ProcessVersion.version)).all())


def instance_events(session: Session, instance_id: int) -> list[dict]:
    return [audit.as_dict(e) for e in session.scalars(
        select(AuditEvent).where(AuditEvent.instance_id == instance_id).order_by(AuditEvent.id))]
