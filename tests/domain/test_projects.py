"""Project operators against a real SQLite file."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from app.models.domain import Agreement, Project, StageRecord, TimelineEvent


def events(db, project_id, kind=None):
    stmt = select(TimelineEvent).where(TimelineEvent.project_id == project_id).order_by(TimelineEvent.id)
    if kind:
        stmt = stmt.where(TimelineEvent.kind == kind)
    return list(db.scalars(stmt))


def test_all_operator_names_registered(ops):
    expected = {"project_snapshot", "project_set_stage", "project_set_light", "project_set_status", "project_update",
                "project_record", "agreement_register", "notify", "send_message", "start_process", "bulletin_kpis",
                "report_save", "assessment_save", "visit_register", "visit_route", "complaint_register",
                "complaint_close", "capacity_record"}
    assert expected <= set(ops)


def test_snapshot_fields_and_investor_flags(ops, ctx, seed):
    snap = ops["project_snapshot"](ctx, project_id=seed["p1"].id)
    json.dumps(snap)  # JSON-serialisable
    assert snap["code"] == "P-02" and snap["region_code"] == "530821" and snap["tier"] == "重大"
    assert snap["stage"] == "S1_PLAN" and snap["library_status"] == "待招商" and snap["light"] == "green"
    assert snap["status"] == "active" and snap["planned_investment_wan"] == 150000
    assert snap["enterprise_name"] == "云岭茗源茶业集团有限公司"
    assert snap["investor_top500"] is True and snap["is_chain_leader"] is False
    snap2 = ops["project_snapshot"](ctx, project_id=str(seed["p2"].id))  # ids from forms may be text
    assert snap2["investor_top500"] is False and snap2["is_chain_leader"] is True


def test_unknown_project_raises(ops, ctx, seed):
    for name, kw in [("project_snapshot", {}), ("project_set_stage", {"stage": "S2_SCREEN"}),
                     ("project_set_light", {"light": "red"}), ("project_set_status", {"status": "sealed"}),
                     ("project_update", {"values": {"tier": "一般"}}),
                     ("project_record", {"kind": "note", "title": "x"}),
                     ("agreement_register", {"agreement": {}})]:
        with pytest.raises(ValueError, match="项目不存在 / project 999 not found"):
            ops[name](ctx, project_id=999, **kw)


@pytest.mark.parametrize("stage,library", [
    ("S1_PLAN", "待招商"), ("S2_SCREEN", "待招商"), ("S3_VISIT", "在谈"), ("S4_NEGOTIATE", "在谈"),
    ("S5_SIGN", "在谈"), ("S6_LAND", "签约"), ("S7_START", "落地"), ("DONE", "开工")])
def test_stage_library_status_mapping(ops, ctx, db, seed, stage, library):
    out = ops["project_set_stage"](ctx, project_id=seed["p1"].id, stage=stage, limit_days=30)
    assert out == {"stage": stage, "library_status": library}
    db.expire_all()
    assert db.get(Project, seed["p1"].id).library_status == library


def test_stage_records_open_close_and_dates(now, ops, ctx, make_ctx, db, seed):
    pid = seed["p1"].id
    ops["project_set_light"](ctx, project_id=pid, light="yellow")
    ops["project_set_stage"](ctx, project_id=pid, stage="S5_SIGN", limit_days=30)
    later = make_ctx(now + dt.timedelta(days=10))
    ops["project_set_stage"](later, project_id=pid, stage="S6_LAND", limit_days=180)
    recs = list(db.scalars(select(StageRecord).where(StageRecord.project_id == pid).order_by(StageRecord.id)))
    assert [r.stage for r in recs] == ["S5_SIGN", "S6_LAND"]
    assert recs[0].completed_at == now + dt.timedelta(days=10)
    assert recs[0].planned_due == now + dt.timedelta(days=30) and recs[0].limit_days == 30
    assert recs[1].completed_at is None and recs[1].planned_due == now + dt.timedelta(days=190)
    p = db.get(Project, pid)
    assert p.light == "green" and p.signed_at == now + dt.timedelta(days=10) and p.landed_at is None
    ops["project_set_stage"](later, project_id=pid, stage="S7_START")
    ops["project_set_stage"](later, project_id=pid, stage="DONE")
    recs = list(db.scalars(select(StageRecord).where(StageRecord.project_id == pid)))
    assert len(recs) == 3 and all(r.completed_at is not None for r in recs)
    assert recs[2].planned_due is None  # no limit given
    assert p.started_at == later.now and p.landed_at == later.now
    stage_events = events(db, pid, "stage")
    assert [e.detail["to"] for e in stage_events] == ["S5_SIGN", "S6_LAND", "S7_START", "DONE"]
    assert stage_events[-1].title == "项目开工"


def test_unknown_stage_rejected(ops, ctx, seed):
    with pytest.raises(ValueError, match="unknown stage 'S9'"):
        ops["project_set_stage"](ctx, project_id=seed["p1"].id, stage="S9")


def test_light_change_writes_timeline(now, ops, ctx, db, seed):
    pid = seed["p1"].id
    ops["project_set_stage"](ctx, project_id=pid, stage="S6_LAND", limit_days=180)
    assert ops["project_set_light"](ctx, project_id=pid, light="yellow", reason="超期") == {"light": "yellow",
                                                                                           "changed": True}
    assert ops["project_set_light"](ctx, project_id=pid, light="red")["changed"] is True
    assert ops["project_set_light"](ctx, project_id=pid, light="red")["changed"] is False  # no duplicate event
    ops["project_set_light"](ctx, project_id=pid, light="green")
    light_events = events(db, pid, "light")
    assert [e.title for e in light_events] == ["亮黄灯", "亮红灯", "恢复正常"]
    first = light_events[0]
    assert first.detail == {"from": "green", "to": "yellow", "stage": "S6_LAND", "reason": "超期"}
    assert (first.actor, first.instance_id, first.element_id, first.at) == ("tester", 7, "Task_1", now)
    assert db.get(Project, pid).current_stage_record.light == "green"
    with pytest.raises(ValueError, match="unknown light"):
        ops["project_set_light"](ctx, project_id=pid, light="purple")


def test_light_sets_current_stage_record(ops, ctx, db, seed):
    pid = seed["p2"].id
    ops["project_set_stage"](ctx, project_id=pid, stage="S3_VISIT", limit_days=60)
    ops["project_set_light"](ctx, project_id=pid, light="red")
    rec = db.scalars(select(StageRecord).where(StageRecord.project_id == pid)).one()
    assert rec.light == "red" and db.get(Project, pid).light == "red"


@pytest.mark.parametrize("status,library", [("sealed", "封存"), ("exited", "已退出"), ("terminated", "终止")])
def test_status_library_mapping(ops, ctx, db, seed, status, library):
    pid = seed["p1"].id
    ops["project_set_stage"](ctx, project_id=pid, stage="S4_NEGOTIATE", limit_days=90)
    assert ops["project_set_status"](ctx, project_id=pid, status=status) == {"status": status,
                                                                            "library_status": library}
    # a stage change while not active keeps the status' library label
    assert ops["project_set_stage"](ctx, project_id=pid, stage="S5_SIGN")["library_status"] == library
    # re-activated: derived from the stage again
    assert ops["project_set_status"](ctx, project_id=pid, status="active")["library_status"] == "在谈"
    assert [e.title for e in events(db, pid, "status")][0] in ("项目封存", "项目退出", "项目终止")
    with pytest.raises(ValueError, match="unknown status"):
        ops["project_set_status"](ctx, project_id=pid, status="paused")


def test_project_update_whitelist(ops, ctx, db, seed):
    pid = seed["p2"].id
    out = ops["project_update"](ctx, project_id=pid, values={
        "tier": "重大", "supervisor_role": "committee_deputy", "supervisor_name": "副市长A",
        "factor_units": ["nrp", "eco"], "planned_investment_wan": "120000", "designated_major": 1})
    assert out["tier"] == "重大" and out["planned_investment_wan"] == 120000.0 and out["designated_major"] is True
    p = db.get(Project, pid)
    assert p.factor_units == ["nrp", "eco"] and p.supervisor_name == "副市长A"
    ev = events(db, pid, "update")
    assert len(ev) == 1 and ev[0].detail["tier"] == {"from": "重点", "to": "重大"}
    with pytest.raises(ValueError, match="fields not updatable: name, stage"):
        ops["project_update"](ctx, project_id=pid, values={"name": "x", "stage": "S7_START", "tier": "一般"})
    assert p.tier == "重大"  # nothing applied
    with pytest.raises(ValueError, match="invalid tier"):
        ops["project_update"](ctx, project_id=pid, values={"tier": "特大"})


def test_project_record(ops, ctx, db, seed):
    out = ops["project_record"](ctx, project_id=seed["p1"].id, kind="service", title="开展上门服务",
                                detail={"participants": ["张三"]})
    ev = db.get(TimelineEvent, out["id"])
    assert ev.kind == "service" and ev.title == "开展上门服务" and ev.detail == {"participants": ["张三"]}


def test_agreement_register(ops, ctx, db, seed):
    pid = seed["p1"].id
    out = ops["agreement_register"](ctx, project_id=pid, agreement={
        "sign_date": "2026-05-10", "agreed_investment_wan": 150000, "exit_clause": "第十二条", "bond_wan": "500",
        "milestones": [{"name": "开工", "due_date": "2026-11-10"}, {"name": "注册", "due_date": "2026-06-09"}]})
    db.expire_all()  # reload: milestones come ordered by due date
    ag = db.get(Agreement, out["agreement_id"])
    assert ag.sign_date == dt.date(2026, 5, 10) and ag.kind == "投资协议" and ag.bond_wan == 500.0
    assert [(m.name, m.due_date) for m in ag.milestones] == [("注册", dt.date(2026, 6, 9)),
                                                              ("开工", dt.date(2026, 11, 10))]
    ev = events(db, pid, "agreement")
    assert len(ev) == 1 and ev[0].detail["agreement_id"] == ag.id
    with pytest.raises(ValueError, match="invalid date"):
        ops["agreement_register"](ctx, project_id=pid, agreement={
            "sign_date": "2026-05-10", "milestones": [{"name": "注册", "due_date": "next week"}]})
