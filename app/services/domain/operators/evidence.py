"""Server-side form checks (issue #12) registered by form file in ``tasks.forms.SERVER_CHECKS``:
called under the instance lock before a task completes (``check``) or when its form is shown (``note``).

- lc-stage.json: required stage evidence (domain/evidence.py); refuses with 422 when some is missing.
- li-claim.json: 揭牌认领 — one claimant per project, the claimant an org unit (domain/claims.py).
"""

from __future__ import annotations

from app.services.domain import claims, evidence
from app.services.runtime.service_calls import OperatorContext, operator


@operator("form_check_stage_evidence")
def form_check_stage_evidence(ctx: OperatorContext, task, data: dict) -> dict:
    added = evidence.check_stage_completion(ctx.session, task.project_id, task.stage, data, ctx.actor, ctx.instance_id)
    return {"added": added}


@operator("form_note_stage_evidence")
def form_note_stage_evidence(ctx: OperatorContext, task) -> str | None:
    return evidence.stage_note(ctx.session, task.project_id, task.stage)


@operator("form_check_library_claim")
def form_check_library_claim(ctx: OperatorContext, task, data: dict) -> dict:
    return claims.check_claim_form(ctx.session, task, data, ctx.actor, ctx.instance_id)
