"""Camunda Modeler 5 exports (tests/fixtures/camunda/, Camunda 7 and 8 / Zeebe) run: bare ISO 8601
timers, candidate groups that are role keys, an assignee, JUEL and FEEL conditions, a form key with and
without a JSON Schema — each deployed and run end to end, or refused naming the element. Plus the
MIWG summary (deployed / refused with the reason), printed."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from app.engine.camunda import Untranslatable, translate_expression
from app.errors import DeploymentInvalid, FormInvalid
from app.models.runtime import HumanTask, Instance
from app.services.definitions import deploy

CAM = Path(__file__).resolve().parents[1] / "fixtures" / "camunda"


@pytest.mark.parametrize("source,python", [
    ("${approved}", "approved"),
    ("${!approved}", "not approved"),
    ('${amount > 100 && tier == "重大"}', "amount > 100 and tier == '重大'"),
    ("#{amount le 100 || empty tier}", "amount <= 100 or (tier in (None, '', [], {}))"),
    ("${not (a eq 1) and b ne null}", "not (a == 1) and b != None"),
    ("${project.amount_wan >= 50}", "project['amount_wan'] >= 50"),
    ("=amount > 10 and approved = true", "amount > 10 and approved == True"),
    ("=not(rejected) or score >= 60.5", "not (rejected) or score >= 60.5"),
    ("${x * 2 - 1 > y % 3}", "x * 2 - 1 > y % 3"),
])
def test_juel_and_feel_translate_to_python(source, python):
    assert translate_expression(source) == python


@pytest.mark.parametrize("source", ['${execution.getVariable("x")}', "${fn(1)}", "${a ? b : c}", "${}", "${a > }",
                                    "${a < b < c}"])
def test_untranslatable_expressions_are_refused(source):
    with pytest.raises(Untranslatable):
        translate_expression(source)


def _deploy(db, *names):
    files = [(n, (CAM / n).read_bytes()) for n in names]
    with db.session_scope() as s:
        return deploy.deploy_files(s, files, "tester")


def _open(db, iid):
    with db.read_scope() as s:
        return {t.element_id: t for t in s.scalars(select(HumanTask).where(HumanTask.instance_id == iid,
                                                                           HumanTask.state == "open"))}


def _status(db, iid):
    with db.read_scope() as s:
        return s.get(Instance, iid).status


def test_approval_runs_with_candidate_groups_form_key_juel_and_assignee(db, factory, clock):
    result = _deploy(db, "approval.bpmn", "approval.json")
    assert result[0]["created"]
    factory.user("office1", "zsw_office")
    factory.user("alice", "leader")
    iid = factory.start("cam_approval", data={})["id"]
    task = _open(db, iid)["Activity_approve"]
    assert task.lane == "zsw_office" and task.form_file == "approval.json"
    # the bare PT2H boundary timer is a literal: it fires after two hours
    clock.advance("PT3H")
    factory.run_jobs()
    assert "Activity_approve" in _open(db, iid)
    # the JSON Schema of the form key is enforced
    with pytest.raises(FormInvalid):
        factory.complete(task.id, {"approved": "yes"}, username="office1")
    factory.complete(task.id, {"approved": False}, username="office1")
    rework = _open(db, iid)["Activity_rework"]
    assert rework.assignee == "alice" and rework.lane is None
    factory.complete(rework.id, {}, username="alice")
    assert _status(db, iid) == "completed"

    iid = factory.start("cam_approval", data={})["id"]
    factory.complete(_open(db, iid)["Activity_approve"].id, {"approved": True}, username="office1")
    assert _status(db, iid) == "completed"


def test_bare_timer_and_candidate_group(db, factory, clock):
    _deploy(db, "reminder.bpmn")
    iid = factory.start("cam_reminder")["id"]
    assert _open(db, iid) == {}
    clock.advance("PT1H")
    factory.run_jobs()
    assert _open(db, iid) == {}
    clock.advance("PT1H30M")
    factory.run_jobs()
    task = _open(db, iid)["Activity_check"]
    assert task.lane == "ndrc"
    factory.user("ndrc1", "ndrc")
    factory.complete(task.id, {}, username="ndrc1")
    assert _status(db, iid) == "completed"


@pytest.mark.parametrize("data,expected", [
    ({"amount": 500, "tier": "重大", "paused": False}, "Activity_major"),
    ({"amount": 500, "tier": "重大", "paused": True}, "Activity_other"),
    ({"amount": 50, "tier": "一般", "paused": False}, "Activity_minor"),
    ({"amount": 500, "tier": "", "paused": False}, "Activity_minor"),
    ({"amount": 500, "tier": "重点", "paused": False}, "Activity_other"),
])
def test_juel_conditions_route(db, factory, data, expected):
    _deploy(db, "conditions.bpmn")
    iid = factory.start("cam_conditions", data=data)["id"]
    assert set(_open(db, iid)) == {expected}


def test_form_key_without_schema_becomes_a_no_form_task_with_a_warning(db, factory):
    result = _deploy(db, "formkey.bpmn")
    warning = next(w for w in result[0]["warnings"] if w["element_id"] == "Activity_review")
    assert "review.html" in warning["message"] and "JSON Schema" in warning["message"] and warning["line"] == 7
    iid = factory.start("cam_formkey")["id"]
    task = _open(db, iid)["Activity_review"]
    assert task.form_file is None
    factory.user("office1", "zsw_office")
    factory.complete(task.id, {"note": "已复核"}, username="office1")
    assert _status(db, iid) == "completed"


def test_zeebe_export_runs(db, factory, clock):
    _deploy(db, "zeebe.bpmn")
    iid = factory.start("cam_zeebe", data={"amount": 20, "approved": True})["id"]
    assert _open(db, iid)["Activity_big"].lane == "ndrc"
    iid = factory.start("cam_zeebe", data={"amount": 20, "approved": False})["id"]
    assert _open(db, iid) == {}
    clock.advance("PT2H")
    factory.run_jobs()
    assert _status(db, iid) == "completed"


@pytest.mark.parametrize("name,element,needles", [
    ("refused_method.bpmn", "Flow_call", ['execution.getVariable("x")', "Flow_call", "无法转换"]),
    ("refused_group.bpmn", "Activity_1", ["accounting", "不是已知角色"]),
])
def test_untranslatable_exports_are_refused_naming_the_element(db, name, element, needles):
    with pytest.raises(DeploymentInvalid) as info:
        _deploy(db, name)
    err = next(e for e in info.value.errors if e["element_id"] == element)
    assert err["file"] == name and err["line"]
    for needle in needles:
        assert needle in err["message"]
    with db.read_scope() as s:
        assert s.scalars(select(Instance)).first() is None


def test_miwg_summary(db, miwg_dir, capsys):
    files = sorted(miwg_dir.rglob("*.bpmn"))
    rows = []
    for path in files:
        try:
            with db.session_scope() as s:
                deploy.deploy_files(s, [(path.name, path.read_bytes())], "interop")
            rows.append((path.relative_to(miwg_dir), "deployed", ""))
        except DeploymentInvalid as exc:
            assert exc.errors and all(e["message"] and (e["line"] or e["element_id"]) for e in exc.errors), path
            rows.append((path.relative_to(miwg_dir), "refused", exc.errors[0]["message"]))
    with capsys.disabled():
        print(f"\nMIWG: {sum(r[1] == 'deployed' for r in rows)} deployed, {sum(r[1] == 'refused' for r in rows)} "
              f"refused of {len(rows)}")
        for path, outcome, reason in rows:
            print(f"  {outcome:8} {path}  {reason[:110]}")
    assert len(rows) == 42
    for path, _outcome, reason in rows:
        if "没有可执行流程" in reason:
            assert "isExecutable" in reason, path  # the hint to mark the process executable


def test_cli_deploy_prints_warnings_and_stores_the_note(database_url, db):
    from app.models.runtime import ProcessVersion
    from tests.core.test_cli_workers import _cli

    assert _cli(database_url, "db", "upgrade").returncode == 0
    out = _cli(database_url, "deploy", str(CAM / "formkey.bpmn"), "--forms", str(CAM), "--note", "导入 Camunda 导出")
    assert out.returncode == 0, out.stderr
    assert "warning: formkey.bpmn:7 [Activity_review]" in out.stderr and "review.html" in out.stderr
    assert out.stdout.strip().splitlines()[-1] == "1"
    with db.read_scope() as s:
        assert s.query(ProcessVersion).filter_by(process_key="cam_formkey").one().change_note == "导入 Camunda 导出"
    refused = _cli(database_url, "deploy", str(CAM / "refused_group.bpmn"), "--forms", str(CAM))
    assert refused.returncode != 0 and "[Activity_1]" in refused.stderr and "accounting" in refused.stderr
