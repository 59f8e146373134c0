"""In Chromium: a leader sees the 挂图作战 board with yellow and red cells, clicks through to a red
project, and the project page shows the instance diagram with completed / overdue markers and the due
overlay; the dashboards render their ECharts charts. No console errors (CSP would report them)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

VENDOR = Path(__file__).resolve().parents[2] / "app" / "static" / "vendor"
VIEWER = VENDOR / "bpmn-js" / "dist" / "bpmn-navigated-viewer.production.min.js"
ECHARTS = VENDOR / "echarts" / "dist" / "echarts.min.js"


@pytest.fixture
def vendored():
    missing = [str(p) for p in (VIEWER, ECHARTS) if not p.exists()]
    if missing:
        pytest.skip(f"vendored assets missing ({', '.join(missing)}); run `investflow assets fetch`")


@pytest.fixture
def board_data(factory, db, clock):
    from sqlalchemy import update

    from app.models.domain import Chain, FundsArrival, Project, Region, StageRecord
    from app.models.runtime import HumanTask

    now = clock.now()
    with db.session_scope() as s:
        s.add_all([Region(code="530802", name="思茅区", short_name="思茅", sort_order=1),
                   Region(code="530821", name="宁洱县", short_name="宁洱", sort_order=2),
                   Region(code="530828", name="澜沧县", short_name="澜沧", sort_order=3),
                   Chain(code="C01", name="茶产业链"), Chain(code="C02", name="咖啡产业链")])
        s.flush()
        red = Project(code="B-1", name="普洱茶精深加工园", region_code="530802", chain_code="C01", tier="重大",
                      stage="S4_NEGOTIATE", light="red", library_status="在谈", planned_investment_wan=120000,
                      commissioner_name="李专员", responsible_unit="思茅区投资促进局", signed_at=now)
        yellow = Project(code="B-2", name="咖啡烘焙中心", region_code="530821", chain_code="C02", tier="重点",
                         stage="S2_SCREEN", light="yellow", planned_investment_wan=20000)
        green = Project(code="B-3", name="澜沧古茶文旅", region_code="530828", chain_code="C01", tier="一般",
                        stage="S1_PLAN", light="green", planned_investment_wan=8000)
        s.add_all([red, yellow, green])
        s.flush()
        s.add(StageRecord(project_id=red.id, stage="S4_NEGOTIATE", limit_days=30,
                          started_at=now - dt.timedelta(days=50), planned_due=now - dt.timedelta(days=20), light="red"))
        s.add(FundsArrival(project_id=red.id, period=now.strftime("%Y-%m"), amount_wan=500.0, origin="省外"))
        ids = {"red": red.id, "yellow": yellow.id}
    factory.user("leader", "leader")
    factory.deploy_onboarding()
    inst = factory.start(data={"project_id": ids["red"], "project_name": "普洱茶精深加工园", "region_code": "530802"})
    with db.session_scope() as s:
        s.execute(update(HumanTask).where(HumanTask.instance_id == inst["id"])
                  .values(due_at=now - dt.timedelta(days=2)))
    return ids


def sign_in(page, base, username):
    page.goto(base + "/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill("Secret-pass-9")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/inbox**")


def test_leader_board_to_project_diagram(live_server, page, screenshot, board_data, vendored):
    sign_in(page, live_server, "leader")
    page.get_by_role("link", name="挂图作战").click()
    page.wait_for_url("**/board")
    red_cell = page.locator('td.board-cell.cell-red[data-region="530802"][data-stage="S4_NEGOTIATE"]')
    yellow_cell = page.locator('td.board-cell.cell-yellow[data-region="530821"][data-stage="S2_SCREEN"]')
    assert red_cell.is_visible() and yellow_cell.is_visible()
    assert page.locator("td.board-cell.cell-green").count() == 1
    # the coloured cells really are coloured (computed style from pages.css)
    red_bg = red_cell.evaluate("el => getComputedStyle(el).backgroundColor")
    yellow_bg = yellow_cell.evaluate("el => getComputedStyle(el).backgroundColor")
    assert red_bg != yellow_bg and red_bg not in ("rgba(0, 0, 0, 0)", "transparent")
    screenshot("board-leader")

    # keyboard: focus the first cell, arrow to the right, then Enter moves into the cell's link
    page.locator("td.board-cell").first.focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.dataset.stage") == "S2_SCREEN"

    red_cell.get_by_role("link").click()
    page.wait_for_url(f"**/projects/{board_data['red']}")
    assert page.get_by_role("heading", name="普洱茶精深加工园").is_visible()
    page.wait_for_selector('#bpmn-viewer[data-loaded="true"]', state="attached")
    assert page.locator(".djs-element.state-completed").count() >= 1
    overdue = page.locator('.djs-element.state-overdue[data-element-id="ut1"]')
    assert overdue.count() == 1
    assert page.locator(".due-overlay-overdue").count() == 1
    assert "环节状态" in page.locator("#viewer-status").inner_text()
    assert "超期" in page.locator(".stage-plan").inner_text()
    page.locator("#sec-diagram").scroll_into_view_if_needed()
    screenshot("project-diagram")
    assert not page.console_problems, page.console_problems


def test_leader_dashboards_render_charts(live_server, page, screenshot, board_data, vendored):
    page.emulate_media(reduced_motion="reduce")  # charts drawn without animation: a stable screenshot
    sign_in(page, live_server, "leader")
    page.goto(live_server + "/dashboards")
    page.wait_for_selector('#chart-county[data-rendered="true"]')
    for chart in ("chart-lights", "chart-month", "chart-funnel", "chart-chain"):
        assert page.locator(f"#{chart} canvas").count() >= 1
    assert page.locator('[data-kpi="red"]').inner_text() == "1"
    assert page.locator('[data-kpi="yellow"]').inner_text() == "1"
    screenshot("dashboards-leader")
    with page.expect_download() as info:
        page.get_by_test_id("export-bulletin").click()
    assert info.value.suggested_filename.startswith("bulletin-") and info.value.suggested_filename.endswith(".xlsx")
    assert not page.console_problems, page.console_problems
