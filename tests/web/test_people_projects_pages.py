"""Project library pages (issue #11): a county user registers a project through /projects/new, gets
per-field messages (what was typed is kept), cannot edit another county's project, and starts the
library admission of the new project, whose first task lands in the county's inbox."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.web.helpers import csrf, login

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def setup(db, factory):
    from app.models.domain import Chain, Region
    from app.services.definitions import deploy

    with db.session_scope() as s:
        s.add_all([Region(code="530802", name="思茅区", short_name="思茅", sort_order=1),
                   Region(code="530821", name="宁洱县", short_name="宁洱", sort_order=2),
                   Chain(code="C01", name="茶产业链")])
        deploy.deploy_folder(s, ROOT / "processes" / "library.bpmn", "tester", forms_dir=ROOT / "forms")
    factory.org("simao_ipb", "思茅区投资促进局", region_code="530802")
    factory.org("ninger_ipb", "宁洱县投资促进局", region_code="530821")
    factory.org("eco", "市生态环境局")
    factory.user("county", "county_ipb", org="simao_ipb")
    factory.user("ninger", "county_ipb", org="ninger_ipb")
    factory.user("eco1", "eco", org="eco")


FORM = {"name": "思茅咖啡烘焙中心", "region_code": "530802", "amount_wan": "12000", "chain_code": "C01",
        "source": "线索", "enterprise_name": "醇豆咖啡"}


def test_county_user_registers_project_and_starts_admission(client, db, setup):
    from app.models.domain import Project
    from app.models.runtime import HumanTask

    login(client, "county")
    page = client.get("/projects/new").get_data(as_text=True)
    assert "登记项目" in page and 'value="530821"' not in page  # only the own county is offered
    token = csrf(client, "/projects/new")
    bad = client.post("/projects/new", data={**FORM, "amount_wan": "0", "csrf_token": token})
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "计划总投资必须大于 0 万元" in text and 'value="思茅咖啡烘焙中心"' in text
    other = client.post("/projects/new", data={**FORM, "region_code": "530821", "csrf_token": token})
    assert other.status_code == 403
    with db.read_scope() as s:
        assert s.scalar(select(func.count()).select_from(Project)) == 0
    ok = client.post("/projects/new", data={**FORM, "csrf_token": token})
    assert ok.status_code == 302
    with db.read_scope() as s:
        p = s.scalar(select(Project))
        assert (p.name, p.region_code, p.tier, p.created_by) == ("思茅咖啡烘焙中心", "530802", "重点", "county")
        pid = p.id
    assert "发起入库申报" in client.get(ok.headers["Location"]).get_data(as_text=True)
    edit = client.post(f"/projects/{pid}/edit", data={**FORM, "amount_wan": "15000", "csrf_token": token})
    assert edit.status_code == 302
    started = client.post(f"/projects/{pid}/admission", data={"csrf_token": token})
    assert started.status_code == 302
    with db.read_scope() as s:
        task = s.scalar(select(HumanTask).where(HumanTask.state == "open"))
        assert (task.element_id, task.lane, task.project_id, task.region_code) == ("apply", "county_ipb", pid, "530802")
    assert "思茅咖啡烘焙中心" in client.get("/inbox").get_data(as_text=True)

    client.post("/logout", data={"csrf_token": token})
    login(client, "ninger")
    token = csrf(client, "/projects")
    assert client.get(f"/projects/{pid}/edit").status_code == 403
    assert client.post(f"/projects/{pid}/edit", data={**FORM, "csrf_token": token}).status_code == 403
    assert client.post(f"/projects/{pid}/admission", data={"csrf_token": token}).status_code == 403
    assert "思茅咖啡烘焙中心" not in client.get("/inbox").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": token})
    login(client, "eco1")
    assert client.get("/projects/new").status_code == 403


def test_pages_need_login(client, setup):
    assert client.get("/projects/new").status_code == 302
    assert client.get("/projects/1/edit").status_code == 302
