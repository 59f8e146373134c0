"""Messages: subscriptions found by SQL (name + business key), correlation values checked on each
candidate's data, delivered under each target's lock; message start events start instances."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import after_savepoint_rollback
from app.engine import StepResult
from app.errors import Conflict, NotFound
from app.models.runtime import Instance, MessageSubscription, ProcessVersion
from app.services import access, audit
from app.services.runtime import instances
from app.services.runtime.change import InstanceChange, apply_change


def _matches(session: Session, sub: MessageSubscription, correlation: dict) -> bool:
    if not correlation:
        return True
    instance = session.get(Instance, sub.instance_id)
    data = instances.instance_data(session, instance)
    return all(data.get(k) == v or str(data.get(k)) == str(v) for k, v in correlation.items())


def send_message(session: Session, name: str, *, business_key: str | None = None, correlation: dict | None = None,
                 data: dict | None = None, actor: str = "system", broadcast: bool = False, user=None) -> dict:
    """Deliver ``name`` to waiting instances, or start instances whose message start event catches it.

    ``user``: a person sending (API); ``access.check_message`` refuses before anything is delivered."""
    correlation = correlation or {}
    targets = _targets(session, name, business_key, correlation)
    if len(targets) > 1 and not broadcast:
        raise Conflict(f"有 {len(targets)} 个实例在等待消息 {name},请提供关联条件或设为广播 / several instances wait "
                       f"for this message; correlate or broadcast", [{"message": "ambiguous", "instances": targets}])
    start_data = {**(data or {}), **correlation}
    if user is not None:
        _check_sender(session, user, name, targets, broadcast, start_data)
    delivered, refused = [], []
    for instance_id in targets:
        reason = _deliver(session, instance_id, name, data or {}, actor, broadcast)
        if reason is not None:
            refused.append({"instance_id": instance_id, "message": reason})
            continue
        audit.record(session, "message_delivered", actor, instance_id=instance_id,
                     detail={"name": name, "business_key": business_key})
        delivered.append(instance_id)
    if refused:
        return {"delivered": delivered, "started": [], "refused": refused}
    started = [] if delivered else _start_catchers(session, name, business_key, start_data, actor)
    if not delivered and not started:
        raise NotFound(f"没有流程在等待消息 {name} / nothing waits for message '{name}'")
    return {"delivered": delivered, "started": started}


def _targets(session: Session, name: str, business_key: str | None, correlation: dict) -> list[int]:
    stmt = select(MessageSubscription).where(MessageSubscription.name == name)
    if business_key is not None:
        stmt = stmt.where(MessageSubscription.business_key == business_key)
    subs = [s for s in session.scalars(stmt.order_by(MessageSubscription.instance_id)) if
            _matches(session, s, correlation)]
    return sorted({s.instance_id for s in subs})


def _check_sender(session: Session, user, name: str, targets: list[int], broadcast: bool, start_data: dict) -> None:
    access.check_message(session, user, name, [session.get(Instance, i) for i in targets], broadcast=broadcast,
                         start_data=start_data if not targets else None)
    if not targets:
        for version in _message_start_versions(session, name):
            access.check_start(session, user, version.process_key, start_data, message_start=True)


def _deliver(session: Session, instance_id: int, name: str, data: dict, actor: str, broadcast: bool) -> str | None:
    """Deliver to one instance; for a broadcast, a target that refuses is reported (its reason), not raised."""
    def deliver(unit: InstanceChange) -> StepResult:
        if not unit.runner.send_message(name, data):
            raise Conflict("实例不再等待该消息 / instance no longer waits for it")
        return unit.runner.step()

    if not broadcast:
        apply_change(session, instance_id, actor, deliver)
        return None
    savepoint = session.begin_nested()  # one target that refuses must not keep the message from the others
    try:
        apply_change(session, instance_id, actor, deliver)
        savepoint.commit()
    except (Conflict, NotFound) as exc:
        savepoint.rollback()
        after_savepoint_rollback(session, exc)
        audit.record(session, "message_refused", actor, instance_id=instance_id,
                     detail={"name": name, "reason": exc.message})
        return exc.message
    return None


def _start_catchers(session: Session, name: str, business_key: str | None, start_data: dict, actor: str) -> list[int]:
    started = []
    for version in _message_start_versions(session, name):
        info = instances.start_instance(session, version.process_key, business_key=business_key, data=start_data,
                                        actor=actor)
        audit.record(session, "message_delivered", actor, instance_id=info["id"], detail={"name": name, "started": True})
        started.append(info["id"])
    return started


def _message_start_versions(session: Session, name: str) -> list[ProcessVersion]:
    latest: dict[str, ProcessVersion] = {}
    for v in session.scalars(select(ProcessVersion).order_by(ProcessVersion.version)):
        latest[v.process_key] = v
    return [v for v in latest.values() if name in (v.message_starts or [])]
