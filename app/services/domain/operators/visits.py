"""A visit's routing has ended (issue #12: visits are marked handled when their routing ends, so the
assessment can count them): status ``handled`` and an audit event with the outcome."""

from __future__ import annotations

from app.models.domain import Visit
from app.services import audit
from app.services.runtime.service_calls import OperatorContext, operator


@operator("visit_close")
def visit_close(ctx: OperatorContext, visit_id: int, outcome: str) -> dict:
    row = ctx.session.get(Visit, int(visit_id)) if visit_id not in (None, "") else None
    if row is None:
        raise ValueError(f"来访记录不存在 / visit {visit_id!r} not found")
    row.status = "handled"
    audit.record(ctx.session, "visit_handled", ctx.actor, instance_id=ctx.instance_id, element_id=ctx.element_id,
                 detail={"visit_id": row.id, "outcome": str(outcome), "routing_type": row.routing_type,
                         "routed_to": row.routed_to})
    ctx.session.flush()
    return {"visit_id": row.id, "status": row.status}
