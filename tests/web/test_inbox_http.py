"""我的待办 over HTTP: jurisdiction, filters, counts, search, paging, badges, claim/unclaim, 通知."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import update

from app.models.runtime import HumanTask
from tests.web.helpers import csrf, login

XIMENG, MENGLIAN = "530829", "530827"


def logout(client):
    client.post("/logout", data={"csrf_token": csrf(client, "/inbox")})


def total(html: str) -> int:
    return int(re.search(r'data-testid="total">(\d+)<', html).group(1))


def task_ids(html: str) -> list[str]:
    return re.findall(r'data-task-id="([^"]+)"', html)


def _advance_to_county(factory, instance_id):
    tasks = factory.open_tasks(instance_id)
    factory.complete(tasks["ut1"], {"project_name": factory_name(factory, instance_id), "amount_wan": 100})
    factory.complete(factory.open_tasks(instance_id)["ut2"])
    return factory.open_tasks(instance_id)


def factory_name(factory, instance_id):
    with factory.db.read_scope() as s:
        return s.query(HumanTask.project_name).filter_by(instance_id=instance_id).first()[0]


@pytest.fixture
def world(factory):
    """Two counties with county_ipb staff, an office user, tasks in both counties and one at the office."""
    factory.deploy_onboarding()
    factory.org("ximeng", "西盟县投资促进局", region_code=XIMENG)
    factory.org("menglian", "孟连县投资促进局", region_code=MENGLIAN)
    factory.org("city", "市招商委办公室")
    factory.user("xm", "county_ipb", org="ximeng")
    factory.user("ml", "county_ipb", org="menglian")
    factory.user("off", "zsw_office", org="city")
    a = factory.start(data={"project_name": "西盟咖啡精深加工项目", "region_code": XIMENG, "tier": "重大",
                            "stage": "S3_VISIT"})
    b = factory.start(data={"project_name": "孟连茶叶产业园项目", "region_code": MENGLIAN, "tier": "一般",
                            "stage": "S1_PLAN"})
    c = factory.start(data={"project_name": "思茅物流园项目", "region_code": "530802", "tier": "重点",
                            "stage": "S2_SCREEN"})
    ta = _advance_to_county(factory, a["id"])
    tb = _advance_to_county(factory, b["id"])
    tc = factory.open_tasks(c["id"])
    return {"a": a["id"], "b": b["id"], "c": c["id"], "ta": ta, "tb": tb, "tc": tc}


def test_county_user_sees_only_their_countys_tasks(client, world):
    login(client, "xm")
    html = client.get("/inbox").get_data(as_text=True)
    assert total(html) == 2
    assert set(task_ids(html)) == {world["ta"]["ut3"], world["ta"]["ut4"]}
    assert "西盟咖啡精深加工项目" in html and "孟连茶叶产业园项目" not in html
    assert "县区核实" in html and "县区要素" in html
    # another county's task: page 403, claim 403
    other = world["tb"]["ut3"]
    assert client.get(f"/tasks/{other}").status_code == 403
    r = client.post(f"/tasks/{other}/claim", data={"csrf_token": csrf(client, "/inbox")})
    assert r.status_code == 403
    # even filtering on the other county shows nothing
    assert total(client.get(f"/inbox?region_code={MENGLIAN}").get_data(as_text=True)) == 0
    logout(client)
    login(client, "ml")
    html = client.get("/inbox").get_data(as_text=True)
    assert set(task_ids(html)) == {world["tb"]["ut3"], world["tb"]["ut4"]}


def test_office_user_sees_office_lane_only(client, world):
    login(client, "off")
    html = client.get("/inbox").get_data(as_text=True)
    assert task_ids(html) == [world["tc"]["ut1"]]
    assert "思茅物流园项目" in html and "思茅区" in html


def test_filters_and_counts(client, world):
    login(client, "admin")
    html = client.get("/inbox").get_data(as_text=True)
    assert total(html) == 5
    # facet options carry counts
    assert re.search(r'<option value="530829"\s*>西盟县\(2\)</option>', html)
    assert re.search(r'<option value="530827"\s*>孟连县\(2\)</option>', html)
    assert re.search(r'<option value="重大"\s*>重大\(2\)</option>', html)
    assert re.search(r'<option value="onboarding"\s*>测试入库流程\(5\)</option>', html)
    assert re.search(r'<option value="S2_SCREEN"\s*>目标企业筛选\(1\)</option>', html)
    cases = {
        f"region_code={XIMENG}": 2,
        "tier=重点": 1,
        "stage=S1_PLAN": 2,
        "process_key=onboarding": 5,
        "process_key=nope": 0,
        f"region_code={XIMENG}&tier=一般": 0,
        "q=茶叶": 2,
        "q=县区核实": 2,
        "q=不存在的项目": 0,
        "warning=red": 0,
    }
    for query, expected in cases.items():
        page = client.get(f"/inbox?{query}").get_data(as_text=True)
        assert total(page) == expected, query
    # the selected filter stays selected
    page = client.get(f"/inbox?region_code={XIMENG}").get_data(as_text=True)
    assert re.search(r'<option value="530829" selected>', page)


def test_yellow_and_red_badges_and_overdue_filter(client, world, clock, factory, db):
    clock.advance("P1D")
    factory.run_jobs()  # the yellow boundary timer of ut1 fires
    login(client, "admin")
    html = client.get("/inbox?warning=yellow").get_data(as_text=True)
    assert total(html) == 1
    assert "badge-yellow" in html and "黄灯" in html
    # a red one, and an overdue one with a known due time (shown in Asia/Shanghai)
    with db.session_scope() as s:
        s.execute(update(HumanTask).where(HumanTask.id == world["ta"]["ut3"]).values(warning="red"))
        s.execute(update(HumanTask).where(HumanTask.id == world["tb"]["ut3"])
                  .values(due_at=clock.now() - dt.timedelta(hours=2)))
        s.execute(update(HumanTask).where(HumanTask.id == world["tb"]["ut4"])
                  .values(due_at=dt.datetime(2099, 1, 1, 16, 30, tzinfo=dt.UTC)))
    html = client.get("/inbox?warning=red").get_data(as_text=True)
    assert total(html) == 1 and "badge-red" in html and "红灯" in html
    html = client.get("/inbox?due=overdue").get_data(as_text=True)
    assert task_ids(html) == [world["tb"]["ut3"]]
    assert "已超期" in html
    html = client.get("/inbox").get_data(as_text=True)
    assert "2099-01-02 00:30" in html  # 16:30 UTC = 00:30 next day in Beijing
    # sorted by due: overdue first, no-due-date last
    ids = task_ids(html)
    assert ids[0] == world["tb"]["ut3"]
    assert ids.index(world["tb"]["ut4"]) < ids.index(world["ta"]["ut4"])


def test_paging_is_an_sql_page(client, world, monkeypatch):
    from app.web import inbox

    calls = []
    real = inbox.tasks.list_tasks

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(inbox.tasks, "list_tasks", spy)
    login(client, "admin")
    seen = []
    for page in (1, 2, 3):
        html = client.get(f"/inbox?per_page=2&page={page}").get_data(as_text=True)
        assert total(html) == 5
        seen += task_ids(html)
        assert f"第 {page} / 3 页" in html
    assert len(seen) == 5 and len(set(seen)) == 5
    assert {(c["page"], c["per_page"]) for c in calls if not c.get("mine") and not (c.get("filters") or {})
            .get("due")} == {(1, 2), (2, 2), (3, 2)}
    # out-of-range values are clamped, never errors
    assert client.get("/inbox?per_page=100000&page=-3").status_code == 200
    assert client.get("/inbox?per_page=abc&page=x").status_code == 200


def test_claim_and_unclaim_from_the_inbox(client, world):
    login(client, "xm")
    task = world["ta"]["ut3"]
    token = csrf(client, "/inbox")
    r = client.post(f"/tasks/{task}/claim", data={"csrf_token": token, "next": "/inbox"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/inbox")
    html = client.get("/inbox?tab=mine").get_data(as_text=True)
    assert task_ids(html) == [task]
    assert "已认领" in html  # flash
    assert f'action="/tasks/{task}/unclaim"' in html
    # claiming twice → 409 page
    r = client.post(f"/tasks/{task}/claim", data={"csrf_token": token})
    assert r.status_code in (200, 302)  # own task: idempotent
    r = client.post(f"/tasks/{task}/unclaim", data={"csrf_token": token, "next": "/inbox?tab=mine"})
    assert r.status_code == 302
    assert total(client.get("/inbox?tab=mine").get_data(as_text=True)) == 0
    r = client.post(f"/tasks/{task}/unclaim", data={"csrf_token": token})
    assert r.status_code == 409
    assert "操作冲突" in r.get_data(as_text=True)


def test_claimed_by_someone_else_is_a_conflict(client, world, factory):
    factory.org("ximeng2", region_code=XIMENG)
    factory.user("xm2", "county_ipb", org="ximeng2")
    task = world["ta"]["ut3"]
    login(client, "xm2")
    client.post(f"/tasks/{task}/claim", data={"csrf_token": csrf(client, "/inbox")})
    logout(client)
    login(client, "xm")
    html = client.get("/inbox").get_data(as_text=True)
    assert "xm2" in html  # shows who holds it
    r = client.post(f"/tasks/{task}/claim", data={"csrf_token": csrf(client, "/inbox")})
    assert r.status_code == 409
    assert "已被" in r.get_data(as_text=True)


def test_empty_inbox_message(client, factory):
    factory.user("lonely", "legal")
    login(client, "lonely")
    html = client.get("/inbox").get_data(as_text=True)
    assert total(html) == 0 and "暂无待办" in html


# -- notifications --------------------------------------------------------------------------------
def _notify(db, **kw):
    from app.models.domain import Notification

    with db.session_scope() as s:
        row = Notification(**{"title": "通知", "body": "", **kw})
        s.add(row)
        s.flush()
        return row.id


def test_notifications_bell_list_and_mark_read(client, world, factory, db):
    xm = factory.get_user("xm")
    mine = _notify(db, user_id=xm.id, title="西盟项目亮黄灯", level="warning", link="/inbox")
    _notify(db, role="county_ipb", region_code=XIMENG, title="西盟县请报送半年评估")
    other_county = _notify(db, role="county_ipb", region_code=MENGLIAN, title="孟连县的通知")
    _notify(db, role="ndrc", title="发改委的通知")
    login(client, "xm")
    html = client.get("/inbox").get_data(as_text=True)
    assert re.search(r'data-testid="unread-count">2<', html)
    page = client.get("/notifications").get_data(as_text=True)
    assert "西盟项目亮黄灯" in page and "西盟县请报送半年评估" in page
    assert "孟连县的通知" not in page and "发改委的通知" not in page
    token = csrf(client, "/notifications")
    r = client.post(f"/notifications/{mine}/read", data={"csrf_token": token})
    assert r.status_code == 302
    html = client.get("/inbox").get_data(as_text=True)
    assert re.search(r'data-testid="unread-count">1<', html)
    assert client.post(f"/notifications/{other_county}/read", data={"csrf_token": token}).status_code == 404
    client.post("/notifications/read-all", data={"csrf_token": token})
    html = client.get("/inbox").get_data(as_text=True)
    assert 'data-testid="unread-count"' not in html
    assert "没有未读通知" in client.get("/notifications?unread=1").get_data(as_text=True)
