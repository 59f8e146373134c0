"""End to end in Chromium: a county staff member signs in, sees only their county's tasks, submits an
invalid form, reads the Chinese error by the field, fixes it (adding a repeated row with plain JS),
submits, and the next task appears for the office — not for the county."""

from __future__ import annotations

import json
import re

import pytest

pytestmark = pytest.mark.browser

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs_cr" targetNamespace="http://t">
  <bpmn:process id="county_report" name="县区项目情况报送" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="l1" name="county_ipb"><bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>fill</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="l2" name="zsw_office"><bpmn:flowNodeRef>review</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="fill" name="报送项目情况">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formJsonSchemaFilename" value="cr.json"/>
          <spiffworkflow:property name="formUiSchemaFilename" value="cr-uischema.json"/>
        </spiffworkflow:properties>
        <spiffworkflow:instructionsForEndUser>请核实 **{{ project_name }}** 的用工与联系人情况。</spiffworkflow:instructionsForEndUser>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:userTask id="review" name="市招商委办公室审核"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fill"/>
    <bpmn:sequenceFlow id="f2" sourceRef="fill" targetRef="review"/>
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
SCHEMA = {
    "title": "项目情况报送", "type": "object", "required": ["headcount", "industry", "contacts"],
    "properties": {
        "headcount": {"type": "integer", "title": "拟用工人数", "minimum": 1},
        "industry": {"type": "string", "title": "所属产业链",
                     "oneOf": [{"const": "tea", "title": "茶产业"}, {"const": "coffee", "title": "咖啡产业"}]},
        "top500": {"type": "boolean", "title": "是否500强企业"},
        "contacts": {"type": "array", "title": "联系人", "minItems": 1,
                     "items": {"type": "object", "title": "联系人", "required": ["name"],
                               "properties": {"name": {"type": "string", "title": "姓名", "minLength": 1},
                                              "phone": {"type": "string", "title": "电话"}}}},
    },
}
UI = {"ui:order": ["industry", "headcount", "top500", "contacts"], "headcount": {"ui:help": "达产后用工人数"}}


@pytest.fixture
def scenario(factory, db):
    from app.services.definitions import deploy

    files = [("cr.bpmn", BPMN.encode()), ("cr.json", json.dumps(SCHEMA, ensure_ascii=False).encode()),
             ("cr-uischema.json", json.dumps(UI, ensure_ascii=False).encode())]
    with db.session_scope() as s:
        deploy.deploy_files(s, files, "tester")
    factory.org("ximeng", "西盟县投资促进局", region_code="530829")
    factory.org("menglian", "孟连县投资促进局", region_code="530827")
    factory.org("city", "市招商委办公室")
    factory.user("xm", "county_ipb", org="ximeng")
    factory.user("off", "zsw_office", org="city")
    a = factory.start("county_report", data={"project_name": "西盟咖啡精深加工项目", "region_code": "530829",
                                             "tier": "重点", "stage": "S3_VISIT"})
    b = factory.start("county_report", data={"project_name": "孟连茶叶产业园项目", "region_code": "530827",
                                             "tier": "一般", "stage": "S1_PLAN"})
    return {"a": a["id"], "b": b["id"], "task_a": factory.open_tasks(a["id"])["fill"],
            "task_b": factory.open_tasks(b["id"])["fill"]}


