"""发起流程 (issue #11): the page lists only what the user may start (access.can_start), the start
form is a JSON Schema rendered like task forms with 422 per field, and the start lands in the inbox."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from tests.web.helpers import csrf, login

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def setup(db, factory):
    from app.models.domain import Region
    from app.services.definitions import deploy
    from app.services.domain import projects as records
    from app.services.domain import users

    with db.session_scope() as s:
        s.add_all([Region(code="530802", name="思茅区", short_name="思茅"),
                   Region(code="530821", name="宁洱县", short_name="宁洱")])
        for name in ("library.bpmn", "meeting_assignments.bpmn"):
            deploy.deploy_folder(s, ROOT / "processes" / name, "tester", forms_dir=ROOT / "forms")
    factory.org("simao_ipb", "思茅区投资促进局", region_code="530802")
    factory.org("ninger_ipb", "宁洱县投资促进局", region_code="530821")
    factory.org("eco", "市生态环境局")
    factory.user("county", "county_ipb", org="simao_ipb")
    factory.user("eco1", "eco", org="eco")
    with db.session_scope() as s:
        admin = users.get_user(s, "admin")
        mine = records.create_project(s, admin, {"name": "思茅项目", "region_code": "530802", "amount_wan": 100})
        other = records.create_project(s, admin, {"name": "宁洱项目", "region_code": "530821", "amount_wan": 100})
    return {"mine": mine["id"], "other": other["id"]}


def test_start_page_lists_permitted_processes_and_starts_with_a_form(client, db, setup):
    from app.models.runtime import HumanTask, Instance

    login(client, "county")
    page = client.get("/start").get_data(as_text=True)
    assert 'data-process="library_admission"' in page and 'data-process="meeting_assignments"' not in page
    assert client.get("/start/meeting_assignments").status_code == 403  # the office's alone
    form = client.get("/start/library_admission").get_data(as_text=True)
    assert "思茅项目" in form and "宁洱项目" not in form  # jurisdiction
    token = csrf(client, "/start/library_admission")
    bad = client.post("/start/library_admission", data={"csrf_token": token})
    assert bad.status_code == 422 and "此项为必填项" in bad.get_data(as_text=True)
    alien = client.post("/start/library_admission", data={"project_id": str(setup["other"]), "csrf_token": token})
    assert alien.status_code == 422  # not in the list offered to this user
    ok = client.post("/start/library_admission", data={"project_id": str(setup["mine"]), "csrf_token": token})
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/inbox?tab=unit")
    with db.read_scope() as s:
        inst = s.scalar(select(Instance))
        assert (inst.business_key, inst.started_by) == (f"library-{setup['mine']}", "county")
        task = s.scalar(select(HumanTask).where(HumanTask.state == "open"))
        assert (task.element_id, task.project_id) == ("apply", setup["mine"])
    assert "思茅项目" in client.get("/inbox?tab=unit").get_data(as_text=True)


def test_start_page_for_roles_without_permissions(client, setup):
    assert client.get("/start").status_code == 302
    login(client, "eco1")
    assert "暂无您可以发起的流程" in client.get("/start").get_data(as_text=True)
    assert client.get("/start/library_admission").status_code == 403
    token = csrf(client, "/start")
    assert client.post("/start/library_admission", data={"csrf_token": token}).status_code == 403
