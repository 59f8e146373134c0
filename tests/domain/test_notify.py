"""notify: rows per role (county-scoped roles carry the project's region) and e-mail over SMTP."""

from __future__ import annotations

import smtplib
import socket

import pytest
from sqlalchemy import select

from app.models.domain import Notification, TimelineEvent
from app.services.domain import notifications


@pytest.fixture
def users(db, auth_models):
    OrgUnit, User = auth_models
    city = OrgUnit(key="zsw", name="市招商委办公室", region_code=None)
    ne = OrgUnit(key="ipb_530821", name="宁洱县投资促进局", region_code="530821")
    sm = OrgUnit(key="ipb_530802", name="思茅区投资促进局", region_code="530802")
    db.add_all([city, ne, sm])
    db.flush()
    rows = [
        User(username="office", email="office@puer.test", roles=["zsw_office"], org_unit_id=city.id),
        User(username="ne_ipb", email="ne@puer.test", roles=["county_ipb", "service_commissioner"], org_unit_id=ne.id),
        User(username="sm_ipb", email="sm@puer.test", roles=["county_ipb"], org_unit_id=sm.id),
        User(username="city_ipb_view", email="cityview@puer.test", roles=["county_ipb"], org_unit_id=city.id),
        User(username="ne_nomail", email=None, roles=["county_ipb"], org_unit_id=ne.id),
        User(username="ne_gone", email="gone@puer.test", roles=["county_ipb"], org_unit_id=ne.id, active=False),
        User(username="other", email="other@puer.test", roles=["eco"], org_unit_id=city.id),
    ]
    db.add_all(rows)
    db.flush()
    return {u.username: u for u in rows}


def test_notify_rows_per_role_and_scoped_region(ops, ctx, db, seed, users, smtp_sink):
    pid = seed["p1"].id  # 宁洱 530821
    out = ops["notify"](ctx, roles=["zsw_office", "county_ipb"], title="项目亮红灯", body="P-02 已严重超期",
                        project_id=pid, level="danger")
    assert out == {"count": 2, "mail_queued": 3}
    assert smtp_sink.messages == []  # nothing leaves before the transaction commits
    for item in ctx.outbox:
        assert item["kind"] == "mail" and notifications.deliver(item) == 3
    rows = {n.role: n for n in db.scalars(select(Notification))}
    assert set(rows) == {"zsw_office", "county_ipb"}
    assert rows["zsw_office"].region_code is None  # city-level role: not scoped
    assert rows["county_ipb"].region_code == "530821"  # scoped role: the project's county
    for n in rows.values():
        assert (n.title, n.body, n.level, n.project_id, n.link) == ("项目亮红灯", "P-02 已严重超期", "danger", pid,
                                                                     f"/projects/{pid}")
        assert n.user_id is None and n.read_at is None and n.instance_id == 7
    # mail: office (non-scoped role), county_ipb of 宁洱 and the city-level county_ipb viewer;
    # not 思茅's county_ipb, not the user without e-mail, not the inactive one, not other roles
    assert sorted(m["to"][0] for m in smtp_sink.messages) == ["cityview@puer.test", "ne@puer.test",
                                                              "office@puer.test"]
    msg = smtp_sink.messages[0]["message"]
    assert msg["Subject"] == "项目亮红灯" and msg["From"] == "platform@puer.test"
    assert "P-02 已严重超期" in msg.get_content()
    assert smtp_sink.messages[0]["from"] == "platform@puer.test"
    ev = db.scalars(select(TimelineEvent).where(TimelineEvent.kind == "notify")).one()
    assert ev.project_id == pid and ev.detail["roles"] == ["zsw_office", "county_ipb"]


def test_notify_without_project_is_city_wide(ops, ctx, db, seed, users, smtp_sink):
    out = ops["notify"](ctx, roles=["county_ipb"], title="月报提醒", body="请于5日前报送月报")
    assert out["count"] == 1
    for item in ctx.outbox:
        notifications.deliver(item)
    n = db.scalars(select(Notification)).one()
    assert n.region_code is None and n.project_id is None and n.link is None
    # no county restriction: every county_ipb user with an e-mail, still not the inactive one
    assert sorted(m["to"][0] for m in smtp_sink.messages) == ["cityview@puer.test", "ne@puer.test",
                                                              "sm@puer.test"]


def test_notify_without_smtp_host_skips_mail(ops, ctx, db, seed, users, monkeypatch):
    monkeypatch.setenv("SMTP_HOST", "")
    out = ops["notify"](ctx, roles="zsw_office", title="t", body="b", project_id=seed["p2"].id)
    assert out == {"count": 1, "mail_queued": 0} and ctx.outbox == []
    assert db.scalars(select(Notification)).one().role == "zsw_office"


def test_notify_validation(ops, ctx, seed):
    with pytest.raises(ValueError, match="unknown role"):
        ops["notify"](ctx, roles=["nobody"], title="t", body="b")
    with pytest.raises(ValueError, match="unknown level"):
        ops["notify"](ctx, roles=["eco"], title="t", body="b", level="loud")
    with pytest.raises(ValueError, match="project 999 not found"):
        ops["notify"](ctx, roles=["eco"], title="t", body="b", project_id=999)


def test_send_mail_server_down_returns_zero(monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(port))
    assert notifications.send_mail(["a@puer.test"], "主题", "正文", timeout=2) == 0


def test_send_mail_direct(smtp_sink):
    assert notifications.send_mail(["b@puer.test", "a@puer.test", "a@puer.test", ""], "测试", "内容") == 2
    assert [m["to"] for m in smtp_sink.messages] == [["a@puer.test"], ["b@puer.test"]]
    # smtplib speaks to the sink like to a real server
    with smtplib.SMTP("127.0.0.1", smtp_sink.port, timeout=5) as smtp:
        assert smtp.noop()[0] == 250


def test_visibility_for_user(ops, ctx, db, seed):
    ops["notify"](ctx, roles=["county_ipb"], title="宁洱", body="", project_id=seed["p1"].id)  # 530821
    ops["notify"](ctx, roles=["county_ipb"], title="思茅", body="", project_id=seed["p2"].id)  # 530802
    ops["notify"](ctx, roles=["eco"], title="生态", body="")
    db.add(Notification(user_id=42, title="个人", body=""))
    db.flush()
    titles = lambda rows: sorted(n.title for n in rows)  # noqa: E731
    assert titles(notifications.list_for_user(db, 42, ["county_ipb"], "530821")) == ["个人", "宁洱"]
    assert titles(notifications.list_for_user(db, 1, ["county_ipb"], None)) == ["宁洱", "思茅"]
    assert titles(notifications.list_for_user(db, 1, ["eco"], None)) == ["生态"]
    first = notifications.list_for_user(db, 42, [], None)[0]
    assert notifications.mark_read(db, first.id, ctx.now) is True
    assert notifications.list_for_user(db, 42, [], None, unread_only=True) == []
    assert notifications.mark_read(db, 10_000) is False
