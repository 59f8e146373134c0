"""Server-rendered pages (Jinja2), one blueprint per module, each registered here explicitly.

Modules: auth (sign-in, sessions, CSRF, ``login_required``), inbox, tasks, projects, board,
dashboards, admin, modeler, notifications. Templates never query the database: views call
services and pass plain data.
"""

from __future__ import annotations

from app.web import admin, auth, board, dashboards, inbox, modeler, notifications, projects, records, tasks

MODULES = (auth, inbox, tasks, projects, records, board, dashboards, admin, modeler, notifications)


def init_app(app) -> None:
    for module in MODULES:
        if hasattr(module, "init_app"):
            module.init_app(app)
        if hasattr(module, "bp"):
            app.register_blueprint(module.bp)
