"""Process admin and modeler endpoints over HTTP: admin only, processes/versions, diff, upload and
deploy with element-level errors, instance actions, incidents, migrations, jobs, users, modeler
validate/deploy."""

from __future__ import annotations

import io
import re

import pytest

from tests.conftest import FIXTURES, MIWG
from tests.web.helpers import csrf
from tests.web.helpers import login as signed_in

XSS = "<script>alert('x')</script>"
XSS_ESCAPED = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
ONBOARDING = (FIXTURES / "bpmn" / "onboarding.bpmn").read_bytes()
FORMS = [(n, (FIXTURES / "bpmn" / n).read_bytes()) for n in ("ob-basic.json", "ob-basic-uischema.json")]


def login(client, username, password="Secret-pass-9"):
    signed_in(client, username, password)
    return csrf(client, "/board")


@pytest.fixture
def two_versions(factory, db):
    """onboarding v1 (fixture) and v2 (ut2 renamed, red timer P3D → P5D, a new end event name)."""
    from app.services.definitions import deploy

    factory.deploy_onboarding()
    v2 = (ONBOARDING.replace('name="初审"'.encode(), 'name="初审(修订)"'.encode())
          .replace(b'"P3D"', b'"P5D"'))
    with db.session_scope() as s:
        deploy.deploy_files(s, [("onboarding.bpmn", v2), *FORMS], "alice")
    return "onboarding"


ADMIN_GETS = ["/admin", "/admin/processes/onboarding", "/admin/processes/onboarding/versions/1",
              "/admin/processes/onboarding/versions/1/diagram.json",
              "/admin/processes/onboarding/versions/1/files/onboarding.bpmn",
              "/admin/processes/onboarding/diff?a=1&b=2", "/admin/instances", "/admin/migrations", "/admin/jobs",
              "/admin/users", "/admin/modeler", "/admin/modeler?key=onboarding&version=1", "/admin/modeler/dmn",
              "/admin/modeler/forms", "/admin/modeler/forms?key=onboarding&file=ob-basic.json"]


@pytest.mark.parametrize("user,status", [("admin", 200), ("office", 403), ("county", 403), ("leader", 403)])
@pytest.mark.parametrize("path", ADMIN_GETS)
def test_admin_pages_are_for_admins_only(client, people, two_versions, user, status, path):
    login(client, user)
    assert client.get(path).status_code == status


@pytest.mark.parametrize("user,status", [("office", 403), ("county", 403), ("leader", 403)])
@pytest.mark.parametrize("path", ["/admin/deploy", "/admin/modeler/validate", "/admin/modeler/deploy",
                                  "/admin/modeler/preview", "/admin/modeler/dmn/validate",
                                  "/admin/modeler/dmn/deploy", "/admin/modeler/forms/preview",
                                  "/admin/modeler/forms/deploy", "/admin/users",
                                  "/admin/instances/1/cancel", "/admin/migrations"])
def test_admin_posts_are_refused_to_others(client, people, two_versions, user, status, path):
    token = login(client, user)
    r = client.post(path, data={"csrf_token": token}, headers={"X-CSRF-Token": token})
    assert r.status_code == status


def test_admin_pages_need_sign_in(client, two_versions):
    assert client.get("/admin").status_code == 302
    assert client.get("/admin/modeler").status_code == 302


@pytest.mark.parametrize("path", ["/admin/processes/nope", "/admin/processes/onboarding/versions/9",
                                  "/admin/processes/onboarding/versions/9/diagram.json",
                                  "/admin/processes/onboarding/versions/1/files/nope.json",
                                  "/admin/processes/onboarding/diff?a=1&b=9", "/admin/processes/nope/diff",
                                  "/admin/instances/424242", "/admin/modeler?key=nope",
                                  "/admin/modeler/dmn?key=onboarding&file=nope.dmn",
                                  "/admin/modeler/forms?key=onboarding&file=nope.json",
                                  "/admin/modeler?key=onboarding&version=7"])
def test_unknown_ids_are_404(client, people, two_versions, path):
    login(client, "admin")
    assert client.get(path).status_code == 404


