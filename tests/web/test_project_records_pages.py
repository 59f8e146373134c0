"""The project page's 转段材料与认领 section (issue #12): a county editor attaches stage evidence, the
office reactivates a sealed project with a reason (a county clerk sees no button and is refused), and a
claim outside the claim window is refused with a message."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

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
        deploy.deploy_folder(s, ROOT / "processes", "tester", forms_dir=ROOT / "forms")
    factory.org("office", "市招商委办公室")
    factory.org("simao_ipb", "思茅区投资促进局", region_code="530802")
    factory.org("ninger_ipb", "宁洱县投资促进局", region_code="530821")
    factory.org("eco", "市生态环境局")
    factory.user("office", "zsw_office", org="office")
    factory.user("county", "county_ipb", org="simao_ipb")
    factory.user("ninger", "county_ipb", org="ninger_ipb")
    factory.user("eco1", "eco", org="eco")
    from app.services.domain import projects, users

    with db.session_scope() as s:
        p = projects.create_project_record(s, users.get_user(s, "county"), {
            "name": "思茅咖啡烘焙中心", "region_code": "530802", "amount_wan": 12000, "chain_code": "C01"})
        p.stage, p.status = "S6_LAND", "sealed"
        return p.id


def test_evidence_is_shown_and_attached_on_the_project_page(client, db, setup):
    from app.models.domain_projects import ProjectEvidence

    pid = setup
    login(client, "county")
    page = client.get(f"/projects/{pid}").get_data(as_text=True)
    assert "转段材料与认领" in page and "✘ 工商注册/营业执照" in page and 'id="evidence-form"' in page
    assert 'id="reactivate"' not in page
    token = csrf(client, f"/projects/{pid}")
    bad = client.post(f"/projects/{pid}/evidence", data={"kind": "registration", "csrf_token": token})
    assert bad.status_code == 302
    ok = client.post(f"/projects/{pid}/evidence", data={"kind": "registration", "number": "91530802MA6K12345X",
                                                        "csrf_token": token})
    assert ok.status_code == 302
    page = client.get(f"/projects/{pid}").get_data(as_text=True)
    assert "✔ 工商注册/营业执照" in page and "91530802MA6K12345X" in page and "✘ 项目用地" in page
    with db.read_scope() as s:
        assert [(r.kind, r.created_by) for r in s.scalars(select(ProjectEvidence))] == [("registration", "county")]
    assert client.post(f"/projects/{pid}/reactivate", data={"reason": "投资方恢复投资。", "csrf_token": token}
                       ).status_code == 403

    client = client.application.test_client()
    login(client, "ninger")  # another county: neither sees nor writes
    token = csrf(client, "/inbox")
    assert client.get(f"/projects/{pid}").status_code == 403
    assert client.post(f"/projects/{pid}/evidence", data={"kind": "site", "number": "X", "csrf_token": token}
                       ).status_code == 403


def test_the_office_reactivates_a_sealed_project_from_its_page(client, db, setup):
    from app.models.domain import Project
    from app.models.runtime import Instance

    pid = setup
    login(client, "office")
    page = client.get(f"/projects/{pid}").get_data(as_text=True)
    assert 'id="reactivate"' in page
    token = csrf(client, f"/projects/{pid}")
    client.post(f"/projects/{pid}/reactivate", data={"reason": "", "csrf_token": token})
    with db.read_scope() as s:
        assert s.get(Project, pid).status == "sealed"
    done = client.post(f"/projects/{pid}/reactivate", data={"reason": "投资方恢复投资意向。", "csrf_token": token})
    assert done.status_code == 302
    with db.read_scope() as s:
        assert (s.get(Project, pid).status, s.get(Project, pid).stage) == ("active", "S6_LAND")
        inst = s.scalar(select(Instance).where(Instance.business_key == f"project-{pid}"))
        assert (inst.process_key, inst.status) == ("project_lifecycle", "running")
    assert "重新激活" in client.get(f"/projects/{pid}").get_data(as_text=True)


def test_a_claim_outside_the_window_is_refused_with_a_message(client, db, setup):
    from app.models.domain_projects import ProjectClaim

    pid = setup
    login(client, "eco1")
    page = client.get(f"/projects/{pid}").get_data(as_text=True)
    assert "尚无认领单位" in page and 'id="claim"' not in page
    token = csrf(client, f"/projects/{pid}")
    resp = client.post(f"/projects/{pid}/claim", data={"claim_reason": "生态环境局认领", "csrf_token": token},
                       follow_redirects=True)
    assert "不在揭牌认领期" in resp.get_data(as_text=True)
    with db.read_scope() as s:
        assert s.scalars(select(ProjectClaim)).all() == []
