"""Instance JSON written with orjson means what SpiffWorkflow's own encoder would have written."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest

from app.engine import statejson
from app.engine.serializer import _ENCODER_DEFAULT, SERIALIZER, _TaskId

ENCODER = SERIALIZER._encoder_cls


def standard(obj) -> str:
    return json.dumps(obj, cls=ENCODER, separators=(",", ":"))


def state(data: dict, internal: dict | None = None) -> dict:
    """The shape of a workflow's ``to_dict`` in encoder mode, with ``data`` in one task."""
    task = {"id": "t1", "parent": None, "children": [], "state": 16, "data": data, "internal_data": internal or {}}
    return {"data": {}, "correlations": {}, "tasks": {"t1": task}, "root": "t1", "subprocesses": {},
            "bpmn_events": [], "typename": "BpmnWorkflow"}


def test_registered_types_sets_callables_and_chinese_text_mean_the_same():
    data = {"项目名称": "普洱茶精深加工项目", "at": dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC),
            "nested": {"when": dt.datetime(2026, 1, 1), "wait": dt.timedelta(days=3, seconds=5)},
            "tags": {"目标"}, "fn": len, 3: "int key", "id": _TaskId("00000000-0000-0000-0000-000000000009")}
    obj = state(data)
    text = statejson.dumps(obj, _ENCODER_DEFAULT, ENCODER)
    assert json.loads(text) == json.loads(standard(obj))
    assert "普洱茶" in text  # UTF-8, not \\u escapes
    assert json.loads(text)["tasks"]["t1"]["data"]["at"] == {"typename": "datetime",
                                                             "value": "2026-03-02T09:30:00+00:00"}


@pytest.mark.parametrize("where", ["data", "delta", "internal", "subprocess", "list"])
def test_a_uuid_in_user_data_is_written_by_the_standard_encoder(where):
    ref = uuid.UUID(int=7)
    if where == "data":
        obj = state({"ref": {"deep": [ref]}})
    elif where == "delta":  # a child task's data is stored as its changes against its parent's
        obj = state({})
        obj["tasks"]["t1"]["delta"] = {"updates": {"ref": ref}, "deletions": []}
    elif where == "internal":
        obj = state({}, {"msg_payload": {"ref": ref}})
    elif where == "list":
        obj = state({"refs": [(1, ref)]})
    else:
        obj = state({})
        obj["subprocesses"] = {"s1": state({"ref": ref})}
    text = statejson.dumps(obj, _ENCODER_DEFAULT, ENCODER)
    assert text == standard(obj)
    assert '"typename":"UUID"' in text


def test_integers_past_64_bits_survive_the_round_trip():
    big = 123456789012345678901234567890
    obj = state({"big": big, "small": -(2**63)})
    text = statejson.dumps(obj, _ENCODER_DEFAULT, ENCODER)
    assert text == standard(obj)  # orjson refuses it: the whole document is the standard encoder's
    back = statejson.loads(text)["tasks"]["t1"]["data"]
    assert back == {"big": big, "small": -(2**63)} and isinstance(back["big"], int)


def test_a_long_digit_run_inside_a_string_still_reads_exactly():
    text = json.dumps({"uscc": "9153080012345678901234", "n": 1})
    assert statejson.loads(text) == {"uscc": "9153080012345678901234", "n": 1}


def test_non_finite_floats_are_written_as_null_and_old_nan_text_still_reads():
    obj = state({"x": float("nan"), "y": float("inf"), "z": 1.5})
    data = json.loads(statejson.dumps(obj, _ENCODER_DEFAULT, ENCODER))["tasks"]["t1"]["data"]
    assert data == {"x": None, "y": None, "z": 1.5}
    old = standard(obj)  # what an earlier release stored
    assert "NaN" in old
    back = statejson.loads(old)["tasks"]["t1"]["data"]
    assert back["x"] != back["x"] and back["y"] == float("inf")


def test_what_no_encoder_can_write_is_refused_as_before():
    with pytest.raises(TypeError):
        statejson.dumps(state({"d": dt.date(2026, 1, 1)}), _ENCODER_DEFAULT, ENCODER)
    with pytest.raises(TypeError):
        standard(state({"d": dt.date(2026, 1, 1)}))


def test_verify_mode_refuses_text_that_parses_differently(monkeypatch):
    monkeypatch.setattr(statejson, "VERIFY", True)
    obj = state({"a": 1})
    statejson.dumps(obj, _ENCODER_DEFAULT, ENCODER)  # the same meaning: accepted
    monkeypatch.setattr(statejson.orjson, "dumps", lambda *a, **k: b'{"a":2}')
    with pytest.raises(statejson.StateJsonMismatch):
        statejson.dumps(obj, _ENCODER_DEFAULT, ENCODER)
