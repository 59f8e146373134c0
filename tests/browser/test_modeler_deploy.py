"""In Chromium: deploy with care — the modeler's deploy dialog shows the diff against the latest
version and needs a change note, which the versions list then shows — and the visual diff page
colours added / removed / changed elements in both versions' diagrams, unchanged files collapsed."""

from __future__ import annotations

import pytest

from tests.browser.test_modeler_flow import sign_in, vendored  # noqa: F401 - fixture
from tests.conftest import FIXTURES

pytestmark = pytest.mark.browser

ONBOARDING = (FIXTURES / "bpmn" / "onboarding.bpmn").read_bytes()
FORMS = [(n, (FIXTURES / "bpmn" / n).read_bytes()) for n in ("ob-basic.json", "ob-basic-uischema.json")]


def test_deploy_dialog_shows_the_diff_and_needs_a_note(live_server, page, screenshot, factory, vendored):  # noqa: F811
    factory.deploy_onboarding()
    sign_in(page, live_server)
    page.goto(live_server + "/admin/modeler?key=onboarding")
    page.wait_for_selector('#modeler-canvas[data-valid="true"]', state="attached")
    page.evaluate("() => { const m = window.investflowModeler; m.get('selection').select("
                  "m.get('elementRegistry').get('ut5')); }")
    page.get_by_label("名称").fill("复审(网页)")
    page.get_by_role("button", name="应用").click()
    page.wait_for_selector('#modeler-canvas[data-valid="true"]', state="attached")

    page.get_by_role("button", name="部署为新版本").click()
    dialog = page.locator("#deploy-dialog")
    dialog.wait_for()
    diff = page.get_by_test_id("deploy-diff")
    assert "相对 v1" in diff.inner_text()
    assert diff.locator('[data-status="changed"]').inner_text() == "修改 1"
    item = diff.locator('li[data-element="ut5"]')
    assert "复审(网页)" in item.inner_text() and "修改" in item.inner_text()
    screenshot("modeler-deploy-dialog")

    # cancel deploys nothing
    page.get_by_role("button", name="取消").click()
    assert not dialog.is_visible()
    page.goto(live_server + "/admin/processes/onboarding")
    assert page.locator('#version-list tr[data-version="2"]').count() == 0

    page.goto(live_server + "/admin/modeler?key=onboarding")
    page.wait_for_selector('#modeler-canvas[data-valid="true"]', state="attached")
    page.evaluate("() => { const m = window.investflowModeler; m.get('selection').select("
                  "m.get('elementRegistry').get('ut5')); }")
    page.get_by_label("名称").fill("复审(网页)")
    page.get_by_role("button", name="应用").click()
    page.wait_for_selector('#modeler-canvas[data-valid="true"]', state="attached")
    page.get_by_role("button", name="部署为新版本").click()
    page.get_by_label("变更说明(必填,保存在版本记录中)").fill("复审环节改名")
    page.get_by_role("button", name="确认部署").click()
    page.get_by_test_id("deploy-result").locator('li[data-version="2"]').wait_for()
    page.goto(live_server + "/admin/processes/onboarding")
    assert "复审环节改名" in page.locator('#version-list tr[data-version="2"] .change-note').inner_text()
    assert page.locator('#version-list tr[data-version="1"] .change-note').inner_text() == "—"
    assert not page.console_problems, page.console_problems


def test_visual_diff_colours_both_diagrams_and_collapses_unchanged_files(live_server, page, screenshot, factory,
                                                                         db, vendored):  # noqa: F811
    from app.services.definitions import deploy

    factory.deploy_onboarding()
    v2 = (ONBOARDING.replace('name="初审"'.encode(), 'name="初审(修订)"'.encode())
          .replace(b'<bpmn:endEvent id="end_red">', '<bpmn:endEvent id="end_red2" name="红灯结束">'.encode())
          .replace(b'targetRef="end_red"', b'targetRef="end_red2"'))
    with db.session_scope() as s:
        deploy.deploy_files(s, [("onboarding.bpmn", v2), *FORMS], "alice")
    sign_in(page, live_server)
    page.goto(live_server + "/admin/processes/onboarding/diff?a=1&b=2")
    old, new = page.get_by_test_id("diff-viewer-a"), page.get_by_test_id("diff-viewer-b")
    page.wait_for_selector('#diff-viewer-a[data-loaded="true"]', state="attached")
    page.wait_for_selector('#diff-viewer-b[data-loaded="true"]', state="attached")
    assert new.locator('.djs-element.diff-mark-added[data-element-id="end_red2"]').count() == 1
    assert old.locator('.djs-element.diff-mark-removed[data-element-id="end_red"]').count() == 1
    assert new.locator('.djs-element.diff-mark-changed[data-element-id="ut2"]').count() == 1
    assert old.locator('.djs-element.diff-mark-changed[data-element-id="ut2"]').count() == 1
    assert old.locator('[data-element-id="end_red2"]').count() == 0
    assert new.locator('.djs-element[data-element-id="ut1"]').get_attribute("class").count("diff-mark") == 0
    assert "新增 1" in page.locator("#diff-viewer-status").inner_text()

    unchanged = page.get_by_test_id("unchanged-files")
    assert unchanged.get_attribute("open") is None
    assert "ob-basic.json" in unchanged.locator("summary").inner_text()
    assert not unchanged.locator('[data-file="ob-basic.json"]').is_visible()
    # the changed diagram comes first, before any unchanged file
    first = page.locator("section.diff-file").first
    assert first.get_attribute("data-file") == "onboarding.bpmn"
    screenshot("visual-diff")
    unchanged.locator("summary").click()
    assert unchanged.locator('[data-file="ob-basic.json"]').is_visible()
    assert not page.console_problems, page.console_problems
