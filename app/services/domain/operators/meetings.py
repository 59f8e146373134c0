"""会议与交办 (P12) operators: agenda suggestions (red-light projects, 列入会议调度 decisions of the
red-light supervision, red 联办协办 issues, requests), the meeting row, its 交办 action items, and each
item's receipt, feedback, lights, return and closure. Project-linked items are also recorded on the
project timeline (kind ``meeting``)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.models.domain import Project, TimelineEvent
from app.models.domain_processes import MEETING_TYPES, ActionItem, FactorIssue, Meeting
from app.services.domain.operators.projects import add_event, get_project, iso, parse_date
from app.services.runtime.service_calls import OperatorContext, operator
from handlers.alerts import case_deadlines


def _meeting(ctx: OperatorContext, meeting_id) -> Meeting:
    row = ctx.session.get(Meeting, int(meeting_id)) if meeting_id not in (None, "") else None
    if row is None:
        raise ValueError(f"会议不存在 / meeting {meeting_id!r} not found")
    return row


def _action(ctx: OperatorContext, action_id) -> ActionItem:
    row = ctx.session.get(ActionItem, int(action_id)) if action_id not in (None, "") else None
    if row is None:
        raise ValueError(f"交办事项不存在 / action item {action_id!r} not found")
    return row


def _record(ctx: OperatorContext, row: ActionItem, title: str, detail: dict | None = None) -> None:
    if row.project_id is not None:
        add_event(ctx, row.project_id, "meeting", title, {"action_id": row.id, "meeting_id": row.meeting_id,
                                                          **(detail or {})})


@operator("meeting_agenda_suggest")
def meeting_agenda_suggest(ctx: OperatorContext, include_red_lights: bool = True, requests: list | None = None) -> list:
    """Suggested agenda items: requests first, then projects the red-light supervision sent to a
    meeting (列入会议调度) since the last meeting, red-light active projects, red 联办协办 issues."""
    items: list[dict] = []
    seen: set[int] = set()
    for req in requests or []:
        if isinstance(req, str):
            req = {"topic": req}
        if not isinstance(req, dict) or not req.get("topic"):
            raise ValueError("议题申请需要 topic / each request needs a topic")
        entry = {"topic": str(req["topic"]), "source": req.get("source") or "议题申请"}
        if req.get("project_id") not in (None, ""):
            entry["project_id"] = int(req["project_id"])
        items.append(entry)
    if not include_red_lights:
        return items
    since = ctx.session.scalar(select(Meeting.created_at).order_by(Meeting.created_at.desc()).limit(1))
    stmt = select(TimelineEvent).where(TimelineEvent.kind == "supervision").order_by(TimelineEvent.at)
    if since is not None:
        stmt = stmt.where(TimelineEvent.at > since)
    for event in ctx.session.scalars(stmt):
        if (event.detail or {}).get("decision") == "列入会议调度" and event.project_id not in seen:
            project = ctx.session.get(Project, event.project_id)
            seen.add(event.project_id)
            items.append({"topic": f"红灯项目调度:{project.name}", "source": "红灯督办列入会议调度",
                          "project_id": project.id})
    for project in ctx.session.scalars(select(Project).where(Project.light == "red", Project.status == "active")
                                       .order_by(Project.id)):
        if project.id not in seen:
            seen.add(project.id)
            items.append({"topic": f"红灯项目调度:{project.name}", "source": "红灯预警", "project_id": project.id})
    for issue in ctx.session.scalars(select(FactorIssue).where(FactorIssue.status == "open", FactorIssue.light == "red")
                                     .order_by(FactorIssue.id)):
        project = ctx.session.get(Project, issue.project_id)
        items.append({"topic": f"要素保障协调:{project.name}({issue.category})", "source": "联办协办红灯",
                      "project_id": project.id})
    return items


@operator("meeting_open")
def meeting_open(ctx: OperatorContext, meeting_type: str, title: str, meeting_date: str | None = None,
                 chair: str | None = None) -> dict:
    if meeting_type not in MEETING_TYPES:
        raise ValueError(f"未知会议类型 / unknown meeting type {meeting_type!r}; expected one of {', '.join(MEETING_TYPES)}")
    row = Meeting(meeting_type=meeting_type, title=str(title)[:200], chair=chair,
                  meeting_date=parse_date(meeting_date, "meeting_date"), created_at=ctx.now,
                  instance_id=ctx.instance_id)
    ctx.session.add(row)
    ctx.session.flush()
    return {"meeting_id": row.id}


@operator("meeting_minutes_save")
def meeting_minutes_save(ctx: OperatorContext, meeting_id: int, agenda: list, decisions: str,
                         action_items: list | None = None, case_rule: dict | None = None) -> list:
    """Store the signed minutes and create one ActionItem per 交办 item. Returns the items as the
    process tracks them: yellow when the deadline passes, red as ``handlers.alerts.case_deadlines`` says
    with the process's settings ``case_rule`` (``warning.case_red_*``; the defaults without)."""
    meeting = _meeting(ctx, meeting_id)
    meeting.agenda = list(agenda or [])
    meeting.decisions = str(decisions or "")
    meeting.status = "signed"
    out = []
    for i, item in enumerate(action_items or []):
        if not isinstance(item, dict) or not item.get("title") or not item.get("owner_unit"):
            raise ValueError(f"action_items[{i}] 需要 title 和 owner_unit / needs title and owner_unit")
        due_days = int(item.get("due_days") or 15)
        if due_days < 1:
            raise ValueError(f"action_items[{i}].due_days 至少 1 天 / must be at least 1")
        red_days = case_deadlines(due_days, case_rule)["red_days"]
        project_id = item.get("project_id")
        project = get_project(ctx, project_id) if project_id not in (None, "") else None
        region = item.get("region_code") or (project.region_code if project is not None else None)
        row = ActionItem(meeting_id=meeting.id, project_id=project.id if project else None,
                         title=str(item["title"])[:300], owner_unit=str(item["owner_unit"])[:128],
                         region_code=region or None, assigned_at=ctx.now,
                         due_at=ctx.now + dt.timedelta(days=due_days), instance_id=ctx.instance_id)
        ctx.session.add(row)
        ctx.session.flush()
        _record(ctx, row, f"会议交办:{row.title}", {"owner_unit": row.owner_unit, "due_at": iso(row.due_at),
                                                   "meeting": meeting.title})
        out.append({"action_id": row.id, "title": row.title, "owner_unit": row.owner_unit,
                    "region_code": row.region_code, "project_id": row.project_id,
                    "project_name": project.name if project is not None else None,
                    "due_date": row.due_at.date().isoformat(),
                    "red_date": (ctx.now + dt.timedelta(days=red_days)).date().isoformat(),
                    "due_at": row.due_at.isoformat(), "red_at": (ctx.now + dt.timedelta(days=red_days)).isoformat(),
                    "due_within": f"P{due_days}D", "red_within": f"P{red_days}D"})
    ctx.session.flush()
    return out


