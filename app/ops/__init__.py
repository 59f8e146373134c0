"""Operating the platform: metrics, structured logs, readiness, the consistency doctor, backup/restore."""

from __future__ import annotations


def init_app(app) -> None:
    from app.ops import web

    web.init_app(app)
