"""Sign-in / sign-out, sessions, login on every page, role checks and the API's session access."""

from __future__ import annotations

import re

import pytest


def csrf(client, path="/"):
    page = client.get(path)
    match = re.search(r'name="csrf-token" content="([^"]+)"', page.get_data(as_text=True))
    assert match, f"no CSRF meta tag on {path}"
    return match.group(1)


def login(client, username, password="Secret-pass-9"):
    token = csrf(client)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def test_sign_in_page_is_served_at_root_in_chinese(client):
    r = client.get("/")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert "普洱市招商引资全过程服务平台" in html
    assert 'name="csrf_token"' in html
    assert '<label for="username">用户名</label>' in html and '<label for="password">密码</label>' in html
    assert client.get("/login").status_code == 200


def test_sign_in_redirects_to_inbox_and_root_redirects_signed_in_users(client, factory):
    factory.user("li", "zsw_office")
    r = login(client, "li")
    assert r.status_code == 302 and r.headers["Location"].endswith("/inbox")
    r = client.get("/")
    assert r.status_code == 302 and r.headers["Location"].endswith("/inbox")
    page = client.get("/inbox").get_data(as_text=True)
    assert "我的待办" in page and "li" in page
    assert "退出" in page


def test_wrong_password_shows_chinese_message_and_keeps_username(client, factory):
    factory.user("li", "zsw_office")
    r = login(client, "li", "wrong")
    assert r.status_code == 401
    html = r.get_data(as_text=True)
    assert "用户名或密码错误" in html
    assert 'value="li"' in html
    assert client.get("/inbox").status_code == 302  # still signed out


def test_unknown_and_inactive_users_cannot_sign_in(client, factory, db):
    from app.models.auth import User

    factory.user("gone", "zsw_office")
    with db.session_scope() as s:
        s.query(User).filter_by(username="gone").update({"active": False})
    assert login(client, "gone").status_code == 401
    assert login(client, "nobody").status_code == 401


def test_sign_out_needs_post_with_csrf(client, factory):
    factory.user("li", "zsw_office")
    login(client, "li")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 403  # no token
    assert client.get("/inbox").status_code == 200  # still signed in
    token = csrf(client, "/inbox")
    r = client.post("/logout", data={"csrf_token": token})
    assert r.status_code == 302
    assert client.get("/inbox").status_code == 302


def test_session_is_renewed_on_sign_in(client, factory):
    factory.user("li", "zsw_office")
    before = csrf(client)
    login(client, "li")
    after = csrf(client, "/inbox")
    assert before != after


@pytest.mark.parametrize("path", ["/inbox", "/inbox?tab=mine", "/notifications", "/tasks/abc",
                                  "/tasks/abc/attachments/" + "0" * 64])
def test_every_page_requires_login(client, path):
    r = client.get(path)
    assert r.status_code == 302
    assert "/login" in r.headers["Location"]


def test_login_redirects_back_to_the_requested_page_but_never_off_site(client, factory):
    factory.user("li", "zsw_office")
    r = client.get("/notifications")
    assert "next=" in r.headers["Location"]
    token = csrf(client)
    r = client.post("/login?next=/notifications", data={"username": "li", "password": "Secret-pass-9",
                                                          "csrf_token": token})
    assert r.headers["Location"].endswith("/notifications")
    client.post("/logout", data={"csrf_token": csrf(client, "/inbox")})
    token = csrf(client)
    r = client.post("/login", data={"username": "li", "password": "Secret-pass-9", "csrf_token": token,
                                    "next": "//evil.example.com/x"})
    assert r.headers["Location"].endswith("/inbox")


def test_session_cookie_is_httponly_and_samesite_lax(client, factory):
    factory.user("li", "zsw_office")
    r = login(client, "li")
    cookie = r.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_nav_shows_admin_link_only_to_admins(client, factory):
    factory.user("li", "zsw_office")
    login(client, "li")
    page = client.get("/inbox").get_data(as_text=True)
    for label in ("我的待办", "挂图作战", "数据看板"):
        assert label in page
    assert 'href="/admin"' not in page
    client.post("/logout", data={"csrf_token": csrf(client, "/inbox")})
    login(client, "admin")
    page = client.get("/inbox").get_data(as_text=True)
    assert 'href="/admin"' in page and "流程管理" in page


def test_roles_required_helper(app, client, factory):
    from flask import g

    from app.web.auth import roles_required

    @app.get("/_test/ndrc-only")
    @roles_required("ndrc")
    def _ndrc_only():
        return f"hello {g.user.username}"

    factory.user("li", "zsw_office")
    factory.user("fa", "ndrc")
    assert client.get("/_test/ndrc-only").status_code == 302
    login(client, "li")
    r = client.get("/_test/ndrc-only")
    assert r.status_code == 403 and "无权访问" in r.get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf(client, "/inbox")})
    login(client, "fa")
    assert client.get("/_test/ndrc-only").get_data(as_text=True) == "hello fa"
    client.post("/logout", data={"csrf_token": csrf(client, "/inbox")})
    login(client, "admin")
    assert client.get("/_test/ndrc-only").status_code == 200


def test_api_accepts_the_browser_session_and_demands_csrf_header_for_writes(client, factory):
    factory.deploy_onboarding()
    factory.user("li", "zsw_office")
    inst = factory.start()
    task_id = factory.open_tasks(inst["id"])["ut1"]
    assert client.get("/api/v1/tasks").status_code == 401
    login(client, "li")
    r = client.get("/api/v1/tasks")
    assert r.status_code == 200 and r.get_json()["total"] == 1
    r = client.post(f"/api/v1/tasks/{task_id}/claim")
    assert r.status_code == 403
    token = csrf(client, "/inbox")
    r = client.post(f"/api/v1/tasks/{task_id}/claim", headers={"X-CSRF-Token": token})
    assert r.status_code == 200 and r.get_json()["assignee"] == "li"


def test_bearer_token_api_needs_no_csrf(client, factory):
    factory.deploy_onboarding()
    token = factory.token("admin")
    inst = factory.start()
    task_id = factory.open_tasks(inst["id"])["ut1"]
    r = client.post(f"/api/v1/tasks/{task_id}/claim", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
