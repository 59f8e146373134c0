"""预审附加条件 (有条件通过) as a tracked item: an ActionItem (no meeting) owned by the unit that must
fulfil the conditions, due on the date the office set. The pre-review (and so the lifecycle's signing
stage) waits until the office confirms the conditions are met; feedback, return and closure use the
action-item operators of ``meetings.py``."""

from __future__ import annotations

import datetime as dt

from app.models.domain_processes import ActionItem
from app.services.domain.operators.projects import add_event, get_project, iso, parse_date
from app.services.runtime.service_calls import OperatorContext, operator


@operator("condition_track")
def condition_track(ctx: OperatorContext, project_id: int, conditions: str, owner: str, due_date: str) -> dict:
    p = get_project(ctx, project_id)
    due_day = parse_date(due_date, "due_date") or (ctx.now + dt.timedelta(days=30)).date()
    due = dt.datetime.combine(due_day, dt.time(16, 0), tzinfo=dt.UTC)  # end of that day in Beijing
    if not str(conditions or "").strip():
        raise ValueError("附加条件必填 / conditions required")
    row = ActionItem(meeting_id=None, project_id=p.id, title=f"预审附加条件:{conditions}"[:300],
                     owner_unit=str(owner or p.responsible_unit or "责任单位")[:128], region_code=p.region_code,
                     assigned_at=ctx.now, due_at=due, instance_id=ctx.instance_id)
    ctx.session.add(row)
    ctx.session.flush()
    add_event(ctx, p.id, "conditions", "预审附加条件待落实", {"action_id": row.id, "conditions": str(conditions),
                                                         "owner": row.owner_unit, "due_at": iso(due)})
    ctx.session.flush()
    return {"action_id": row.id, "due_at": due.isoformat(), "due_date": due_day.isoformat()}