def sign_in(page, base, username):
    page.goto(base + "/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill("Secret-pass-9")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r".*/inbox$"))


def sign_out(page):
    page.locator(".usermenu summary").click()
    page.get_by_role("button", name="退出").click()
    page.wait_for_url(re.compile(r".*/login$"))


def test_county_staff_flow(page, live_server, scenario, factory, screenshot):
    base = live_server
    # wrong password first: a Chinese message, no sign-in
    page.goto(base + "/")
    page.get_by_label("用户名").fill("xm")
    page.get_by_label("密码").fill("wrong")
    page.get_by_role("button", name="登录").click()
    assert "用户名或密码错误" in page.locator("#login-error").inner_text()
    screenshot("01-login-error")

    sign_in(page, base, "xm")
    rows = page.locator("tr.task-row")
    assert rows.count() == 1
    assert rows.first.get_attribute("data-region") == "530829"
    body = page.locator("main").inner_text()
    assert "西盟咖啡精深加工项目" in body and "孟连茶叶产业园项目" not in body
    assert page.get_by_test_id("total").inner_text() == "1"
    screenshot("02-inbox-county")

    # open the task; submit an invalid form
    page.get_by_role("link", name="报送项目情况").click()
    page.wait_for_url(re.compile(rf".*/tasks/{scenario['task_a']}$"))
    assert "请核实 西盟咖啡精深加工项目 的用工与联系人情况" in page.get_by_test_id("instructions").inner_text()
    page.get_by_label("拟用工人数").fill("十二")
    page.get_by_role("button", name="提交").click()
    page.wait_for_load_state()
    headcount = page.locator("#f-headcount")
    assert headcount.get_attribute("aria-invalid") == "true"
    assert headcount.input_value() == "十二"  # kept as typed
    error = page.locator("#f-headcount-error")
    assert "应为整数" in error.inner_text()
    assert "f-headcount-error" in headcount.get_attribute("aria-describedby")
    # the message sits right by its field
    assert page.locator(".field", has=headcount).locator(".field-error").inner_text() == error.inner_text()
    assert "此项为必填项" in page.locator("#f-industry-error").inner_text()
    assert "表单有" in page.locator("#form-errors").inner_text()
    screenshot("03-task-invalid")

    # fix: a valid number, a choice, one contact row added with JS
    headcount.fill("120")
    page.get_by_label("所属产业链").select_option(label="咖啡产业")
    page.get_by_label("是否500强企业").check()
    page.get_by_role("button", name="+ 添加联系人").click()
    page.locator('input[name="contacts[0][name]"]').fill("张三")
    page.locator('input[name="contacts[0][phone]"]').fill("0879-1234567")
    page.get_by_role("button", name="+ 添加联系人").click()
    page.locator('input[name="contacts[1][name]"]').fill("多余的行")
    page.locator("[data-repeat-row]").nth(1).get_by_role("button", name=re.compile("删除此条")).click()
    assert page.locator("[data-repeat-row]").count() == 1
    screenshot("04-task-fixed")
    page.get_by_role("button", name="提交").click()
    page.wait_for_url(re.compile(r".*/inbox$"))
    assert "任务已完成" in page.locator(".flashes").inner_text()
    assert page.locator("tr.task-row").count() == 0
    assert "市招商委办公室审核" not in page.locator("main").inner_text()
    screenshot("05-inbox-after-submit")

    # the next task belongs to the office
    assert list(factory.open_tasks(scenario["a"])) == ["review"]
    sign_out(page)
    sign_in(page, base, "off")
    rows = page.locator("tr.task-row")
    assert rows.count() == 1
    assert "市招商委办公室审核" in rows.first.inner_text()
    assert "西盟咖啡精深加工项目" in rows.first.inner_text()
    screenshot("06-inbox-office")

    # the submitted data were typed by the schema
    from app.models.runtime import Instance
    from app.services.runtime import instances

    with factory.db.read_scope() as s:
        data = instances.instance_data(s, s.get(Instance, scenario["a"]))
    assert data["headcount"] == 120 and data["industry"] == "coffee" and data["top500"] is True
    assert data["contacts"] == [{"name": "张三", "phone": "0879-1234567"}]
    assert not page.console_problems, page.console_problems  # no CSP violations, no JS errors


def test_claim_from_inbox_and_bell(page, live_server, scenario, factory, db, screenshot):
    from app.models.domain import Notification

    xm = factory.get_user("xm")
    with db.session_scope() as s:
        s.add(Notification(user_id=xm.id, title="西盟咖啡项目亮黄灯", level="warning", link="/inbox"))
    sign_in(page, live_server, "xm")
    assert page.get_by_test_id("unread-count").inner_text() == "1"
    page.get_by_role("button", name="认领").click()
    page.wait_for_url(re.compile(r".*/inbox$"))
    assert "已认领" in page.locator(".flashes").inner_text()
    page.locator('[data-tab="mine"]').click()
    assert page.locator("tr.task-row").count() == 1
    page.get_by_role("link", name=re.compile("通知")).click()
    assert "西盟咖啡项目亮黄灯" in page.locator("main").inner_text()
    page.get_by_role("button", name="标为已读", exact=True).click()
    assert page.get_by_test_id("unread-count").count() == 0
    screenshot("07-notifications")
    assert not page.console_problems, page.console_problems