def test_process_list_and_versions_show_who_deployed_when(client, people, two_versions):
    login(client, "admin")
    html = client.get("/admin").get_data(as_text=True)
    assert "测试入库流程" in html and "v2" in html and "alice" in html
    html = client.get("/admin/processes/onboarding").get_data(as_text=True)
    assert 'data-version="1"' in html and 'data-version="2"' in html and "tester" in html and "alice" in html
    html = client.get("/admin/processes/onboarding/versions/1").get_data(as_text=True)
    assert "onboarding.bpmn" in html and "ob-basic.json" in html and "ob-basic-uischema.json" in html
    data = client.get("/admin/processes/onboarding/versions/2/diagram.json").get_json()
    assert "初审(修订)" in data["xml"]
    r = client.get("/admin/processes/onboarding/versions/1/files/ob-basic.json")
    assert r.headers["Content-Disposition"].startswith("attachment") and b"amount_wan" in r.data


def test_diff_lists_the_changed_elements(client, people, two_versions):
    login(client, "admin")
    html = client.get("/admin/processes/onboarding/diff?a=1&b=2").get_data(as_text=True)
    assert 'data-element="ut2"' in html and 'data-element="red1"' in html
    row = html[html.index('data-element="ut2"'):]
    row = row[:row.index("</tr>")]
    assert "修改" in row and "初审" in row and "初审(修订)" in row and "名称" in row
    row = html[html.index('data-element="red1"'):]
    assert "P5D" in row[:row.index("</tr>")]
    assert 'data-element="ut1"' not in html  # unchanged elements are not listed
    assert "修改 2" in html


def test_diff_service_reports_added_removed_and_form_fields(db, two_versions):
    from app.services.definitions import deploy
    from app.services.definitions import diff as process_diff

    v3 = ONBOARDING.replace(b'<bpmn:endEvent id="end_red">', b'<bpmn:endEvent id="end_red2" name="\xe7\xba\xa2">') \
        .replace(b'targetRef="end_red"', b'targetRef="end_red2"')
    forms = [(n, c.replace(b'"sign_date"', b'"signed_on"') if n == "ob-basic.json" else c) for n, c in FORMS]
    with db.session_scope() as s:
        deploy.deploy_files(s, [("onboarding.bpmn", v3), *forms], "bob")
        diff = process_diff.diff_versions(s, "onboarding", 1, 3)
    bpmn = next(f for f in diff["files"] if f["filename"] == "onboarding.bpmn")["diff"]
    status = {i["id"]: i["status"] for i in bpmn["items"]}
    assert status["end_red2"] == "added" and status["end_red"] == "removed" and status["fr2"] == "changed"
    form = next(f for f in diff["files"] if f["filename"] == "ob-basic.json")
    assert form["status"] == "changed"
    assert {(r["field"], r["status"]) for r in form["fields"]} == {("sign_date", "removed"), ("signed_on", "added")}


def test_xss_in_process_names_is_escaped(client, people, db):
    from app.services.definitions import deploy

    bad = ONBOARDING.replace('name="测试入库流程"'.encode(), f'name="流程{XSS.replace("<", "&lt;")}"'.encode()) \
        .replace('name="初审"'.encode(), f'name="初审{XSS.replace("<", "&lt;")}"'.encode())
    with db.session_scope() as s:
        deploy.deploy_files(s, [("onboarding.bpmn", ONBOARDING), *FORMS], "tester")
        deploy.deploy_files(s, [("onboarding.bpmn", bad), *FORMS], "tester")
    login(client, "admin")
    for path in ("/admin", "/admin/processes/onboarding", "/admin/processes/onboarding/diff?a=1&b=2",
                 "/admin/modeler?key=onboarding"):
        html = client.get(path).get_data(as_text=True)
        assert XSS not in html, path
    assert XSS_ESCAPED in client.get("/admin").get_data(as_text=True)
    assert XSS_ESCAPED in client.get("/admin/processes/onboarding/diff?a=1&b=2").get_data(as_text=True)


