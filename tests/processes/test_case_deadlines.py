"""The second red/yellow rule (cases with their own answer limit): yellow when the limit passes, red
``max(warning.case_red_min_days, ceil(limit × warning.case_red_ratio))`` days later — one handler
(``handlers/alerts.case_deadlines``), numbers in settings, used by 联办协办, 优质项目流转 and 会议交办."""

from __future__ import annotations

import datetime as dt

import pytest

from app.services.domain import settings
from handlers.alerts import case_deadlines
from tests.processes import test_joint_handling as jh
from tests.processes import test_meeting_assignments as ma
from tests.processes import test_quality_transfer as qt


@pytest.mark.parametrize(("limit", "cfg", "red"), [
    (7, None, 11), (10, None, 15), (14, None, 21), (2, None, 5), (5, None, 8),
    (7, {"warning.case_red_min_days": 5, "warning.case_red_ratio": 1.0}, 14),
    (3, {"warning.case_red_min_days": 5, "warning.case_red_ratio": 1.0}, 8),
    (10, {"warning.case_red_min_days": 0, "warning.case_red_ratio": 0.3}, 13),
])
def test_the_rule(limit, cfg, red):
    out = case_deadlines(limit, cfg)
    assert (out["yellow_days"], out["red_days"], out["yellow_after"], out["red_after"]) == (
        limit, red, f"P{limit}D", f"P{red}D")


@pytest.mark.parametrize("bad", [0, -1, 2.5, None, "七", True])
def test_a_bad_limit_is_refused(bad):
    with pytest.raises(ValueError):
        case_deadlines(bad)


def test_the_numbers_are_settings():
    assert settings.BY_KEY["warning.case_red_min_days"].default == 3
    assert settings.BY_KEY["warning.case_red_ratio"].default == 0.5


def _double(flow):
    with flow.db.session_scope() as s:
        settings.put(s, "warning.case_red_min_days", 5, "admin")
        settings.put(s, "warning.case_red_ratio", 1.0, "admin")


def _timer_days(flow, iid) -> set[int]:
    now = flow.clock.now()
    return {round((j.due_at - now) / dt.timedelta(days=1)) for j in flow.jobs(iid, kind="timer")}


def test_joint_handling_takes_its_red_deadline_from_the_rule(flow):
    _pid, before = jh.raise_issue(flow, departments=["市自然资源和规划局"])
    assert flow.data(before)["jh_deadlines"]["red_after"] == "P11D"  # 7 + max(3, ceil(7 × 0.5))
    _double(flow)
    pid, iid = jh.raise_issue(flow, departments=["市自然资源和规划局"])
    assert flow.data(iid)["jh_deadlines"]["red_after"] == "P14D"  # 7 + max(5, 7 × 1.0)
    assert flow.data(before)["jh_deadlines"]["red_after"] == "P11D"  # a running case keeps what it read
    assert {7, 14} <= _timer_days(flow, iid)
    flow.advance("P11DT1H")
    assert jh.issue_row(flow, iid).light == "yellow"  # the old rule's red day passed: still yellow
    assert jh.issue_row(flow, before).light == "red"
    flow.advance("P3D")
    assert jh.issue_row(flow, iid).light == "red"
    assert flow.task(iid, "jh_handle").warning == "red"


def test_a_transfer_offer_takes_its_red_deadline_from_the_rule(flow):
    _double(flow)
    pid, iid = qt.offer(flow)
    flow.complete(iid, "qt_propose", qt.PROPOSE)  # 14 days to answer; red after 14 + max(5, 14) = 28
    assert flow.data(iid)["qt_deadlines"]["red_after"] == "P28D"
    assert {14, 28} <= _timer_days(flow, iid)
    flow.advance("P21DT1H")  # the old rule's red day
    assert flow.task(iid, "qt_accept").warning == "yellow"
    flow.advance("P7D")
    assert flow.task(iid, "qt_accept").warning == "red"


def test_meeting_items_take_their_red_deadline_from_the_rule(flow):
    def held():
        pid = flow.project("普洱茶精深加工项目", region_code="530802")
        iid = ma.prepare(flow, "办公室会议")
        ma.hold(flow, iid, "办公室会议", [{"title": "落实茶叶项目标准厂房", "owner_unit": "思茅区投资促进局",
                                          "region_code": "530802", "due_days": 10, "project_id": pid}],
                agenda=[{"topic": "茶叶项目厂房", "source": "办公室", "project_id": pid}])
        flow.complete(iid, "ma_sign_office", ma.SIGN)
        return iid

    first = held()
    assert [a["red_within"] for a in flow.data(first)["assignments"]] == ["P15D"]  # 10 + max(3, 5)
    _double(flow)
    second = held()
    [item] = flow.data(second)["assignments"]
    assert item["red_within"] == "P20D"  # 10 + max(5, 10)
    assert item["red_date"] == (dt.datetime.fromisoformat(item["due_at"]) + dt.timedelta(days=10)).date().isoformat()
