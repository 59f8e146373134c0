"""Flow and record operators: messages, starts, reports, assessments, visits, complaints, capacity."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from app.models.domain import (
    AssessmentScore,
    CapacityLedger,
    Complaint,
    Enterprise,
    Report,
    TimelineEvent,
    Visit,
)


def test_send_message_and_start_process_queue_in_outbox(ops, ctx):
    assert ops["send_message"](ctx, name="funds_reported", business_key="P-02", correlation={"project_id": 1},
                               data={"amount_wan": 5}) == {"queued": True}
    assert ops["start_process"](ctx, process_key="P08_joint_handling", business_key="P-02",
                                data={"project_id": 1}) == {"queued": True}
    assert ctx.outbox == [
        {"kind": "message", "name": "funds_reported", "business_key": "P-02", "correlation": {"project_id": 1},
         "data": {"amount_wan": 5}},
        {"kind": "start", "process_key": "P08_joint_handling", "business_key": "P-02", "data": {"project_id": 1}},
    ]
    with pytest.raises(ValueError):
        ops["send_message"](ctx, name="")


def test_report_save(ops, ctx, db):
    out = ops["report_save"](ctx, kind="monthly", period="2026-05", title="2026年5月招商引资工作通报",
                             sections=[{"heading": "总体情况", "text": "……"}], region_code=None)
    r = db.get(Report, out["report_id"])
    assert (r.kind, r.period, r.region_code, r.instance_id) == ("monthly", "2026-05", None, 7)
    assert r.sections == [{"heading": "总体情况", "text": "……"}] and r.created_at == ctx.now
    with pytest.raises(ValueError, match="unknown report kind"):
        ops["report_save"](ctx, kind="weekly", period="x", title="t", sections=[])


def test_assessment_save_upserts(ops, ctx, db):
    kw = dict(unit_key="county_530821", unit_name="宁洱县", year=2026, scores={"K-P6": 18.5}, daily=38.0,
              year_end=45.5, bonus=2, penalty=1, total=84.5, grade="良好")
    first = ops["assessment_save"](ctx, **kw)
    again = ops["assessment_save"](ctx, **{**kw, "total": 90.0, "grade": "优秀"})
    quarterly = ops["assessment_save"](ctx, **kw, quarter=2)
    assert first["id"] == again["id"] != quarterly["id"]
    rows = list(db.scalars(select(AssessmentScore).order_by(AssessmentScore.id)))
    assert [(r.quarter, r.total, r.grade) for r in rows] == [(None, 90.0, "优秀"), (2, 84.5, "良好")]
    assert rows[0].scores == {"K-P6": 18.5} and rows[0].bonus == 2.0


def test_visit_register_and_route(ops, ctx, db, seed):
    e2 = seed["e2"]
    out = ops["visit_register"](ctx, visit={"visit_date": "2026-05-12", "enterprise_id": e2.id,
                                            "interests": ["茶饮原料"], "host": "市投资促进局",
                                            "region_code": "530821"})
    v = db.get(Visit, out["visit_id"])
    assert v.visit_date == dt.date(2026, 5, 12) and v.enterprise_name == e2.name and v.status == "registered"
    assert v.instance_id == 7 and "来访" in e2.tags
    routed = ops["visit_route"](ctx, visit_id=v.id, routing_type="链长", routed_to="市茶叶和咖啡产业发展中心",
                                chain_code="C01")
    assert routed == {"visit_id": v.id, "routing_type": "链长", "routed_to": "市茶叶和咖啡产业发展中心",
                      "routed_to_org": None, "chain_code": "C01", "status": "routed"}
    # a new enterprise by credit code is created; a name-only visitor stays a name
    out2 = ops["visit_register"](ctx, visit={"uscc": "91530000MA6K000099", "enterprise_name": "澜湄冷链物流有限公司"})
    assert db.get(Enterprise, out2["enterprise_id"]).tags == ["来访"]
    out3 = ops["visit_register"](ctx, visit={"enterprise_name": "某数字经济小企业"})
    assert out3["enterprise_id"] is None and db.get(Visit, out3["visit_id"]).visit_date == ctx.now.date()
    with pytest.raises(ValueError, match="enterprise_id, uscc or enterprise_name required"):
        ops["visit_register"](ctx, visit={})
    with pytest.raises(ValueError, match="visit 999 not found"):
        ops["visit_route"](ctx, visit_id=999, routing_type="交办", routed_to="x")


def test_complaint_register_and_close(ops, ctx, make_ctx, db, seed):
    pid = seed["p1"].id
    out = ops["complaint_register"](ctx, complaint={"complainant": "云岭茗源茶业集团有限公司", "project_id": pid,
                                                    "category": "用地", "due_days": 15})
    c = db.get(Complaint, out["complaint_id"])
    assert c.region_code == "530821" and c.received_at == ctx.now and c.due_at == ctx.now + dt.timedelta(days=15)
    assert c.status == "received" and out["due_at"] == c.due_at.isoformat()
    later = make_ctx(ctx.now + dt.timedelta(days=20))
    closed = ops["complaint_close"](later, complaint_id=c.id, reply="已协调自然资源和规划局办理", satisfied="满意")
    assert closed == {"complaint_id": c.id, "status": "closed", "satisfied": True, "on_time": False}
    assert c.closed_at == later.now
    titles = [e.title for e in db.scalars(select(TimelineEvent).where(TimelineEvent.kind == "complaint"))]
    assert titles == ["收到投诉:用地", "投诉办结"]
    anon = ops["complaint_register"](ctx, complaint={"complainant": "匿名", "region_code": "530802",
                                                     "category": "违规招商"})
    assert ops["complaint_close"](ctx, complaint_id=anon["complaint_id"], reply="r", satisfied=None)["satisfied"] is None
    with pytest.raises(ValueError, match="complainant required"):
        ops["complaint_register"](ctx, complaint={"category": "x"})


def test_capacity_record_upserts(ops, ctx, db, seed):
    park_id = seed["park"].id
    factors = [{"factor": "工业用地", "total": 3000, "used": 1800, "committed": 600, "unit": "亩", "rating": "紧张"},
               {"factor": "能耗", "total": "8", "used": "6.5", "committed": "1.0", "unit": "万tce"}]
    assert ops["capacity_record"](ctx, region_code="530821", period="2026H1", factors=factors, rating="不足",
                                  park_id=park_id) == {"count": 2}
    rows = {r.factor: r for r in db.scalars(select(CapacityLedger))}
    assert rows["工业用地"].rating == "紧张" and rows["能耗"].rating == "不足"
    assert rows["工业用地"].available == 600 and rows["能耗"].total == 8.0
    # same scope again updates in place
    ops["capacity_record"](ctx, region_code="530821", period="2026H1", park_id=park_id,
                           factors=[{"factor": "工业用地", "total": 3000, "used": 2000, "committed": 600}])
    assert db.scalar(select(func.count(CapacityLedger.id))) == 2
    assert rows["工业用地"].used == 2000 and rows["工业用地"].rating is None
    # county-level (no park) is a separate scope
    ops["capacity_record"](ctx, region_code="530821", period="2026H1", factors=[{"factor": "工业用地", "total": 5000}])
    assert db.scalar(select(func.count(CapacityLedger.id))) == 3
    with pytest.raises(ValueError, match="must be a number"):
        ops["capacity_record"](ctx, region_code="530821", period="2026H1", factors=[{"factor": "用水", "total": "很多"}])