def test_upload_deploys_and_identical_content_creates_no_version(client, people, db):
    token = login(client, "admin")
    files = [(io.BytesIO(ONBOARDING), "onboarding.bpmn")] + [(io.BytesIO(c), n) for n, c in FORMS]
    r = client.post("/admin/deploy", data={"csrf_token": token, "files": files}, content_type="multipart/form-data")
    assert r.status_code == 302
    html = client.get("/admin").get_data(as_text=True)
    assert "部署成功" in html and "onboarding v1" in html and 'data-process="onboarding"' in html
    files = [(io.BytesIO(ONBOARDING), "onboarding.bpmn")] + [(io.BytesIO(c), n) for n, c in FORMS]
    client.post("/admin/deploy", data={"csrf_token": token, "files": files}, content_type="multipart/form-data")
    assert "未创建新版本" in client.get("/admin").get_data(as_text=True)


def test_upload_with_errors_shows_element_errors_and_stores_nothing(client, people, db):
    from sqlalchemy import func, select

    from app.models.runtime import ProcessVersion

    token = login(client, "admin")
    bad = ONBOARDING.replace(b'id="test_record"', b'id="no_such_handler"')
    files = [(io.BytesIO(bad), "onboarding.bpmn")]  # forms missing too
    r = client.post("/admin/deploy", data={"csrf_token": token, "files": files}, content_type="multipart/form-data")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "部署被拒绝" in html and 'data-testid="deploy-errors"' in html
    assert "<code>svc_yellow</code>" in html and "no_such_handler" in html
    assert "<code>ut1</code>" in html and "ob-basic.json" in html
    assert re.search(r'data-label="行">\d+</td>', html)
    with db.read_scope() as s:
        assert s.scalar(select(func.count(ProcessVersion.id))) == 0


def test_upload_dry_run_validates_without_storing(client, people, db):
    from sqlalchemy import func, select

    from app.models.runtime import ProcessVersion

    token = login(client, "admin")
    files = [(io.BytesIO(ONBOARDING), "onboarding.bpmn")] + [(io.BytesIO(c), n) for n, c in FORMS]
    r = client.post("/admin/deploy", data={"csrf_token": token, "files": files, "dry_run": "1"},
                    content_type="multipart/form-data")
    assert r.status_code == 200 and "校验通过" in r.get_data(as_text=True)
    with db.read_scope() as s:
        assert s.scalar(select(func.count(ProcessVersion.id))) == 0


def test_upload_without_files_and_csrf(client, people):
    token = login(client, "admin")
    assert client.post("/admin/deploy", data={"csrf_token": token}).status_code == 422
    assert client.post("/admin/deploy", data={}).status_code == 403  # no CSRF token


def test_instance_admin_suspend_resume_cancel(client, people, factory, db):
    factory.deploy_onboarding()
    inst = factory.start(business_key="BK-1", data={"project_id": 7, "project_name": "项目" + XSS})
    token = login(client, "admin")
    html = client.get("/admin/instances?business_key=BK").get_data(as_text=True)
    assert f'data-instance="{inst["id"]}"' in html and XSS not in html and XSS_ESCAPED in html
    assert f'data-instance="{inst["id"]}"' not in client.get("/admin/instances?business_key=ZZ").get_data(as_text=True)
    assert f'data-instance="{inst["id"]}"' in client.get("/admin/instances?status=running").get_data(as_text=True)
    r = client.post(f"/admin/instances/{inst['id']}/suspend", data={"csrf_token": token})
    assert r.status_code == 302
    assert "已挂起" in client.get(f"/admin/instances/{inst['id']}").get_data(as_text=True)
    # resuming twice: the second one is a conflict shown as a message, not an error page
    client.post(f"/admin/instances/{inst['id']}/resume", data={"csrf_token": token})
    r = client.post(f"/admin/instances/{inst['id']}/resume", data={"csrf_token": token}, follow_redirects=True)
    assert r.status_code == 200 and "实例未挂起" in r.get_data(as_text=True)
    client.post(f"/admin/instances/{inst['id']}/cancel", data={"csrf_token": token})
    with db.read_scope() as s:
        from app.models.runtime import Instance

        assert s.get(Instance, inst["id"]).status == "cancelled"
    assert client.post("/admin/instances/424242/cancel", data={"csrf_token": token}).status_code == 404
    diagram = client.get(f"/admin/instances/{inst['id']}/diagram.json").get_json()
    assert diagram["states"]["start"] == "completed"


