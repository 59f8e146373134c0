"""优质项目流转 (P09) operators: record an offer, its decision, and apply an approved transfer (the
project's region and responsible unit change; the origin keeps ``credit_split_origin_pct`` of the
assessment credit). The transfer is audited and recorded on the project timeline (kind ``transfer``)."""

from __future__ import annotations

from app.models.domain import Region
from app.models.domain_processes import ProjectTransfer
from app.services import audit
from app.services.domain import project_moves
from app.services.domain.operators.projects import add_event, get_project
from app.services.runtime.service_calls import OperatorContext, operator

DECISIONS = {"accepted": "承接地同意接收", "declined": "承接地不予接收", "rejected": "市招商委办公室不同意流转"}


def _transfer(ctx: OperatorContext, transfer_id) -> ProjectTransfer:
    row = ctx.session.get(ProjectTransfer, int(transfer_id)) if transfer_id not in (None, "") else None
    if row is None:
        raise ValueError(f"流转记录不存在 / transfer {transfer_id!r} not found")
    return row


def _pct(value) -> float:
    try:
        pct = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"考核分成比例应为数字 / credit split must be a number, got {value!r}") from None
    if not 0 <= pct <= 100:
        raise ValueError(f"考核分成比例应在 0–100 之间 / credit split must be 0–100, got {pct}")
    return pct


def _region_name(ctx: OperatorContext, code: str) -> str:
    region = ctx.session.get(Region, code)
    if region is None:
        raise ValueError(f"未知县(区)/ unknown region {code!r}")
    return region.name


@operator("transfer_offer")
def transfer_offer(ctx: OperatorContext, project_id: int, target_region_code: str, target_unit: str,
                   reasons: list | None = None, credit_split_origin_pct: float = 50,
                   target_park: str | None = None) -> dict:
    p = get_project(ctx, project_id)
    target_name = _region_name(ctx, target_region_code)
    if target_region_code == p.region_code and not target_park:
        raise ValueError("承接地不能是项目当前所在县(区)/ the target must differ from the project's county")
    row = ProjectTransfer(project_id=p.id, origin_region_code=p.region_code, origin_unit=p.responsible_unit,
                          target_region_code=target_region_code, target_park=target_park or None,
                          target_unit=target_unit, reasons=list(reasons or []),
                          credit_split_origin_pct=_pct(credit_split_origin_pct), offered_at=ctx.now,
                          instance_id=ctx.instance_id)
    ctx.session.add(row)
    ctx.session.flush()
    add_event(ctx, p.id, "transfer", f"优质项目流转:推荐至{target_name}{target_park or ''}",
              {"transfer_id": row.id, "from": p.region_code, "to": target_region_code, "target_unit": target_unit,
               "reasons": row.reasons, "credit_split_origin_pct": row.credit_split_origin_pct})
    ctx.session.flush()
    return {"transfer_id": row.id, "origin_region_code": p.region_code, "target_region_name": target_name}


@operator("transfer_decide")
def transfer_decide(ctx: OperatorContext, transfer_id: int, decision: str, note: str = "") -> dict:
    if decision not in DECISIONS:
        raise ValueError(f"未知决定 / unknown decision {decision!r}; expected one of {', '.join(DECISIONS)}")
    row = _transfer(ctx, transfer_id)
    row.status = decision
    row.note = str(note or "")
    row.decided_at = ctx.now
    add_event(ctx, row.project_id, "transfer", DECISIONS[decision],
              {"transfer_id": row.id, "to": row.target_region_code, "note": row.note})
    ctx.session.flush()
    return {"transfer_id": row.id, "status": row.status}


@operator("transfer_complete")
def transfer_complete(ctx: OperatorContext, transfer_id: int, credit_split_origin_pct: float,
                      responsible_unit: str, commissioner_name: str | None = None) -> dict:
    row = _transfer(ctx, transfer_id)
    if row.status != "accepted":
        raise ValueError(f"只有承接地已同意的流转才能办结 / transfer {row.id} is {row.status}, not accepted")
    p = get_project(ctx, row.project_id)
    pct = _pct(credit_split_origin_pct)
    before = {"region_code": p.region_code, "responsible_unit": p.responsible_unit,
              "commissioner_name": p.commissioner_name}
    # the project and its running work (lifecycle instance, open tasks) move to the receiving county
    moved = project_moves.transfer_project(ctx.session, p.id, row.target_region_code, ctx.actor,
                                           exclude_instance_id=ctx.instance_id)
    p.responsible_unit = responsible_unit
    p.responsible_org_key = None  # the old county's unit no longer leads; the receiving county names its own
    if commissioner_name:
        p.commissioner_name = commissioner_name
    row.credit_split_origin_pct = pct
    row.status = "completed"
    row.decided_at = ctx.now
    detail = {"transfer_id": row.id, "from": before, "to": {"region_code": p.region_code,
              "responsible_unit": p.responsible_unit, "commissioner_name": p.commissioner_name},
              "credit_split_origin_pct": pct, "credit_split_target_pct": 100 - pct,
              "moved_instances": moved["instances"], "moved_open_tasks": moved["open_tasks"]}
    add_event(ctx, p.id, "transfer", f"项目流转完成:{_region_name(ctx, p.region_code)}承接", detail)
    audit.record(ctx.session, "project_transferred", ctx.actor, instance_id=ctx.instance_id,
                 element_id=ctx.element_id, detail={"project_id": p.id, **detail})
    ctx.session.flush()
    return {"region_code": p.region_code, "credit_split_origin_pct": pct, "credit_split_target_pct": 100 - pct}


@operator("notify_region")
def notify_region(ctx: OperatorContext, roles: list[str] | str, region_code: str | None, title: str, body: str = "",
                  project_id: int | None = None, level: str = "info") -> dict:
    """Like ``notify``, but addressed to the county ``region_code`` rather than the project's own
    (the receiving county of a transfer offer, or the origin county after the project has moved)."""
    from app.models.domain import Notification
    from app.roles import ROLES
    from app.services.domain.operators.notify import LEVELS, role_recipients

    roles = [roles] if isinstance(roles, str) else list(dict.fromkeys(roles or []))
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise ValueError(f"未知角色 / unknown role(s): {', '.join(map(str, unknown))}")
    if level not in LEVELS:
        raise ValueError(f"未知级别 / unknown level {level!r}; expected one of {', '.join(LEVELS)}")
    project = get_project(ctx, project_id) if project_id not in (None, "") else None
    title = str(title)[:200]
    addresses: set[str] = set()
    for role in roles:
        scoped = (region_code or None) if ROLES[role].scoped else None
        ctx.session.add(Notification(role=role, region_code=scoped, title=title, body=str(body or ""),
                                     link=f"/projects/{project.id}" if project else None, level=level,
                                     project_id=project.id if project else None, instance_id=ctx.instance_id,
                                     created_at=ctx.now))
        addresses.update(role_recipients(ctx.session, role, scoped))
    if project is not None:
        add_event(ctx, project.id, "notify", f"通知:{title}", {"roles": roles, "level": level,
                                                               "region_code": region_code})
    ctx.session.flush()
    from app.services.domain import notifications

    if addresses and notifications.mail_settings()["host"]:
        ctx.outbox.append({"kind": "mail", "recipients": sorted(addresses), "subject": title, "body": str(body or "")})
    return {"count": len(roles)}
