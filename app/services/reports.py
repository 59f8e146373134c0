"""Read models of the project page, the 挂图作战 board and the dashboards, plus the Excel exports.

SQL over the domain and projection tables; views pass the returned plain dicts to templates (which
never query). Jurisdiction is applied here by a ``region_code`` argument: ``None`` means city-wide
(admins and city-level users), a code restricts to one county (users whose org unit has that
``region_code``), see :func:`user_region`.

Counting rules follow reference/domain.md §4.1: signed / landed / started are the P05 stage-event
timestamps on the project, months are local (UTC+8) months, 到位资金 are F-12 rows (省外 primary),
cohort rates use the projects signed in the year and the year before (2-year rolling cohort).
"""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app import clock
from app.errors import NotAllowed, NotFound
from app.models.domain import (
    LIGHTS,
    STAGE_NAMES,
    STAGES,
    Agreement,
    AssessmentScore,
    Chain,
    Complaint,
    Enterprise,
    FundsArrival,
    Park,
    Project,
    Region,
    StageRecord,
    TimelineEvent,
    Visit,
)
from app.models.runtime import AuditEvent, HumanTask, Instance, Job, ProcessFile, ProcessVersion
from app.services import domain_queries as dq
from app.services import instances as instance_service
from app.services import process_diff

# The 9 counties + 1 district of 普洱市 (GB/T 2260), used when the region table is not loaded.
DEFAULT_REGIONS: tuple[tuple[str, str], ...] = (
    ("530802", "思茅区"), ("530821", "宁洱县"), ("530822", "墨江县"), ("530823", "景东县"), ("530824", "景谷县"),
    ("530825", "镇沅县"), ("530826", "江城县"), ("530827", "孟连县"), ("530828", "澜沧县"), ("530829", "西盟县"),
)
LIGHT_NAMES = {"green": "绿灯", "blue": "蓝灯", "yellow": "黄灯", "red": "红灯"}
LIGHT_RANK = {"green": 0, "blue": 1, "yellow": 2, "red": 3}
STATUS_NAMES = {"active": "推进中", "sealed": "已封存", "exited": "已退出", "terminated": "已终止"}
INSTANCE_STATUS_NAMES = {"running": "运行中", "waiting": "等待中", "suspended": "已挂起", "error": "故障",
                         "completed": "已完成", "cancelled": "已取消"}
AUDIT_NAMES = {
    "instance_started": "启动流程", "instance_completed": "流程结束", "instance_cancelled": "取消流程",
    "instance_suspended": "挂起流程", "instance_resumed": "恢复流程", "instance_migrated": "迁移版本",
    "task_completed": "完成任务", "task_claimed": "认领任务", "task_unclaimed": "退回认领",
    "timer_fired": "定时器触发", "message_delivered": "收到消息", "message_undelivered": "消息未送达",
    "service_failed": "服务调用失败", "incident_opened": "产生故障", "incident_retried": "故障重试",
    "timer_start_fired": "定时启动", "deploy": "部署",
}
TIMELINE_KIND_NAMES = {"stage": "阶段", "light": "预警", "status": "状态", "update": "更新", "agreement": "协议",
                       "note": "记录", "funds": "资金", "notify": "通知"}
# The lifecycle process is preferred for the project diagram (P05); keys are matched by substring.
LIFECYCLE_HINTS = ("lifecycle", "p05", "全生命周期")


def user_region(user) -> str | None:
    """The county a user is confined to (``None``: admin or city level, sees everything)."""
    if user is None or user.is_admin:
        return None
    return user.region_code


def check_project_scope(user, project_region: str | None) -> None:
    region = user_region(user)
    if region and project_region != region:
        raise NotAllowed("该项目不在您的管辖县区 / this project is outside your jurisdiction")


# ---------------------------------------------------------------------------------- reference data
def regions(session: Session, only: str | None = None) -> list[dict]:
    rows = session.execute(select(Region.code, Region.name).order_by(Region.sort_order, Region.code)).all()
    items = [{"code": c, "name": n} for c, n in rows] or [{"code": c, "name": n} for c, n in DEFAULT_REGIONS]
    return [r for r in items if r["code"] == only] if only else items


