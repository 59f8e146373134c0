"""Read models of the project list and project page (timeline, plan vs actual, documents, diagram)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app import clock
from app.errors import NotFound
from app.models.domain import (
    STAGE_NAMES,
    STAGES,
    Chain,
    Enterprise,
    FundsArrival,
    Park,
    Project,
    Region,
    StageRecord,
    TimelineEvent,
)
from app.models.runtime import AuditEvent, HumanTask, Instance, Job, ProcessFile, ProcessVersion
from app.services.definitions import bpmn_xml, layout
from app.services.reports.reference import (
    AUDIT_NAMES,
    DEFAULT_REGIONS,
    INSTANCE_STATUS_NAMES,
    LIFECYCLE_HINTS,
    LIGHT_NAMES,
    STATUS_NAMES,
    TIMELINE_KIND_NAMES,
    aware,
    iso,
    region_names,
)
from app.services.runtime import instances as instance_service


# ---------------------------------------------------------------------------------- project list
def list_projects(session: Session, *, region_code: str | None = None, filters: dict | None = None,
                  page: int = 1, per_page: int = 50) -> dict:
    """Projects matching ``filters`` (region_code, stage, light, tier, chain_code, status, q)."""
    f = {k: v for k, v in (filters or {}).items() if v not in (None, "")}
    stmt = (select(Project, Region.name, Chain.name)
            .outerjoin(Region, Region.code == Project.region_code)
            .outerjoin(Chain, Chain.code == Project.chain_code))
    if region_code:
        stmt = stmt.where(Project.region_code == region_code)
    for key, column in (("region_code", Project.region_code), ("stage", Project.stage), ("light", Project.light),
                        ("tier", Project.tier), ("chain_code", Project.chain_code), ("status", Project.status)):
        if key in f:
            stmt = stmt.where(column == f[key])
    if "q" in f:
        like = f"%{f['q'].strip()}%"
        stmt = stmt.where(or_(Project.name.ilike(like), Project.code.ilike(like)))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = max(1, page)
    rows = session.execute(stmt.order_by(Project.region_code, Project.stage.desc(), Project.id)
                           .offset((page - 1) * per_page).limit(per_page)).all()
    names = dict(DEFAULT_REGIONS)
    items = [_project_row(p, region_name or names.get(p.region_code or ""), chain_name) for p, region_name, chain_name
             in rows]
    return {"items": items, "total": int(total), "page": page, "per_page": per_page,
            "pages": max(1, -(-int(total) // per_page))}


def _project_row(p: Project, region_name: str | None, chain_name: str | None) -> dict:
    return {"id": p.id, "code": p.code, "name": p.name, "region_code": p.region_code,
            "region_name": region_name or p.region_code, "chain_code": p.chain_code, "chain_name": chain_name,
            "tier": p.tier, "stage": p.stage, "stage_name": STAGE_NAMES.get(p.stage, p.stage), "light": p.light,
            "light_name": LIGHT_NAMES.get(p.light, p.light), "status": p.status,
            "status_name": STATUS_NAMES.get(p.status, p.status), "library_status": p.library_status,
            "planned_investment_wan": p.planned_investment_wan, "responsible_unit": p.responsible_unit,
            "supervisor_name": p.supervisor_name}


# ---------------------------------------------------------------------------------- project page
def get_project(session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(f"项目 {project_id} 不存在 / project {project_id} not found")
    return project


def project_instances(session: Session, project_id: int) -> list[Instance]:
    """Process instances that work on the project: by their summary, their tasks or the project's timeline."""
    summary_pid = Instance.summary["project_id"]
    if session.get_bind().dialect.name == "sqlite":
        by_summary = or_(summary_pid.as_string() == str(project_id), summary_pid.as_integer() == project_id)
    else:
        by_summary = summary_pid.as_string() == str(project_id)
    ids = set(session.scalars(select(Instance.id).where(by_summary)))
    ids |= set(session.scalars(select(TimelineEvent.instance_id).where(
        TimelineEvent.project_id == project_id, TimelineEvent.instance_id.is_not(None)).distinct()))
    ids |= set(session.scalars(select(HumanTask.instance_id).where(HumanTask.project_id == project_id).distinct()))
    if not ids:
        return []
    return list(session.scalars(select(Instance).where(Instance.id.in_(ids)).order_by(Instance.id)))


