"""Registry of app-level service-task operators: those that touch the database.

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
from typing import Any

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

    from app.services import domain_ops  # noqa: F401  (package of domain operators)

    for info in pkgutil.iter_modules(domain_ops.__path__):
        importlib.import_module(f"app.services.domain_ops.{info.name}")
    return OPERATORS
