"""JSON REST API under /api/v1 on one blueprint (``auth.bp``), one module per resource:
deployments, instances, tasks, messages, admin; ``openapi`` serves the document and the clock.
``auth`` loads the caller (token or browser session). Errors are mapped app-wide by app/errors.py."""

from __future__ import annotations


def init_app(app) -> None:
    from app.api import admin, deployments, instances, kpis, messages, openapi, projects, settings, tasks  # noqa: F401
    from app.api.auth import bp

    app.register_blueprint(bp)
