"""Server-rendered pages (Jinja2), one blueprint per module, each registered here explicitly.

Modules: security (CSRF, CSP, headers), filters (Jinja), auth (sign-in, sessions, ``login_required``), inbox, tasks, projects, board,
dashboards, admin, modeler, notifications. Templates never query the database: views call
services and pass plain data.
"""

from __future__ import annotations

from app.web import (
    admin,
    admin_settings,
    auth,
    board,
    dashboards,
    filters,
    inbox,
    modeler,
    notifications,
    project_records,
    projects,
    records,
    security,
    starts,
    task_assignment,
    tasks,
)

MODULES = (security, filters, auth, inbox, tasks, projects, project_records, task_assignment, starts, records, board, dashboards,
           admin, admin_settings, modeler, notifications)


def init_app(app) -> None:
    for module in MODULES:
        if hasattr(module, "init_app"):
            module.init_app(app)
        if hasattr(module, "bp"):
            app.register_blueprint(module.bp)
