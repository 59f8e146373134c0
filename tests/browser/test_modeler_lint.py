"""In Chromium: lint errors and warnings on the modeler canvas. A diagram with a disconnected task
(error) and a gateway without a default whose branch has no label (warnings) shows a red badge on the
task and amber badges on the gateway and the branch; deleting the task makes it deployable, and the
warnings stay on the canvas after the deploy."""

from __future__ import annotations

import re

import pytest

from tests.browser.test_modeler_flow import sign_in, vendored  # noqa: F401 - fixture

pytestmark = pytest.mark.browser

DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
  xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="http://t">
  <bpmn:process id="linted" name="校验演示" isExecutable="true">
    <bpmn:startEvent id="s" name="开始"/>
    <bpmn:exclusiveGateway id="gw" name="金额?"/>
    <bpmn:manualTask id="big" name="大额"/>
    <bpmn:endEvent id="e" name="结束"/>
    <bpmn:task id="lonely" name="孤立任务"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="gw"/>
    <bpmn:sequenceFlow id="yes" sourceRef="gw" targetRef="big"><bpmn:conditionExpression>amount &gt; 10</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="no" name="小额" sourceRef="gw" targetRef="e"><bpmn:conditionExpression>amount &lt;= 10</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f2" sourceRef="big" targetRef="e"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="dd"><bpmndi:BPMNPlane id="pp" bpmnElement="linted">
    <bpmndi:BPMNShape id="s_di" bpmnElement="s"><dc:Bounds x="100" y="100" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="gw_di" bpmnElement="gw" isMarkerVisible="true"><dc:Bounds x="190" y="93" width="50" height="50"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="big_di" bpmnElement="big"><dc:Bounds x="300" y="78" width="100" height="80"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="e_di" bpmnElement="e"><dc:Bounds x="460" y="100" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="lonely_di" bpmnElement="lonely"><dc:Bounds x="300" y="260" width="100" height="80"/></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="f1_di" bpmnElement="f1"><di:waypoint x="136" y="118"/><di:waypoint x="190" y="118"/></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="yes_di" bpmnElement="yes"><di:waypoint x="240" y="118"/><di:waypoint x="300" y="118"/></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="no_di" bpmnElement="no"><di:waypoint x="215" y="143"/><di:waypoint x="215" y="200"/><di:waypoint x="478" y="200"/><di:waypoint x="478" y="136"/></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="f2_di" bpmnElement="f2"><di:waypoint x="400" y="118"/><di:waypoint x="460" y="118"/></bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


def test_lint_errors_and_warnings_show_on_the_canvas(live_server, page, screenshot, factory, vendored, tmp_path):  # noqa: F811
    path = tmp_path / "linted.bpmn"
    path.write_text(DIAGRAM, encoding="utf-8")
    sign_in(page, live_server)
    page.goto(live_server + "/admin/modeler")
    page.wait_for_selector('#modeler-canvas[data-loaded="true"]', state="attached")
    page.set_input_files("#modeler-file", str(path))
    page.wait_for_selector('#modeler-canvas[data-valid="false"]', state="attached")

    error = page.locator('.lint-badge[data-lint-element="lonely"][data-level="error"]')
    error.wait_for()
    assert "没有连接任何顺序流" in error.get_attribute("aria-label")
    assert page.locator('.djs-element.has-error[data-element-id="lonely"]').count() == 1
    gateway = page.locator('.lint-badge[data-lint-element="gw"][data-level="warning"]')
    assert "没有默认分支" in gateway.get_attribute("aria-label")
    branch = page.locator('.lint-badge[data-lint-element="yes"][data-level="warning"]')
    assert "没有标签" in branch.get_attribute("aria-label")
    assert page.locator('.lint-badge[data-lint-element="no"]').count() == 0  # labelled, with a condition
    item = page.locator('#problem-list li[data-element="lonely"][data-level="error"]')
    assert "linted.bpmn" in item.inner_text() and re.search(r"第 \d+ 行", item.inner_text())
    assert page.locator("#warning-count").inner_text() == "2"
    screenshot("modeler-lint")

    # delete the disconnected task: valid, the warnings stay
    page.evaluate("() => { const m = window.investflowModeler; m.get('modeling').removeElements("
                  "[m.get('elementRegistry').get('lonely')]); }")
    page.wait_for_selector('#modeler-canvas[data-valid="true"]', state="attached")
    assert page.locator('.lint-badge[data-level="error"]').count() == 0
    assert page.locator('.lint-badge[data-level="warning"]').count() == 2
    assert "2 条提示" in page.locator("#validation-state").inner_text()

    page.get_by_role("button", name="部署为新版本").click()
    page.get_by_label("变更说明(必填,保存在版本记录中)").fill("校验演示")
    page.get_by_role("button", name="确认部署").click()
    page.get_by_test_id("deploy-result").locator('li[data-version="1"]').wait_for()
    assert page.locator('.lint-badge[data-lint-element="gw"][data-level="warning"]').count() == 1
    assert not page.console_problems, page.console_problems
