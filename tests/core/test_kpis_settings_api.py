"""GET /api/v1/kpis and the settings API (issue #12): auth, jurisdiction, validation, audit."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models.runtime import AppSetting, AuditEvent


@pytest.fixture
def api(factory, client):
    factory.org("simao_ipb", "思茅区投资促进局", region_code="530802")
    factory.user("simao", "county_ipb", org="simao_ipb")
    factory.user("office", "zsw_office")

    def call(method, url, user=None, **kw):
        headers = {"Authorization": f"Bearer {factory.token(user)}"} if user else {}
        return getattr(client, method)(url, headers=headers, **kw)

    return call


def test_kpis_need_a_token_and_respect_jurisdiction(api):
    assert api("get", "/api/v1/kpis?year=2026").status_code == 401
    own = api("get", "/api/v1/kpis?year=2026", "simao")
    assert own.status_code == 200
    body = own.get_json()
    assert body["region_code"] == "530802"  # a county user defaults to their county
    assert body["value_kind"] == "fraction"
    landing = body["indicators"]["landing_rate"]
    assert set(landing) >= {"value", "numerator", "denominator", "unit", "reason"}
    assert landing["value"] is None and landing["reason"]  # no records: no value, a visible reason
    other = api("get", "/api/v1/kpis?year=2026&region_code=530821", "simao")
    assert other.status_code == 403
    assert "管辖" in str(other.get_json())
    assert api("get", "/api/v1/kpis?year=2026&quarter=2&region_code=530821", "office").status_code == 200


@pytest.mark.parametrize("query", ["", "year=abc", "year=2026&quarter=5", "year=2026&month=13",
                                   "year=2026&quarter=1&month=1", "year=2026&park_id=x"])
def test_kpis_bad_query_is_422_in_chinese(api, query):
    resp = api("get", f"/api/v1/kpis?{query}", "office")
    assert resp.status_code == 422
    text = str(resp.get_json())
    assert any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_kpis_unknown_park_or_chain_is_404(api):
    assert api("get", "/api/v1/kpis?year=2026&park_id=999", "office").status_code == 404
    assert api("get", "/api/v1/kpis?year=2026&chain_code=C99", "office").status_code == 404


def test_settings_listing_has_defaults(api):
    assert api("get", "/api/v1/settings").status_code == 401
    resp = api("get", "/api/v1/settings", "simao")
    assert resp.status_code == 200
    items = {i["key"]: i for i in resp.get_json()["items"]}
    bench = items["score.benchmark.landing_rate"]
    assert (bench["value"], bench["default"], bench["unit"], bench["label"]) == (60.0, 60.0, "%", "项目落地率满分基准")
    assert items["deadline.annual.self"]["value"] == "P15D"
    assert items["score.weight.daily"]["value"] == 0.3


def test_only_admins_change_settings_and_changes_are_validated_and_audited(api, db):
    url = "/api/v1/settings/score.benchmark.landing_rate"
    assert api("put", url, json={"value": 55}).status_code == 401
    assert api("put", url, "office", json={"value": 55}).status_code == 403
    for bad in ({"value": "六十"}, {"value": -1}, {"value": 101}, {}, {"value": True}):
        resp = api("put", url, "admin", json=bad)
        assert resp.status_code == 422, bad
        assert any("\u4e00" <= ch <= "\u9fff" for ch in str(resp.get_json()))
    assert api("put", "/api/v1/settings/no.such.key", "admin", json={"value": 1}).status_code == 404
    bad_points = api("put", "/api/v1/settings/score.points", "admin",
                     json={"value": {"landing_rate": 50}})
    assert bad_points.status_code == 422
    bad_duration = api("put", "/api/v1/settings/deadline.annual.self", "admin", json={"value": "15天"})
    assert bad_duration.status_code == 422
    bad_weight = api("put", "/api/v1/settings/score.weight.daily", "admin", json={"value": 1.5})
    assert bad_weight.status_code == 422  # a weight is 0–1
    with db.read_scope() as s:
        assert s.scalars(select(AppSetting).where(AppSetting.key.like("score.%"))).all() == []
        assert s.scalars(select(AuditEvent).where(AuditEvent.type == "setting.changed")).all() == []

    ok = api("put", url, "admin", json={"value": 55})
    assert ok.status_code == 200
    assert (ok.get_json()["value"], ok.get_json()["default"]) == (55.0, 60.0)
    listed = {i["key"]: i["value"] for i in api("get", "/api/v1/settings", "office").get_json()["items"]}
    assert listed["score.benchmark.landing_rate"] == 55.0
    with db.read_scope() as s:
        (event,) = s.scalars(select(AuditEvent).where(AuditEvent.type == "setting.changed")).all()
        assert (event.actor, event.detail) == ("admin", {"key": "score.benchmark.landing_rate", "old": 60.0,
                                                         "new": 55.0})
    holidays = api("put", "/api/v1/settings/calendar.holidays", "admin", json={"value": ["2026-10-01", "2026-10-02"]})
    assert holidays.status_code == 200 and holidays.get_json()["value"] == ["2026-10-01", "2026-10-02"]
    assert api("put", "/api/v1/settings/calendar.holidays", "admin", json={"value": ["10月1日"]}).status_code == 422
    # the two weights sum to 1: setting one sets the other
    assert api("put", "/api/v1/settings/score.weight.daily", "admin", json={"value": 0.4}).status_code == 200
    listed = {i["key"]: i["value"] for i in api("get", "/api/v1/settings", "office").get_json()["items"]}
    assert (listed["score.weight.daily"], listed["score.weight.year_end"]) == (0.4, 0.6)


def test_kpis_per_park_and_per_chain(api, db):
    """One park project (signed and landed 2026, 20 000 万) and one chain-only project (signed 2026):
    park → 落地率 1/1; chain C01 → both, 落地率 1/2; a county user asking for another county's park → 403."""
    import datetime as dt

    from app.models.domain import Agreement, Chain, Park, Project, Region

    with db.session_scope() as s:
        s.add_all([Region(code="530821", name="宁洱县", short_name="宁洱"),
                   Chain(code="C01", name="茶产业链")])
        s.flush()
        park = Park(code="PK04", name="宁洱产业园区", region_code="530821")
        s.add(park)
        s.flush()
        at = dt.datetime(2026, 3, 1, 2, tzinfo=dt.UTC)
        p1 = Project(code="K1", name="园区项目", region_code="530821", park_id=park.id, chain_code="C01",
                     signed_at=at, landed_at=at + dt.timedelta(days=30), planned_investment_wan=20000)
        p2 = Project(code="K2", name="链上项目", region_code="530821", chain_code="C01", signed_at=at,
                     planned_investment_wan=5000)
        s.add_all([p1, p2])
        s.flush()
        s.add(Agreement(project_id=p1.id, kind="投资协议", sign_date=at.date(), agreed_investment_wan=20000))
        park_id = park.id
    by_park = api("get", f"/api/v1/kpis?year=2026&park_id={park_id}", "office").get_json()
    assert by_park["park_id"] == park_id and by_park["region_code"] == "530821"
    landing = by_park["indicators"]["landing_rate"]
    assert (landing["numerator"], landing["denominator"], landing["value"]) == (1, 1, 1.0)
    assert by_park["indicators"]["major_projects"]["value"] == 1  # 20 000 万 ≥ 1亿
    by_chain = api("get", "/api/v1/kpis?year=2026&chain_code=C01", "office").get_json()
    assert (by_chain["indicators"]["landing_rate"]["numerator"], by_chain["indicators"]["landing_rate"]["denominator"]) \
        == (1, 2)
    assert api("get", f"/api/v1/kpis?year=2026&park_id={park_id}", "simao").status_code == 403
    monthly = api("get", "/api/v1/kpis?year=2026&month=3&chain_code=C01", "office").get_json()
    assert monthly["period"]["label"] == "2026-03" and monthly["indicators"]["signed_count"]["value"] == 2


def test_the_new_routes_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "get" in paths["/api/v1/kpis"] and "get" in paths["/api/v1/settings"]
    assert "put" in paths["/api/v1/settings/{key}"]


def test_a_stored_row_of_a_removed_setting_does_not_break_reads(api, db):
    from app.services.domain import settings

    assert "deadline.warning.red_explain_wd" not in settings.BY_KEY  # removed (deadline.red.* cover it)
    with db.session_scope() as s:
        s.add(AppSetting(key="deadline.warning.red_explain_wd", value=4))
    with db.read_scope() as s:
        current = settings.values(s)
        assert "deadline.warning.red_explain_wd" not in current
        assert current["deadline.red.unit_plan_wd"] == 5
        assert "deadline.warning.red_explain_wd" not in {i["key"] for i in settings.listing(s)}
    resp = api("get", "/api/v1/settings", "office")
    assert resp.status_code == 200
    assert "deadline.warning.red_explain_wd" not in {i["key"] for i in resp.get_json()["items"]}
    assert api("get", "/api/v1/settings/deadline.warning.red_explain_wd", "office").status_code in (404, 405)
    assert api("put", "/api/v1/settings/deadline.warning.red_explain_wd", "admin",
               json={"value": 3}).status_code == 404
