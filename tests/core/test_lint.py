"""Deploy-time lint (app/engine/lint.py): structural errors refuse the deploy naming file, element, line
and a Chinese message, nothing stored; warnings come back with the deploy answer; every process of
processes/ passes without errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.errors import DeploymentInvalid
from app.models.runtime import ProcessVersion
from app.services.definitions import deploy

ROOT = Path(__file__).resolve().parents[2]
HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="http://t">\n'
        '<bpmn:process id="lint" name="校验" isExecutable="true">\n')
TAIL = "</bpmn:process>\n</bpmn:definitions>\n"
FORM = ('<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="noForm" value="true"/>'
        '</spiffworkflow:properties></bpmn:extensionElements>')


def bpmn(body: str) -> bytes:
    return (HEAD + body + TAIL).encode("utf-8")


GOOD = """<bpmn:startEvent id="s"/>
<bpmn:userTask id="t" name="办理">{form}</bpmn:userTask>
<bpmn:endEvent id="e"/>
<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
"""


def refused(db, body: str) -> list[dict]:
    with pytest.raises(DeploymentInvalid) as info:
        with db.session_scope() as s:
            deploy.deploy_files(s, [("lint.bpmn", bpmn(body))], "tester")
    with db.read_scope() as s:
        assert s.scalar(select(func.count()).select_from(ProcessVersion)) == 0
    return info.value.errors


def deployed(db, body: str) -> list[dict]:
    with db.session_scope() as s:
        result = deploy.deploy_files(s, [("lint.bpmn", bpmn(body))], "tester")
    assert result[0]["created"]
    return result[0]["warnings"]


def one(errors, element_id):
    found = [e for e in errors if e["element_id"] == element_id]
    assert found, errors
    assert found[0]["file"] == "lint.bpmn" and isinstance(found[0]["line"], int) and found[0]["line"] > 3
    return found[0]["message"]


def test_a_clean_process_deploys_without_warnings(db):
    assert deployed(db, GOOD.format(form=FORM)) == []


def test_disconnected_element_is_refused(db):
    errors = refused(db, GOOD.format(form=FORM) + '<bpmn:task id="lonely" name="孤立任务"/>')
    assert "没有连接任何顺序流" in one(errors, "lonely")


def test_unreachable_element_is_refused(db):
    body = GOOD.format(form=FORM) + ('<bpmn:task id="orphan" name="无入口"/>'
                                     '<bpmn:sequenceFlow id="f3" sourceRef="orphan" targetRef="e"/>')
    assert "没有流入的顺序流" in one(refused(db, body), "orphan")


def test_no_start_and_no_end_event_are_refused(db):
    body = ('<bpmn:userTask id="t" name="办理"/><bpmn:task id="u" name="后续"/>'
            '<bpmn:sequenceFlow id="f" sourceRef="t" targetRef="u"/>')
    errors = refused(db, body)
    messages = " ".join(e["message"] for e in errors if e["element_id"] == "lint")
    assert "没有开始事件" in messages and "没有结束事件" in messages


def test_sub_process_needs_its_own_start_and_end(db):
    body = """<bpmn:startEvent id="s"/>
<bpmn:subProcess id="sub" name="子流程"><bpmn:task id="inner" name="内部"/></bpmn:subProcess>
<bpmn:endEvent id="e"/>
<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="sub"/><bpmn:sequenceFlow id="f2" sourceRef="sub" targetRef="e"/>"""
    errors = refused(db, body)
    assert "子流程 sub 没有开始事件" in one(errors, "sub")


def test_call_activity_target_must_be_in_the_bundle(db):
    body = """<bpmn:startEvent id="s"/>
<bpmn:callActivity id="call" name="调用" calledElement="nowhere"/>
<bpmn:endEvent id="e"/>
<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="call"/><bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="e"/>"""
    assert "nowhere" in one(refused(db, body), "call")


def test_warnings_gateway_default_labels_implicit_split_and_formless_task(db):
    body = """<bpmn:startEvent id="s"/>
<bpmn:userTask id="t"/>
<bpmn:exclusiveGateway id="gw"/>
<bpmn:task id="a" name="甲"/><bpmn:task id="b" name="乙"/>
<bpmn:endEvent id="e"/>
<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="gw"/>
<bpmn:sequenceFlow id="yes" sourceRef="gw" targetRef="a"><bpmn:conditionExpression>x == 1</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="no" sourceRef="gw" targetRef="b" name="否"><bpmn:conditionExpression>x != 1</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="a1" sourceRef="a" targetRef="e"/>
<bpmn:sequenceFlow id="b1" sourceRef="b" targetRef="e"/>"""
    warnings = deployed(db, body)
    by = {}
    for w in warnings:
        by.setdefault(w["element_id"], []).append(w["message"])
    assert any("没有默认分支" in m for m in by["gw"])
    assert any("没有标签" in m for m in by["yes"]) and "no" not in by
    assert any("没有表单" in m for m in by["t"]) and any("没有名称" in m for m in by["t"])


def test_implicit_split_from_a_task_is_refused_in_chinese(db):
    body = GOOD.format(form=FORM) + '<bpmn:sequenceFlow id="f3" sourceRef="t" targetRef="e"/>'
    assert "隐式分支" in one(refused(db, body), "t")


def test_no_form_property_silences_the_form_warning(db):
    assert deployed(db, GOOD.format(form="")) and deployed(db, GOOD.format(form=FORM).replace('"t"', '"t2"')
                                                         .replace("'t'", "'t2'").replace(">t<", ">t2<")) == []


def test_every_file_in_processes_deploys_without_lint_errors(db):
    with db.session_scope() as s:
        results = deploy.deploy_folder(s, ROOT / "processes", "tester", forms_dir=ROOT / "forms")
    executable = sum(p.read_text(encoding="utf-8").count('isExecutable="true"') for p in (ROOT / "processes").glob("*.bpmn"))
    assert len(results) == executable >= 15 and all(r["created"] for r in results)
    for r in results:
        for w in r["warnings"]:
            assert w["file"] and w["element_id"] and w["message"]
