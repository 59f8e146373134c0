"""In Chromium: the process owner opens an MIWG export (bpmn.io 18.6.1) in the web modeler through the
file input, edits a label, sees the live validation error (no executable process) in the list, fixes it
in the properties panel, saves a draft, deploys, and finds the new version in /admin. A second test
edits a service task's operator to an unknown one and sees the element marked on the canvas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import MIWG

pytestmark = pytest.mark.browser

MODELER = Path(__file__).resolve().parents[2] / "app" / "static" / "vendor" / "bpmn-js" / "dist" / \
    "bpmn-modeler.production.min.js"
A10 = MIWG / "bpmn-io-18.6.1" / "A.1.0-export.bpmn"


@pytest.fixture
def vendored():
    if not MODELER.exists():
        pytest.skip(f"vendored bpmn-js modeler missing ({MODELER}); run `investflow assets fetch`")


def sign_in(page, base, username="admin"):
    page.goto(base + "/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill("Secret-pass-9")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/inbox**")


def test_open_miwg_file_edit_validate_fix_and_deploy(live_server, page, screenshot, factory, vendored):
    if not A10.exists():
        pytest.skip(f"MIWG interop file absent ({A10})")
    sign_in(page, live_server)
    page.goto(live_server + "/admin/modeler")
    page.wait_for_selector('#modeler-canvas[data-loaded="true"]', state="attached")

    page.set_input_files("#modeler-file", str(A10))
    page.locator("#modeler-status", has_text="A.1.0-export.bpmn").wait_for()
    error = page.locator('#problem-list li[data-element="Process_1"]')
    error.wait_for()
    assert "isExecutable" in error.inner_text() and "没有可执行流程" in error.inner_text()
    assert page.locator("#modeler-filename").inner_text() == "A.1.0-export.bpmn"
    screenshot("modeler-miwg-error")

    # edit a label through the properties panel
    page.locator('.djs-element[data-element-id="Activity_10i3hk7"]').click()
    assert page.get_by_label("名称").input_value() == "Task 1"
    page.get_by_label("名称").fill("任务一(已修改)")
    page.get_by_role("button", name="应用").click()
    page.locator('.djs-element[data-element-id="Activity_10i3hk7"]', has_text="任务一").wait_for()
    page.wait_for_selector('#modeler-canvas[data-valid="false"]', state="attached")
    assert page.locator('#problem-list li[data-element="Process_1"]').count() == 1

    # the error names the process: clicking it opens the process properties; make it executable
    page.locator('#problem-list li[data-element="Process_1"] button').click()
    assert "编辑流程属性" in page.locator("#props-target").inner_text()
    page.get_by_label("可执行(isExecutable)").check()
    page.get_by_role("button", name="应用").click()
    page.wait_for_selector('#modeler-canvas[data-valid="true"]', state="attached")
    assert page.locator("#problem-list li").count() == 0
    assert "校验通过" in page.locator("#validation-state").inner_text()

    # draft in the browser, keyed by process key
    page.get_by_role("button", name="保存草稿").click()
    draft = page.evaluate("localStorage.getItem('investflow.modeler.draft.Process_1')")
    assert draft and "任务一(已修改)" in json.loads(draft)["xml"]

    page.get_by_role("button", name="部署为新版本").click()
    dialog = page.locator("#deploy-dialog")
    dialog.wait_for()
    assert "首次部署" in dialog.inner_text()
    page.get_by_role("button", name="确认部署").click()  # the change note is required
    assert page.locator("#deploy-note-error").is_visible()
    page.get_by_label("变更说明(必填,保存在版本记录中)").fill("导入 MIWG A.1.0 并改名")
    page.get_by_role("button", name="确认部署").click()
    result = page.get_by_test_id("deploy-result")
    result.locator('li[data-version="1"]').wait_for()
    assert "Process_1 v1" in result.inner_text() and "已部署为新版本" in result.inner_text()
    screenshot("modeler-deployed")

    page.goto(live_server + "/admin")
    row = page.locator('tr[data-process="Process_1"]')
    assert row.count() == 1 and "v1" in row.inner_text() and "admin" in row.inner_text()
    page.goto(live_server + "/admin/processes/Process_1")
    assert "导入 MIWG A.1.0 并改名" in page.locator('#version-list tr[data-version="1"]').inner_text()
    diagram = page.evaluate("fetch('/admin/processes/Process_1/versions/1/diagram.json').then(r => r.json())")
    assert "任务一(已修改)" in diagram["xml"] and 'isExecutable="true"' in diagram["xml"]
    assert not page.console_problems, page.console_problems


def test_unknown_operator_is_marked_on_the_canvas_then_fixed(live_server, page, screenshot, factory, vendored):
    factory.deploy_onboarding()
    sign_in(page, live_server)
    page.goto(live_server + "/admin/modeler?key=onboarding")
    page.wait_for_selector('#modeler-canvas[data-valid="true"]', state="attached")
    assert "onboarding" in page.locator("#modeler-title").inner_text()

    page.locator('.djs-element[data-element-id="svc_yellow"]').click()
    operator = page.get_by_label("服务处理器(serviceTaskOperator id)")
    assert operator.input_value() == "test_record"
    operator.fill("no_such_op")
    page.get_by_role("button", name="应用").click()
    page.locator('#problem-list li[data-element="svc_yellow"]').wait_for()
    assert "no_such_op" in page.locator("#problem-list").inner_text()
    assert page.locator('.djs-element.has-error[data-element-id="svc_yellow"]').count() == 1
    screenshot("modeler-marker")

    # the problem in the list selects its element
    page.locator('#problem-list li[data-element="svc_yellow"] button').click()
    assert "黄灯提醒" in page.locator("#props-target").inner_text()
    page.get_by_label("服务处理器(serviceTaskOperator id)").fill("test_record")
    page.get_by_role("button", name="应用").click()
    page.wait_for_selector('#modeler-canvas[data-valid="true"]', state="attached")
    assert page.locator(".djs-element.has-error").count() == 0

    # the form property of a user task round-trips through the spiffworkflow moddle descriptor
    page.locator('.djs-element[data-element-id="ut2"]').click()
    page.get_by_label("表单文件(formJsonSchemaFilename)").fill("ob-basic.json")
    page.get_by_role("button", name="应用").click()
    page.wait_for_selector('#modeler-canvas[data-valid="true"]', state="attached")
    with page.expect_download() as info:
        page.get_by_role("button", name="下载 .bpmn").click()
    text = Path(info.value.path()).read_text(encoding="utf-8")
    assert info.value.suggested_filename == "onboarding.bpmn"
    assert 'serviceTaskOperator id="test_record"' in text
    ut2 = text[text.index('id="ut2"'):]
    assert 'name="formJsonSchemaFilename" value="ob-basic.json"' in ut2[:ut2.index("</bpmn:userTask>")]
    assert not page.console_problems, page.console_problems


def test_bulk_migration_dry_run_then_chunks_with_progress(live_server, page, screenshot, factory, db):
    from app.services.definitions import deploy
    from tests.conftest import FIXTURES

    factory.deploy_onboarding()
    started = [factory.start(version=1)["id"] for _ in range(12)]
    v2 = (FIXTURES / "bpmn" / "onboarding.bpmn").read_bytes().replace('name="复审"'.encode(), 'name="复审2"'.encode())
    forms = [(n, (FIXTURES / "bpmn" / n).read_bytes()) for n in ("ob-basic.json", "ob-basic-uischema.json")]
    with db.session_scope() as s:
        deploy.deploy_files(s, [("onboarding.bpmn", v2), *forms], "tester")
    sign_in(page, live_server)
    page.goto(live_server + "/admin/migrations")
    page.get_by_label("流程", exact=True).select_option("onboarding")
    page.get_by_label("源版本").fill("1")
    page.get_by_label("目标版本").fill("2")
    execute = page.get_by_role("button", name="执行迁移")
    assert execute.is_disabled()
    page.get_by_role("button", name="试运行").click()
    page.locator("#bulk-summary", has_text="可迁移 12").wait_for()
    assert page.locator("#bulk-result tbody tr").count() == 12
    assert execute.is_enabled()
    page.on("dialog", lambda dialog: dialog.accept())
    execute.click()
    page.locator("#bulk-progress-text", has_text="完成:12 / 12").wait_for()
    assert page.locator("#bulk-progress").evaluate("el => el.value") == 12
    assert "已迁移 12" in page.locator("#bulk-summary").inner_text()
    screenshot("bulk-migration")
    from app.models.runtime import Instance, ProcessVersion

    with db.read_scope() as s:
        target = s.query(ProcessVersion).filter_by(process_key="onboarding", version=2).one()
        assert {s.get(Instance, i).version_id for i in started} == {target.id}
    assert not page.console_problems, page.console_problems
