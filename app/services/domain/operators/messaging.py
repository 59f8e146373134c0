"""Operators for cross-instance flow: messages to other instances and process starts (queued as jobs
delivered after the calling transaction commits)."""

from __future__ import annotations

from app.services.runtime.service_calls import OperatorContext, operator


@operator("send_message")
def send_message(ctx: OperatorContext, name: str, business_key: str | None = None, correlation: dict | None = None,
                 data: dict | None = None) -> dict:
    if not name:
        raise ValueError("消息名称必填 / message name required")
    ctx.send_message(str(name), business_key=business_key, correlation=correlation, data=data)
    return {"queued": True}


@operator("start_process")
def start_process(ctx: OperatorContext, process_key: str, business_key: str | None = None,
                  data: dict | None = None) -> dict:
    if not process_key:
        raise ValueError("流程标识必填 / process_key required")
    ctx.start_process(str(process_key), business_key=business_key, data=data)
    return {"queued": True}