def main_instance(candidates: list[Instance]) -> Instance | None:
    """The running lifecycle instance if any, else the latest running one, else the latest."""
    if not candidates:
        return None

    def rank(i: Instance):
        running = i.status not in ("completed", "cancelled")
        lifecycle = any(h in (i.process_key or "").lower() for h in LIFECYCLE_HINTS)
        return (running, lifecycle, i.id)

    return max(candidates, key=rank)


def project_detail(session: Session, project_id: int) -> dict:
    p = get_project(session, project_id)
    names = region_names(session)
    chain = session.get(Chain, p.chain_code) if p.chain_code else None
    park = session.get(Park, p.park_id) if p.park_id else None
    enterprise = session.get(Enterprise, p.enterprise_id) if p.enterprise_id else None
    header = _project_row(p, names.get(p.region_code or ""), chain.name if chain else None)
    header.update({"park_name": park.name if park else None, "enterprise_name": enterprise.name if enterprise else None,
                   "chain_action": p.chain_action, "is_industrial": p.is_industrial,
                   "designated_major": p.designated_major, "prereview_result": p.prereview_result,
                   "description": p.description, "signed_at": iso(p.signed_at), "landed_at": iso(p.landed_at),
                   "started_at": iso(p.started_at), "created_at": iso(p.created_at)})
    insts = project_instances(session, p.id)
    main = main_instance(insts)
    versions = {v.id: v for v in session.scalars(select(ProcessVersion).where(
        ProcessVersion.id.in_({i.version_id for i in insts})))} if insts else {}
    return {
        "project": header,
        "team": {"commissioner": p.commissioner_name, "responsible_unit": p.responsible_unit,
                 "factor_units": list(p.factor_units or []), "supervisor_name": p.supervisor_name,
                 "supervisor_role": p.supervisor_role},
        "stages": stage_plan(session, p),
        "agreements": _agreements(p),
        "funds": _funds(session, p.id),
        "timeline": timeline(session, p.id, insts, versions),
        "instances": [{"id": i.id, "process_key": i.process_key, "name": versions[i.version_id].name
                       if i.version_id in versions else None,
                       "version": versions[i.version_id].version if i.version_id in versions else None,
                       "status": i.status, "status_name": INSTANCE_STATUS_NAMES.get(i.status, i.status),
                       "business_key": i.business_key, "created_at": iso(i.created_at),
                       "main": main is not None and i.id == main.id} for i in insts],
        "main_instance_id": main.id if main else None,
        "open_tasks": _open_tasks(session, [i.id for i in insts]),
        "documents": documents(session, [i for i in insts if i.status not in ("cancelled",)][-10:]),
    }


