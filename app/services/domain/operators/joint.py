"""联办协办 (P08) operators: open, light, reopen and close a 要素保障 issue (FactorIssue). Each change is
also a TimelineEvent of kind ``joint`` on the project (自动记录)."""

from __future__ import annotations

import datetime as dt

from app.models.domain_processes import ISSUE_CATEGORIES, FactorIssue
from app.services.domain.operators.projects import add_event, get_project, iso
from app.services.runtime.service_calls import OperatorContext, operator

_LIGHT_TITLES = {"yellow": "联办协办超期亮黄灯", "red": "联办协办严重超期亮红灯", "green": "联办协办恢复正常"}


def _issue(ctx: OperatorContext, issue_id) -> FactorIssue:
    row = ctx.session.get(FactorIssue, int(issue_id)) if issue_id not in (None, "") else None
    if row is None:
        raise ValueError(f"联办协办事项不存在 / factor issue {issue_id!r} not found")
    return row


def _days(value, field: str) -> int:
    try:
        days = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{field} 应为天数 / {field} must be a number of days, got {value!r}") from None
    if days < 1:
        raise ValueError(f"{field} 至少 1 天 / {field} must be at least 1 day")
    return days


@operator("joint_issue_open")
def joint_issue_open(ctx: OperatorContext, project_id: int, category: str, description: str, departments: list,
                     due_days: int, urgency: str = "一般") -> dict:
    if category not in ISSUE_CATEGORIES:
        raise ValueError(f"未知问题类别 / unknown category {category!r}; expected one of {', '.join(ISSUE_CATEGORIES)}")
    departments = [str(d) for d in (departments or []) if str(d).strip()]
    if not departments:
        raise ValueError("至少选择一个要素部门 / at least one factor department required")
    p = get_project(ctx, project_id)
    due = ctx.now + dt.timedelta(days=_days(due_days, "due_days"))
    row = FactorIssue(project_id=p.id, category=category, description=str(description or ""), urgency=urgency,
                      departments=departments, raised_by=ctx.actor, raised_at=ctx.now, due_at=due,
                      instance_id=ctx.instance_id)
    ctx.session.add(row)
    ctx.session.flush()
    add_event(ctx, p.id, "joint", f"提出联办协办:{category}",
              {"issue_id": row.id, "departments": departments, "due_at": iso(due), "urgency": urgency})
    ctx.session.flush()
    return {"issue_id": row.id, "due_date": due.date().isoformat()}


@operator("joint_issue_light")
def joint_issue_light(ctx: OperatorContext, issue_id: int, light: str) -> dict:
    if light not in _LIGHT_TITLES:
        raise ValueError(f"未知灯色 / unknown light {light!r}")
    row = _issue(ctx, issue_id)
    if row.light == "red" and light == "yellow":
        return {"light": row.light, "changed": False}
    changed = row.light != light
    row.light = light
    if changed:
        add_event(ctx, row.project_id, "joint", _LIGHT_TITLES[light] + f":{row.category}",
                  {"issue_id": row.id, "light": light, "round": row.rounds})
    ctx.session.flush()
    return {"light": light, "changed": changed}


@operator("joint_issue_reopen")
def joint_issue_reopen(ctx: OperatorContext, issue_id: int, reason: str, due_days: int) -> dict:
    row = _issue(ctx, issue_id)
    row.rounds = (row.rounds or 1) + 1
    row.light = "green"
    row.status = "open"
    row.due_at = ctx.now + dt.timedelta(days=_days(due_days, "due_days"))
    add_event(ctx, row.project_id, "joint", f"服务专员退回重办:{row.category}",
              {"issue_id": row.id, "round": row.rounds, "reason": str(reason or ""), "due_at": iso(row.due_at)})
    ctx.session.flush()
    return {"round": row.rounds, "due_date": row.due_at.date().isoformat()}


@operator("joint_issue_close")
def joint_issue_close(ctx: OperatorContext, issue_id: int, resolution: str, replies: list | None = None) -> dict:
    row = _issue(ctx, issue_id)
    if row.status == "closed":
        raise ValueError(f"联办协办事项已办结 / factor issue {row.id} already closed")
    row.status = "closed"
    row.closed_at = ctx.now
    row.resolution = str(resolution or "")
    row.replies = list(replies or [])
    row.on_time = row.due_at is None or ctx.now <= row.due_at
    add_event(ctx, row.project_id, "joint", f"联办协办办结:{row.category}",
              {"issue_id": row.id, "resolution": row.resolution, "rounds": row.rounds, "on_time": row.on_time})
    ctx.session.flush()
    return {"issue_id": row.id, "on_time": row.on_time, "rounds": row.rounds}
