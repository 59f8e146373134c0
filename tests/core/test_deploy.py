"""Deploy-time validation: hostile, malformed and foreign files are refused clearly; nothing is stored."""

from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.errors import DeploymentInvalid
from app.models.runtime import ProcessVersion
from app.services.definitions import deploy

FIX = Path(__file__).parent.parent / "fixtures" / "bpmn"
ONBOARDING = (FIX / "onboarding.bpmn").read_bytes()
FORMS = [(n, (FIX / n).read_bytes()) for n in ("ob-basic.json", "ob-basic-uischema.json")]


def _refused(db, files):
    with pytest.raises(DeploymentInvalid) as info:
        with db.session_scope() as s:
            deploy.deploy_files(s, files, "tester")
    with db.read_scope() as s:
        assert s.scalar(select(func.count()).select_from(ProcessVersion)) == 0
    for err in info.value.errors:
        assert err["message"] and err["file"] is not None
    return info.value.errors


def _with_script(script: str) -> bytes:
    return ONBOARDING.replace(b"score = amount_wan * 2", script.encode())


@pytest.mark.parametrize("content,needle", [
    (b"<?xml version='1.0'?><bpmn:definitions xmlns:bpmn='x'><unclosed></bpmn:definitions>", "XML"),
    (b"""<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><d>&xxe;</d>""", "DOCTYPE"),
    (b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<lolz>&lol2;</lolz>""", "DOCTYPE"),
    (b"", "empty"),
])
def test_malformed_and_hostile_xml_is_refused(db, content, needle):
    errors = _refused(db, [("bad.bpmn", content)])
    assert needle.lower() in errors[0]["message"].lower() or needle in errors[0]["message"]


def test_oversized_upload_is_refused(db):
    big = b"<a>" + b"x" * (20 * 1024 * 1024) + b"</a>"
    errors = _refused(db, [("big.bpmn", big)])
    assert "文件过大" in errors[0]["message"]


@pytest.mark.parametrize("script", [
    "import os",
    "x = __import__('os')",
    "x = ().__class__.__base__.__subclasses__()",
    "x = getattr(amount_wan, '__class__')",
    "def f(:\n  pass",
])
def test_dangerous_or_broken_scripts_are_refused(db, script):
    errors = _refused(db, [("onboarding.bpmn", _with_script(script)), *FORMS])
    assert errors[0]["element_id"] == "score"
    assert errors[0]["line"] is not None


@pytest.mark.parametrize("old,new,element,needle", [
    (b'id="test_record"', b'id="no_such_handler"', "svc_yellow", "未注册"),
    (b'"P3D"', b'"P3X"', "red1", "ISO 8601"),
    (b'"P3D"', b"P3X", "red1", "引号"),  # a bare ISO 8601 literal is taken as one (Camunda exports); P3X is none
    (b'name="county_ipb"', b'name="Sales people"', "lane_county", "泳道"),
    (b"big == True", b"big ==", "f11", "条件"),
    (b'value="ob-basic.json"', b'value="missing.json"', "ut1", "missing.json"),
])
def test_semantic_errors_name_the_element(db, old, new, element, needle):
    errors = _refused(db, [("onboarding.bpmn", ONBOARDING.replace(old, new)), *FORMS])
    assert any(e["element_id"] == element and needle in e["message"] and e["line"] for e in errors), errors


def test_invalid_form_schema_is_refused(db):
    errors = _refused(db, [("onboarding.bpmn", ONBOARDING), ("ob-basic.json", b'{"type": "object", "properties": 5}'),
                           FORMS[1]])
    assert errors[0]["file"] == "ob-basic.json"


def test_unsupported_file_type_is_refused(db):
    errors = _refused(db, [("evil.exe", b"MZ")])
    assert "不支持的文件类型" in errors[0]["message"]


def test_every_miwg_file_deploys_or_is_refused_clearly(db, miwg_dir):
    files = sorted(miwg_dir.rglob("*.bpmn"))
    assert len(files) == 42
    outcomes = {}
    for path in files:
        try:
            with db.session_scope() as s:
                deploy.deploy_files(s, [(path.name, path.read_bytes())], "interop")
            outcomes[path.name] = "deployed"
        except DeploymentInvalid as exc:
            assert exc.errors, path
            for err in exc.errors:
                assert err["file"] == path.name
                assert len(err["message"]) > 10 and not err["message"].endswith(": ")
                assert err["line"] or err["element_id"], (path, err)
            outcomes[path.name] = "refused"
    assert "deployed" in outcomes.values() and "refused" in outcomes.values()
