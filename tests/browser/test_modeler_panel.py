"""In Chromium: the modeler's side panel keeps every field it shows. A diagram holding one element of
each kind (lanes in a pool, user / service / script / business-rule tasks, a gateway with branches, a
call activity, a timer and a message catch event) is opened through the file input; every field of
every element is filled and applied with one press of 应用 each; the exported XML must carry all of
it. One Ctrl+Z undoes one whole 应用 (one command on the command stack)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from tests.browser.test_modeler_flow import sign_in, vendored  # noqa: F401 - fixture

pytestmark = pytest.mark.browser

ALLKINDS = Path(__file__).resolve().parents[1] / "fixtures" / "modeler" / "allkinds.bpmn"
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}


def select(page, element_id):
    page.evaluate("id => { const m = window.investflowModeler; const el = m.get('elementRegistry').get(id);"
                  " m.get('selection').select(el); }", element_id)


def apply(page):
    page.get_by_role("button", name="应用").click()
    page.locator("#modeler-status", has_text="已应用").wait_for()


def exported(page):
    xml = page.evaluate("window.investflowModeler.saveXML({format: true}).then(r => r.xml)")
    return etree.fromstring(xml.encode("utf-8"))


def el(root, element_id):
    found = root.xpath("//*[@id=$i]", i=element_id)
    assert found, f"{element_id} missing from the exported XML"
    return found[0]


def prop(node, name):
    found = node.xpath("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property[@name=$n]/@value",
                       namespaces=NS, n=name)
    return found[0] if found else None


def test_every_field_on_every_element_kind_is_kept(live_server, page, screenshot, factory, vendored):  # noqa: F811
    sign_in(page, live_server)
    page.goto(live_server + "/admin/modeler")
    page.wait_for_selector('#modeler-canvas[data-loaded="true"]', state="attached")
    page.set_input_files("#modeler-file", str(ALLKINDS))
    page.locator("#modeler-status", has_text="allkinds.bpmn").wait_for()

    # the user task: the four fields of the bug report in one 应用, plus documentation
    select(page, "ut")
    page.get_by_label("名称").fill("登记项目")
    page.get_by_label("表单文件(formJsonSchemaFilename)").fill("reg.json")
    page.get_by_label("表单界面文件(formUiSchemaFilename)").fill("reg-uischema.json")
    page.get_by_label("办理说明(instructionsForEndUser)").fill("请核对 {{ project_name }}")
    page.get_by_label("文档(documentation)").fill("登记说明文档")
    apply(page)
    root = exported(page)
    ut = el(root, "ut")
    assert ut.get("name") == "登记项目"
    assert prop(ut, "formJsonSchemaFilename") == "reg.json"
    assert prop(ut, "formUiSchemaFilename") == "reg-uischema.json"
    assert ut.findtext("bpmn:extensionElements/spiffworkflow:instructionsForEndUser", namespaces=NS) == \
        "请核对 {{ project_name }}"
    assert ut.findtext("bpmn:documentation", namespaces=NS) == "登记说明文档"

    # one Ctrl+Z undoes the whole 应用, Ctrl+Y redoes it
    page.locator("#modeler-canvas").focus()
    page.keyboard.press("Control+z")
    ut = el(exported(page), "ut")
    assert ut.get("name") == "登记" and prop(ut, "formJsonSchemaFilename") is None
    assert ut.find("bpmn:documentation", NS) is None
    page.keyboard.press("Control+y")
    ut = el(exported(page), "ut")
    assert ut.get("name") == "登记项目" and prop(ut, "formUiSchemaFilename") == "reg-uischema.json"

    # an apply that changes nothing leaves no empty step behind: Ctrl+Z still undoes the real edit
    page.get_by_role("button", name="应用").click()
    page.locator("#modeler-status", has_text="属性没有变化").wait_for()
    page.locator("#modeler-canvas").focus()
    page.keyboard.press("Control+z")
    assert el(exported(page), "ut").get("name") == "登记"
    page.keyboard.press("Control+y")
    assert el(exported(page), "ut").get("name") == "登记项目"

    # the panel shows what is stored when the element is selected again
    select(page, "svc")
    select(page, "ut")
    assert page.get_by_label("表单文件(formJsonSchemaFilename)").input_value() == "reg.json"
    assert page.get_by_label("办理说明(instructionsForEndUser)").input_value() == "请核对 {{ project_name }}"

    select(page, "svc")
    page.get_by_label("ID", exact=True).fill("svc_notify")
    page.get_by_label("名称").fill("发送通知")
    page.get_by_label("服务处理器(serviceTaskOperator id)").fill("test_record")
    page.get_by_label("结果变量(resultVariable)").fill("notify_result")
    page.get_by_label("参数(每行一个:参数名 = 表达式)").fill("level = 'yellow'\nproject_name = project_name")
    apply(page)

    select(page, "script")
    page.get_by_label("脚本(Python,无 import)").fill("score = 2\nbig = score > 1")
    page.get_by_label("名称").fill("计算得分")
    apply(page)

    select(page, "brt")
    page.get_by_label("决策表 ID(calledDecisionId)").fill("tier_classification")
    apply(page)

    select(page, "f_yes")
    page.get_by_label("名称").fill("通过")
    page.get_by_label("条件表达式").fill("big == True")
    apply(page)

    select(page, "call")
    page.get_by_label("被调用流程(calledElement)").fill("library")
    apply(page)

    select(page, "wait")
    page.get_by_label("定时器类型").select_option("timeDate")
    page.get_by_label('定时器表达式(加引号,如 "P30D")').fill('"2027-01-01T09:00:00+08:00"')
    apply(page)

    select(page, "msg")
    page.get_by_label("消息名(message)").fill("reply_received")
    page.get_by_label("名称").fill("收到企业回复")
    apply(page)

    select(page, "lane_b")
    role = page.get_by_label("角色(泳道)")
    assert role.input_value() == "county_ipb"
    role.select_option("ndrc")
    apply(page)

    select(page, "pool")
    page.get_by_label("名称").fill("全部元素(改)")
    page.get_by_label("文档(documentation)").fill("流程说明")
    page.get_by_label("可执行(isExecutable)").uncheck()
    apply(page)
    screenshot("modeler-panel-all-fields")

    root = exported(page)
    assert root.xpath("//*[@id='svc']") == []
    svc = el(root, "svc_notify")
    assert svc.get("name") == "发送通知"
    op = svc.find("bpmn:extensionElements/spiffworkflow:serviceTaskOperator", NS)
    assert op.get("id") == "test_record" and op.get("resultVariable") == "notify_result"
    params = [(p.get("id"), p.get("type"), p.get("value")) for p in op.iterfind(".//spiffworkflow:parameter", NS)]
    assert params == [("level", "any", "'yellow'"), ("project_name", "any", "project_name")]
    assert root.xpath("//bpmn:sequenceFlow[@sourceRef='svc_notify']", namespaces=NS)
    script = el(root, "script")
    assert script.findtext("bpmn:script", namespaces=NS) == "score = 2\nbig = score > 1" and script.get("name") == "计算得分"
    assert el(root, "brt").findtext("bpmn:extensionElements/spiffworkflow:calledDecisionId", namespaces=NS) == \
        "tier_classification"
    flow = el(root, "f_yes")
    assert flow.get("name") == "通过" and flow.findtext("bpmn:conditionExpression", namespaces=NS) == "big == True"
    assert el(root, "call").get("calledElement") == "library"
    timer = el(root, "wait").find("bpmn:timerEventDefinition", NS)
    assert timer.find("bpmn:timeDuration", NS) is None
    assert timer.findtext("bpmn:timeDate", namespaces=NS) == '"2027-01-01T09:00:00+08:00"'
    msg = el(root, "msg")
    ref = msg.find("bpmn:messageEventDefinition", NS).get("messageRef")
    assert ref and el(root, ref).get("name") == "reply_received" and msg.get("name") == "收到企业回复"
    assert el(root, "lane_b").get("name") == "ndrc" and el(root, "lane_a").get("name") == "zsw_office"
    assert el(root, "pool").get("name") == "全部元素(改)"
    process = el(root, "allkinds")
    assert process.get("isExecutable") == "false"
    assert root.xpath("//bpmn:participant[@id='pool']/bpmn:documentation/text()", namespaces=NS) == ["流程说明"]
    # earlier edits survive later ones
    assert prop(el(root, "ut"), "formJsonSchemaFilename") == "reg.json"
    assert not page.console_problems, page.console_problems
