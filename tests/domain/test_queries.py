"""bulletin_kpis (the flat view of kpis.indicators) and the dashboard state counts: numbers equal the inserted rows."""

from __future__ import annotations

import datetime as dt

import pytest

from app.models.domain import Agreement, Complaint, FundsArrival, Project, Visit
from app.services.domain import queries as q

UTC = dt.UTC


def at(y, m, d, h=4):
    return dt.datetime(y, m, d, h, tzinfo=UTC)


@pytest.fixture
def data(db, seed):
    p1, p2 = seed["p1"], seed["p2"]  # 宁洱 530821 / 思茅 530802, both created in 2026-05
    rows = [
        # signed in May (宁洱), with a registered 投资协议 of 120000 and a 框架协议 that must not count
        Project(code="K-1", name="签约项目", region_code="530821", planned_investment_wan=100000, stage="S6_LAND",
                library_status="签约", light="yellow", signed_at=at(2026, 5, 3), created_at=at(2026, 1, 5)),
        # signed in May (思茅) without agreement: planned investment counts; also landed in May
        Project(code="K-2", name="落地项目", region_code="530802", planned_investment_wan=30000, stage="S7_START",
                library_status="落地", light="red", signed_at=at(2026, 5, 20), landed_at=at(2026, 5, 28),
                created_at=at(2026, 2, 1)),
        # started in May, signed earlier
        Project(code="K-3", name="开工项目", region_code="530802", planned_investment_wan=8000, stage="DONE",
                library_status="开工", signed_at=at(2025, 12, 1), landed_at=at(2026, 3, 1), started_at=at(2026, 5, 2),
                created_at=at(2025, 10, 1)),
        # 2026-05-31 17:00 UTC = 2026-06-01 01:00 Pu'er time: June, not May
        Project(code="K-4", name="六月签约", region_code="530821", planned_investment_wan=5000, stage="S6_LAND", library_status="签约",
                signed_at=dt.datetime(2026, 5, 31, 17, tzinfo=UTC), created_at=at(2026, 4, 1)),
        # sealed red project: not in the light counts (active only)
        Project(code="K-5", name="封存项目", region_code="530821", status="sealed", library_status="封存", light="red",
                created_at=at(2026, 4, 30, 15)),  # 2026-04-30 23:00 Pu'er: April
    ]
    db.add_all(rows)
    db.flush()
    k1, k2, k3 = rows[0], rows[1], rows[2]
    db.add_all([
        Agreement(project_id=k1.id, sign_date=dt.date(2026, 5, 3), agreed_investment_wan=120000),
        Agreement(project_id=k1.id, kind="框架协议", sign_date=dt.date(2026, 4, 3), agreed_investment_wan=999999),
        FundsArrival(project_id=k1.id, period="2026-05", amount_wan=5000, origin="省外"),
        FundsArrival(project_id=k1.id, period="2026-05", amount_wan=1000, origin="市内", nature="流动资金"),
        FundsArrival(project_id=k3.id, period="2026-05", amount_wan=2500, origin="省外"),
        FundsArrival(project_id=k3.id, period="2026-05", amount_wan=700, origin="市外省内"),
        FundsArrival(project_id=k3.id, period="2026-04", amount_wan=9999, origin="省外"),
        Complaint(complainant="A", region_code="530821", project_id=k1.id, received_at=at(2026, 5, 2)),
        Complaint(complainant="B", region_code="530802", received_at=at(2026, 4, 25), status="closed",
                  closed_at=at(2026, 5, 6), satisfied=True),
        Complaint(complainant="C", region_code="530802", received_at=at(2026, 5, 7), status="closed",
                  closed_at=at(2026, 5, 9), satisfied=False),
        Visit(visit_date=dt.date(2026, 5, 1), enterprise_name="x", region_code="530821"),
        Visit(visit_date=dt.date(2026, 5, 31), enterprise_name="y", region_code="530802"),
        Visit(visit_date=dt.date(2026, 6, 1), enterprise_name="z", region_code="530802"),
    ])
    db.flush()
    return {"p1": p1, "p2": p2, "k1": k1, "k2": k2, "k3": k3}


def test_bulletin_kpis_city(ops, ctx, data):
    k = ops["bulletin_kpis"](ctx, period="2026-05")
    assert k["period"] == "2026-05" and k["region_code"] is None
    assert k["new_projects"] == 2  # the two seed projects; K-5 is April in local time
    assert k["signed"] == 2  # K-1, K-2 (K-4 is June local time, K-3 signed 2025)
    assert k["signed_amount_wan"] == 120000 + 30000  # agreement amount, else planned; 框架协议 excluded
    assert (k["landed"], k["started"]) == (1, 1)
    assert k["funds_total_wan"] == 5000 + 1000 + 2500 + 700
    assert k["funds_out_of_province_wan"] == 7500
    assert k["funds_by_origin"] == {"省外": 7500.0, "市内": 1000.0, "市外省内": 700.0}
    # active projects: seed p1, p2 green, K-1 yellow, K-2 red, K-3 green, K-4 green; K-5 sealed
    assert (k["green"], k["yellow"], k["red"]) == (4, 1, 1)
    assert k["lights"] == {"green": 4, "blue": 0, "yellow": 1, "red": 1}
    assert k["active_projects"] == 6
    assert (k["complaints_received"], k["complaints_closed"], k["complaints_satisfied"]) == (2, 2, 1)
    assert k["visits"] == 2


def test_bulletin_kpis_region(ops, ctx, data):
    ne = ops["bulletin_kpis"](ctx, period="2026-05", region_code="530821")
    assert (ne["new_projects"], ne["signed"], ne["signed_amount_wan"]) == (1, 1, 120000)
    assert (ne["landed"], ne["started"]) == (0, 0)
    assert (ne["funds_total_wan"], ne["funds_out_of_province_wan"]) == (6000, 5000)
    assert (ne["green"], ne["yellow"], ne["red"]) == (2, 1, 0)
    assert (ne["complaints_received"], ne["complaints_closed"], ne["visits"]) == (1, 0, 1)
    sm = ops["bulletin_kpis"](ctx, period="2026-05", region_code="530802")
    assert (sm["signed"], sm["landed"], sm["started"], sm["funds_total_wan"]) == (1, 1, 1, 3200)
    assert (sm["complaints_received"], sm["complaints_closed"], sm["visits"]) == (1, 2, 1)
    june = ops["bulletin_kpis"](ctx, period="2026-06")
    assert (june["signed"], june["signed_amount_wan"], june["visits"], june["funds_total_wan"]) == (1, 5000, 1, 0)


def test_bulletin_kpis_rejects_bad_period(ops, ctx):
    for bad in ("2026-13", "2026/05", "", None):
        with pytest.raises(ValueError, match="YYYY-MM"):
            ops["bulletin_kpis"](ctx, period=bad)


def test_dashboard_queries(db, data):
    assert q.library_counts(db) == {"待招商": 2, "签约": 2, "落地": 1, "开工": 1, "封存": 1}
    funnel = q.stage_funnel(db)
    assert funnel["S1_PLAN"] == 2 and funnel["S6_LAND"] == 2 and funnel["DONE"] == 1 and sum(funnel.values()) == 6
    start, end, first, nxt = q.month_bounds("2026-12")
    assert start == dt.datetime(2026, 11, 30, 16, tzinfo=UTC) and end == dt.datetime(2026, 12, 31, 16, tzinfo=UTC)
    assert (first, nxt) == (dt.date(2026, 12, 1), dt.date(2027, 1, 1))
    assert q.period_of(dt.datetime(2026, 5, 31, 17, tzinfo=UTC)) == "2026-06"
