"""Stage plan adjustment (红灯督办 调度意见“同意调整计划”, issue #12): the open stage gets a new planned
due date, the light returns to green, and the change is audited and recorded on the timeline (kind
``plan``). Returns ``wait`` — the ISO duration until the new date — for the lifecycle's timer that
turns the light red again if the stage is still open then."""

from __future__ import annotations

import datetime as dt

from app.models.domain import STAGE_NAMES
from app.services import audit
from app.services.domain.operators.projects import add_event, get_project, iso, parse_date
from app.services.runtime.service_calls import OperatorContext, operator


@operator("stage_replan")
def stage_replan(ctx: OperatorContext, project_id: int, planned_due: str, reason: str) -> dict:
    p = get_project(ctx, project_id)
    record = p.current_stage_record
    if record is None:
        raise ValueError(f"项目没有进行中的阶段 / project {p.id} has no open stage")
    due_date = parse_date(planned_due, "planned_due")
    if due_date is None or due_date <= ctx.now.date():
        raise ValueError("调整后的计划完成日期须晚于今天 / the new planned date must be after today")
    if not str(reason or "").strip():
        raise ValueError("调整理由必填 / a reason is required")
    new_due = dt.datetime.combine(due_date, dt.time(16, 0), tzinfo=dt.UTC)  # end of the day in Beijing
    before = {"planned_due": iso(record.planned_due), "light": p.light}
    record.planned_due = new_due
    record.light = "green"
    p.light = "green"
    detail = {"stage": p.stage, "from": before, "to": {"planned_due": iso(new_due), "light": "green"},
              "reason": str(reason)}
    add_event(ctx, p.id, "plan", f"调整阶段计划:{STAGE_NAMES.get(p.stage, p.stage)}至{due_date.isoformat()}", detail)
    audit.record(ctx.session, "stage_replanned", ctx.actor, instance_id=ctx.instance_id, element_id=ctx.element_id,
                 detail={"project_id": p.id, **detail})
    ctx.session.flush()
    seconds = max(60, int((new_due - ctx.now).total_seconds()))
    return {"planned_due": due_date.isoformat(), "wait": f"PT{seconds}S"}
