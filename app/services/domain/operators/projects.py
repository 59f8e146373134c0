"""Project operators: snapshot, stage, light, status, whitelisted updates, timeline notes,
agreements. Every change writes a :class:`TimelineEvent` (the project's 自动记录) naming the
actor, the instance and the BPMN element that caused it.

Stage → library status (reference/domain.md §3.1; the status is the one *while in* the stage):
S1/S2 待招商, S3/S4/S5 在谈, S6 签约 (S5 completed), S7 落地 (S6 completed), DONE 开工.
Entering S6/S7/DONE also stamps ``signed_at``/``landed_at``/``started_at`` (first time only);
these stage-event timestamps are the dates the KPIs count (§4.1).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from app.models.domain import (
    CHAIN_LEADER_TAGS,
    LIGHTS,
    PROJECT_STATUSES,
    STAGE_LIBRARY_STATUS,
    STAGE_NAMES,
    STATUS_LIBRARY_STATUS,
    TIERS,
    TOP500_TAGS,
    Agreement,
    Milestone,
    Project,
    StageRecord,
    TimelineEvent,
)
from app.services.domain.queries import LOCAL_TZ
from app.services.runtime.service_calls import OperatorContext, operator
from handlers import dates

# ---------------------------------------------------------------- helpers (shared by domain_ops)


def get_project(ctx: OperatorContext, project_id: Any) -> Project:
    try:
        pid = int(project_id)
    except (TypeError, ValueError):
        raise ValueError(f"项目不存在 / project {project_id!r} not found") from None
    project = ctx.session.get(Project, pid)
    if project is None:
        raise ValueError(f"项目不存在 / project {pid} not found")
    return project


def add_event(ctx: OperatorContext, project_id: int, kind: str, title: str,
              detail: dict | None = None) -> TimelineEvent:
    event = TimelineEvent(project_id=project_id, at=ctx.now, kind=kind, title=title[:200], detail=detail,
                          actor=ctx.actor, instance_id=ctx.instance_id, element_id=ctx.element_id)
    ctx.session.add(event)
    return event


def parse_date(value: Any, field: str) -> dt.date | None:
    """Accept ``date``, ``datetime`` or ISO text ``YYYY-MM-DD[...]``; None/'' → None."""
    return dates.parse_date(value, field)


def parse_datetime(value: Any, field: str) -> dt.datetime | None:
    """Accept aware/naive datetimes (naive = UTC), ISO text, or a date (midnight UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{field}: 时间格式无效 / invalid datetime {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def library_status_for(project: Project) -> str:
    if project.status != "active":
        return STATUS_LIBRARY_STATUS[project.status]
    return STAGE_LIBRARY_STATUS.get(project.stage, project.library_status)


# ---------------------------------------------------------------- operators


@operator("project_snapshot")
def project_snapshot(ctx: OperatorContext, project_id: int) -> dict:
    p = get_project(ctx, project_id)
    ent = p.enterprise
    tags = set(ent.rank_tags or []) if ent is not None else set()
    return {
        "id": p.id,
        "project_id": p.id,
        "code": p.code,
        "name": p.name,
        "project_name": p.name,
        "region_code": p.region_code,
        "park_id": p.park_id,
        "tier": p.tier,
        "stage": p.stage,
        "light": p.light,
        "status": p.status,
        "library_status": p.library_status,
        "chain_code": p.chain_code,
        "is_industrial": bool(p.is_industrial),
        "planned_investment_wan": p.planned_investment_wan,
        "designated_major": bool(p.designated_major),
        "supervisor_role": p.supervisor_role,
        "supervisor_name": p.supervisor_name,
        "commissioner_name": p.commissioner_name,
        "responsible_unit": p.responsible_unit,
        # the team as records and the chain's lead unit (lanes L are narrowed by L_org / L_user)
        "responsible_org_key": p.responsible_org_key,
        "commissioner_username": p.commissioner_username,
        "supervisor_username": p.supervisor_username,
        "factor_org_keys": list(p.factor_org_keys or []),
        "chain_lead_org": _chain_lead(ctx, p.chain_code),
        "prereview_result": p.prereview_result,
        "enterprise_id": p.enterprise_id,
        "enterprise_name": ent.name if ent is not None else None,
        "investor_top500": bool(tags & TOP500_TAGS),
        "is_chain_leader": bool(tags & CHAIN_LEADER_TAGS),
        "signed_at": iso(p.signed_at),
        "landed_at": iso(p.landed_at),
        "started_at": iso(p.started_at),
        **_progress_facts(ctx, p),
    }


def _chain_lead(ctx: OperatorContext, chain_code: str | None) -> str | None:
    from app.models.domain import Chain

    chain = ctx.session.get(Chain, chain_code) if chain_code else None
    return chain.lead_org_unit_key if chain is not None else None


PROGRESS_KINDS = ("stage", "agreement", "service", "progress")


def _progress_facts(ctx: OperatorContext, p) -> dict:
    """Dates the efficiency evaluation (D13) needs: stage start, last progress, red since."""
    current = p.current_stage_record
    last_progress = ctx.session.scalar(
        select(TimelineEvent.at).where(TimelineEvent.project_id == p.id, TimelineEvent.kind.in_(PROGRESS_KINDS))
        .order_by(TimelineEvent.at.desc()).limit(1))
    red_since = None
    if p.light == "red":
        for event in ctx.session.scalars(select(TimelineEvent).where(
                TimelineEvent.project_id == p.id, TimelineEvent.kind == "light")
                .order_by(TimelineEvent.at.desc()).limit(20)):
            if (event.detail or {}).get("to") == "red":
                red_since = event.at
                continue
            break
    return {"stage_started_at": iso(current.started_at) if current else None,
            "last_progress_at": iso(last_progress), "red_since": iso(red_since)}


@operator("project_set_stage")
def project_set_stage(ctx: OperatorContext, project_id: int, stage: str, limit_days: int | None = None) -> dict:
    if stage not in STAGE_LIBRARY_STATUS:
        raise ValueError(f"未知阶段 / unknown stage {stage!r}; expected one of {', '.join(STAGE_LIBRARY_STATUS)}")
    if limit_days is not None:
        try:
            limit_days = int(limit_days)
        except (TypeError, ValueError):
            raise ValueError(f"limit_days 应为整数 / limit_days must be an integer, got {limit_days!r}") from None
    p = get_project(ctx, project_id)
    previous = p.stage
    current = p.current_stage_record
    if current is not None:
        current.completed_at = ctx.now
    if stage != "DONE":
        due = ctx.now + dt.timedelta(days=limit_days) if limit_days is not None else None
        ctx.session.add(StageRecord(project=p, stage=stage, limit_days=limit_days, planned_due=due,
                                    started_at=ctx.now, light="green"))
    p.stage = stage
    p.light = "green"
    if stage == "S6_LAND" and p.signed_at is None:
        p.signed_at = ctx.now
    elif stage == "S7_START" and p.landed_at is None:
        p.landed_at = ctx.now
        p.signed_at = p.signed_at or ctx.now
    elif stage == "DONE" and p.started_at is None:
        p.started_at = ctx.now
        p.landed_at = p.landed_at or ctx.now
        p.signed_at = p.signed_at or ctx.now
    p.library_status = library_status_for(p)
    add_event(ctx, p.id, "stage", f"进入阶段:{STAGE_NAMES[stage]}" if stage != "DONE" else "项目开工",
              {"from": previous, "to": stage, "limit_days": limit_days, "library_status": p.library_status})
    ctx.session.flush()
    return {"stage": p.stage, "library_status": p.library_status}


_LIGHT_TITLES = {"green": "恢复正常", "blue": "亮蓝灯(临期提醒)", "yellow": "亮黄灯", "red": "亮红灯"}


@operator("project_set_light")
def project_set_light(ctx: OperatorContext, project_id: int, light: str, reason: str = "") -> dict:
    if light not in LIGHTS:
        raise ValueError(f"未知灯色 / unknown light {light!r}; expected one of {', '.join(LIGHTS)}")
    p = get_project(ctx, project_id)
    previous = p.light
    if previous == "red" and light == "yellow":
        # a yellow warning firing late (both deadlines passed in one sweep) never lowers a red light;
        # only a stage move (project_set_stage) or an explicit green clears it
        return {"light": previous, "changed": False}
    p.light = light
    current = p.current_stage_record
    if current is not None:
        current.light = light
    changed = previous != light
    if changed:
        add_event(ctx, p.id, "light", _LIGHT_TITLES[light],
                  {"from": previous, "to": light, "stage": p.stage, "reason": reason or ""})
    ctx.session.flush()
    return {"light": light, "changed": changed}


_STATUS_TITLES = {"active": "恢复推进", "sealed": "项目封存", "exited": "项目退出", "terminated": "项目终止"}


@operator("project_set_status")
def project_set_status(ctx: OperatorContext, project_id: int, status: str) -> dict:
    if status not in PROJECT_STATUSES:
        raise ValueError(f"未知状态 / unknown status {status!r}; expected one of {', '.join(PROJECT_STATUSES)}")
    p = get_project(ctx, project_id)
    previous = p.status
    p.status = status
    p.library_status = library_status_for(p)
    if status != "active":
        current = p.current_stage_record
        if current is not None:
            current.completed_at = ctx.now
    add_event(ctx, p.id, "status", _STATUS_TITLES[status],
              {"from": previous, "to": status, "library_status": p.library_status})
    ctx.session.flush()
    return {"status": p.status, "library_status": p.library_status}


UPDATABLE_FIELDS = ("tier", "supervisor_role", "supervisor_name", "commissioner_name", "responsible_unit",
                    "factor_units", "prereview_result", "planned_investment_wan", "designated_major",
                    "responsible_org_key", "commissioner_username", "factor_org_keys", "supervisor_username")
# the team as records: a key also sets the display name beside it (org unit name, user display name)
NAMED_FIELDS = {"responsible_org_key": "responsible_unit", "commissioner_username": "commissioner_name",
                "supervisor_username": "supervisor_name", "factor_org_keys": "factor_units"}


def _display(session, key: str, value):
    from app.models.auth import OrgUnit, User

    if key in ("responsible_org_key", "factor_org_keys"):
        keys = value if isinstance(value, list) else [value]
        names = dict(session.execute(select(OrgUnit.key, OrgUnit.name).where(OrgUnit.key.in_(keys))).all())
        missing = [k for k in keys if k not in names]
        if missing:
            raise ValueError(f"组织机构不存在 / unknown org unit(s): {', '.join(map(str, missing))}")
        return [names[k] for k in keys] if isinstance(value, list) else names[value]
    user = session.scalar(select(User).where(User.username == value))
    if user is None:
        raise ValueError(f"用户不存在 / unknown user {value!r}")
    return user.display_name or user.username


def _same(value):
    return value


_COERCE = {"factor_units": lambda v: list(v or []), "factor_org_keys": lambda v: list(v or []),
           "planned_investment_wan": float, "designated_major": bool}


@operator("project_update")
def project_update(ctx: OperatorContext, project_id: int, values: dict) -> dict:
    if not isinstance(values, dict):
        raise ValueError(f"values 应为字典 / values must be a dict, got {type(values).__name__}")
    unknown = sorted(set(values) - set(UPDATABLE_FIELDS))
    if unknown:
        raise ValueError(f"不允许修改的字段 / fields not updatable: {', '.join(unknown)}; "
                         f"allowed: {', '.join(UPDATABLE_FIELDS)}")
    if "tier" in values and values["tier"] not in TIERS:
        raise ValueError(f"tier 应为 {'/'.join(TIERS)} / invalid tier {values['tier']!r}")
    p = get_project(ctx, project_id)
    changes: dict[str, Any] = {}
    updated: dict[str, Any] = {}
    values = dict(values)
    for key, shown in NAMED_FIELDS.items():
        if values.get(key) not in (None, "", []):
            values[shown] = _display(ctx.session, key, values[key])
    for key, value in values.items():
        value = _COERCE.get(key, _same)(value)
        old = getattr(p, key)
        setattr(p, key, value)
        updated[key] = value
        if old != value:
            changes[key] = {"from": old, "to": value}
    if changes:
        add_event(ctx, p.id, "update", "更新项目信息:" + "、".join(changes), changes)
    ctx.session.flush()
    return updated


@operator("project_record")
def project_record(ctx: OperatorContext, project_id: int, kind: str, title: str, detail: dict | None = None) -> dict:
    p = get_project(ctx, project_id)
    event = add_event(ctx, p.id, str(kind)[:32], str(title), detail)
    ctx.session.flush()
    return {"id": event.id}


@operator("agreement_register")
def agreement_register(ctx: OperatorContext, project_id: int, agreement: dict) -> dict:
    if not isinstance(agreement, dict):
        raise ValueError("agreement 应为字典 / agreement must be a dict")
    p = get_project(ctx, project_id)
    sign_date = parse_date(agreement.get("sign_date"), "sign_date") or ctx.now.astimezone(LOCAL_TZ).date()
    bond = agreement.get("bond_wan")
    row = Agreement(project_id=p.id, kind=agreement.get("kind") or "投资协议", sign_date=sign_date,
                    agreed_investment_wan=float(agreement.get("agreed_investment_wan") or p.planned_investment_wan or 0),
                    exit_clause=agreement.get("exit_clause"), bond_wan=float(bond) if bond not in (None, "") else None,
                    incentive_terms=list(agreement.get("incentive_terms") or []), instance_id=ctx.instance_id)
    for i, ms in enumerate(agreement.get("milestones") or []):
        if not isinstance(ms, dict) or not ms.get("name"):
            raise ValueError(f"milestones[{i}] 需要 name 和 due_date / needs name and due_date")
        due = parse_date(ms.get("due_date"), f"milestones[{i}].due_date")
        if due is None:
            raise ValueError(f"milestones[{i}].due_date 必填 / due_date required")
        row.milestones.append(Milestone(name=str(ms["name"])[:64], due_date=due))
    ctx.session.add(row)
    ctx.session.flush()
    add_event(ctx, p.id, "agreement", f"登记{row.kind}", {
        "agreement_id": row.id, "sign_date": sign_date.isoformat(),
        "agreed_investment_wan": row.agreed_investment_wan,
        "milestones": [{"name": m.name, "due_date": m.due_date.isoformat()} for m in row.milestones]})
    ctx.session.flush()
    return {"agreement_id": row.id}
