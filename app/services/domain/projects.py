"""Projects and target enterprises as records (项目库, 目标企业库): create, edit, list, read.

Every write checks role and jurisdiction (``access.check_project_write``), validates each field with a
Chinese-first message (422, nothing stored) and writes an audit event plus, for projects, a timeline
row. The demo loader creates its projects and enterprises through :func:`create_project_record` and
:func:`create_enterprise_record` too, so there is one constructor path.

Enterprises are one city-wide library (they have no county): every signed-in user may read it, the
project editors (``access.PROJECT_EDITORS``) may add and edit entries.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.errors import Invalid, NotFound
from app.models.domain import STAGE_LIBRARY_STATUS, STAGES, Chain, Enterprise, Park, Project, Region, TimelineEvent
from app.services import access, audit
from app.services.domain.project_moves import reactivate_project, transfer_project  # noqa: F401
from handlers.tiers import project_tier

SOURCES = ("线索", "来访", "库内认领")
PROJECT_FIELDS = ("name", "region_code", "amount_wan", "chain_code", "park_code", "enterprise_id", "enterprise_name",
                  "industry", "source", "tier", "description", "chain_action", "is_industrial", "designated_major")
ENTERPRISE_FIELDS = ("name", "uscc", "hq_region", "nature", "industry", "chain_code", "rank_tags", "source",
                     "library_status")
PROJECT_FILTERS = ("q", "region_code", "stage", "status", "tier", "chain_code")


def _err(field: str, message: str) -> dict:
    return {"field": field, "message": message}


def _invalid(errors: list[dict], what: str = "项目") -> Invalid:
    return Invalid(f"{what}信息有误,请按提示修改 / invalid {('project' if what == '项目' else 'enterprise')} data",
                   errors)


def _text(value: Any, limit: int) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text[:limit] if text else None


# ------------------------------------------------------------------ projects


def project_dict(session: Session, p: Project) -> dict:
    park_code = session.scalar(select(Park.code).where(Park.id == p.park_id)) if p.park_id else None
    return {"id": p.id, "code": p.code, "name": p.name, "region_code": p.region_code, "amount_wan": p.planned_investment_wan,
            "chain_code": p.chain_code, "park_code": park_code, "park_id": p.park_id, "enterprise_id": p.enterprise_id,
            "enterprise_name": p.enterprise.name if p.enterprise is not None else None, "industry": p.industry,
            "source": p.source, "tier": p.tier, "stage": p.stage, "library_status": p.library_status,
            "status": p.status, "light": p.light, "description": p.description,
            "responsible_org_key": p.responsible_org_key, "commissioner_username": p.commissioner_username,
            "factor_org_keys": list(p.factor_org_keys or []), "supervisor_username": p.supervisor_username,
            "responsible_unit": p.responsible_unit, "commissioner_name": p.commissioner_name,
            "created_by": p.created_by, "created_at": p.created_at.isoformat() if p.created_at else None}


# Each field check returns (clean values, error message or None); REQUIRED ones run on create and when given.
def _name(session, body, current):
    name = _text(body.get("name"), 200)
    return {"name": name}, None if name else "项目名称为必填项 / name is required"


def _region(session, body, current):
    region = _text(body.get("region_code"), 12)
    if not region:
        return {"region_code": region}, "所在县(区)为必填项 / region_code is required"
    if session.get(Region, region) is None:
        return {"region_code": region}, f"未知的县(区)代码 {region} / unknown region"
    return {"region_code": region}, None


def _amount(session, body, current):
    raw = body.get("amount_wan")
    try:
        amount = float(raw)
        if isinstance(raw, bool) or amount != amount:
            raise ValueError
    except (TypeError, ValueError):
        return {}, "计划总投资应为数字(万元) / amount_wan must be a number"
    return {"amount_wan": amount}, None if amount > 0 else "计划总投资必须大于 0 万元 / amount_wan must be > 0"


def _chain(session, body, current):
    chain = _text(body.get("chain_code"), 16)
    bad = chain and session.get(Chain, chain) is None
    return {"chain_code": chain}, f"未知的产业链 {chain} / unknown chain" if bad else None


def _park(session, body, current):
    code = _text(body.get("park_code"), 16)
    park = session.scalar(select(Park).where(Park.code == code)) if code else None
    return {"park": park}, f"未知的园区 {code} / unknown park" if code and park is None else None


def _source(session, body, current):
    source = _text(body.get("source"), 16)
    bad = source and source not in SOURCES
    return {"source": source}, f"项目来源应为 {'/'.join(SOURCES)} / source must be one of {SOURCES}" if bad else None


def _tier(session, body, current):
    tier = body.get("tier")
    if tier in (None, ""):
        return {}, None
    bad = tier not in ("重大", "重点", "一般")
    return {"tier": tier}, "项目级别应为 重大/重点/一般 / tier must be 重大, 重点 or 一般" if bad else None


def _code(session, body, current):
    code = _text(body.get("code"), 32)
    taken = code and session.scalar(select(Project.id).where(Project.code == code,
                                                             Project.id != (current.id if current else -1)))
    return {"code": code}, f"项目编号 {code} 已存在 / code already used" if taken else None


def _text_field(key: str, limit: int):
    return lambda session, body, current: ({key: _text(body.get(key), limit)}, None)


def _flag(key: str):
    return lambda session, body, current: ({key: bool(body.get(key))}, None)


REQUIRED_CHECKS = {"name": _name, "region_code": _region, "amount_wan": _amount}
OPTIONAL_CHECKS = {"chain_code": _chain, "park_code": _park, "industry": _text_field("industry", 64), "source": _source,
                   "tier": _tier, "description": _text_field("description", 4000), "chain_action": _text_field("chain_action", 8),
                   "is_industrial": _flag("is_industrial"), "designated_major": _flag("designated_major"),
                   "code": _code}


def _enterprise_field(session, body) -> tuple[dict, str | None]:
    if body.get("enterprise_id") not in (None, ""):
        try:
            ent = session.get(Enterprise, int(body["enterprise_id"]))
        except (TypeError, ValueError):
            ent = None
        return {"enterprise": ent}, None if ent is not None else "目标企业不存在 / unknown enterprise"
    name = _text(body.get("enterprise_name"), 200)
    return ({"enterprise_name": name} if name else {}), None


def _duplicate_name(session, clean: dict, current: Project | None) -> str | None:
    name = clean.get("name") or (current.name if current else None)
    region = clean.get("region_code") or (current.region_code if current else None)
    if not (name and region and ("name" in clean or "region_code" in clean)):
        return None
    dup = session.scalar(select(Project.id).where(Project.name == name, Project.region_code == region,
                                                  Project.id != (current.id if current else -1)))
    return f"本县(区)已有同名项目(编号 {dup}) / a project of this name exists in the county" if dup else None


def _check_project(session: Session, body: dict, current: Project | None) -> tuple[dict, list[dict]]:
    """Validate ``body`` (a create, or a PATCH of ``current``); returns (clean values, errors)."""
    errors = [_err(key, "未定义的字段 / unknown field") for key in sorted(set(body) - set(PROJECT_FIELDS) - {"code"})]
    clean: dict[str, Any] = {}
    checks = [(k, fn) for k, fn in REQUIRED_CHECKS.items() if current is None or k in body]
    checks += [(k, fn) for k, fn in OPTIONAL_CHECKS.items() if k in body]
    for key, fn in checks:
        values, message = fn(session, body, current)
        clean.update(values)
        if message:
            errors.append(_err(key, message))
    if "enterprise_id" in body or "enterprise_name" in body:
        values, message = _enterprise_field(session, body)
        clean.update(values)
        if message:
            errors.append(_err("enterprise_id", message))
    if not any(e["field"] in ("name", "region_code") for e in errors):
        message = _duplicate_name(session, clean, current)
        if message:
            errors.append(_err("name", message))
    return clean, errors


def _enterprise_by_name(session: Session, name: str, chain_code: str | None, actor: str) -> Enterprise:
    ent = session.scalar(select(Enterprise).where(Enterprise.name == name).limit(1))
    if ent is None:
        ent = Enterprise(name=name, chain_code=chain_code, library_status="在谈", tags=["目标"], source="项目登记")
        session.add(ent)
        session.flush()
        audit.record(session, "enterprise_created", actor, detail={"enterprise_id": ent.id, "name": name})
    return ent


def _tier_for(clean: dict, enterprise: Enterprise | None) -> str:
    tags = set((enterprise.rank_tags or []) + (enterprise.tags or [])) if enterprise is not None else set()
    return project_tier(planned_investment_wan=clean.get("amount_wan") or 0,
                        designated_major=bool(clean.get("designated_major")),
                        investor_top500=bool(tags & {"世界500强", "中国企业500强", "中国民营企业500强"}),
                        is_chain_leader=bool(tags & {"链主", "链主企业"}))["tier"]


def create_project_record(session: Session, user, body: dict) -> Project:
    """Validate, check role + jurisdiction, store; returns the ORM row (the API wraps it in a dict)."""
    access.check_project_write(user, None)
    body = dict(body or {})
    clean, errors = _check_project(session, body, None)
    if errors:
        raise _invalid(errors)
    access.check_project_write(user, clean["region_code"])
    enterprise = clean.get("enterprise")
    if enterprise is None and clean.get("enterprise_name"):
        enterprise = _enterprise_by_name(session, clean["enterprise_name"], clean.get("chain_code"), user.username)
    tier = clean.get("tier") or _tier_for(clean, enterprise)
    park = clean.get("park")
    p = Project(code=clean.get("code") or f"tmp-{uuid.uuid4().hex[:24]}", name=clean["name"], region_code=clean["region_code"],
                park_id=park.id if park is not None else None, chain_code=clean.get("chain_code"),
                chain_action=clean.get("chain_action"), is_industrial=clean.get("is_industrial", True),
                planned_investment_wan=clean["amount_wan"], tier=tier, stage=STAGES[0],
                library_status=STAGE_LIBRARY_STATUS[STAGES[0]], status="active", industry=clean.get("industry"),
                source=clean.get("source"), enterprise_id=enterprise.id if enterprise is not None else None,
                designated_major=bool(clean.get("designated_major")), description=clean.get("description"),
                factor_units=[], factor_org_keys=[], created_by=user.username)
    session.add(p)
    session.flush()
    if not clean.get("code"):
        p.code = f"XM{p.created_at.year}-{p.id:05d}"
    session.add(TimelineEvent(project_id=p.id, kind="status", title="项目登记", actor=user.username,
                              detail={"library_status": p.library_status, "tier": tier, "source": p.source}))
    audit.record(session, "project_created", user.username,
                 detail={"project_id": p.id, "code": p.code, "name": p.name, "region_code": p.region_code,
                         "tier": tier})
    session.flush()
    return p


def create_project(session: Session, user, body: dict) -> dict:
    return project_dict(session, create_project_record(session, user, body))


def get_project(session: Session, user, project_id: int) -> Project:
    p = session.get(Project, project_id)
    if p is None:
        raise NotFound(f"项目 {project_id} 不存在 / project {project_id} not found")
    access.check_region(user, p.region_code)
    return p


def update_project(session: Session, user, project_id: int, body: dict) -> dict:
    p = get_project(session, user, project_id)
    access.check_project_write(user, p.region_code)
    clean, errors = _check_project(session, dict(body or {}), p)
    if errors:
        raise _invalid(errors)
    if "region_code" in clean:
        access.check_project_write(user, clean["region_code"])  # a county may not move a project away
    changes: dict[str, Any] = {}

    def put(attr: str, value: Any) -> None:
        old = getattr(p, attr)
        if old != value:
            changes[attr] = {"from": old, "to": value}
            setattr(p, attr, value)

    for key, attr in (("name", "name"), ("region_code", "region_code"), ("amount_wan", "planned_investment_wan"),
                      ("chain_code", "chain_code"), ("industry", "industry"), ("source", "source"),
                      ("tier", "tier"), ("description", "description"), ("chain_action", "chain_action"),
                      ("is_industrial", "is_industrial"), ("designated_major", "designated_major"),
                      ("code", "code")):
        if key in clean and (key != "code" or clean[key]):
            put(attr, clean[key])
    if "park" in clean:
        put("park_id", clean["park"].id if clean["park"] is not None else None)
    if "enterprise" in clean:
        put("enterprise_id", clean["enterprise"].id if clean["enterprise"] is not None else None)
    elif clean.get("enterprise_name"):
        put("enterprise_id", _enterprise_by_name(session, clean["enterprise_name"], p.chain_code, user.username).id)
    if changes:
        printable = {k: {"from": _plain(v["from"]), "to": _plain(v["to"])} for k, v in changes.items()}
        session.add(TimelineEvent(project_id=p.id, kind="update", title="修改项目信息:" + "、".join(changes),
                                  actor=user.username, detail=printable))
        audit.record(session, "project_updated", user.username, detail={"project_id": p.id, "changes": printable})
    session.flush()
    return project_dict(session, p)


def _plain(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool, type(None), list, dict)) else str(value)


def list_projects(session: Session, user, filters: dict | None = None, page: int = 1, per_page: int = 20) -> dict:
    f = {k: str(v).strip() for k, v in (filters or {}).items() if k in PROJECT_FILTERS and v not in (None, "")}
    stmt = select(Project)
    region = access.user_region(user)
    if region:
        stmt = stmt.where(Project.region_code == region)
    for key in ("region_code", "stage", "status", "tier", "chain_code"):
        if key in f:
            stmt = stmt.where(getattr(Project, key) == f[key])
    if "q" in f:
        like = f"%{f['q']}%"
        stmt = stmt.where(or_(Project.name.ilike(like), Project.code.ilike(like)))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    per_page = max(1, min(int(per_page or 20), 200))
    page = max(1, int(page or 1))
    rows = session.scalars(stmt.order_by(Project.id.desc()).offset((page - 1) * per_page).limit(per_page)).all()
    return {"items": [project_dict(session, p) for p in rows], "total": int(total), "page": page,
            "per_page": per_page}


# ------------------------------------------------------------------ enterprises


def enterprise_dict(e: Enterprise) -> dict:
    return {"id": e.id, "name": e.name, "uscc": e.uscc, "hq_region": e.hq_region, "nature": e.nature,
            "industry": e.industry, "chain_code": e.chain_code, "rank_tags": list(e.rank_tags or []),
            "library_status": e.library_status, "tags": list(e.tags or []), "source": e.source,
            "created_at": e.created_at.isoformat() if e.created_at else None}


def _ent_name(session, body, current):
    name = _text(body.get("name"), 200)
    if not name:
        return {"name": name}, "企业名称为必填项 / name is required"
    taken = session.scalar(select(Enterprise.id).where(Enterprise.name == name,
                                                       Enterprise.id != (current.id if current else -1)))
    return {"name": name}, "目标企业库已有同名企业 / an enterprise of this name exists" if taken else None


def _ent_uscc(session, body, current):
    uscc = _text(body.get("uscc"), 18)
    if uscc and (len(uscc) != 18 or not uscc.isalnum()):
        return {"uscc": uscc}, "统一社会信用代码应为 18 位字母或数字 / uscc must be 18 characters"
    taken = uscc and session.scalar(select(Enterprise.id).where(Enterprise.uscc == uscc,
                                                                Enterprise.id != (current.id if current else -1)))
    return {"uscc": uscc}, "统一社会信用代码已登记 / uscc already registered" if taken else None


def _ent_tags(session, body, current):
    tags = body.get("rank_tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        return {}, "榜单标签应为文本列表 / rank_tags must be a list of strings"
    return {"rank_tags": [t.strip() for t in tags if t.strip()]}, None


ENTERPRISE_CHECKS = {"uscc": _ent_uscc, "chain_code": _chain, "rank_tags": _ent_tags,
                     "hq_region": _text_field("hq_region", 64), "nature": _text_field("nature", 32),
                     "industry": _text_field("industry", 64), "source": _text_field("source", 64),
                     "library_status": _text_field("library_status", 16)}


def _check_enterprise(session: Session, body: dict, current: Enterprise | None) -> tuple[dict, list[dict]]:
    errors = [_err(key, "未定义的字段 / unknown field") for key in sorted(set(body) - set(ENTERPRISE_FIELDS))]
    clean: dict[str, Any] = {}
    checks = [("name", _ent_name)] if current is None or "name" in body else []
    checks += [(k, fn) for k, fn in ENTERPRISE_CHECKS.items() if k in body]
    for key, fn in checks:
        values, message = fn(session, body, current)
        clean.update(values)
        if message:
            errors.append(_err(key, message))
    return clean, errors


def create_enterprise_record(session: Session, user, body: dict) -> Enterprise:
    access.check_project_write(user, None)
    clean, errors = _check_enterprise(session, dict(body or {}), None)
    if errors:
        raise _invalid(errors, "企业")
    ent = Enterprise(tags=["目标"], library_status=clean.pop("library_status", None) or "目标", **clean)
    session.add(ent)
    session.flush()
    audit.record(session, "enterprise_created", user.username, detail={"enterprise_id": ent.id, "name": ent.name})
    return ent


def create_enterprise(session: Session, user, body: dict) -> dict:
    return enterprise_dict(create_enterprise_record(session, user, body))


def get_enterprise(session: Session, user, enterprise_id: int) -> Enterprise:
    ent = session.get(Enterprise, enterprise_id)
    if ent is None:
        raise NotFound(f"企业 {enterprise_id} 不存在 / enterprise {enterprise_id} not found")
    return ent


def update_enterprise(session: Session, user, enterprise_id: int, body: dict) -> dict:
    ent = get_enterprise(session, user, enterprise_id)
    access.check_project_write(user, None)
    clean, errors = _check_enterprise(session, dict(body or {}), ent)
    if errors:
        raise _invalid(errors, "企业")
    changes = {}
    for key, value in clean.items():
        if getattr(ent, key) != value:
            changes[key] = {"from": getattr(ent, key), "to": value}
            setattr(ent, key, value)
    if changes:
        audit.record(session, "enterprise_updated", user.username, detail={"enterprise_id": ent.id, "changes": changes})
    session.flush()
    return enterprise_dict(ent)


def list_enterprises(session: Session, user, filters: dict | None = None, page: int = 1, per_page: int = 20) -> dict:
    f = {k: str(v).strip() for k, v in (filters or {}).items() if v not in (None, "")}
    stmt = select(Enterprise)
    if f.get("q"):
        like = f"%{f['q']}%"
        stmt = stmt.where(or_(Enterprise.name.ilike(like), Enterprise.uscc.ilike(like)))
    for key in ("chain_code", "library_status"):
        if f.get(key):
            stmt = stmt.where(getattr(Enterprise, key) == f[key])
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    per_page = max(1, min(int(per_page or 20), 200))
    page = max(1, int(page or 1))
    rows = session.scalars(stmt.order_by(Enterprise.id).offset((page - 1) * per_page).limit(per_page)).all()
    return {"items": [enterprise_dict(e) for e in rows], "total": int(total), "page": page, "per_page": per_page}
