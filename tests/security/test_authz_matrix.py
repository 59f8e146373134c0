"""The authorization matrix: every route of app.url_map × {no auth, county X on county Y's objects,
external role, non-admin on admin operations, wrong lane} → the expected status. A route without a row
fails ``test_every_route_has_a_row``. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.security.conftest import NINGER, PROJECT_NAME, SIMAO
from tests.web.helpers import csrf, login

pytestmark = pytest.mark.parametrize("db_kind", ["sqlite", "pg"], indirect=True)

DENY = {403, 404}
ANON_API = {401}
ANON_PAGE = {302}  # to the sign-in page
PUBLIC = "public"
SCENARIOS = ("anon", "county", "external", "non_admin", "wrong_lane")

# (endpoint, method, url template, expectations); an expectation set, or PUBLIC, or "hides" (200 and
# the other county's object absent from the answer). Templates use the ids of the world below.
ADMIN_PAGE = {"anon": ANON_PAGE, "county": DENY, "external": DENY, "non_admin": DENY}
ADMIN_API = {"anon": ANON_API, "county": DENY, "external": DENY, "non_admin": DENY}
OBJECT_API = {"anon": ANON_API, "county": DENY, "external": DENY}
OBJECT_PAGE = {"anon": ANON_PAGE, "county": DENY, "external": DENY}
TASK_API = {**OBJECT_API, "wrong_lane": DENY}
TASK_PAGE = {**OBJECT_PAGE, "wrong_lane": DENY}
LIST_API = {"anon": ANON_API, "county": "hides", "external": "hides", "wrong_lane": "hides"}
LIST_PAGE = {"anon": ANON_PAGE, "county": "hides", "external": "hides"}  # the same county sees its project
SIGNED_IN = {"anon": ANON_PAGE}

ROWS = [
    ("auth.index", "GET", "/", PUBLIC),
    ("auth.index", "POST", "/", {"anon": {401}}),
    ("auth.login", "GET", "/login", PUBLIC),
    ("auth.login", "POST", "/login", {"anon": {401}}),
    ("auth.logout", "POST", "/logout", {"anon": {302}}),
    ("healthz", "GET", "/healthz", PUBLIC),
    ("static", "GET", "/static/css/app.css", PUBLIC),
    ("api.get_clock", "GET", "/api/v1/clock", PUBLIC),
    ("api.openapi", "GET", "/api/v1/openapi.json", PUBLIC),
    # API
    ("api.create_deployment", "POST", "/api/v1/deployments", ADMIN_API),
    ("api.list_processes", "GET", "/api/v1/processes", {"anon": ANON_API}),
    ("api.list_versions", "GET", "/api/v1/processes/onboarding/versions", {"anon": ANON_API}),
    ("api.start", "POST", "/api/v1/processes/onboarding/instances",
     {"anon": ANON_API, "county": DENY, "external": DENY}),
    ("api.bulk_migrate", "POST", "/api/v1/processes/onboarding/migrations", ADMIN_API),
    ("api.list_instances", "GET", "/api/v1/instances", ADMIN_API),
    ("api.get_instance", "GET", "/api/v1/instances/{instance}", OBJECT_API),
    ("api.instance_action", "POST", "/api/v1/instances/{instance}/cancel", {**ADMIN_API, "wrong_lane": DENY}),
    ("api.instance_events", "GET", "/api/v1/instances/{instance}/events", OBJECT_API),
    ("api.list_incidents", "GET", "/api/v1/incidents", ADMIN_API),
    ("api.retry_incident", "POST", "/api/v1/incidents/1/retry", ADMIN_API),
    ("api.list_jobs", "GET", "/api/v1/jobs", ADMIN_API),
    ("api.send_message", "POST", "/api/v1/messages/msg_exit", {**OBJECT_API, "non_admin": DENY}),
    ("api.list_tasks", "GET", "/api/v1/tasks", LIST_API),
    ("api.get_task", "GET", "/api/v1/tasks/{task}", TASK_API),
    ("api.claim", "POST", "/api/v1/tasks/{task}/claim", TASK_API),
    ("api.claim", "POST", "/api/v1/tasks/{claimed}/claim", TASK_API),  # not 409: who claimed it is not theirs
    ("api.unclaim", "POST", "/api/v1/tasks/{claimed}/unclaim", TASK_API),
    ("api.complete", "POST", "/api/v1/tasks/{task}/complete", TASK_API),
    # pages
    ("admin.index", "GET", "/admin", ADMIN_PAGE),
    ("admin.deploy_upload", "POST", "/admin/deploy", ADMIN_PAGE),
    ("admin.incident_retry", "POST", "/admin/incidents/1/retry", ADMIN_PAGE),
    ("admin.instances_index", "GET", "/admin/instances", ADMIN_PAGE),
    ("admin.instance_detail", "GET", "/admin/instances/{instance}", ADMIN_PAGE),
    ("admin.instance_action", "POST", "/admin/instances/{instance}/cancel", ADMIN_PAGE),
    ("admin.instance_diagram", "GET", "/admin/instances/{instance}/diagram.json", ADMIN_PAGE),
    ("admin.instance_migrate", "POST", "/admin/instances/{instance}/migrate", ADMIN_PAGE),
    ("admin.jobs_index", "GET", "/admin/jobs", ADMIN_PAGE),
    ("admin.migrations", "GET", "/admin/migrations", ADMIN_PAGE),
    ("admin.migrations", "POST", "/admin/migrations", ADMIN_PAGE),
    ("admin.orgs_create", "POST", "/admin/orgs", ADMIN_PAGE),
    ("admin.process_detail", "GET", "/admin/processes/onboarding", ADMIN_PAGE),
    ("admin.process_diff_view", "GET", "/admin/processes/onboarding/diff", ADMIN_PAGE),
    ("admin.version_detail", "GET", "/admin/processes/onboarding/versions/1", ADMIN_PAGE),
    ("admin.version_diagram", "GET", "/admin/processes/onboarding/versions/1/diagram.json", ADMIN_PAGE),
    ("admin.version_file", "GET", "/admin/processes/onboarding/versions/1/files/onboarding.bpmn", ADMIN_PAGE),
    ("admin.users_index", "GET", "/admin/users", ADMIN_PAGE),
    ("admin.users_create", "POST", "/admin/users", ADMIN_PAGE),
    ("modeler.index", "GET", "/admin/modeler", ADMIN_PAGE),
    ("modeler.deploy_diagram", "POST", "/admin/modeler/deploy", ADMIN_PAGE),
    ("modeler.validate", "POST", "/admin/modeler/validate", ADMIN_PAGE),
    ("board.index", "GET", "/board", LIST_PAGE),
    ("dashboards.index", "GET", "/dashboards", SIGNED_IN),
    ("dashboards.assessment", "GET", "/dashboards/export/assessment.xlsx", OBJECT_PAGE),
    ("dashboards.bulletin", "GET", "/dashboards/export/bulletin.xlsx", OBJECT_PAGE),
    ("inbox.index", "GET", "/inbox", {**LIST_PAGE, "wrong_lane": "hides"}),
    ("notifications.index", "GET", "/notifications", SIGNED_IN),
    ("notifications.mark_read", "POST", "/notifications/{notification}/read", OBJECT_PAGE),
    ("notifications.mark_all_read", "POST", "/notifications/read-all", SIGNED_IN),
    ("projects.index", "GET", "/projects", LIST_PAGE),
    ("projects.detail", "GET", "/projects/{project}", OBJECT_PAGE),
    ("projects.diagram", "GET", "/projects/{project}/diagram.json", OBJECT_PAGE),
    ("projects.document", "GET", "/projects/{project}/documents/" + "a" * 64, OBJECT_PAGE),
    ("tasks.show", "GET", "/tasks/{task}", TASK_PAGE),
    ("tasks.submit", "POST", "/tasks/{task}", TASK_PAGE),
    ("tasks.attachment", "GET", "/tasks/{task}/attachments/" + "a" * 64, TASK_PAGE),
    ("tasks.claim", "POST", "/tasks/{task}/claim", TASK_PAGE),
    ("tasks.unclaim", "POST", "/tasks/{claimed}/unclaim", TASK_PAGE),
    # issue #10/#11/#12/#13/#14 routes and the ledgers
    ("admin.clock_advance", "POST", "/admin/clock/advance", ADMIN_PAGE),
    ("admin_settings.settings_index", "GET", "/admin/settings", ADMIN_PAGE),
    ("admin_settings.settings_update", "POST", "/admin/settings/score.weight.daily", ADMIN_PAGE),
    ("modeler.dmn_index", "GET", "/admin/modeler/dmn", ADMIN_PAGE),
    ("modeler.dmn_validate", "POST", "/admin/modeler/dmn/validate", ADMIN_PAGE),
    ("modeler.dmn_deploy", "POST", "/admin/modeler/dmn/deploy", ADMIN_PAGE),
    ("modeler.forms_index", "GET", "/admin/modeler/forms", ADMIN_PAGE),
    ("modeler.forms_preview", "POST", "/admin/modeler/forms/preview", ADMIN_PAGE),
    ("modeler.forms_deploy", "POST", "/admin/modeler/forms/deploy", ADMIN_PAGE),
    ("modeler.preview", "POST", "/admin/modeler/preview", ADMIN_PAGE),
    ("api.list_settings", "GET", "/api/v1/settings", {"anon": ANON_API}),
    ("api.put_setting", "PUT", "/api/v1/settings/score.weight.daily", ADMIN_API),
    ("api.get_kpis", "GET", f"/api/v1/kpis?year=2026&region_code={NINGER}",
     {"anon": ANON_API, "county": DENY, "external": DENY}),
    ("api.create_project", "POST", "/api/v1/projects", {"anon": ANON_API}),
    ("api.list_projects", "GET", "/api/v1/projects", {"anon": ANON_API}),
    ("api.get_project", "GET", "/api/v1/projects/{project}", OBJECT_API),
    ("api.update_project", "PATCH", "/api/v1/projects/{project}", OBJECT_API),
    # projects branch (issue #12): evidence, 揭牌认领, 解封 (the office only: the project's own county clerk is refused)
    ("api.project_evidence", "GET", "/api/v1/projects/{project}/evidence", OBJECT_API),
    ("api.attach_evidence", "POST", "/api/v1/projects/{project}/evidence", OBJECT_API),
    ("api.get_claim", "GET", "/api/v1/projects/{project}/claim", OBJECT_API),
    ("api.claim_project", "POST", "/api/v1/projects/{project}/claim", OBJECT_API),
    ("api.reactivate_project", "POST", "/api/v1/projects/{project}/reactivate", {**OBJECT_API, "wrong_lane": DENY}),
    ("api.create_enterprise", "POST", "/api/v1/enterprises", {"anon": ANON_API}),
    ("api.list_enterprises", "GET", "/api/v1/enterprises", {"anon": ANON_API}),
    ("api.get_enterprise", "GET", "/api/v1/enterprises/1", {"anon": ANON_API}),
    ("api.update_enterprise", "PATCH", "/api/v1/enterprises/1", {"anon": ANON_API}),
    ("api.assign_task", "POST", "/api/v1/tasks/{task}/assign", {"anon": ANON_API, "external": DENY}),
    ("api.delegate_task", "POST", "/api/v1/tasks/{task}/delegate", {"anon": ANON_API, "external": DENY}),
    ("api.task_candidates", "GET", "/api/v1/tasks/{task}/candidates", {"anon": ANON_API, "external": DENY}),
    ("api.get_absence", "GET", "/api/v1/me/absence", {"anon": ANON_API}),
    ("api.put_absence", "PUT", "/api/v1/me/absence", {"anon": ANON_API}),
    ("api.delete_absence", "DELETE", "/api/v1/me/absence", {"anon": ANON_API}),
    ("ops.metrics_view", "GET", "/metrics", {"anon": {401}, "county": DENY, "external": DENY, "non_admin": DENY}),
    ("ops.readyz", "GET", "/readyz", PUBLIC),
    ("project_records.new", "GET", "/projects/new", {"anon": ANON_PAGE, "external": DENY}),
    ("project_records.new", "POST", "/projects/new", {"anon": ANON_PAGE, "external": DENY}),
    ("project_records.edit", "GET", "/projects/{project}/edit", OBJECT_PAGE),
    ("project_records.edit", "POST", "/projects/{project}/edit", OBJECT_PAGE),
    ("project_records.admission", "POST", "/projects/{project}/admission", OBJECT_PAGE),
    ("project_records.attach_evidence", "POST", "/projects/{project}/evidence", OBJECT_PAGE),
    ("project_records.claim", "POST", "/projects/{project}/claim", OBJECT_PAGE),
    ("project_records.reactivate", "POST", "/projects/{project}/reactivate", {**OBJECT_PAGE, "wrong_lane": DENY}),
    ("records.complaints", "GET", "/records/complaints", {"anon": ANON_PAGE, "external": DENY}),
    ("records.visits", "GET", "/records/visits", {"anon": ANON_PAGE, "external": DENY}),
    ("starts.index", "GET", "/start", SIGNED_IN),
    ("starts.form", "GET", "/start/project_lifecycle", {"anon": ANON_PAGE, "external": DENY}),
    ("starts.submit", "POST", "/start/project_lifecycle", {"anon": ANON_PAGE, "external": DENY}),
    ("task_assignment.absence", "GET", "/me/absence", SIGNED_IN),
    ("task_assignment.absence", "POST", "/me/absence", SIGNED_IN),
    ("task_assignment.assign", "POST", "/tasks/{task}/assign", {"anon": ANON_PAGE, "external": DENY}),
    ("task_assignment.delegate", "POST", "/tasks/{task}/delegate", {"anon": ANON_PAGE, "external": DENY}),
]

PERSONA = {"county": "simao", "external": "investor", "non_admin": "office", "wrong_lane": "ninger"}


def test_every_route_has_a_row(app):
    have = {(endpoint, method) for endpoint, method, _url, _exp in ROWS}
    routes = {(rule.endpoint, method) for rule in app.url_map.iter_rules()
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes - have == set(), "routes without a row in the authorization matrix"
    assert have - routes == set(), "rows for routes that no longer exist"


def _client(world, scenario):
    client = world.client.application.test_client()
    if scenario != "anon":
        login(client, PERSONA[scenario])
    return client


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_matrix(world, matrix, scenario):
    from app.services.domain import users

    page_client = _client(world, scenario)
    token = None if scenario == "anon" else world.factory.token(PERSONA[scenario])
    api_client = world.client.application.test_client()
    failures = []
    for endpoint, method, template, expected in ROWS:
        rule = expected if expected == PUBLIC else expected.get(scenario)
        if rule is None or (rule == PUBLIC and scenario != "anon"):
            continue
        url = template.format(**matrix)
        if url.startswith("/api/"):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            body = {"data": {"region_code": NINGER, "project_name": PROJECT_NAME, "yellow_after": "P1D"},
                    "business_key": "bk-1", "from_version": 1, "to_version": 1}
            resp = api_client.open(url, method=method, headers=headers, json=body if method == "POST" else None)
        else:
            data = {"csrf_token": csrf(page_client, "/login" if scenario == "anon" else "/inbox")} \
                if method == "POST" else None
            resp = page_client.open(url, method=method, data=data)
        status = resp.status_code
        if rule == PUBLIC:
            ok = status == 200
        elif rule == "hides":
            text = resp.get_data(as_text=True)
            ok = status == 200 and PROJECT_NAME not in text and matrix["task"] not in text
        else:
            ok = status in rule
        if not ok:
            failures.append(f"{scenario}: {method} {url} ({endpoint}) -> {status}, expected {rule}")
        if status >= 500:
            failures.append(f"{scenario}: {method} {url} -> server error")
    # nothing the refused requests tried was done
    with world.factory.db.read_scope() as s:
        from app.models.runtime import HumanTask, Instance

        assert s.get(Instance, matrix["instance"]).status == "running"
        assert s.get(HumanTask, matrix["task"]).assignee is None
        assert s.get(HumanTask, matrix["claimed"]).assignee == "office"
        if scenario != "non_admin":
            assert users.get_user(s, "office") is not None
    assert not failures, "\n".join(failures)


def test_county_and_external_reads_of_city_wide_and_lane_less_things(world, db):
    """City-wide cycles are for city roles; a lane-less task obeys jurisdiction; an org without region
    is no county unless the role is a city role."""
    from app.models.runtime import Instance
    from app.services import access
    from app.services.domain import users

    with db.session_scope() as s:
        city_wide = Instance(version_id=1, process_key="capacity_assessment", status="running", state="{}",
                             serializer_version="1", lock_version=0, started_by="timer", summary={})
        s.add(city_wide)
        s.flush()
        get = lambda name: users.snapshot(users.get_user(s, name))  # noqa: E731
        simao, office, investor, lost = get("simao"), get("office"), get("investor"), get("lost")
        assert not access.can_see_instance(s, simao, city_wide)
        assert access.can_see_instance(s, office, city_wide)
        assert not access.can_see_instance(s, investor, city_wide)
        assert access.user_region(lost) == access.NO_REGION and access.user_region(investor) == access.NO_REGION
        assert access.user_region(office) is None and access.user_region(simao) == SIMAO
        laneless = type("T", (), {"lane": None, "region_code": NINGER, "assignee": None})()
        assert not access.can_act_on_task(simao, laneless) and access.can_act_on_task(office, laneless)
        assert not access.can_act_on_task(investor, laneless) and not access.can_act_on_task(lost, laneless)
