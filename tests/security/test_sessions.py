"""Sign-in throttling (moved clock, no sleeping), logout revocation, the secret-key rule, password
policy, TLS flags and the token cache (no DetachedInstanceError)."""

from __future__ import annotations

import time

import pytest

from tests.web.helpers import csrf, login

PASSWORD = "Secret-pass-9"


def _try(client, username, password):
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf(client)})


def test_five_failures_slow_down_and_twenty_lock_for_15_minutes(factory, client, clock):
    factory.user("li", "zsw_office")
    for _ in range(5):
        assert _try(client, "li", "wrong").status_code == 401
    slowed = _try(client, "li", PASSWORD)
    assert slowed.status_code == 429 and "后重试" in slowed.get_data(as_text=True)
    assert int(slowed.headers["Retry-After"]) >= 1
    clock.advance("PT2S")
    assert _try(client, "li", "wrong").status_code == 401  # the 6th failure: a longer wait
    assert _try(client, "li", PASSWORD).status_code == 429
    for _ in range(14):
        clock.advance("PT61S")
        assert _try(client, "li", "wrong").status_code == 401
    locked = _try(client, "li", PASSWORD)
    assert locked.status_code == 429 and "尝试次数过多" in locked.get_data(as_text=True)
    assert int(locked.headers["Retry-After"]) > 14 * 60
    clock.advance("PT14M")
    assert _try(client, "li", PASSWORD).status_code == 429
    clock.advance("PT61S")
    assert _try(client, "li", PASSWORD).status_code == 302


def test_throttle_per_client_address_across_usernames(factory, client, clock):
    factory.user("li", "zsw_office")
    for i in range(5):
        assert _try(client, f"nobody{i}", "wrong").status_code == 401
    assert _try(client, "li", PASSWORD).status_code == 429  # same address
    other = client.application.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    assert _try(other, "li", PASSWORD).status_code == 302


def test_token_guessing_is_429(factory, client, clock):
    factory.user("li", "zsw_office")
    good = factory.token("li")
    for _ in range(5):
        assert client.get("/api/v1/tasks", headers={"Authorization": "Bearer guess"}).status_code == 401
    r = client.get("/api/v1/tasks", headers={"Authorization": "Bearer guess"})
    assert r.status_code == 429 and r.headers["Retry-After"] and r.get_json()["errors"][0]["message"]
    # while throttled even a good token is refused: the answer must not tell good from bad
    assert client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {good}"}).status_code == 429
    clock.advance("PT2S")
    assert client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {good}"}).status_code == 200
    assert client.get("/api/v1/tasks", headers={"Authorization": "Bearer guess"}).status_code == 401


def test_logout_revokes_the_session_server_side(factory, client):
    factory.user("li", "zsw_office")
    login(client, "li")
    assert client.get("/inbox").status_code == 200
    stolen = client.get_cookie("session").value
    assert client.post("/logout", data={"csrf_token": csrf(client, "/inbox")}).status_code == 302
    replay = client.application.test_client()
    replay.set_cookie("session", stolen)
    assert replay.get("/inbox").status_code == 302  # back to the sign-in page
    assert replay.get("/api/v1/tasks").status_code == 401
    login(client, "li")
    assert client.get("/inbox").status_code == 200


def test_unknown_and_known_users_take_the_same_time(factory, db):
    from app.services.domain import users

    factory.user("li", "zsw_office")

    def spent(name):
        with db.read_scope() as s:
            start = time.perf_counter()
            assert users.authenticate(s, name, "wrong") is None
            return time.perf_counter() - start

    known = sorted(spent("li") for _ in range(3))[1]
    unknown = sorted(spent("nobody") for _ in range(3))[1]
    assert unknown > known / 3 and known > unknown / 3


@pytest.mark.parametrize("password,ok", [
    ("Short-1", False), ("alllowercaseletters", False), ("lower-and-symbols", False), ("Has-li-inside-9", False),
    ("Lower-Upper-9", True), ("lower-digits-99", True), ("长密码包含汉字Aa1", True),
])
def test_password_policy(factory, db, password, ok):
    from app.errors import Invalid
    from app.services.domain import users

    with db.session_scope() as s:
        if ok:
            users.create_user(s, "li", ["leader"], password=password)
        else:
            with pytest.raises(Invalid, match="密码不符合要求"):
                users.create_user(s, "li", ["leader"], password=password)


def test_secret_key_rule(tmp_path, database_url):
    from app import create_app
    from app.config import Config

    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(Config(DATABASE_URL=database_url, DEMO=False, SCHEDULER=False, SECRET_KEY="short"))
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(Config(DATABASE_URL=database_url, DEMO=False, SCHEDULER=False, SECRET_KEY="dev-only-change-me"))
    first = create_app(Config(DATABASE_URL=database_url, DEMO=False, SCHEDULER=False, SECRET_KEY=None,
                              INSTANCE_DIR=str(tmp_path / "inst")))
    second = create_app(Config(DATABASE_URL=database_url, DEMO=False, SCHEDULER=False, SECRET_KEY=None,
                               INSTANCE_DIR=str(tmp_path / "inst")))
    key = first.config["SECRET_KEY"]
    assert len(key) >= 32 and key == second.config["SECRET_KEY"] and key != "dev-only-change-me"
    assert (tmp_path / "inst" / "secret_key").stat().st_mode & 0o077 == 0
    for a in (first, second):
        a.extensions["db"].dispose()


def test_tls_flag_sets_secure_cookie_and_hsts(tmp_path, database_url):
    from app import create_app
    from app.config import Config
    from app.models.schema import upgrade

    app = create_app(Config(DATABASE_URL=database_url, DEMO=True, SCHEDULER=False, SECRET_KEY="x" * 40, TLS=True))
    upgrade(app.extensions["db"])
    r = app.test_client().get("/login")
    assert "max-age" in r.headers["Strict-Transport-Security"]
    assert "Secure" in r.headers.get("Set-Cookie", "")
    app.extensions["db"].dispose()


def test_cached_token_user_survives_writes(factory, client):
    """A county token's first POST used to detach the cached user's org unit (DetachedInstanceError)."""
    factory.org("simao", "思茅", region_code="530802")
    factory.user("ipb", "county_ipb", org="simao")
    headers = {"Authorization": f"Bearer {factory.token('ipb')}"}
    assert client.post("/api/v1/tasks/nope/claim", headers=headers).status_code == 404
    for _ in range(3):
        assert client.get("/api/v1/tasks", headers=headers).status_code == 200
        assert client.post("/api/v1/tasks/nope/claim", headers=headers).status_code == 404
