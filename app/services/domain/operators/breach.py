"""Breach detection (issue #12, seed 二(七)): contract milestones (履约节点) past their due date and not
met open the exit procedure's breach path (project_exit, path='breach' → 限期整改通知), with a notice.

A milestone counts as met when its ``done_at`` is set, or when the project reached the stage event
its name stands for by the due date: 注册/落地/用地/备案 → ``landed_at`` (落地 = registered + site +
filing, reference §3.1), 开工 → ``started_at``. Each missed milestone is flagged once (timeline kind
``breach``); a project with a running exit procedure is not flagged again."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.models.domain import Agreement, Milestone, Project, TimelineEvent
from app.models.runtime import Instance
from app.services.domain.operators.notify import notify
from app.services.domain.operators.projects import add_event, get_project, parse_date
from app.services.runtime.service_calls import OperatorContext, operator

# milestone names the exit notice form (ex-notice) offers as 未履约节点
NOTICE_MILESTONES = ("注册项目公司", "首期资金到位", "取得用地/租赁厂房", "取得备案/核准", "开工", "竣工投产", "达产")
_LANDED_WORDS = ("注册", "落地", "用地", "厂房", "备案", "核准")


def _met_by_stage(project: Project, milestone: Milestone) -> bool:
    deadline = dt.datetime.combine(milestone.due_date, dt.time.max, tzinfo=dt.UTC)
    if "开工" in milestone.name:
        return project.started_at is not None and project.started_at <= deadline
    if any(word in milestone.name for word in _LANDED_WORDS):
        return project.landed_at is not None and project.landed_at <= deadline
    return False


def _exit_running(ctx: OperatorContext, project_id: int) -> bool:
    return ctx.session.scalar(select(Instance.id).where(
        Instance.process_key == "project_exit", Instance.business_key == f"exit-{project_id}",
        Instance.ended_at.is_(None)).limit(1)) is not None


def _flagged(ctx: OperatorContext, project_id: int) -> set[int]:
    return {int((e.detail or {}).get("milestone_id") or 0) for e in ctx.session.scalars(
        select(TimelineEvent).where(TimelineEvent.project_id == project_id, TimelineEvent.kind == "breach"))}


@operator("milestones_overdue")
def milestones_overdue(ctx: OperatorContext, as_of: str, grace_days: int = 0) -> list:
    """The first missed, unflagged milestone of each active project with a signed investment
    agreement and no running exit procedure, as of the date ``as_of`` (after ``grace_days``)."""
    today = parse_date(as_of, "as_of") or ctx.now.date()
    cutoff = today - dt.timedelta(days=int(grace_days or 0))
    rows = ctx.session.execute(
        select(Milestone, Agreement, Project).join(Agreement, Agreement.id == Milestone.agreement_id)
        .join(Project, Project.id == Agreement.project_id)
        .where(Project.status == "active", Agreement.kind == "投资协议", Milestone.done_at.is_(None),
               Milestone.due_date < cutoff)
        .order_by(Project.id, Milestone.due_date, Milestone.id)).all()
    out, seen = [], set()
    for milestone, agreement, project in rows:
        if project.id in seen or _met_by_stage(project, milestone) or milestone.id in _flagged(ctx, project.id):
            continue
        if _exit_running(ctx, project.id):
            seen.add(project.id)
            continue
        seen.add(project.id)
        out.append({"project_id": project.id, "project_name": project.name, "region_code": project.region_code,
                    "tier": project.tier, "stage": project.stage, "chain_code": project.chain_code,
                    "enterprise_name": project.enterprise.name if project.enterprise is not None else "",
                    "milestone_id": milestone.id, "milestone": milestone.name,
                    "due_date": milestone.due_date.isoformat(), "overdue_days": (today - milestone.due_date).days,
                    "agreement_id": agreement.id, "exit_clause": agreement.exit_clause or ""})
    return out


@operator("breach_open")
def breach_open(ctx: OperatorContext, breach: dict) -> dict:
    """Flag one missed milestone, start project_exit on its breach path (业务键 exit-<project_id>) and
    notify the responsible unit, the service commissioner and the office."""
    if not isinstance(breach, dict) or not breach.get("milestone_id"):
        raise ValueError("breach 需要 milestone_id / breach must name a milestone")
    p = get_project(ctx, breach["project_id"])
    trigger = f"履约节点“{breach['milestone']}”({breach['due_date']})逾期{breach.get('overdue_days', 0)}日未完成"
    add_event(ctx, p.id, "breach", f"履约节点逾期:{breach['milestone']}",
              {"milestone_id": breach["milestone_id"], "due_date": breach["due_date"], "agreement_id": breach.get("agreement_id")})
    data = {key: breach.get(key) for key in ("project_id", "project_name", "region_code", "tier", "stage",
                                              "chain_code", "enterprise_name")}
    data.update({"path": "breach", "trigger": trigger, "breach_milestone_name": breach["milestone"],
                 "breach_due_date": breach["due_date"], "contract_clause": breach.get("exit_clause") or ""})
    if breach["milestone"] in NOTICE_MILESTONES:
        data["breach_milestone"] = breach["milestone"]
    ctx.start_process("project_exit", business_key=f"exit-{p.id}", data=data)
    notify(ctx, ["responsible_unit", "service_commissioner", "zsw_office"],
           f"【履约节点逾期】{p.name}:{breach['milestone']}",
           f"项目“{p.name}”的{trigger},已发起限期整改。", project_id=p.id, level="danger")
    ctx.session.flush()
    return {"project_id": p.id, "trigger": trigger}
