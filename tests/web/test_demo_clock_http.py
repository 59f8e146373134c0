"""The admin pages show the demo clock (demo mode only) with a CSRF-protected control to advance it."""

from __future__ import annotations

import datetime as dt
import re

from tests.web.helpers import csrf
from tests.web.helpers import login as signed_in


def _login(client, username):
    signed_in(client, username)
    return csrf(client, "/board")


def _days_ahead(db):
    from app import clock

    clock.refresh()
    return (clock.now() - dt.datetime.now(dt.UTC)).total_seconds() / 86400


def test_an_admin_sees_the_demo_clock_and_advances_it_from_the_page(client, people, db, clock):
    clock.advance("P65D")
    token = _login(client, "admin")
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert "演示时钟" in page and "拨快时钟" in page
    assert re.search(r"比真实时间快 6[45]\.\d 天", page)
    res = client.post("/admin/clock/advance", data={"csrf_token": token, "duration": "P7D", "next": "/admin/jobs"})
    assert res.status_code == 302 and res.headers["Location"].endswith("/admin/jobs")
    assert 71.9 < _days_ahead(db) < 72.1
    flashed = client.get("/admin/jobs").get_data(as_text=True)
    assert "演示时钟已拨快至" in flashed


def test_a_bad_duration_is_refused_with_a_message_and_the_clock_stays(client, people, db, clock):
    clock.advance("P2D")
    token = _login(client, "admin")
    for bad in ("-P1D", "PT0S", "P1X"):
        res = client.post("/admin/clock/advance", data={"csrf_token": token, "custom": bad, "next": "/admin"})
        assert res.status_code == 302
    page = client.get("/admin").get_data(as_text=True)
    assert "时长" in page  # the flashed reason
    assert 1.9 < _days_ahead(db) < 2.1


def test_advancing_needs_an_admin_and_a_csrf_token(client, people, db, app):
    token = _login(client, "office")
    assert client.post("/admin/clock/advance", data={"csrf_token": token, "duration": "P1D"}).status_code == 403
    admin = app.test_client()
    _login(admin, "admin")
    assert admin.post("/admin/clock/advance", data={"duration": "P1D"}).status_code in (400, 403)
    assert abs(_days_ahead(db)) < 0.01


def test_without_demo_mode_there_is_no_clock_and_no_way_to_move_it(client, people, db, app):
    app.config["DEMO"] = False
    token = _login(client, "admin")
    assert "演示时钟" not in client.get("/admin").get_data(as_text=True)
    assert client.post("/admin/clock/advance", data={"csrf_token": token, "duration": "P1D"}).status_code == 403
    assert abs(_days_ahead(db)) < 0.01
