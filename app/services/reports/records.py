"""Ledgers of the growing records (no writes): 投诉台账 (complaints) and 来访台账 (visits), scoped by county.

One row dict per record; the page (web/records.py, templates/records/) renders exactly these keys, so a
new column is one key here and one cell there.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import clock
from app.models.domain import Complaint, Project, Visit
from app.services.reports.reference import aware, iso, region_names

COMPLAINT_STATUS_NAMES = {"received": "已受理", "handling": "办理中", "closed": "已办结"}
VISIT_STATUS_NAMES = {"registered": "已登记", "routed": "已分办", "handled": "已办结"}
PER_PAGE = 25


def _page(session: Session, stmt, order, page: int) -> tuple[list, int]:
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = session.execute(stmt.order_by(*order).offset((max(page, 1) - 1) * PER_PAGE).limit(PER_PAGE)).all()
    return rows, total


def list_complaints(session: Session, *, region_code: str | None = None, status: str | None = None,
                    page: int = 1) -> dict:
    """Complaints newest first; ``region_code`` confines to one county (None: city-wide)."""
    stmt = select(Complaint, Project.name).outerjoin(Project, Project.id == Complaint.project_id)
    if region_code:
        stmt = stmt.where(Complaint.region_code == region_code)
    if status:
        stmt = stmt.where(Complaint.status == status)
    rows, total = _page(session, stmt, (Complaint.received_at.desc(), Complaint.id.desc()), page)
    names, now = region_names(session), clock.now()
    items = []
    for c, project_name in rows:
        due = aware(c.due_at)
        items.append({
            "id": c.id, "complainant": c.complainant, "category": c.category, "project_id": c.project_id,
            "project_name": project_name, "region_code": c.region_code,
            "region_name": names.get(c.region_code or "", c.region_code or "市级"),
            "handler_unit": c.handler_unit, "received_at": iso(c.received_at), "due_at": iso(c.due_at),
            "status": c.status, "status_name": COMPLAINT_STATUS_NAMES.get(c.status, c.status),
            "overdue": c.status != "closed" and due is not None and due < now,
            "satisfied": c.satisfied, "closed_at": iso(c.closed_at)})
    return {"items": items, "total": total, "page": page, "per_page": PER_PAGE}


def list_visits(session: Session, *, region_code: str | None = None, status: str | None = None,
                page: int = 1) -> dict:
    """Visits newest first; ``region_code`` confines to one county (None: city-wide)."""
    stmt = select(Visit, Project.name).outerjoin(Project, Project.id == Visit.project_id)
    if region_code:
        stmt = stmt.where(Visit.region_code == region_code)
    if status:
        stmt = stmt.where(Visit.status == status)
    rows, total = _page(session, stmt, (Visit.visit_date.desc(), Visit.id.desc()), page)
    names = region_names(session)
    items = [{
        "id": v.id, "visit_date": iso(v.visit_date), "enterprise_name": v.enterprise_name,
        "interests": list(v.interests or []), "host": v.host, "region_code": v.region_code,
        "region_name": names.get(v.region_code or "", v.region_code or "市级"), "routing_type": v.routing_type,
        "routed_to": v.routed_to, "chain_code": v.chain_code, "project_id": v.project_id,
        "project_name": project_name, "status": v.status,
        "status_name": VISIT_STATUS_NAMES.get(v.status, v.status)} for v, project_name in rows]
    return {"items": items, "total": total, "page": page, "per_page": PER_PAGE}
