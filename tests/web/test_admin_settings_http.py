"""系统设置 admin page: admins only, Chinese labels, validated and audited edits, reset to default."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models.runtime import AppSetting, AuditEvent
from tests.web.helpers import csrf
from tests.web.helpers import login as signed_in


def login(client, username, password="Secret-pass-9"):
    signed_in(client, username, password)
    return csrf(client, "/board")


def test_anonymous_users_are_sent_to_login(client):
    r = client.get("/admin/settings")
    assert r.status_code in (302, 401)


@pytest.mark.parametrize("user", ["office", "county", "leader"])
def test_settings_page_and_posts_are_admin_only(client, people, user):
    token = login(client, user)
    assert client.get("/admin/settings").status_code == 403
    r = client.post("/admin/settings/score.benchmark.landing_rate", data={"csrf_token": token, "value": "55"})
    assert r.status_code == 403


def test_admin_edits_a_setting_with_validation_audit_and_reset(client, people, db):
    token = login(client, "admin")
    page = client.get("/admin/settings")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for text in ("系统设置", "项目落地率满分基准", "考核计分", "时限", "工作日历", "deadline.annual.self"):
        assert text in html

    bad = client.post("/admin/settings/score.benchmark.landing_rate", data={"csrf_token": token, "value": "一百"})
    assert bad.status_code == 422
    assert "设置“项目落地率满分基准”的值无效" in bad.get_data(as_text=True)
    with db.read_scope() as s:
        assert s.get(AppSetting, "score.benchmark.landing_rate") is None

    ok = client.post("/admin/settings/score.benchmark.landing_rate", data={"csrf_token": token, "value": "55"})
    assert ok.status_code == 302
    pts = client.post("/admin/settings/calendar.holidays",
                      data={"csrf_token": token, "value": "2026-10-01, 2026-10-02"})
    assert pts.status_code == 302
    with db.read_scope() as s:
        assert s.get(AppSetting, "score.benchmark.landing_rate").value == 55.0
        assert s.get(AppSetting, "calendar.holidays").value == ["2026-10-01", "2026-10-02"]
        events = s.scalars(select(AuditEvent).where(AuditEvent.type == "setting.changed")).all()
        assert [(e.actor, e.detail["key"]) for e in events] == [
            ("admin", "score.benchmark.landing_rate"), ("admin", "calendar.holidays")]
    assert "已修改" in client.get("/admin/settings").get_data(as_text=True)

    reset = client.post("/admin/settings/score.benchmark.landing_rate",
                        data={"csrf_token": token, "value": "", "reset": "1"})
    assert reset.status_code == 302
    with db.read_scope() as s:
        assert s.get(AppSetting, "score.benchmark.landing_rate").value == 60.0
