"""Project list and project page over HTTP: access per role and jurisdiction, 404s, escaping, the
timeline, stage plan vs actual, the 1+1+N team, documents and the diagram endpoint."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.web.helpers import csrf, login

XSS = "<script>alert('x')</script>"
XSS_ESCAPED = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
NOW = dt.datetime(2026, 5, 15, 4, 0, tzinfo=dt.UTC)


@pytest.fixture
def people(factory):
    """admin (from the factory), a city office user, a 思茅 county user, a leader."""
    factory.org("office", "市招商委办公室")
    factory.org("simao_ipb", "思茅区投资促进局", region_code="530802")
    factory.org("leaders", "市领导")
    factory.user("office", "zsw_office", org="office")
    factory.user("county", "county_ipb", org="simao_ipb")
    factory.user("leader", "leader", org="leaders")
    return {"admin": "admin", "office": "office", "county": "county", "leader": "leader"}


@pytest.fixture
def projects(db):
    """Two projects: one in 思茅 (530802, yellow, XSS name) with stages, timeline, team; one in 宁洱 (red)."""
    from app.models.domain import Chain, Project, Region, StageRecord, TimelineEvent

    with db.session_scope() as s:
        s.add_all([Region(code="530802", name="思茅区", short_name="思茅", sort_order=1),
                   Region(code="530821", name="宁洱县", short_name="宁洱", sort_order=2),
                   Chain(code="C01", name="茶产业链")])
        s.flush()
        p1 = Project(code="P-01", name="普洱茶精深加工" + XSS, region_code="530802", chain_code="C01", tier="重大",
                     stage="S3_VISIT", library_status="在谈", light="yellow", planned_investment_wan=150000,
                     commissioner_name="张专员", responsible_unit="思茅区投资促进局",
                     factor_units=["市自然资源和规划局", "市生态环境局"], supervisor_name="王副市长",
                     supervisor_role="leader", created_at=NOW - dt.timedelta(days=60))
        p2 = Project(code="P-02", name="咖啡烘焙基地", region_code="530821", chain_code="C01", tier="重点",
                     stage="S5_SIGN", library_status="在谈", light="red", planned_investment_wan=30000)
        s.add_all([p1, p2])
        s.flush()
        s.add_all([
            StageRecord(project_id=p1.id, stage="S1_PLAN", limit_days=30, started_at=NOW - dt.timedelta(days=60),
                        planned_due=NOW - dt.timedelta(days=30), completed_at=NOW - dt.timedelta(days=35), light="green"),
            StageRecord(project_id=p1.id, stage="S2_SCREEN", limit_days=10, started_at=NOW - dt.timedelta(days=35),
                        planned_due=NOW - dt.timedelta(days=25), completed_at=NOW - dt.timedelta(days=20), light="yellow"),
            StageRecord(project_id=p1.id, stage="S3_VISIT", limit_days=15, started_at=NOW - dt.timedelta(days=20),
                        planned_due=NOW + dt.timedelta(days=3650), light="yellow"),
            TimelineEvent(project_id=p1.id, at=NOW - dt.timedelta(days=20), kind="stage", title="进入阶段:实地考察",
                          actor="office", detail={"from": "S2_SCREEN", "to": "S3_VISIT"}),
            TimelineEvent(project_id=p1.id, at=NOW - dt.timedelta(days=5), kind="light", title="亮黄灯" + XSS,
                          actor="system", detail={"reason": "超期" + XSS}),
        ])
        return {"simao": p1.id, "ninger": p2.id}


ROLE_MATRIX = [
    # (user, which project, expected status)
    ("admin", "simao", 200), ("admin", "ninger", 200),
    ("office", "simao", 200), ("office", "ninger", 200),
    ("leader", "simao", 200), ("leader", "ninger", 200),
    ("county", "simao", 200), ("county", "ninger", 403),
]


@pytest.mark.parametrize("user,which,status", ROLE_MATRIX)
def test_project_page_access_by_role_and_county(client, people, projects, user, which, status):
    login(client, people[user])
    r = client.get(f"/projects/{projects[which]}")
    assert r.status_code == status
    assert client.get(f"/projects/{projects[which]}/diagram.json").status_code == status


@pytest.mark.parametrize("user", ["admin", "office", "county", "leader"])
def test_project_list_for_every_role_county_sees_only_its_county(client, people, projects, user):
    login(client, people[user])
    r = client.get("/projects")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "普洱茶精深加工" in html
    assert ("咖啡烘焙基地" in html) == (user != "county")


def test_county_user_cannot_widen_the_list_by_filter(client, people, projects):
    login(client, "county")
    html = client.get("/projects?region_code=530821").get_data(as_text=True)
    assert "咖啡烘焙基地" not in html and "普洱茶精深加工" in html


def test_pages_need_sign_in(client, projects):
    assert client.get("/projects").status_code == 302
    assert client.get(f"/projects/{projects['simao']}").status_code == 302
    r = client.get(f"/projects/{projects['simao']}/diagram.json", headers={"Accept": "application/json"})
    assert r.status_code == 401


@pytest.mark.parametrize("path", ["/projects/999999", "/projects/999999/diagram.json"])
def test_unknown_project_is_404(client, people, projects, path):
    login(client, "admin")
    assert client.get(path).status_code == 404


def test_list_filters(client, people, projects):
    login(client, "office")
    html = client.get("/projects?light=red").get_data(as_text=True)
    assert "咖啡烘焙基地" in html and "普洱茶精深加工" not in html
    html = client.get("/projects?q=咖啡").get_data(as_text=True)
    assert "咖啡烘焙基地" in html and "普洱茶精深加工" not in html
    html = client.get("/projects?stage=S3_VISIT&tier=重大").get_data(as_text=True)
    assert "普洱茶精深加工" in html and "咖啡烘焙基地" not in html
    assert client.get("/projects?page=x").status_code == 400


def test_project_page_shows_header_team_stages_and_timeline_escaped(client, people, projects):
    login(client, "leader")
    html = client.get(f"/projects/{projects['simao']}").get_data(as_text=True)
    assert XSS not in html
    assert XSS_ESCAPED in html  # name, timeline title and detail are escaped
    for text in ("思茅区", "茶产业链", "重大", "实地考察", "在谈", "黄灯", "张专员", "思茅区投资促进局",
                 "市自然资源和规划局", "王副市长", "进入阶段:实地考察"):
        assert text in html, text
    # stage plan vs actual: S1 on time, S2 five days late, S3 current
    assert "按期完成" in html
    assert "超期 5 天完成" in html
    assert "进行中" in html


def test_project_page_lists_instances_audit_events_diagram_states_and_overdue(client, people, projects, factory, db,
                                                                             clock):
    from sqlalchemy import update

    from app.models.runtime import HumanTask

    factory.deploy_onboarding()
    inst = factory.start(data={"project_id": projects["simao"], "project_name": "普洱茶精深加工",
                               "region_code": "530802", "attachment": {"filename": "考察报告.pdf",
                                                                       "url": "/attachments/abc", "size": 2048}})
    with db.session_scope() as s:
        s.execute(update(HumanTask).where(HumanTask.instance_id == inst["id"])
                  .values(due_at=clock.now() - dt.timedelta(days=1)))
    login(client, "county")
    html = client.get(f"/projects/{projects['simao']}").get_data(as_text=True)
    assert f"#{inst['id']}" in html
    assert "启动流程" in html and "tester" in html  # audit event of the instance, with who
    assert "考察报告.pdf" in html and 'href="/attachments/abc"' in html
    assert 'id="diagram-config"' in html and "bpmn-navigated-viewer" in html
    data = client.get(f"/projects/{projects['simao']}/diagram.json").get_json()
    assert data["instance_id"] == inst["id"]
    assert data["xml"].startswith("<?xml") and 'id="ut1"' in data["xml"]
    assert data["states"]["start"] == "completed"
    assert data["states"]["ut1"] == "overdue"
    assert data["due"]["ut1"]["overdue"] is True
    assert data["due"]["ut1"]["kind"] == "task"


def test_diagram_of_project_without_instances_is_empty(client, people, projects):
    login(client, "office")
    data = client.get(f"/projects/{projects['ninger']}/diagram.json").get_json()
    assert data == {"instance_id": None, "xml": None, "states": {}, "due": {}}
    html = client.get(f"/projects/{projects['ninger']}").get_data(as_text=True)
    assert "尚无关联的流程实例" in html


def test_diagram_for_an_unrelated_instance_is_404(client, people, projects, factory):
    factory.deploy_onboarding()
    other = factory.start(data={"project_id": projects["ninger"], "region_code": "530821"})
    login(client, "admin")
    assert client.get(f"/projects/{projects['simao']}/diagram.json?instance={other['id']}").status_code == 404
    assert client.get(f"/projects/{projects['ninger']}/diagram.json?instance={other['id']}").status_code == 200


def test_task_uploads_are_listed_and_downloadable_within_jurisdiction(client, people, projects, factory, app,
                                                                       tmp_path):
    import hashlib
    from pathlib import Path

    app.config["ATTACHMENT_DIR"] = str(tmp_path / "attachments")
    content = b"%PDF-1.4 test report"
    sha = hashlib.sha256(content).hexdigest()
    target = Path(app.config["ATTACHMENT_DIR"]) / sha[:2] / sha
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    factory.deploy_onboarding()
    factory.start(data={"project_id": projects["simao"], "region_code": "530802",
                        "report": {"sha256": sha, "name": "考察报告<b>.pdf", "size": len(content),
                                   "type": "application/pdf"}})
    factory.start(data={"project_id": projects["ninger"], "region_code": "530821"})
    login(client, "county")
    html = client.get(f"/projects/{projects['simao']}").get_data(as_text=True)
    assert f'href="/projects/{projects["simao"]}/documents/{sha}"' in html
    assert "考察报告&lt;b&gt;.pdf" in html
    r = client.get(f"/projects/{projects['simao']}/documents/{sha}")
    assert r.status_code == 200 and r.data == content and "attachment" in r.headers["Content-Disposition"]
    assert r.mimetype == "application/pdf"
    # not referenced by this project's instances / not a sha / other county
    assert client.get(f"/projects/{projects['ninger']}/documents/{sha}").status_code == 403
    assert client.get(f"/projects/{projects['simao']}/documents/{'0' * 64}").status_code == 404
    assert client.get(f"/projects/{projects['simao']}/documents/..%2F..%2Fetc").status_code == 404
    client.post("/logout", data={"csrf_token": csrf(client, "/board")})
    login(client, "office")
    assert client.get(f"/projects/{projects['ninger']}/documents/{sha}").status_code == 404