def test_incident_retry_from_the_admin(client, people, factory, clock):
    from tests.conftest import FAILURES

    factory.deploy_onboarding()
    FAILURES["test_record"] = 10
    inst = factory.start()
    clock.advance("P1DT1H")  # yellow boundary timer → failing service task
    for _ in range(4):
        factory.run_jobs()
        clock.advance("PT10M")
    token = login(client, "admin")
    html = client.get("/admin/instances").get_data(as_text=True)
    m = re.search(r'action="/admin/incidents/(\d+)/retry"', html)
    assert m, "an open incident is listed with a retry button"
    assert "模拟的外部服务故障" in html
    FAILURES["test_record"] = 0
    r = client.post(f"/admin/incidents/{m.group(1)}/retry", data={"csrf_token": token}, follow_redirects=True)
    assert r.status_code == 200 and "已重试故障" in r.get_data(as_text=True)
    assert f"/admin/incidents/{m.group(1)}/retry" not in client.get("/admin/instances").get_data(as_text=True)
    assert inst["id"]


def test_migrate_single_with_dry_run_and_bulk(client, people, factory, db, two_versions):
    a = factory.start(version=1)
    b = factory.start(version=1)
    token = login(client, "admin")
    r = client.post(f"/admin/instances/{a['id']}/migrate", data={"csrf_token": token, "to_version": "2",
                                                                  "dry_run": "1"}, follow_redirects=True)
    assert "可以迁移" in r.get_data(as_text=True)
    r = client.post(f"/admin/instances/{a['id']}/migrate", data={"csrf_token": token, "to_version": "2"},
                    follow_redirects=True)
    assert "已迁移" in r.get_data(as_text=True)
    page = client.get("/admin/migrations").get_data(as_text=True)
    assert 'id="bulk-progress"' in page and 'id="bulk-config"' in page and "admin.js" in page
    form = {"csrf_token": token, "process_key": "onboarding", "from_version": "1", "to_version": "2"}
    html = client.post("/admin/migrations", data={**form, "execute": "0"}).get_data(as_text=True)
    assert "试运行" in html and f'data-instance="{b["id"]}"' in html and "可迁移 1" in html
    html = client.post("/admin/migrations", data={**form, "execute": "1"}).get_data(as_text=True)
    assert "已迁移 1" in html
    with db.read_scope() as s:
        from app.models.runtime import Instance, ProcessVersion

        v2 = s.query(ProcessVersion).filter_by(process_key="onboarding", version=2).one()
        assert {s.get(Instance, a["id"]).version_id, s.get(Instance, b["id"]).version_id} == {v2.id}
    html = client.post("/admin/migrations", data={**form, "from_version": ""}).get_data(as_text=True)
    assert "源版本" in html


def test_jobs_list(client, people, factory):
    factory.deploy_onboarding()
    inst = factory.start()
    login(client, "admin")
    html = client.get("/admin/jobs").get_data(as_text=True)
    assert "<code>yellow1</code>" in html and "<code>red1</code>" in html and f"#{inst['id']}" in html
    assert "yellow1" not in client.get("/admin/jobs?kind=retry").get_data(as_text=True)


