"""REST endpoints of the project and target-enterprise libraries (/api/v1/projects, /api/v1/enterprises)
and of task assignment (/api/v1/tasks/<id>/assign, /delegate; /api/v1/me/absence).
Registered on the API blueprint of ``app.api.routes``."""

from __future__ import annotations

from flask import request

from app.api.auth import authed, bp
from app.params import int_arg, json_body
from app.services.domain import claims, evidence, projects
from app.services.tasks import assignment
from app.services.tasks.commands import complete_task


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

@bp.get("/projects/<int:project_id>/evidence")
@authed(write=False)
def project_evidence(session, user, project_id):
    return evidence.project_evidence(session, user, project_id)

@bp.post("/projects/<int:project_id>/evidence")
@authed()
def attach_evidence(session, user, project_id):
    return evidence.attach_evidence(session, user, project_id, json_body()), 201

@bp.get("/projects/<int:project_id>/claim")
@authed(write=False)
def get_claim(session, user, project_id):
    projects.get_project(session, user, project_id)  # 404 / 403 outside the jurisdiction
    row = claims.get_claim(session, project_id)
    return {"claim": claims.claim_dict(session, row) if row is not None else None,
            "open": claims.open_claim_task(session, project_id) is not None}

@bp.post("/projects/<int:project_id>/claim")
@authed()
def claim_project(session, user, project_id):
    return claim_listed_project(session, user, project_id, json_body()), 201

@bp.post("/projects/<int:project_id>/reactivate")
@authed()
def reactivate_project(session, user, project_id):
    return projects.reactivate_project(session, user, project_id, json_body().get("reason"))


def claim_listed_project(session, user, project_id: int, body: dict) -> dict:
    """揭牌认领 by a county unit or a 市直部门: authorised here, then the library's claim task completes
    (its li-claim check writes the one project_claim row, 409 for a second claim)."""
    task = claims.authorise_claim(session, user, project_id)
    complete_task(session, user, task.id, claims.claim_form(user, body), authorised=True)
    return claims.claim_dict(session, claims.get_claim(session, project_id))


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


@bp.post("/tasks/<task_id>/assign")
@authed()
def assign_task(session, user, task_id):
    return assignment.assign_task(session, user, task_id, json_body().get("assignee"))

@bp.post("/tasks/<task_id>/delegate")
@authed()
def delegate_task(session, user, task_id):
    return assignment.delegate_task(session, user, task_id, json_body().get("assignee"))

@bp.get("/tasks/<task_id>/candidates")
@authed(write=False)
def task_candidates(session, user, task_id):
    from app.errors import NotAllowed
    from app.services.tasks.commands import get_task

    task = get_task(session, task_id)
    if not (assignment.may_assign(session, user, task) or task.assignee == user.username):
        raise NotAllowed("无权查看此任务的候选人 / you may not list this task's candidates")
    items = [{"username": u.username, "display_name": u.display_name,
              "org_unit": u.org_unit.key if u.org_unit else None} for u in assignment.candidates(session, task)]
    return {"items": items, "total": len(items)}

@bp.get("/me/absence")
@authed(write=False)
def get_absence(session, user):
    return {"absence": assignment.get_absence(session, user)}

@bp.put("/me/absence")
@authed()
def put_absence(session, user):
    body = json_body()
    return {"absence": assignment.set_absence(session, user, body.get("deputy"), body.get("from"), body.get("to"))}

@bp.delete("/me/absence")
@authed()
def delete_absence(session, user):
    assignment.clear_absence(session, user)
    return {"absence": None}