def region_names(session: Session) -> dict[str, str]:
    names = dict(DEFAULT_REGIONS)
    names.update({r["code"]: r["name"] for r in regions(session)})
    return names


def chains(session: Session) -> list[dict]:
    return [{"code": c, "name": n} for c, n in session.execute(select(Chain.code, Chain.name).order_by(Chain.code))]


def filter_options(session: Session, region_code: str | None = None) -> dict:
    return {"regions": regions(session, region_code), "chains": chains(session),
            "stages": [{"code": s, "name": STAGE_NAMES[s]} for s in (*STAGES, "DONE")],
            "lights": [{"code": k, "name": LIGHT_NAMES[k]} for k in LIGHTS],
            "tiers": ["重大", "重点", "一般"],
            "statuses": [{"code": k, "name": v} for k, v in STATUS_NAMES.items()]}


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


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
                   "description": p.description, "signed_at": _iso(p.signed_at), "landed_at": _iso(p.landed_at),
                   "started_at": _iso(p.started_at), "created_at": _iso(p.created_at)})
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
                       "business_key": i.business_key, "created_at": _iso(i.created_at),
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
            due, done, started = _aware(rec.planned_due), _aware(rec.completed_at), _aware(rec.started_at)
            row.update({"limit_days": rec.limit_days, "planned_due": _iso(due), "started_at": _iso(started),
                        "completed_at": _iso(done), "light": rec.light,
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
    return [{"id": a.id, "kind": a.kind, "sign_date": _iso(a.sign_date), "agreed_investment_wan": a.agreed_investment_wan,
             "milestones": [{"name": m.name, "due_date": _iso(m.due_date), "done_at": _iso(m.done_at)}
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
             "due_at": _iso(t.due_at), "overdue": bool(t.due_at and _aware(t.due_at) < now), "warning": t.warning,
             "instance_id": t.instance_id} for t in rows]


def _element_names(session: Session, version: ProcessVersion | None, cache: dict) -> dict[str, str]:
    if version is None:
        return {}
    if version.id not in cache:
        content = session.scalar(select(ProcessFile.content).where(ProcessFile.version_id == version.id,
                                                                   ProcessFile.filename == version.main_file))
        cache[version.id] = process_diff.element_names(content) if content else {}
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
        items.append({"at": _iso(_aware(ev.at)), "source": "project", "kind": ev.kind,
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
            items.append({"at": _iso(_aware(ev.at)), "source": "process", "kind": ev.type,
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
        at = _aware(t.due_at)
        overdue = at < now
        if overdue and inst.status not in ("completed", "cancelled"):
            states[t.element_id] = "overdue"
        due[t.element_id] = {"at": at.isoformat(), "kind": "task", "overdue": overdue}
    for j in session.scalars(select(Job).where(Job.instance_id == inst.id, Job.kind == "timer")):
        if j.element_id and j.element_id not in due:
            due[j.element_id] = {"at": _aware(j.due_at).isoformat(), "kind": "timer", "overdue": False}
    return {"instance_id": inst.id, "process_key": inst.process_key, "version": version.version,
            "status": inst.status, "xml": process_diff.with_layout(xml).decode("utf-8") if xml else None,
            "states": states, "due": due}


# ---------------------------------------------------------------------------------- 挂图作战 board
def board_matrix(session: Session, *, region_code: str | None = None, chain_code: str | None = None,
                 tier: str | None = None, lights: tuple[str, ...] | None = None) -> dict:
    """Active projects by county (rows) × stage S1..S7 (columns), with per-light counts per cell."""
    stmt = select(Project.id, Project.name, Project.region_code, Project.stage, Project.light, Project.tier,
                  Project.chain_code).where(Project.status == "active", Project.stage.in_(STAGES))
    if region_code:
        stmt = stmt.where(Project.region_code == region_code)
    if chain_code:
        stmt = stmt.where(Project.chain_code == chain_code)
    if tier:
        stmt = stmt.where(Project.tier == tier)
    if lights:
        stmt = stmt.where(Project.light.in_(lights))
    rows = regions(session, region_code)
    known = {r["code"] for r in rows}
    cells: dict[tuple[str | None, str], list[dict]] = defaultdict(list)
    extra: set[str | None] = set()
    for pid, name, rc, stage, light, ptier, chain in session.execute(stmt.order_by(Project.id)):
        cells[(rc, stage)].append({"id": pid, "name": name, "light": light, "tier": ptier, "chain_code": chain,
                                   "light_name": LIGHT_NAMES.get(light, light)})
        if rc not in known:
            extra.add(rc)
    names = dict(DEFAULT_REGIONS)
    rows = rows + [{"code": rc, "name": names.get(rc or "", rc or "未分县区")} for rc in sorted(extra, key=str)]
    out_rows = []
    col_totals = {s: 0 for s in STAGES}
    light_totals = {k: 0 for k in LIGHTS}
    for r in rows:
        row_cells = []
        total = 0
        for stage in STAGES:
            projects = cells.get((r["code"], stage), [])
            counts = {k: 0 for k in LIGHTS}
            for p in projects:
                counts[p["light"]] = counts.get(p["light"], 0) + 1
                light_totals[p["light"]] = light_totals.get(p["light"], 0) + 1
            worst = max((p["light"] for p in projects), key=lambda x: LIGHT_RANK.get(x, 0), default=None)
            row_cells.append({"stage": stage, "projects": projects, "count": len(projects), "counts": counts,
                              "worst": worst})
            total += len(projects)
            col_totals[stage] += len(projects)
        out_rows.append({"code": r["code"], "name": r["name"], "cells": row_cells, "total": total})
    return {"columns": [{"stage": s, "name": STAGE_NAMES[s]} for s in STAGES], "rows": out_rows,
            "column_totals": col_totals, "light_totals": light_totals, "total": sum(col_totals.values())}


# ---------------------------------------------------------------------------------- dashboards
def current_period() -> str:
    return dq.period_of(clock.now())


def _year_bounds(year: int, last_period: str | None = None) -> tuple[dt.datetime, dt.datetime]:
    start = dq.month_bounds(f"{year}-01")[0]
    end = dq.month_bounds(last_period or f"{year}-12")[1]
    return start, end


def dashboard(session: Session, period: str, region_code: str | None = None) -> dict:
    """KPI cards (month and YTD), per-county / park / chain / month series, county ranking, funnel."""
    dq.month_bounds(period)  # validates
    year = int(period[:4])
    ytd_start, ytd_end = _year_bounds(year, period)
    month = dq.kpi_snapshot(session, period, region_code)
    region_list = regions(session, region_code)
    per_region = _per_region(session, ytd_start, ytd_end, year, period, region_code)
    ytd = {k: sum(r[k] for r in per_region.values()) for k in
           ("signed", "landed", "started", "funds_total_wan", "funds_out_wan", "visits", "complaints")}
    ytd["signed_amount_wan"] = dq.signed_amount_wan(session, ytd_start, ytd_end, region_code)
    ranking = ranking_rows(session, year, period, region_code)
    county = [{"code": r["code"], "name": r["name"], **per_region.get(r["code"], _empty_region())}
              for r in region_list]
    return {
        "period": period, "year": year, "region_code": region_code,
        "month": month, "ytd": ytd,
        "lights": dq.light_counts(session, region_code),
        "funnel": [{"stage": s, "name": STAGE_NAMES[s], "count": n}
                   for s, n in dq.stage_funnel(session, region_code).items()],
        "library": dq.library_counts(session, region_code),
        "per_county": county,
        "per_park": _per_park(session, ytd_start, ytd_end, period, region_code),
        "per_chain": _per_chain(session, ytd_start, ytd_end, region_code),
        "per_month": _per_month(session, year, region_code),
        "ranking": ranking,
    }


def _empty_region() -> dict:
    return {"signed": 0, "landed": 0, "started": 0, "funds_total_wan": 0.0, "funds_out_wan": 0.0, "visits": 0,
            "complaints": 0, "green": 0, "blue": 0, "yellow": 0, "red": 0, "active": 0}


def _per_region(session: Session, start, end, year: int, period: str, region_code: str | None) -> dict[str, dict]:
    out: dict[str, dict] = defaultdict(_empty_region)

    def scoped(stmt, column):
        return stmt.where(column == region_code) if region_code else stmt

    for column, key in ((Project.signed_at, "signed"), (Project.landed_at, "landed"), (Project.started_at, "started")):
        stmt = scoped(select(Project.region_code, func.count(Project.id)).where(column >= start, column < end)
                      .group_by(Project.region_code), Project.region_code)
        for rc, n in session.execute(stmt):
            out[rc][key] = int(n)
    funds = scoped(select(Project.region_code, FundsArrival.origin, func.sum(FundsArrival.amount_wan))
                   .join(Project, Project.id == FundsArrival.project_id)
                   .where(FundsArrival.period >= f"{year}-01", FundsArrival.period <= period)
                   .group_by(Project.region_code, FundsArrival.origin), Project.region_code)
    for rc, origin, amount in session.execute(funds):
        out[rc]["funds_total_wan"] += float(amount or 0)
        if origin == "省外":
            out[rc]["funds_out_wan"] += float(amount or 0)
    lights = scoped(select(Project.region_code, Project.light, func.count(Project.id))
                    .where(Project.status == "active").group_by(Project.region_code, Project.light), Project.region_code)
    for rc, light, n in session.execute(lights):
        out[rc][light] = out[rc].get(light, 0) + int(n)
        out[rc]["active"] += int(n)
    visits = scoped(select(Visit.region_code, func.count(Visit.id)).where(
        Visit.visit_date >= dt.date(year, 1, 1), Visit.visit_date < dq.month_bounds(period)[3])
        .group_by(Visit.region_code), Visit.region_code)
    for rc, n in session.execute(visits):
        out[rc]["visits"] = int(n)
    complaints = scoped(select(Complaint.region_code, func.count(Complaint.id)).where(
        Complaint.received_at >= start, Complaint.received_at < end).group_by(Complaint.region_code),
        Complaint.region_code)
    for rc, n in session.execute(complaints):
        out[rc]["complaints"] = int(n)
    return out


def _per_park(session: Session, start, end, period: str, region_code: str | None) -> list[dict]:
    stmt = (select(Park.id, Park.name, Park.region_code, func.count(Project.id))
            .outerjoin(Project, (Project.park_id == Park.id) & (Project.status == "active"))
            .group_by(Park.id, Park.name, Park.region_code).order_by(Park.id))
    if region_code:
        stmt = stmt.where(Park.region_code == region_code)
    parks = {pid: {"id": pid, "name": name, "region_code": rc, "active": int(n), "signed": 0, "funds_wan": 0.0}
             for pid, name, rc, n in session.execute(stmt)}
    signed = (select(Project.park_id, func.count(Project.id)).where(
        Project.signed_at >= start, Project.signed_at < end, Project.park_id.is_not(None)).group_by(Project.park_id))
    for pid, n in session.execute(signed):
        if pid in parks:
            parks[pid]["signed"] = int(n)
    funds = (select(Project.park_id, func.sum(FundsArrival.amount_wan))
             .join(Project, Project.id == FundsArrival.project_id)
             .where(FundsArrival.period >= f"{period[:4]}-01", FundsArrival.period <= period,
                    Project.park_id.is_not(None)).group_by(Project.park_id))
    for pid, amount in session.execute(funds):
        if pid in parks:
            parks[pid]["funds_wan"] = float(amount or 0)
    return list(parks.values())


def _per_chain(session: Session, start, end, region_code: str | None) -> list[dict]:
    names = {c["code"]: c["name"] for c in chains(session)}
    out: dict[str | None, dict] = {}

    def row(code):
        return out.setdefault(code, {"code": code, "name": names.get(code or "", code or "未归链"), "active": 0,
                                     "signed": 0, "investment_wan": 0.0})

    stmt = select(Project.chain_code, func.count(Project.id), func.sum(Project.planned_investment_wan)).where(
        Project.status == "active").group_by(Project.chain_code)
    if region_code:
        stmt = stmt.where(Project.region_code == region_code)
    for code, n, amount in session.execute(stmt):
        r = row(code)
        r["active"], r["investment_wan"] = int(n), float(amount or 0)
    signed = select(Project.chain_code, func.count(Project.id)).where(
        Project.signed_at >= start, Project.signed_at < end).group_by(Project.chain_code)
    if region_code:
        signed = signed.where(Project.region_code == region_code)
    for code, n in session.execute(signed):
        row(code)["signed"] = int(n)
    for code in names:
        row(code)
    return sorted(out.values(), key=lambda r: (r["code"] is None, r["code"] or ""))


def _per_month(session: Session, year: int, region_code: str | None) -> list[dict]:
    start, end = _year_bounds(year)
    months = {f"{year}-{m:02d}": {"period": f"{year}-{m:02d}", "signed": 0, "landed": 0, "started": 0,
                                  "funds_total_wan": 0.0, "funds_out_wan": 0.0, "visits": 0, "complaints": 0}
              for m in range(1, 13)}
    for column, key in ((Project.signed_at, "signed"), (Project.landed_at, "landed"), (Project.started_at, "started")):
        stmt = select(column).where(column >= start, column < end)
        if region_code:
            stmt = stmt.where(Project.region_code == region_code)
        for (moment,) in session.execute(stmt):
            months[dq.period_of(_aware(moment))][key] += 1
    funds = (select(FundsArrival.period, FundsArrival.origin, func.sum(FundsArrival.amount_wan))
             .where(FundsArrival.period >= f"{year}-01", FundsArrival.period <= f"{year}-12")
             .group_by(FundsArrival.period, FundsArrival.origin))
    if region_code:
        funds = funds.join(Project, Project.id == FundsArrival.project_id).where(Project.region_code == region_code)
    for period, origin, amount in session.execute(funds):
        if period in months:
            months[period]["funds_total_wan"] += float(amount or 0)
            if origin == "省外":
                months[period]["funds_out_wan"] += float(amount or 0)
    visits = select(Visit.visit_date).where(Visit.visit_date >= dt.date(year, 1, 1),
                                            Visit.visit_date < dt.date(year + 1, 1, 1))
    if region_code:
        visits = visits.where(Visit.region_code == region_code)
    for (day,) in session.execute(visits):
        months[day.strftime("%Y-%m")]["visits"] += 1
    complaints = select(Complaint.received_at).where(Complaint.received_at >= start, Complaint.received_at < end)
    if region_code:
        complaints = complaints.where(Complaint.region_code == region_code)
    for (moment,) in session.execute(complaints):
        months[dq.period_of(_aware(moment))]["complaints"] += 1
    return list(months.values())


def ranking_rows(session: Session, year: int, period: str, region_code: str | None = None) -> list[dict]:
    """County league table on the 2-year signing cohort: 落地率, 开工率, 资金到位率 (§4.1, §4.3 benchmarks).

    Ranked by 项目落地率 first (the policy weights landing most), then 资金到位率, then signings."""
    start, _ = _year_bounds(year - 1)
    end = dq.month_bounds(period)[1]
    agreed = (select(func.sum(Agreement.agreed_investment_wan))
              .where(Agreement.project_id == Project.id, Agreement.kind == "投资协议")
              .correlate(Project).scalar_subquery())
    stmt = select(Project.id, Project.region_code, Project.landed_at, Project.started_at,
                  func.coalesce(agreed, Project.planned_investment_wan)).where(
        Project.signed_at >= start, Project.signed_at < end)
    if region_code:
        stmt = stmt.where(Project.region_code == region_code)
    cohort = session.execute(stmt).all()
    funds: dict[int, float] = {}
    if cohort:
        for pid, amount in session.execute(select(FundsArrival.project_id, func.sum(FundsArrival.amount_wan)).where(
                FundsArrival.project_id.in_([c[0] for c in cohort]), FundsArrival.period <= period)
                .group_by(FundsArrival.project_id)):
            funds[pid] = float(amount or 0)
    stats: dict[str, dict] = {r["code"]: {"code": r["code"], "name": r["name"], "signed": 0, "landed": 0,
                                          "started": 0, "agreed_wan": 0.0, "funds_wan": 0.0}
                              for r in regions(session, region_code)}
    for pid, rc, landed, started, amount in cohort:
        s = stats.setdefault(rc, {"code": rc, "name": rc or "未分县区", "signed": 0, "landed": 0, "started": 0,
                                  "agreed_wan": 0.0, "funds_wan": 0.0})
        s["signed"] += 1
        s["landed"] += 1 if landed is not None and _aware(landed) < end else 0
        s["started"] += 1 if started is not None and _aware(started) < end else 0
        s["agreed_wan"] += float(amount or 0)
        s["funds_wan"] += funds.get(pid, 0.0)
    rows = []
    for s in stats.values():
        s["landing_rate"] = s["landed"] / s["signed"] if s["signed"] else None
        s["start_rate"] = s["started"] / s["signed"] if s["signed"] else None
        s["funds_rate"] = s["funds_wan"] / s["agreed_wan"] if s["agreed_wan"] else None
        rows.append(s)
    rows.sort(key=lambda s: (-(s["landing_rate"] or 0), -(s["funds_rate"] or 0), -s["signed"], s["code"] or ""))
    for i, s in enumerate(rows, 1):
        s["rank"] = i
    return rows


# ---------------------------------------------------------------------------------- Excel exports
BULLETIN_COLUMNS: tuple[tuple[str, str], ...] = (
    ("new_projects", "新增项目数"), ("signed", "新签约项目数"), ("signed_amount_wan", "协议投资额(万元)"),
    ("landed", "落地项目数"), ("started", "开工项目数"), ("funds_total_wan", "到位资金合计(万元)"),
    ("funds_out_of_province_wan", "省外到位资金(万元)"), ("active_projects", "在推项目数"), ("green", "绿灯"),
    ("yellow", "黄灯"), ("red", "红灯"), ("visits", "来访企业数"), ("complaints_received", "受理投诉"),
    ("complaints_closed", "办结投诉"), ("complaints_satisfied", "满意件数"),
)


def bulletin_rows(session: Session, period: str) -> list[dict]:
    """The monthly bulletin table: one kpi_snapshot per county, then the city total."""
    rows = [{"region_code": r["code"], "region_name": r["name"], **dq.kpi_snapshot(session, period, r["code"])}
            for r in regions(session)]
    rows.append({"region_code": None, "region_name": "全市合计", **dq.kpi_snapshot(session, period, None)})
    return rows


def _style_header(ws, row: int, count: int) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill

    for col in range(1, count + 1):
        cell = ws.cell(row=row, column=col)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="2F6B4F")
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)


def _autosize(ws) -> None:
    from openpyxl.utils import get_column_letter

    for idx, column in enumerate(ws.iter_cols(), 1):
        width = max((len(str(c.value)) * (2 if any(ord(ch) > 127 for ch in str(c.value)) else 1)
                     for c in column if c.value is not None), default=8)
        ws.column_dimensions[get_column_letter(idx)].width = min(40, max(10, width + 2))


def bulletin_xlsx(session: Session, period: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    rows = bulletin_rows(session, period)
    wb = Workbook()
    ws = wb.active
    ws.title = "月通报"
    ws.append([f"普洱市招商引资工作月通报({period})"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([f"生成时间:{clock.now().astimezone(dq.LOCAL_TZ).strftime('%Y-%m-%d %H:%M')}(北京时间);"
               "口径:签约/落地/开工按阶段事件时间,到位资金按 F-12 月度登记,灯色为当前状态"])
    header = ["县(区)", "区划代码", *[label for _, label in BULLETIN_COLUMNS]]
    ws.append(header)
    _style_header(ws, 3, len(header))
    for r in rows:
        ws.append([r["region_name"], r["region_code"] or "", *[r.get(key, 0) for key, _ in BULLETIN_COLUMNS]])
    ws.cell(row=ws.max_row, column=1).font = Font(bold=True)
    ws.freeze_panes = "C4"
    _autosize(ws)
    origins = wb.create_sheet("到位资金来源")
    origin_names = ["省外", "市外省内", "市内"]
    origins.append(["县(区)", *[f"{o}(万元)" for o in origin_names], "合计(万元)"])
    _style_header(origins, 1, len(origin_names) + 2)
    for r in rows:
        by = r.get("funds_by_origin") or {}
        origins.append([r["region_name"], *[float(by.get(o, 0.0)) for o in origin_names], r["funds_total_wan"]])
    _autosize(origins)
    year = int(period[:4])
    ranking = wb.create_sheet("县区排名")
    ranking.append(["排名", "县(区)", "签约项目(两年队列)", "落地", "开工", "项目落地率", "开工率", "资金到位率"])
    _style_header(ranking, 1, 8)
    for s in ranking_rows(session, year, period):
        ranking.append([s["rank"], s["name"], s["signed"], s["landed"], s["started"], s["landing_rate"],
                        s["start_rate"], s["funds_rate"]])
        for col in (6, 7, 8):
            ranking.cell(row=ranking.max_row, column=col).number_format = "0.0%"
    _autosize(ranking)
    return _save(wb)


ASSESSMENT_COLUMNS = (("daily", "日常考评"), ("year_end", "年终考评"), ("bonus", "加分"), ("penalty", "扣分"),
                      ("total", "总分"))


def assessment_rows(session: Session, year: int) -> dict:
    rows = session.scalars(select(AssessmentScore).where(AssessmentScore.year == year)
                           .order_by(AssessmentScore.quarter, AssessmentScore.total.desc(),
                                     AssessmentScore.unit_key)).all()

    def as_dict(a: AssessmentScore) -> dict:
        return {"unit_key": a.unit_key, "unit_name": a.unit_name, "quarter": a.quarter, "daily": a.daily,
                "year_end": a.year_end, "bonus": a.bonus, "penalty": a.penalty, "total": a.total, "grade": a.grade,
                "scores": _flat_scores(a.scores or {})}

    annual = [as_dict(a) for a in rows if a.quarter is None]
    quarterly = [as_dict(a) for a in rows if a.quarter is not None]
    for i, r in enumerate(annual, 1):
        r["rank"] = i
    keys = sorted({k for r in annual + quarterly for k in r["scores"]})
    return {"year": year, "annual": annual, "quarterly": quarterly, "score_keys": keys}


def _flat_scores(scores: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in scores.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat_scores(value, name + "."))
        elif isinstance(value, int | float | str | bool) or value is None:
            out[name] = value
        else:
            out[name] = str(value)
    return out


def assessment_xlsx(session: Session, year: int) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    data = assessment_rows(session, year)
    keys = data["score_keys"]
    wb = Workbook()
    ws = wb.active
    ws.title = "年度考核"
    ws.append([f"普洱市招商引资工作 {year} 年度考核结果"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(["最终得分 = 0.3 × 日常考评 + 0.7 × 年终考评 + 加分 − 扣分"])
    header = ["排名", "单位", "单位代码", *[label for _, label in ASSESSMENT_COLUMNS], "等级", *keys]
    ws.append(header)
    _style_header(ws, 3, len(header))
    for r in data["annual"]:
        ws.append([r["rank"], r["unit_name"], r["unit_key"], *[r[k] for k, _ in ASSESSMENT_COLUMNS], r["grade"] or "",
                   *[r["scores"].get(k) for k in keys]])
    if not data["annual"]:
        ws.append(["", f"{year} 年暂无年度考核结果"])
    _autosize(ws)
    q = wb.create_sheet("季度考评")
    q_header = ["季度", "单位", "单位代码", *[label for _, label in ASSESSMENT_COLUMNS], "等级", *keys]
    q.append(q_header)
    _style_header(q, 1, len(q_header))
    for r in data["quarterly"]:
        q.append([f"Q{r['quarter']}", r["unit_name"], r["unit_key"], *[r[k] for k, _ in ASSESSMENT_COLUMNS],
                  r["grade"] or "", *[r["scores"].get(k) for k in keys]])
    _autosize(q)
    return _save(wb)


def _save(wb) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
