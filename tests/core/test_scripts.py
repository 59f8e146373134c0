"""Scripts run restricted and within a time budget: a runaway loop becomes a failure, not a hung worker."""

import dataclasses

from sqlalchemy import select

from app.models.runtime import AuditEvent, Job
from app.services.definitions import deploy

LOOP = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="http://t">
  <bpmn:process id="runaway" name="死循环脚本" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>a</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="spin" name="计算"><bpmn:incoming>a</bpmn:incoming><bpmn:outgoing>b</bpmn:outgoing>
      <bpmn:script>n = 0
while True:
    n = n + 1</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="e"><bpmn:incoming>b</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="a" sourceRef="s" targetRef="spin"/>
    <bpmn:sequenceFlow id="b" sourceRef="spin" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_runaway_script_is_stopped_by_its_time_budget(factory, db, monkeypatch):
    monkeypatch.setattr(db, "settings", dataclasses.replace(db.settings, script_timeout_seconds=0.2))
    with db.session_scope() as s:
        deploy.deploy_files(s, [("runaway.bpmn", LOOP.encode())], "tester")
    info = factory.start("runaway", data={})
    assert info["status"] != "completed"
    with db.read_scope() as s:
        failed = s.scalar(select(AuditEvent).where(AuditEvent.type == "service_failed"))
        retry = s.scalar(select(Job).where(Job.kind == "retry"))
    assert failed.element_id == "spin" and "超时" in failed.detail["message"]
    assert retry is not None and retry.attempts == 1
