"""REST endpoints of the project and target-enterprise libraries (/api/v1/projects, /api/v1/enterprises)
and of task assignment (/api/v1/tasks/<id>/assign, /delegate; /api/v1/me/absence).
Registered on the API blueprint of ``app.api.routes``."""

from __future__ import annotations

from flask import request

from app.params import int_arg
from app.services.domain import projects


def register(bp, authed, json_body) -> None:
    @bp.post("/projects")
    @authed()
    def create_project(session, user):
        return projects.create_project(session, user, json_body()), 201

    @bp.get("/projects")
    @authed(write=False)
    def list_projects(session, user):
        return projects.list_projects(session, user, dict(request.args), page=int_arg("page", 1),
                                      per_page=int_arg("per_page", 20))

    @bp.get("/projects/<int:project_id>")
    @authed(write=False)
    def get_project(session, user, project_id):
        return projects.project_dict(session, projects.get_project(session, user, project_id))

    @bp.patch("/projects/<int:project_id>")
    @authed()
    def update_project(session, user, project_id):
        return projects.update_project(session, user, project_id, json_body())

    @bp.post("/enterprises")
    @authed()
    def create_enterprise(session, user):
        return projects.create_enterprise(session, user, json_body()), 201

    @bp.get("/enterprises")
    @authed(write=False)
    def list_enterprises(session, user):
        return projects.list_enterprises(session, user, dict(request.args), page=int_arg("page", 1),
                                         per_page=int_arg("per_page", 20))

    @bp.get("/enterprises/<int:enterprise_id>")
    @authed(write=False)
    def get_enterprise(session, user, enterprise_id):
        return projects.enterprise_dict(projects.get_enterprise(session, user, enterprise_id))

    @bp.patch("/enterprises/<int:enterprise_id>")
    @authed()
    def update_enterprise(session, user, enterprise_id):
        return projects.update_enterprise(session, user, enterprise_id, json_body())
