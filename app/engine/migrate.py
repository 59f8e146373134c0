"""Compatibility name for :mod:`app.engine.spec_migration` until the services import it from ``app.engine``."""

from app.engine.spec_migration import MigrationCheck, check_and_migrate  # noqa: F401
