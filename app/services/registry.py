"""Everything a service task may call: DB-aware operators first, then pure handlers."""

from __future__ import annotations

from functools import cache


@cache
def operations() -> dict:
    from app.services import operators
    from handlers import registry

    found = dict(registry.load_all())
    found.update(operators.load_all())
    return found


def operation_names() -> set[str]:
    from app.services import operators
    from handlers import registry

    operations()
    return set(registry.HANDLERS) | set(operators.OPERATORS)
