"""Instance migration between versions of one process key, single and bulk, with dry runs."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import after_savepoint_rollback
from app.engine import MappingInvalid, check_and_migrate
from app.errors import BadRequest, Conflict, Invalid
from app.models.runtime import HumanTask, Instance, ProcessVersion
from app.services import audit
from app.services.definitions.versions import spec_for_version
from app.services.runtime.change import open_change, save_change


def check_mapping(mapping) -> dict[str, str]:
    """``{"old_id": "new_id"}`` for renamed or replaced elements; anything else is a 400."""
    if mapping is None:
        return {}
    if not isinstance(mapping, dict) or not all(isinstance(k, str) and isinstance(v, str) and k and v
                                                for k, v in mapping.items()):
        raise BadRequest('mapping 必须是 {"旧元素ID": "新元素ID"} / mapping must be an object of element ids')
    return dict(mapping)


def migrate_instance(session: Session, instance_id: int, to_version: int, actor: str, dry_run: bool = False,
                     mapping: dict[str, str] | None = None) -> dict:
    """Move one instance to another version of its process (or, with ``dry_run``, say whether it could).

    Labels, documentation and layout never block; renamed ids need ``mapping``. The answer names the
    blocking, cosmetic and mapped elements either way.
    """
    mapping = check_mapping(mapping)
    unit = open_change(session, instance_id, actor)
    inst = unit.instance
    if inst.status in ("completed", "cancelled"):
        raise Conflict(f"实例已结束 / instance is {inst.status}")
    source = session.get(ProcessVersion, inst.version_id)
    target = session.scalar(select(ProcessVersion).where(ProcessVersion.process_key == inst.process_key,
                                                         ProcessVersion.version == to_version))
    if target is None:
        raise BadRequest(f"目标版本 v{to_version} 不存在 / target version not found")
    if target.id == source.id:
        return {"id": inst.id, "result": "unchanged", "from_version": source.version, "to_version": to_version}
    try:
        check = check_and_migrate(unit.runner, spec_for_version(session, target.id), apply=not dry_run,
                                  mapping=mapping)
    except MappingInvalid as exc:
        raise Invalid(str(exc), [{"message": str(exc), "mapping": mapping}]) from None
    outcome = {"id": inst.id, "from_version": source.version, "to_version": to_version,
               "cosmetic": check.cosmetic, "mapping": check.mapped}
    if not check.allowed:
        return {**outcome, "result": "refused", "reason": check.reason, "changed": check.changed,
                "removed": check.removed}
    if dry_run:
        return {**outcome, "result": "allowed"}
    assignees = {check.mapped.get(t.element_id, t.element_id): t.assignee for t in session.scalars(
        select(HumanTask).where(HumanTask.instance_id == inst.id, HumanTask.state == "open")) if t.assignee}
    inst.version_id = target.id
    session.execute(Instance.__table__.update().where(Instance.id == inst.id).values(version_id=target.id))
    result = unit.runner.step()
    save_change(unit, result)
    for row in session.scalars(select(HumanTask).where(HumanTask.instance_id == inst.id, HumanTask.state == "open")):
        if row.element_id in assignees:
            row.assignee = assignees[row.element_id]
    audit.record(session, "instance_migrated", actor, instance_id=inst.id,
                 detail={"from_version": source.version, "to_version": target.version, "mapping": check.mapped})
    return {**outcome, "result": "migrated"}


def migrate_bulk(session: Session, process_key: str, from_version: int, to_version: int, actor: str,
                 dry_run: bool = True, business_key: str | None = None, status: str | None = None,
                 mapping: dict[str, str] | None = None) -> dict:
    mapping = check_mapping(mapping)
    source = session.scalar(select(ProcessVersion).where(ProcessVersion.process_key == process_key,
                                                         ProcessVersion.version == from_version))
    if source is None:
        raise BadRequest(f"源版本 v{from_version} 不存在 / source version not found")
    stmt = select(Instance.id).where(Instance.version_id == source.id,
                                     Instance.status.not_in(("completed", "cancelled")))
    if business_key:
        stmt = stmt.where(Instance.business_key == business_key)
    if status:
        stmt = stmt.where(Instance.status == status)
    results = []
    for instance_id in session.scalars(stmt.order_by(Instance.id)).all():
        nested = session.begin_nested()
        try:
            results.append(migrate_instance(session, instance_id, to_version, actor, dry_run=dry_run,
                                            mapping=mapping))
            nested.commit()
        except Invalid:  # a mapping naming unknown elements is wrong for every instance: refuse the request
            nested.rollback()
            raise
        except Exception as exc:  # one instance's failure is reported, the others go on
            nested.rollback()
            after_savepoint_rollback(session, exc)
            results.append({"id": instance_id, "result": "refused", "reason": getattr(exc, "message", str(exc))})
    summary = {k: sum(1 for r in results if r["result"] == k) for k in ("migrated", "allowed", "refused")}
    return {"items": results, "total": len(results), "summary": summary, "dry_run": dry_run}