def test_users_roles_orgs_and_create_user(client, people, db):
    token = login(client, "admin")
    html = client.get("/admin/users").get_data(as_text=True)
    assert "思茅区投资促进局" in html and "county_ipb" in html and 'for="u-username"' in html
    r = client.post("/admin/users", data={"csrf_token": token, "username": "newbie", "display_name": "新人" + XSS,
                                          "password": "Long-enough-1", "roles": ["county_ipb", "leader"],
                                          "org": "simao_ipb"})
    assert r.status_code == 302
    html = client.get("/admin/users").get_data(as_text=True)
    assert "newbie" in html and XSS not in html and XSS_ESCAPED in html
    client.post("/logout", data={"csrf_token": token})
    newbie_token = login(client, "newbie", "Long-enough-1")
    assert client.get("/admin/users").status_code == 403
    client.post("/logout", data={"csrf_token": newbie_token})
    # errors keep the typed values
    token = login(client, "admin")
    r = client.post("/admin/users", data={"csrf_token": token, "username": "newbie", "password": "Long-enough-1",
                                          "roles": ["leader"]})
    assert r.status_code == 409 or r.status_code == 422
    assert "已存在" in r.get_data(as_text=True)
    r = client.post("/admin/users", data={"csrf_token": token, "username": "x", "password": "short", "roles": ["leader"]})
    assert r.status_code == 422 and "至少 10 个字符" in r.get_data(as_text=True) and 'value="x"' in r.get_data(as_text=True)
    r = client.post("/admin/orgs", data={"csrf_token": token, "key": "ninger_ipb", "name": "宁洱县投资促进局",
                                         "region_code": "530821", "type": "county_ipb"})
    assert r.status_code == 302 and "宁洱县投资促进局" in client.get("/admin/users").get_data(as_text=True)


# -- modeler ---------------------------------------------------------------------------------------
def _post_json(client, token, path, body):
    return client.post(path, json=body, headers={"X-CSRF-Token": token})


def test_modeler_page_opens_a_version_with_its_forms(client, people, two_versions):
    login(client, "admin")
    html = client.get("/admin/modeler?key=onboarding&version=1").get_data(as_text=True)
    assert 'id="modeler-config"' in html and "bpmn-modeler" in html and "modeler.js" in html
    assert '<option value="ob-basic.json">' in html and '<option value="test_record">' in html
    assert 'for="modeler-file"' in html and 'for="prop-name"' in html
    assert "onboarding v1" in html


def test_modeler_validate_uses_the_forms_of_the_latest_version(client, people, two_versions):
    token = login(client, "admin")
    r = _post_json(client, token, "/admin/modeler/validate", {"xml": ONBOARDING.decode(), "filename": "onboarding.bpmn",
                                                              "key": "onboarding"})
    assert r.status_code == 200
    body = r.get_json()
    assert body["valid"] is True and "ob-basic.json" in body["files"]
    bad = ONBOARDING.decode().replace('value="ob-basic.json"', 'value="missing.json"')
    body = _post_json(client, token, "/admin/modeler/validate", {"xml": bad, "filename": "onboarding.bpmn"}).get_json()
    assert body["valid"] is False
    assert any(e["element_id"] == "ut1" and "missing.json" in e["message"] for e in body["errors"])


def test_modeler_validate_reports_miwg_file_without_executable_process(client, people):
    path = MIWG / "bpmn-io-18.6.1" / "A.1.0-export.bpmn"
    if not path.exists():
        pytest.skip(f"MIWG interop file absent ({path})")
    token = login(client, "admin")
    body = _post_json(client, token, "/admin/modeler/validate", {"xml": path.read_text(), "filename": path.name}).get_json()
    assert body["valid"] is False
    assert body["errors"][0]["element_id"] == "Process_1" and "isExecutable" in body["errors"][0]["message"]
    assert body["errors"][0]["line"] == 3


@pytest.mark.parametrize("body", [{}, {"xml": 5}, {"xml": "<not xml"}, {"xml": "<!DOCTYPE x []><x/>"}])
def test_modeler_validate_bad_input_never_500(client, people, body):
    token = login(client, "admin")
    r = _post_json(client, token, "/admin/modeler/validate", body)
    assert r.status_code in (200, 400)
    if r.status_code == 200:
        assert r.get_json()["valid"] is False and r.get_json()["errors"][0]["message"]


def test_modeler_requires_csrf_header(client, people):
    login(client, "admin")
    r = client.post("/admin/modeler/validate", json={"xml": ONBOARDING.decode()})
    assert r.status_code == 403


