"""JSON REST API under /api/v1 (token auth) and its OpenAPI document."""

from __future__ import annotations


def init_app(app) -> None:
    from app.api import errors, kpis, routes, settings  # noqa: F401  (#12: routes on routes.bp)

    errors.init_app(app)
    app.register_blueprint(routes.bp)
