"""In Chromium: the modeler speaks Chinese — palette, context pad and replace menu go through our
translate module — and lanes show the Chinese role name of their role key, in the modeler and in the
admin's diagram viewer, while the XML keeps the role key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.test_modeler_flow import sign_in, vendored  # noqa: F401 - fixture

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ALLKINDS = ROOT / "tests" / "fixtures" / "modeler" / "allkinds.bpmn"


def test_palette_context_pad_replace_menu_and_lanes_in_chinese(live_server, page, screenshot, factory, vendored):  # noqa: F811
    sign_in(page, live_server)
    page.goto(live_server + "/admin/modeler")
    page.wait_for_selector('#modeler-canvas[data-loaded="true"]', state="attached")
    palette = page.locator(".djs-palette")
    for title in ("创建开始事件", "创建任务", "创建网关", "创建池/参与者", "手形工具(拖动画布)"):
        assert palette.locator(f'.entry[title="{title}"]').count() == 1, title
    assert palette.locator('.entry[title="Create task"]').count() == 0

    page.set_input_files("#modeler-file", str(ALLKINDS))
    page.locator("#modeler-status", has_text="allkinds.bpmn").wait_for()
    lane = page.locator('.djs-element[data-element-id="lane_a"] .djs-visual text')
    assert "市招商委办公室" in lane.first.text_content()
    assert "县(区)投资促进局" in page.locator('.djs-element[data-element-id="lane_b"] .djs-visual text').first.text_content()

    page.locator('.djs-element[data-element-id="ut"]').click()
    pad = page.locator(".djs-context-pad")
    for title in ("追加任务", "追加网关", "追加结束事件", "更改元素类型", "删除"):
        assert pad.locator(f'.entry[title="{title}"]').count() == 1, title
    pad.locator('.entry[title="更改元素类型"]').click()
    menu = page.locator(".djs-popup")
    menu.wait_for()
    assert menu.get_by_text("服务任务", exact=True).count() == 1
    assert menu.get_by_text("脚本任务", exact=True).count() == 1
    assert menu.get_by_text("Service task", exact=True).count() == 0
    screenshot("modeler-chinese")
    page.keyboard.press("Escape")

    # the lane keeps its role key in the XML
    xml = page.evaluate("window.investflowModeler.saveXML().then(r => r.xml)")
    assert 'name="zsw_office"' in xml and "市招商委办公室" not in xml
    assert not page.console_problems, page.console_problems


def test_viewer_shows_lanes_with_chinese_role_names(live_server, page, factory, db):
    from app.services.definitions import deploy

    with db.session_scope() as s:
        deploy.deploy_files(s, deploy.read_folder(ROOT / "processes" / "exit.bpmn") +
                            [(p.name, p.read_bytes()) for p in (ROOT / "forms").glob("ex-*.json")], "tester")
    sign_in(page, live_server)
    page.goto(live_server + "/admin/processes/project_exit/versions/1")
    page.wait_for_selector('[data-loaded="true"]', state="attached")
    text = page.locator('.djs-element[data-element-id="lane_legal"] .djs-visual text').first.text_content()
    assert text == "法律顾问"
    assert not page.console_problems, page.console_problems
