"""Everything a service task may call: DB-aware operators first, then pure handlers."""

from __future__ import annotations

from functools import cache


def _extra_modules() -> None:
    """Site-specific handler modules named in INVESTFLOW_HANDLER_MODULES (comma-separated)."""
    import importlib
    import os

    for name in filter(None, (m.strip() for m in os.environ.get("INVESTFLOW_HANDLER_MODULES", "").split(","))):
        importlib.import_module(name)


@cache
def operations() -> dict:
    from app.services import operators
    from handlers import registry

    _extra_modules()
    found = dict(registry.load_all())
    found.update(operators.load_all())
    return found


def operation_names() -> set[str]:
    from app.services import operators
    from handlers import registry

    operations()
    return set(registry.HANDLERS) | set(operators.OPERATORS)