def test_modeler_deploy_reattaches_forms_and_lists_the_new_version(client, people, two_versions, db):
    token = login(client, "admin")
    edited = ONBOARDING.decode().replace('name="复审"', 'name="复审(网页修改)"')
    r = _post_json(client, token, "/admin/modeler/deploy", {"xml": edited, "filename": "onboarding.bpmn",
                                                            "key": "onboarding", "note": "复审改名"})
    assert r.status_code == 201, r.get_json()
    version = r.get_json()["versions"][0]
    assert version["process_key"] == "onboarding" and version["version"] == 3 and version["created"]
    assert version["url"] == "/admin/processes/onboarding"
    html = client.get("/admin/processes/onboarding/versions/3").get_data(as_text=True)
    assert "ob-basic.json" in html and "ob-basic-uischema.json" in html and "admin" in html
    r = _post_json(client, token, "/admin/modeler/deploy", {"xml": edited.replace('id="test_record"', 'id="zzz"'),
                                                            "filename": "onboarding.bpmn", "note": "坏的"})
    assert r.status_code == 422 and r.get_json()["errors"][0]["element_id"] == "svc_yellow"
    assert "v4" not in client.get("/admin/processes/onboarding").get_data(as_text=True)


def test_modeler_deploy_needs_a_change_note_stored_and_listed(client, people, two_versions, db):
    from app.models.runtime import ProcessVersion

    token = login(client, "admin")
    edited = ONBOARDING.decode().replace('name="复审"', 'name="复审(备注)"')
    for body in ({}, {"note": ""}, {"note": "   "}, {"note": 5}, {"note": "x" * 2001}):
        r = _post_json(client, token, "/admin/modeler/deploy", {"xml": edited, "filename": "onboarding.bpmn",
                                                                "key": "onboarding", **body})
        assert r.status_code == 400 and "变更说明" in r.get_data(as_text=True), body
    with db.read_scope() as s:
        assert s.query(ProcessVersion).filter_by(process_key="onboarding").count() == 2
    r = _post_json(client, token, "/admin/modeler/deploy", {"xml": edited, "filename": "onboarding.bpmn",
                                                            "key": "onboarding", "note": "复审<加备注>"})
    assert r.status_code == 201
    html = client.get("/admin/processes/onboarding").get_data(as_text=True)
    row = html[html.index('data-version="3"'):]
    assert "复审&lt;加备注&gt;" in row[:row.index("</tr>")]


def test_modeler_preview_shows_the_diff_against_the_latest_version(client, people, two_versions, db):
    from app.models.runtime import ProcessVersion

    token = login(client, "admin")
    edited = ONBOARDING.decode().replace('name="复审"', 'name="复审(预览)"')
    body = _post_json(client, token, "/admin/modeler/preview", {"xml": edited, "filename": "onboarding.bpmn",
                                                                "key": "onboarding"}).get_json()
    assert body["valid"] is True
    proc = body["processes"][0]
    assert proc["process_key"] == "onboarding" and proc["base_version"] == 2 and not proc["identical"]
    changed = {i["id"]: i for i in proc["diff"]["items"]}
    assert changed["ut5"]["status"] == "changed"
    # v2 renamed ut2 and changed red1: the preview compares with v2, so those read as changed back
    assert {"ut2", "red1"} <= set(changed)
    assert any(w["element_id"] == "escalate" for w in body["warnings"])
    bad = _post_json(client, token, "/admin/modeler/preview", {"xml": edited.replace('id="test_record"', 'id="zzz"'),
                                                               "filename": "onboarding.bpmn"}).get_json()
    assert bad["valid"] is False and bad["errors"][0]["element_id"] == "svc_yellow"
    with db.read_scope() as s:
        assert s.query(ProcessVersion).filter_by(process_key="onboarding").count() == 2
    assert client.post("/admin/modeler/preview", json={"xml": edited}).status_code == 403  # CSRF


