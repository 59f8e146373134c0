"""Service calls: the one lookup of what a service task may call, and the script engine built on it.

Operators are the DB-aware calls; pure computations live in ``handlers/`` (no database). Operators that must read or write domain

Pure computations live in ``handlers/`` (no database). Operators that must read or write domain
tables (projects, notifications, messages to other instances) register here and receive an
:class:`OperatorContext` as first argument. They run inside the calling instance's transaction,
so whatever they write commits or rolls back together with the workflow state (rule 4).

    @operator("project_set_stage")
    def project_set_stage(ctx: OperatorContext, project_id: int, stage: str) -> dict: ...
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from app.engine import make_script_engine

OPERATORS: dict[str, Callable[..., object]] = {}


def operator(name: str):
    def register(fn):
        if name in OPERATORS and OPERATORS[name] is not fn:
            raise ValueError(f"operator {name!r} registered twice")
        OPERATORS[name] = fn
        fn.operator_name = name
        return fn

    return register


@dataclass
class OperatorContext:
    """What an operator may use: the open session and facts about the calling instance."""

    session: Any  # sqlalchemy.orm.Session, already in the instance's transaction
    instance_id: int | None
    process_key: str
    business_key: str | None
    now: dt.datetime
    actor: str = "system"
    element_id: str | None = None
    # Messages and process starts requested by operators become durable jobs, delivered after
    # this transaction commits, each under its own target instance's lock.
    outbox: list[dict] = field(default_factory=list)

    def send_message(self, name: str, business_key: str | None = None, correlation: dict | None = None,
                     data: dict | None = None) -> None:
        self.outbox.append({"kind": "message", "name": name, "business_key": business_key,
                            "correlation": correlation or {}, "data": data or {}})

    def start_process(self, process_key: str, business_key: str | None = None, data: dict | None = None) -> None:
        self.outbox.append({"kind": "start", "process_key": process_key, "business_key": business_key,
                            "data": data or {}})


def load_all() -> dict[str, Callable[..., object]]:
    """Import the modules that register operators."""
    import importlib
    import pkgutil

    from app.services.domain import operators as package

    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{info.name}")
    return OPERATORS


def _extra_modules() -> None:
    """Site-specific handler modules named in INVESTFLOW_HANDLER_MODULES (comma-separated)."""
    import importlib
    import os

    for name in filter(None, (m.strip() for m in os.environ.get("INVESTFLOW_HANDLER_MODULES", "").split(","))):
        importlib.import_module(name)


@cache
def operations() -> dict[str, Callable[..., object]]:
    """Every name a service task may call: pure handlers, then DB-aware operators (which win)."""
    from handlers import registry

    _extra_modules()
    found = dict(registry.load_all())
    found.update(load_all())
    return found


def operation_names() -> set[str]:
    return set(operations())


def script_engine(ctx: OperatorContext, timeout: float):
    """The restricted script engine of one change: service tasks dispatch through ``operations()``."""
    ops = operations()

    def services(name: str, params: dict, _data: dict):
        fn = ops.get(name)
        if fn is None:
            raise LookupError(f"未注册的处理器 / no handler registered for '{name}'")
        if name in OPERATORS:
            ctx.element_id = engine.environment.current_element
            return fn(ctx, **params)
        return fn(**params)

    engine = make_script_engine(services, timeout=timeout)
    return engine