def stage_plan(session: Session, p: Project) -> list[dict]:
    """S1..S7: the (last) stay in each stage, planned due vs completion, days late."""
    records = session.scalars(select(StageRecord).where(StageRecord.project_id == p.id)
                              .order_by(StageRecord.started_at, StageRecord.id)).all()
    by_stage: dict[str, StageRecord] = {}
    for rec in records:
        by_stage[rec.stage] = rec
    now = clock.now()
    out = []
    for stage in STAGES:
        rec = by_stage.get(stage)
        row: dict[str, Any] = {"stage": stage, "stage_name": STAGE_NAMES[stage], "state": "pending"}
        if rec is not None:
            due, done, started = aware(rec.planned_due), aware(rec.completed_at), aware(rec.started_at)
            row.update({"limit_days": rec.limit_days, "planned_due": iso(due), "started_at": iso(started),
                        "completed_at": iso(done), "light": rec.light,
                        "light_name": LIGHT_NAMES.get(rec.light, rec.light)})
            if done is not None:
                row["state"] = "done"
                late = (done - due).total_seconds() / 86400 if due else None
                row["on_time"] = late is None or late <= 0
                row["days_late"] = max(0, int(-(-late // 1))) if late is not None and late > 0 else 0
                row["days_used"] = round((done - started).total_seconds() / 86400, 1) if started else None
            else:
                row["state"] = "current"
                row["overdue"] = bool(due and now > due)
                row["days_late"] = max(0, int((now - due).total_seconds() // 86400)) if due and now > due else 0
                row["days_left"] = int((due - now).total_seconds() // 86400) if due and now <= due else None
        out.append(row)
    return out


def _agreements(p: Project) -> list[dict]:
    return [{"id": a.id, "kind": a.kind, "sign_date": iso(a.sign_date), "agreed_investment_wan": a.agreed_investment_wan,
             "milestones": [{"name": m.name, "due_date": iso(m.due_date), "done_at": iso(m.done_at)}
                            for m in a.milestones]} for a in p.agreements]


def _funds(session: Session, project_id: int) -> dict:
    rows = session.scalars(select(FundsArrival).where(FundsArrival.project_id == project_id)
                           .order_by(FundsArrival.period, FundsArrival.id)).all()
    return {"items": [{"period": r.period, "amount_wan": r.amount_wan, "origin": r.origin, "nature": r.nature,
                       "evidence": r.evidence} for r in rows],
            "total_wan": float(sum(r.amount_wan for r in rows))}


def _open_tasks(session: Session, instance_ids: list[int]) -> list[dict]:
    if not instance_ids:
        return []
    rows = session.scalars(select(HumanTask).where(HumanTask.instance_id.in_(instance_ids),
                                                   HumanTask.state == "open").order_by(HumanTask.due_at)).all()
    now = clock.now()
    return [{"id": t.id, "name": t.name, "element_id": t.element_id, "lane": t.lane, "assignee": t.assignee,
             "due_at": iso(t.due_at), "overdue": bool(t.due_at and aware(t.due_at) < now), "warning": t.warning,
             "instance_id": t.instance_id} for t in rows]


def _element_names(session: Session, version: ProcessVersion | None, cache: dict) -> dict[str, str]:
    if version is None:
        return {}
    if version.id not in cache:
        content = session.scalar(select(ProcessFile.content).where(ProcessFile.version_id == version.id,
                                                                   ProcessFile.filename == version.main_file))
        cache[version.id] = bpmn_xml.element_names(content) if content else {}
    return cache[version.id]


def timeline(session: Session, project_id: int, insts: list[Instance],
             versions: dict[int, ProcessVersion]) -> list[dict]:
    """The project's 自动记录 merged with the audit events of its instances, newest first."""
    by_instance = {i.id: i for i in insts}
    name_cache: dict[int, dict[str, str]] = {}
    items = []
    for ev in session.scalars(select(TimelineEvent).where(TimelineEvent.project_id == project_id)):
        inst = by_instance.get(ev.instance_id) if ev.instance_id else None
        names = _element_names(session, versions.get(inst.version_id) if inst else None, name_cache)
        items.append({"at": iso(aware(ev.at)), "source": "project", "kind": ev.kind,
                      "kind_name": TIMELINE_KIND_NAMES.get(ev.kind, ev.kind), "title": ev.title,
                      "actor": ev.actor or "system", "instance_id": ev.instance_id, "element_id": ev.element_id,
                      "element_name": names.get(ev.element_id or ""), "detail": _detail_text(ev.detail)})
    if by_instance:
        for ev in session.scalars(select(AuditEvent).where(AuditEvent.instance_id.in_(list(by_instance)))):
            inst = by_instance[ev.instance_id]
            names = _element_names(session, versions.get(inst.version_id), name_cache)
            detail = dict(ev.detail or {})
            title = AUDIT_NAMES.get(ev.type, ev.type)
            element_name = detail.pop("name", None) or names.get(ev.element_id or "")
            detail.pop("task_id", None)
            if element_name:
                title = f"{title}:{element_name}"
            items.append({"at": iso(aware(ev.at)), "source": "process", "kind": ev.type,
                          "kind_name": "流程", "title": title, "actor": ev.actor, "instance_id": ev.instance_id,
                          "element_id": ev.element_id, "element_name": element_name,
                          "process_key": inst.process_key, "detail": _detail_text(detail)})
    items.sort(key=lambda r: r["at"] or "", reverse=True)
    return items


def _detail_text(detail: dict | None) -> str:
    if not detail:
        return ""
    parts = []
    for key, value in detail.items():
        if value in (None, "", [], {}):
            continue
        if isinstance(value, dict | list):
            value = ", ".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else \
                ", ".join(str(v) for v in value)
        parts.append(f"{key}: {value}")
    return "; ".join(parts)[:500]


_ATTACHMENT_KEYS = ("url", "href", "path", "attachment_id", "sha256", "storage_key", "content_type")


def documents(session: Session, insts: list[Instance]) -> list[dict]:
    """Attachments referenced in the instances' data: objects with a file name and a link or a stored key."""
    found: list[dict] = []
    seen: set[tuple] = set()

    def visit(value, path: str, instance_id: int) -> None:
        if isinstance(value, dict):
            name = value.get("filename") or value.get("file_name") or value.get("name")
            if isinstance(name, str) and any(k in value for k in _ATTACHMENT_KEYS):
                url = value.get("url") or value.get("href")
                url = url if isinstance(url, str) and url.startswith("/") and not url.startswith("//") else None
                sha = value.get("sha256") if isinstance(value.get("sha256"), str) else None
                key = (name, url, sha or value.get("id"), instance_id)
                if key not in seen:
                    seen.add(key)
                    found.append({"name": name, "url": url, "sha256": sha, "field": path, "size": value.get("size"),
                                  "content_type": value.get("content_type") or value.get("type"),
                                  "instance_id": instance_id})
                return
            for k, v in value.items():
                visit(v, f"{path}.{k}" if path else str(k), instance_id)
        elif isinstance(value, list):
            for v in value:
                visit(v, path, instance_id)
        elif isinstance(value, str) and value.startswith("/attachments/"):
            key = (value, instance_id)
            if key not in seen:
                seen.add(key)
                found.append({"name": value.rsplit("/", 1)[-1], "url": value, "sha256": None, "field": path,
                              "size": None, "content_type": None, "instance_id": instance_id})

    for inst in insts:
        try:
            data = instance_service.instance_data(session, inst)
        except Exception:  # noqa: BLE001 - a damaged instance must not break the project page
            continue
        visit(data, "", inst.id)
    return found


def project_document(session: Session, project_id: int, sha256: str) -> dict:
    """The attachment ``sha256`` if the data of one of the project's instances references it (404 otherwise)."""
    get_project(session, project_id)
    for doc in documents(session, project_instances(session, project_id)):
        if doc.get("sha256") == sha256:
            return doc
    raise NotFound("附件不存在或不属于该项目 / attachment not found for this project")


def project_diagram(session: Session, project_id: int, instance_id: int | None = None) -> dict:
    """{xml, states, due} of the project's (chosen or main) instance for the bpmn-js viewer."""
    get_project(session, project_id)
    insts = project_instances(session, project_id)
    if instance_id is not None:
        inst = next((i for i in insts if i.id == instance_id), None)
        if inst is None:
            raise NotFound(f"流程实例 {instance_id} 与该项目无关 / instance not linked to this project")
    else:
        inst = main_instance(insts)
    if inst is None:
        return {"instance_id": None, "xml": None, "states": {}, "due": {}}
    return instance_diagram(session, inst)


def instance_diagram(session: Session, inst: Instance) -> dict:
    version = session.get(ProcessVersion, inst.version_id)
    xml = session.scalar(select(ProcessFile.content).where(ProcessFile.version_id == version.id,
                                                           ProcessFile.filename == version.main_file))
    states = instance_service.element_states(session, inst) if inst.state and inst.state != "{}" else {}
    now = clock.now()
    due: dict[str, dict] = {}
    for t in session.scalars(select(HumanTask).where(HumanTask.instance_id == inst.id, HumanTask.state == "open")):
        if t.due_at is None:
            continue
        at = aware(t.due_at)
        overdue = at < now
        if overdue and inst.status not in ("completed", "cancelled"):
            states[t.element_id] = "overdue"
        due[t.element_id] = {"at": at.isoformat(), "kind": "task", "overdue": overdue}
    for j in session.scalars(select(Job).where(Job.instance_id == inst.id, Job.kind == "timer")):
        if j.element_id and j.element_id not in due:
            due[j.element_id] = {"at": aware(j.due_at).isoformat(), "kind": "timer", "overdue": False}
    return {"instance_id": inst.id, "process_key": inst.process_key, "version": version.version,
            "status": inst.status, "xml": layout.add_diagram_layout(xml).decode("utf-8") if xml else None,
            "states": states, "due": due}
