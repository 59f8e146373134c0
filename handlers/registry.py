"""Registry of pure handlers callable from BPMN service tasks by operator name.

A handler is a plain function taking keyword arguments (the service task's parameters, already
evaluated) and returning JSON-serialisable data. Handlers import nothing from ``app``: no Flask,
no database session. Register with::

    from handlers.registry import handler

    @handler("prereview_panel_score")
    def prereview_panel_score(scores: list[dict], ...) -> dict: ...
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

HANDLERS: dict[str, Callable[..., object]] = {}


def handler(name: str):
    def register(fn):
        if name in HANDLERS and HANDLERS[name] is not fn:
            raise ValueError(f"handler {name!r} registered twice")
        HANDLERS[name] = fn
        fn.operator_name = name
        return fn

    return register


def load_all() -> dict[str, Callable[..., object]]:
    """Import every module of the ``handlers`` package so their decorators run."""
    import handlers

    for info in pkgutil.iter_modules(handlers.__path__):
        if info.name != "registry" and not info.name.startswith("_"):
            importlib.import_module(f"handlers.{info.name}")
    return HANDLERS