def test_dmn_editor_validates_and_deploys_a_table_with_a_note(client, people, db):
    from app.models.runtime import ProcessVersion
    from app.services.definitions import deploy

    fix = FIXTURES / "modeler"
    with db.session_scope() as s:
        deploy.deploy_files(s, [(n, (fix / n).read_bytes()) for n in ("graded.bpmn", "grade.dmn")], "tester")
    token = login(client, "admin")
    html = client.get("/admin/modeler/dmn?key=graded&file=grade.dmn").get_data(as_text=True)
    assert "dmn-modeler.production.min.js" in html and "grade_decision" in html
    table = (fix / "grade.dmn").read_text(encoding="utf-8")
    body = {"key": "graded", "filename": "grade.dmn", "xml": table.replace("&gt;= 60", "&gt;= 80")}
    assert _post_json(client, token, "/admin/modeler/dmn/validate", body).get_json()["valid"] is True
    broken = {**body, "xml": table.replace('id="grade_decision"', 'id="other_decision"')}
    bad = _post_json(client, token, "/admin/modeler/dmn/validate", broken).get_json()
    assert bad["valid"] is False and bad["errors"]
    for wrong in ({**body, "filename": "nope.dmn"}, {**body, "key": "nope"}):
        assert _post_json(client, token, "/admin/modeler/dmn/validate", wrong).status_code == 404
    assert _post_json(client, token, "/admin/modeler/dmn/validate", {"key": "graded"}).status_code == 400
    assert _post_json(client, token, "/admin/modeler/dmn/deploy", body).status_code == 400  # no note
    assert _post_json(client, token, "/admin/modeler/dmn/deploy", {**broken, "note": "坏"}).status_code == 422
    assert client.post("/admin/modeler/dmn/deploy", json={**body, "note": "x"}).status_code == 403  # CSRF
    with db.read_scope() as s:
        assert s.query(ProcessVersion).filter_by(process_key="graded").count() == 1
    r = _post_json(client, token, "/admin/modeler/dmn/deploy", {**body, "note": "合格线 80"})
    assert r.status_code == 201 and r.get_json()["versions"][0]["version"] == 2
    with db.read_scope() as s:
        v2 = s.query(ProcessVersion).filter_by(process_key="graded", version=2).one()
        assert v2.change_note == "合格线 80" and b"&gt;= 80" in next(f.content for f in v2.files if f.kind == "dmn")


def test_form_editor_preview_and_deploy(client, people, two_versions, db):
    import json

    from app.models.runtime import ProcessVersion

    token = login(client, "admin")
    schema = json.loads(FORMS[0][1])
    schema["properties"]["note"] = {"type": "string", "title": "备注<b>", "description": "可选"}
    body = {"key": "onboarding", "filename": "ob-basic.json", "schema": schema, "ui": {"ui:order": ["note"]}}
    r = _post_json(client, token, "/admin/modeler/forms/preview", body).get_json()
    assert r["valid"] is True and "备注&lt;b&gt;" in r["html"] and r["html"].index("备注") < r["html"].index("项目名称")
    bad = {**body, "schema": {**schema, "properties": {"x": {"type": "string", "$ref": "#/x"}}}}
    r = _post_json(client, token, "/admin/modeler/forms/preview", bad).get_json()
    assert r["valid"] is False and "$ref" in r["errors"][0]["message"]
    for wrong in ({**body, "schema": "x"}, {**body, "filename": "../x.json"}, {**body, "filename": "a-uischema.json"}):
        assert _post_json(client, token, "/admin/modeler/forms/preview", wrong).status_code == 400
    assert _post_json(client, token, "/admin/modeler/forms/deploy", body).status_code == 400  # no note
    assert _post_json(client, token, "/admin/modeler/forms/deploy", {**bad, "note": "坏"}).status_code == 422
    assert _post_json(client, token, "/admin/modeler/forms/deploy", {**body, "key": "nope", "note": "x"}).status_code == 404
    assert client.post("/admin/modeler/forms/preview", json=body).status_code == 403  # CSRF
    with db.read_scope() as s:
        assert s.query(ProcessVersion).filter_by(process_key="onboarding").count() == 2
    r = _post_json(client, token, "/admin/modeler/forms/deploy", {**body, "note": "加备注"})
    assert r.status_code == 201 and r.get_json()["versions"][0]["version"] == 3
    with db.read_scope() as s:
        v3 = s.query(ProcessVersion).filter_by(process_key="onboarding", version=3).one()
        form = json.loads(next(f.content for f in v3.files if f.filename == "ob-basic.json"))
        assert form["properties"]["note"]["title"] == "备注<b>" and v3.change_note == "加备注"
