"""In Chromium: the form editor — a field added to a user task's form (title, required, pattern, help),
previewed by the task page's renderer, deployed as a new version with a change note — appears on the
next instance's task, not on the running one's; the server then enforces it."""

from __future__ import annotations

import pytest

from tests.browser.test_modeler_flow import sign_in

pytestmark = pytest.mark.browser


def test_a_field_added_in_the_form_editor_appears_on_the_next_task(live_server, page, screenshot, factory, db):
    from app.errors import FormInvalid

    factory.deploy_onboarding()
    old = factory.start()["id"]
    sign_in(page, live_server)
    page.goto(live_server + "/admin/modeler/forms")
    page.get_by_label("表单文件").select_option(label="ob-basic.json — 测试入库流程(onboarding v1)")
    page.get_by_role("button", name="打开").click()
    preview = page.get_by_test_id("form-preview")
    page.wait_for_selector('#form-preview[data-state="ready"]', state="attached")
    assert "项目名称" in preview.inner_text() and "单位:万元" in preview.inner_text()
    rows = page.locator("#field-list fieldset")
    assert rows.count() == 4
    assert rows.first.get_attribute("data-field") == "project_name"

    page.get_by_role("button", name="添加字段").click()
    row = rows.nth(4)
    row.get_by_label("字段键").fill("contact_phone")
    row = page.locator('#field-list fieldset[data-field="contact_phone"]')
    row.get_by_label("标题").fill("联系电话")
    row.get_by_label("必填", exact=True).check()
    row.get_by_label("格式(正则 pattern)").fill(r"^1\d{10}$")
    row.get_by_label("帮助文字").fill("11 位手机号")
    preview.get_by_text("11 位手机号").wait_for()
    page.wait_for_selector('#form-preview[data-state="ready"]', state="attached")
    assert "联系电话" in preview.inner_text()
    # a bad pattern is caught before anything is sent
    row.get_by_label("格式(正则 pattern)").fill("^(1")
    page.get_by_test_id("form-problems").get_by_text("正则").wait_for()
    row.get_by_label("格式(正则 pattern)").fill(r"^1\d{10}$")
    page.wait_for_selector('#form-preview[data-state="ready"]', state="attached")
    screenshot("form-editor")

    page.get_by_label("变更说明(必填)").fill("增加联系电话")
    page.get_by_role("button", name="部署为新版本").click()
    page.get_by_test_id("form-deploy-result").locator('[data-version="2"][data-process="onboarding"]').wait_for()

    new = factory.start()["id"]
    new_task = factory.open_tasks(new)["ut1"]
    page.goto(f"{live_server}/tasks/{new_task}")
    assert page.get_by_label("联系电话").count() == 1
    assert "11 位手机号" in page.locator("main").inner_text()
    page.goto(f"{live_server}/tasks/{factory.open_tasks(old)['ut1']}")
    assert page.get_by_label("联系电话").count() == 0
    with pytest.raises(FormInvalid):
        factory.complete(new_task, {"project_name": "甲", "amount_wan": 10, "contact_phone": "123"})
    factory.complete(new_task, {"project_name": "甲", "amount_wan": 10, "contact_phone": "13800000000"})
    assert not page.console_problems, page.console_problems
