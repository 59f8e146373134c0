"""Admin read models — one copy for the admin pages and the API: the instance list (filters, paging),
open incidents, instance counts per process and status, instances per version, an instance's events,
one version with its files, the users and org units page."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models.auth import OrgUnit, User
from app.models.runtime import AuditEvent, Incident, Instance, ProcessVersion
from app.services import audit
from app.services.definitions.layout import add_diagram_layout
from app.services.definitions.versions import get_version
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


def latest_version(session: Session, key: str) -> ProcessVersion | None:
    number = latest_version_number(session, key)
    return None if number is None else get_version(session, key, number)


def main_diagram(version: ProcessVersion | None) -> str | None:
    """The version's main BPMN file with a diagram layout (generated when the file has none)."""
    if version is None:
        return None
    main = next((f for f in version.files if f.filename == version.main_file), None)
    return add_diagram_layout(main.content).decode("utf-8") if main else None


def version_view(session: Session, key: str, number: int) -> dict:
    """One version, its files (form texts inline) and the latest version number of the process."""
    v = get_version(session, key, number)
    files = [{"filename": f.filename, "kind": f.kind, "size": len(f.content or b""),
              "text": (f.content or b"").decode("utf-8", "replace") if f.kind == "form" else None}
             for f in v.files]
    info = {"id": v.id, "process_key": v.process_key, "name": v.name, "version": v.version,
            "hash": v.content_hash, "author": v.author, "created_at": v.created_at.isoformat(),
            "main_file": v.main_file, "timer_start": v.timer_start, "message_starts": v.message_starts or []}
    latest = session.scalar(select(func.max(ProcessVersion.version)).where(ProcessVersion.process_key == key))
    return {"version": info, "files": files, "latest": latest}


def latest_versions(session: Session) -> dict[str, ProcessVersion]:
    """The latest version of every process key, in one query (editors listing every process's files)."""
    newest = (select(ProcessVersion.process_key, func.max(ProcessVersion.version).label("v"))
              .group_by(ProcessVersion.process_key).subquery())
    rows = session.scalars(select(ProcessVersion).join(newest, (ProcessVersion.process_key == newest.c.process_key)
                                                       & (ProcessVersion.version == newest.c.v)))
    return {v.process_key: v for v in rows}


def latest_version_number(session: Session, key: str) -> int | None:
    return session.scalar(select(func.max(ProcessVersion.version)).where(ProcessVersion.process_key == key))


def users_and_orgs(session: Session) -> dict:
    """Org units (city level first) and users with their org, for the users page."""
    orgs = session.scalars(select(OrgUnit).order_by(OrgUnit.region_code.is_not(None), OrgUnit.region_code,
                                                    OrgUnit.key)).all()
    org_rows = [{"id": o.id, "key": o.key, "name": o.name, "type": o.type, "region_code": o.region_code,
                 "parent_id": o.parent_id} for o in orgs]
    by_id = {o["id"]: o for o in org_rows}
    user_rows = [{"username": u.username, "display_name": u.display_name, "email": u.email,
                  "roles": list(u.roles or []), "org": by_id.get(u.org_unit_id), "active": u.active,
                  "created_at": u.created_at.isoformat() if u.created_at else None}
                 for u in session.scalars(select(User).order_by(User.username))]
    return {"orgs": org_rows, "users": user_rows}


def org_exists(session: Session, key: str) -> bool:
    return session.scalar(select(OrgUnit.id).where(OrgUnit.key == key)) is not None
