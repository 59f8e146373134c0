"""Scripts cannot hold the server: bounded builtins, the time and memory budget, /healthz stays fast,
and DMN expressions are checked at deploy."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from app.engine.scripting import RestrictedEnvironment, ScriptTimeout, ScriptTooBig

ROOT = Path(__file__).resolve().parents[2]

HUGE = ["sum(range(10**9))", "'x' * 10**10", "[0] * 10**8", "10 ** 10 ** 10", "pow(10, 10**9)", "1 << 10**9",
        "'x'.ljust(10**10)", "'x'.zfill(10**10)", "'%1000000000d' % 1", "','.join(['x' * 1000] * 2000)",
        "'ab'.replace('b', 'x' * 10**6)", "(2 ** 60000) * (2 ** 60000)"]


@pytest.mark.parametrize("expression", HUGE)
def test_what_a_script_may_build_is_bounded(expression):
    env = RestrictedEnvironment(timeout=2.0)
    start = time.perf_counter()
    with pytest.raises(ScriptTooBig, match="过大"):
        env.evaluate(expression, {})
    assert time.perf_counter() - start < 0.5


@pytest.mark.parametrize("expression,value", [("sum(range(1000))", 499500), ("'ab' * 3", "ababab"),
                                              ("2 ** 10", 1024), ("7 % 3", 1), ("'%s-%d' % ('a', 3)", "a-3"),
                                              ("f'{3:>4}'", "   3"), ("'a,b'.replace(',', ';')", "a;b")])
def test_ordinary_expressions_still_work(expression, value):
    assert RestrictedEnvironment().evaluate(expression, {}) == value


def test_time_and_memory_budgets_stop_the_script_however_it_spends_it():
    env = RestrictedEnvironment(timeout=1.0)
    for code, error in [("n = 0\nwhile True:\n    n += 1\n", ScriptTimeout),
                        ("t = 0\nfor i in range(10**6):\n    t += sum(range(10**6))\n", ScriptTimeout),
                        ("keep = []\nwhile True:\n    keep.append('x' * 10**6)\n", ScriptTooBig)]:
        start = time.perf_counter()
        with pytest.raises(error):
            env.execute(code, {})
        assert time.perf_counter() - start < 1.5


RUNAWAY = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="http://t">
  <bpmn:process id="runaway" name="失控脚本" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>a</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="spin" name="计算"><bpmn:incoming>a</bpmn:incoming><bpmn:outgoing>b</bpmn:outgoing>
      <bpmn:script>t = 0
for i in range(10**6):
    t += sum(range(10**6))</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="e"><bpmn:incoming>b</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="a" sourceRef="s" targetRef="spin"/>
    <bpmn:sequenceFlow id="b" sourceRef="spin" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_runaway_script_fails_within_budget_while_healthz_answers(factory, db, app, monkeypatch):
    from app.models.runtime import AuditEvent
    from app.services.definitions import deploy

    monkeypatch.setattr(db, "settings", dataclasses.replace(db.settings, script_timeout_seconds=1.5))
    with db.session_scope() as s:
        deploy.deploy_files(s, [("runaway.bpmn", RUNAWAY.encode())], "tester")
    token = factory.token("admin")
    result = {}

    def run():
        client = app.test_client()
        start = time.perf_counter()
        result["response"] = client.post("/api/v1/processes/runaway/instances", json={},
                                         headers={"Authorization": f"Bearer {token}"})
        result["seconds"] = time.perf_counter() - start

    worker = threading.Thread(target=run)
    worker.start()
    time.sleep(0.2)
    probe = app.test_client()
    slowest = 0.0
    while worker.is_alive():
        start = time.perf_counter()
        assert probe.get("/healthz").status_code == 200
        slowest = max(slowest, time.perf_counter() - start)
        time.sleep(0.05)
    worker.join()
    assert slowest < 1.0, slowest
    assert result["response"].status_code == 201 and result["seconds"] < 5
    with db.read_scope() as s:
        failed = s.scalar(select(AuditEvent).where(AuditEvent.type == "service_failed"))
    assert failed.element_id == "spin" and "超时" in failed.detail["message"]


def test_dmn_expressions_are_checked_at_deploy(factory, db):
    from app.errors import DeploymentInvalid
    from app.services.definitions import deploy

    dmn = (ROOT / "processes" / "dmn" / "capacity_rating.dmn").read_bytes()
    bad = dmn.replace(b"<text>total</text>", b"<text>__import__('os').getcwd()</text>", 1)
    assert bad != dmn
    with db.session_scope() as s, pytest.raises(DeploymentInvalid) as caught:
        deploy.deploy_files(s, [("capacity_rating.dmn", bad)], "tester")
    assert caught.value.errors[0]["file"] == "capacity_rating.dmn"
