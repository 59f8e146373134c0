"""Server-rendered pages (Jinja2). Each module of this package that exposes ``bp`` is registered.

Modules: security (CSRF, CSP, headers), filters (Jinja), auth (sign-in, sessions, ``login_required``), inbox, tasks, projects, board,
dashboards, admin, modeler, notifications. Templates never query the database: views call
services and pass plain data.
"""

from __future__ import annotations

import importlib
import logging

log = logging.getLogger(__name__)

MODULES = ("security", "filters", "auth", "inbox", "tasks", "projects", "board", "dashboards", "admin", "modeler", "notifications")


def init_app(app) -> None:
    for name in MODULES:
        try:
            module = importlib.import_module(f"app.web.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"app.web.{name}":
                continue
            raise
        if hasattr(module, "init_app"):
            module.init_app(app)
        if hasattr(module, "bp"):
            app.register_blueprint(module.bp)
