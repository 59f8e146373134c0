"""挂图作战 board and dashboards over HTTP: access per role, board cells vs inserted projects' lights,
filters, KPI numbers, and the Excel exports (opened with openpyxl, numbers match the data)."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest

from tests.web.helpers import login

XSS = "<script>alert('x')</script>"
XSS_ESCAPED = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
# 2026-05-10 12:00 Beijing time
MAY = dt.datetime(2026, 5, 10, 4, 0, tzinfo=dt.UTC)
REGIONS = [("530802", "思茅区"), ("530821", "宁洱县"), ("530822", "墨江县"), ("530823", "景东县"), ("530824", "景谷县"),
           ("530825", "镇沅县"), ("530826", "江城县"), ("530827", "孟连县"), ("530828", "澜沧县"), ("530829", "西盟县")]


@pytest.fixture
def data(db):
    """Projects in 思茅 and 宁洱 with known lights and stages; May 2026 signings, funds, complaints, visits;
    assessment scores for 2026."""
    from app.models.domain import (
        Agreement,
        AssessmentScore,
        Chain,
        Complaint,
        FundsArrival,
        Park,
        Project,
        Region,
        Visit,
    )

    with db.session_scope() as s:
        s.add_all([Region(code=c, name=n, short_name=n[:2], sort_order=i) for i, (c, n) in enumerate(REGIONS)])
        s.add_all([Chain(code="C01", name="茶产业链"), Chain(code="C02", name="咖啡产业链")])
        s.flush()
        park = Park(code="PK01", name="思茅工业园区", region_code="530802")
        s.add(park)
        s.flush()

        def project(code, name, region, stage, light, chain="C01", tier="重点", **kw):
            p = Project(code=code, name=name, region_code=region, stage=stage, light=light, chain_code=chain, tier=tier,
                        planned_investment_wan=kw.pop("planned", 10000), **kw)
            s.add(p)
            s.flush()
            return p

        red = project("P1", "红灯项目" + XSS, "530802", "S3_VISIT", "red", tier="重大", park_id=park.id)
        yellow = project("P2", "黄灯项目", "530802", "S3_VISIT", "yellow")
        project("P3", "绿灯项目", "530802", "S1_PLAN", "green", chain="C02")
        signed = project("P4", "签约项目", "530821", "S6_LAND", "yellow", signed_at=MAY, planned=50000)
        landed = project("P5", "落地项目", "530821", "S7_START", "green", signed_at=MAY - dt.timedelta(days=40),
                         landed_at=MAY, planned=20000)
        project("P6", "已开工项目", "530821", "DONE", "green", signed_at=MAY - dt.timedelta(days=90),
                landed_at=MAY - dt.timedelta(days=60), started_at=MAY)
        project("P7", "封存项目", "530802", "S2_SCREEN", "red", status="sealed")
        s.add(Agreement(project_id=signed.id, kind="投资协议", sign_date=MAY.date(), agreed_investment_wan=60000))
        s.add_all([FundsArrival(project_id=signed.id, period="2026-05", amount_wan=1234.5, origin="省外"),
                   FundsArrival(project_id=landed.id, period="2026-05", amount_wan=300.0, origin="市内"),
                   FundsArrival(project_id=red.id, period="2026-04", amount_wan=99.0, origin="省外")])
        s.add_all([Complaint(complainant="企业甲", region_code="530802", received_at=MAY, status="closed",
                             closed_at=MAY + dt.timedelta(days=2), satisfied=True),
                   Complaint(complainant="企业乙", region_code="530821", received_at=MAY)])
        s.add_all([Visit(visit_date=MAY.date(), enterprise_name="来访企业", region_code="530802"),
                   Visit(visit_date=MAY.date(), enterprise_name="来访企业2", region_code="530802")])
        s.add_all([AssessmentScore(unit_key="530802", unit_name="思茅区", year=2026, daily=80.0, year_end=90.0,
                                   bonus=2.0, penalty=0.5, total=88.5, grade="优秀",
                                   scores={"landing": 12.0, "funds": {"rate": 8.5}}),
                   AssessmentScore(unit_key="530821", unit_name="宁洱县" + XSS, year=2026, daily=70.0,
                                   year_end=75.0, total=73.5, grade="良好"),
                   AssessmentScore(unit_key="530802", unit_name="思茅区", year=2026, quarter=1, daily=81.0, total=81.0),
                   AssessmentScore(unit_key="530802", unit_name="思茅区", year=2025, total=60.0)])
        return {"red": red.id, "yellow": yellow.id, "signed": signed.id}


PAGES = ["/board", "/dashboards?period=2026-05"]
EXPORTS = ["/dashboards/export/bulletin.xlsx?period=2026-05", "/dashboards/export/assessment.xlsx?year=2026"]


@pytest.mark.parametrize("user", ["admin", "office", "county", "leader"])
@pytest.mark.parametrize("path", PAGES)
def test_board_and_dashboards_for_every_role(client, people, data, user, path):
    login(client, user)
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("user,status", [("admin", 200), ("office", 200), ("leader", 200), ("county", 403)])
@pytest.mark.parametrize("path", EXPORTS)
def test_exports_are_for_city_level_users(client, people, data, user, status, path):
    login(client, user)
    assert client.get(path).status_code == status


@pytest.mark.parametrize("path", PAGES + EXPORTS)
def test_sign_in_required(client, data, path):
    assert client.get(path).status_code == 302


def _cell(html, region, stage):
    m = re.search(rf'<td class="board-cell([^"]*)" data-stage="{stage}"\s+data-region="{region}" data-count="(\d+)" '
                  rf'data-green="(\d+)"\s+data-yellow="(\d+)" data-red="(\d+)"', html)
    assert m, (region, stage)
    return {"class": m.group(1).strip(), "count": int(m.group(2)), "green": int(m.group(3)),
            "yellow": int(m.group(4)), "red": int(m.group(5))}


def test_board_cells_match_the_projects_lights(client, people, data):
    login(client, "leader")
    html = client.get("/board").get_data(as_text=True)
    assert XSS not in html and XSS_ESCAPED in html
    for _code, name in REGIONS:
        assert f"<th scope=\"row\">{name}</th>" in html  # the 10 counties are the rows
    cell = _cell(html, "530802", "S3_VISIT")
    assert cell == {"class": "cell-red", "count": 2, "green": 0, "yellow": 1, "red": 1}
    assert _cell(html, "530802", "S1_PLAN") == {"class": "cell-green", "count": 1, "green": 1, "yellow": 0, "red": 0}
    assert _cell(html, "530821", "S6_LAND")["class"] == "cell-yellow"
    assert _cell(html, "530821", "S7_START")["class"] == "cell-green"
    assert _cell(html, "530822", "S1_PLAN")["class"] == "cell-empty"
    # sealed project (S2, red) and the started one (DONE) are not on the board
    assert "封存项目" not in html and "已开工项目" not in html
    assert _cell(html, "530802", "S2_SCREEN")["count"] == 0
    assert f'href="/projects/{data["red"]}"' in html  # click-through
    assert 'data-testid="board-red-total">红灯 1<' in html
    assert 'data-testid="board-yellow-total">黄灯 2<' in html


def test_board_filters_by_chain_tier_and_warning(client, people, data):
    login(client, "office")
    html = client.get("/board?tier=重大").get_data(as_text=True)
    assert "红灯项目" in html and "黄灯项目" not in html
    html = client.get("/board?chain_code=C02").get_data(as_text=True)
    assert "绿灯项目" in html and "黄灯项目" not in html
    html = client.get("/board?only_warn=1").get_data(as_text=True)
    assert "绿灯项目" not in html and "黄灯项目" in html and "签约项目" in html


def test_county_user_sees_only_its_row(client, people, data):
    login(client, "county")
    html = client.get("/board").get_data(as_text=True)
    assert "<th scope=\"row\">思茅区</th>" in html and "<th scope=\"row\">宁洱县</th>" not in html
    assert "签约项目" not in html


def test_dashboard_cards_and_chart_data(client, people, data):
    login(client, "leader")
    html = client.get("/dashboards?period=2026-05").get_data(as_text=True)
    assert '<span class="kpi-value" data-kpi="signed">1</span>' in html
    assert '<span class="kpi-value" data-kpi="landed">1</span>' in html
    assert '<span class="kpi-value" data-kpi="started">1</span>' in html
    assert 'data-kpi="funds_out">1,234.5<' in html
    assert 'data-kpi="red">1<' in html and 'data-kpi="yellow">2<' in html
    assert 'id="dashboard-data"' in html and "echarts.min.js" in html
    for chart in ("chart-county", "chart-lights", "chart-month", "chart-funnel", "chart-chain", "chart-park"):
        assert f'id="{chart}"' in html
    assert "思茅工业园区" in html and "咖啡产业链" in html
    assert "export/bulletin.xlsx?period=2026-05" in html
    # ranking: 宁洱 (3 signed in the cohort: 1 landed + 1 started... landed 2 of 3) ranks first
    ranking = html[html.index('id="ranking"'):]
    assert ranking.index("宁洱县") < ranking.index("思茅区")
    assert "66.7%" in ranking


def test_county_dashboard_is_scoped_and_has_no_exports(client, people, data):
    login(client, "county")
    html = client.get("/dashboards?period=2026-05").get_data(as_text=True)
    assert "数据看板 · 思茅区" in html
    assert '<span class="kpi-value" data-kpi="signed">0</span>' in html
    assert "export/bulletin.xlsx" not in html


@pytest.mark.parametrize("path", ["/dashboards?period=2026-13", "/dashboards/export/bulletin.xlsx?period=x",
                                  "/dashboards/export/assessment.xlsx?year=20x6"])
def test_bad_periods_are_400(client, people, data, path):
    login(client, "admin")
    assert client.get(path).status_code == 400


def _workbook(response):
    from openpyxl import load_workbook

    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response.headers["Content-Disposition"]
    return load_workbook(io.BytesIO(response.data))


def test_bulletin_export_contains_the_numbers(client, people, data):
    login(client, "office")
    wb = _workbook(client.get("/dashboards/export/bulletin.xlsx?period=2026-05"))
    ws = wb["月通报"]
    assert "2026-05" in ws["A1"].value
    header = [c.value for c in ws[3]]
    rows = {r[0]: dict(zip(header, r, strict=False)) for r in ws.iter_rows(min_row=4, values_only=True)}
    assert set(rows) == {n for _, n in REGIONS} | {"全市合计"}
    ninger, simao, city = rows["宁洱县"], rows["思茅区"], rows["全市合计"]
    assert ninger["新签约项目数"] == 1 and ninger["落地项目数"] == 1 and ninger["开工项目数"] == 1
    assert ninger["协议投资额(万元)"] == 60000
    assert ninger["省外到位资金(万元)"] == 1234.5 and ninger["到位资金合计(万元)"] == 1534.5
    assert simao["红灯"] == 1 and simao["黄灯"] == 1 and simao["绿灯"] == 1
    assert simao["来访企业数"] == 2 and simao["受理投诉"] == 1 and simao["满意件数"] == 1
    assert city["新签约项目数"] == 1 and city["受理投诉"] == 2 and city["红灯"] == 1
    origins = {r[0]: r for r in wb["到位资金来源"].iter_rows(min_row=2, values_only=True)}
    assert origins["宁洱县"][1:] == (1234.5, 0.0, 300.0, 1534.5)
    assert wb["县区排名"]["B2"].value == "宁洱县"


def test_assessment_export_contains_the_scores(client, people, data):
    login(client, "leader")
    wb = _workbook(client.get("/dashboards/export/assessment.xlsx?year=2026"))
    ws = wb["年度考核"]
    header = [c.value for c in ws[3]]
    rows = [dict(zip(header, r, strict=False)) for r in ws.iter_rows(min_row=4, values_only=True)]
    assert [r["单位"] for r in rows] == ["思茅区", "宁洱县" + XSS]  # ranked by total; text kept verbatim
    assert rows[0]["排名"] == 1 and rows[0]["总分"] == 88.5 and rows[0]["等级"] == "优秀"
    assert rows[0]["加分"] == 2.0 and rows[0]["扣分"] == 0.5 and rows[0]["年终考评"] == 90.0
    assert rows[0]["landing"] == 12.0 and rows[0]["funds.rate"] == 8.5
    q = list(wb["季度考评"].iter_rows(min_row=2, values_only=True))
    assert len(q) == 1 and q[0][0] == "Q1" and q[0][1] == "思茅区"
    # another year holds only its own rows
    wb = _workbook(client.get("/dashboards/export/assessment.xlsx?year=2025"))
    assert [r[1] for r in wb["年度考核"].iter_rows(min_row=4, values_only=True)] == ["思茅区"]


def test_dashboard_opens_on_the_latest_month_with_data(client, people, data):
    """Data up to May 2026: with today in a later, still empty month the dashboard opens on 2026-05."""
    from app import clock as app_clock
    from app.services.domain.queries import period_of

    login(client, "leader")
    html = client.get("/dashboards").get_data(as_text=True)
    today = period_of(app_clock.now())
    assert today > "2026-05"
    assert "export/bulletin.xlsx?period=2026-05" in html
    assert '<span class="kpi-value" data-kpi="signed">1</span>' in html
