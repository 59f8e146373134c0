"""Read models of process administration — ONE copy for the admin pages and the API:
process overview and counts, versions and their files, the instance list, open incidents, events,
users and org units."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.models.auth import OrgUnit, User
from app.models.runtime import AuditEvent, Incident, Instance, ProcessVersion
from app.services import audit
from app.services.definitions import deploy
from app.services.definitions.layout import add_diagram_layout
from app.services.runtime.failures import incident_view
from app.services.runtime.instances import instance_view

INSTANCE_FILTERS = ("process_key", "status", "business_key")


def open_incident_count(session: Session) -> int:
    return int(session.scalar(select(func.count(Incident.id)).where(Incident.status == "open")) or 0)


def instance_counts(session: Session) -> dict[str, dict[str, int]]:
    """{process_key: {status: n}}"""
    out: dict[str, dict[str, int]] = {}
    for key, status, n in session.execute(select(Instance.process_key, Instance.status, func.count(Instance.id))
                                          .group_by(Instance.process_key, Instance.status)):
        out.setdefault(key, {})[status] = int(n)
    return out


def overview(session: Session) -> dict:
    return {"processes": deploy.list_processes(session), "counts": instance_counts(session),
            "open_incidents": open_incident_count(session)}


def active_per_version(session: Session, key: str) -> dict[int, int]:
    """Version number → instances still running on it."""
    return dict(session.execute(select(ProcessVersion.version, func.count(Instance.id))
                                .join(Instance, Instance.version_id == ProcessVersion.id)
                                .where(ProcessVersion.process_key == key,
                                       Instance.status.not_in(("completed", "cancelled")))
                                .group_by(ProcessVersion.version)).all())


def get_version(session: Session, key: str, number: int) -> ProcessVersion:
    v = session.scalar(select(ProcessVersion).where(ProcessVersion.process_key == key,
                                                    ProcessVersion.version == number))
    if v is None:
        raise NotFound(f"流程 {key} 没有版本 v{number} / process {key} has no version {number}")
    return v


def latest_version(session: Session, key: str) -> ProcessVersion | None:
    number = session.scalar(select(func.max(ProcessVersion.version)).where(ProcessVersion.process_key == key))
    return None if number is None else get_version(session, key, number)


def version_view(session: Session, key: str, number: int) -> dict:
    v = get_version(session, key, number)
    files = [{"filename": f.filename, "kind": f.kind, "size": len(f.content or b""),
              "text": (f.content or b"").decode("utf-8", "replace") if f.kind == "form" else None}
             for f in v.files]
    latest = session.scalar(select(func.max(ProcessVersion.version)).where(ProcessVersion.process_key == key))
    return {"id": v.id, "process_key": v.process_key, "name": v.name, "version": v.version,
            "hash": v.content_hash, "author": v.author, "created_at": v.created_at.isoformat(),
            "main_file": v.main_file, "timer_start": v.timer_start, "message_starts": v.message_starts or [],
            "files": files, "latest": latest}


def version_file(session: Session, key: str, number: int, filename: str) -> bytes:
    v = get_version(session, key, number)
    f = next((f for f in v.files if f.filename == filename), None)
    if f is None:
        raise NotFound(f"文件 {filename} 不存在 / file not found")
    return f.content


def main_diagram(version: ProcessVersion | None) -> str | None:
    """The version's main BPMN file with a diagram layout (generated when the file has none)."""
    if version is None:
        return None
    main = next((f for f in version.files if f.filename == version.main_file), None)
    return add_diagram_layout(main.content).decode("utf-8") if main else None


def list_instances(session: Session, filters: dict | None = None, *, page: int = 1, per_page: int = 20,
                   instance_ids: list[int] | None = None) -> dict:
    """Instances, newest first; exact filters, ``business_key`` as a substring."""
    filters = filters or {}
    stmt = select(Instance)
    if filters.get("process_key"):
        stmt = stmt.where(Instance.process_key == filters["process_key"])
    if filters.get("status"):
        stmt = stmt.where(Instance.status == filters["status"])
    if filters.get("business_key"):
        stmt = stmt.where(Instance.business_key.contains(filters["business_key"], autoescape=True))
    if instance_ids is not None:
        stmt = stmt.where(Instance.id.in_(instance_ids or [-1]))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Instance.id.desc()).offset((page - 1) * per_page).limit(per_page)).all()
    return {"items": [instance_view(session, i, with_data=False) for i in rows], "total": int(total),
            "page": page, "per_page": per_page}


def list_incidents(session: Session) -> list[dict]:
    return [incident_view(i) for i in
            session.scalars(select(Incident).where(Incident.status == "open").order_by(Incident.id))]


def instance_events(session: Session, instance_id: int) -> list[dict]:
    return [audit.as_dict(e) for e in session.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance_id)
                                                      .order_by(AuditEvent.id))]


def org_units(session: Session) -> list[dict]:
    orgs = session.scalars(select(OrgUnit).order_by(OrgUnit.region_code.is_not(None), OrgUnit.region_code,
                                                    OrgUnit.key)).all()
    return [{"id": o.id, "key": o.key, "name": o.name, "type": o.type, "region_code": o.region_code,
             "parent_id": o.parent_id} for o in orgs]


def user_list(session: Session, orgs_by_id: dict[int, dict]) -> list[dict]:
    return [{"username": u.username, "display_name": u.display_name, "email": u.email,
             "roles": list(u.roles or []), "org": orgs_by_id.get(u.org_unit_id), "active": u.active,
             "created_at": u.created_at.isoformat() if u.created_at else None}
            for u in session.scalars(select(User).order_by(User.username))]


def org_exists(session: Session, key: str) -> bool:
    return session.scalar(select(OrgUnit.id).where(OrgUnit.key == key)) is not None