@operator("action_receive")
def action_receive(ctx: OperatorContext, action_id: int, receiver: str = "") -> dict:
    row = _action(ctx, action_id)
    row.status = "received"
    row.received_at = row.received_at or ctx.now
    _record(ctx, row, f"交办事项签收:{row.title}", {"receiver": receiver})
    ctx.session.flush()
    return {"status": row.status}


@operator("action_light")
def action_light(ctx: OperatorContext, action_id: int, light: str) -> dict:
    if light not in ("green", "yellow", "red"):
        raise ValueError(f"未知灯色 / unknown light {light!r}")
    row = _action(ctx, action_id)
    if row.light == "red" and light == "yellow":
        return {"light": row.light, "changed": False}
    changed = row.light != light
    row.light = light
    if changed:
        _record(ctx, row, f"交办事项{'逾期亮黄灯' if light == 'yellow' else '严重逾期亮红灯'}:{row.title}", {"light": light})
    ctx.session.flush()
    return {"light": light, "changed": changed}


@operator("action_feedback")
def action_feedback(ctx: OperatorContext, action_id: int, feedback: str, result: str = "") -> dict:
    row = _action(ctx, action_id)
    row.status = "fed_back"
    row.feedback = str(feedback or "")
    row.fed_back_at = ctx.now
    _record(ctx, row, f"交办事项反馈:{row.title}", {"result": result, "feedback": row.feedback})
    ctx.session.flush()
    return {"status": row.status, "on_time": row.due_at is None or ctx.now <= row.due_at}


@operator("action_return")
def action_return(ctx: OperatorContext, action_id: int, reason: str) -> dict:
    row = _action(ctx, action_id)
    row.status = "received"
    row.returns = (row.returns or 0) + 1
    _record(ctx, row, f"交办事项退回重办:{row.title}", {"reason": str(reason or ""), "returns": row.returns})
    ctx.session.flush()
    return {"returns": row.returns}


@operator("action_close")
def action_close(ctx: OperatorContext, action_id: int, note: str = "") -> dict:
    row = _action(ctx, action_id)
    if row.fed_back_at is None:
        raise ValueError(f"交办事项尚未反馈,不能销号 / action item {row.id} has no feedback")
    row.status = "closed"
    row.closed_at = ctx.now
    row.on_time = row.due_at is None or row.fed_back_at <= row.due_at
    _record(ctx, row, f"交办事项销号:{row.title}", {"on_time": row.on_time, "note": str(note or "")})
    ctx.session.flush()
    return {"status": row.status, "on_time": row.on_time, "returns": row.returns or 0}


@operator("meeting_close")
def meeting_close(ctx: OperatorContext, meeting_id: int) -> dict:
    """All 交办 items of the meeting are closed: the meeting is closed; returns the on-time count."""
    meeting = _meeting(ctx, meeting_id)
    items = list(ctx.session.scalars(select(ActionItem).where(ActionItem.meeting_id == meeting.id)))
    still_open = [i.id for i in items if i.status != "closed"]
    if still_open:
        raise ValueError(f"仍有未销号的交办事项 / action items still open: {still_open}")
    meeting.status = "closed"
    ctx.session.flush()
    return {"items": len(items), "on_time": sum(1 for i in items if i.on_time)}
