"""capacity_assessment end to end (processes/README.md 承载能力半年评估): one instance per
semi-annual timer-start occurrence, the four departments' multi-instance ledger tasks per county,
utilisation → D11 per factor row (DMN) → 承载指数 → CapacityLedger rows → report → approval →
Report(kind='capacity') and the published result.

思茅区's ledger is the nine-factor hand-computed example of tests/handlers/test_capacity.py
(index 6500/95 = 68.42 → 中); 宁洱县 has room everywhere (index 100 → 优)."""

from __future__ import annotations

import datetime as dt

from tests.processes.helpers_cycle import (
    complete_each,
    count_instances,
    ledger,
    open_tasks,
    reports,
    schedule_timer_start,
    section,
    set_clock,
    start_occurrence,
    table_row,
    timer_start_jobs,
)

UNITS = [{"region_code": "530802", "unit_name": "思茅区", "park_id": None},
         {"region_code": "530821", "unit_name": "宁洱县", "park_id": None}]
LEDGER_TASKS = {"fill_nrp": "nrp", "fill_eco": "eco", "fill_ndrc": "ndrc", "fill_housing": "housing"}


def f(total, used, committed=0, pipeline=0, applicable=True) -> dict:
    return {"applicable": applicable, "total": total, "used": used, "committed": committed, "pipeline_demand": pipeline}


ROOMY = f(100, 20)
SIMAO = {
    "fill_nrp": {"land": f(1000, 600, 100, 250)},
    "fill_eco": {"env_cod": f(100, 50, 0, 10), "env_nh3": f(100, 20), "env_so2": f(100, 20),
                 "env_nox": f(100, 85, 10, 1)},
    "fill_ndrc": {"energy": f(50, 10, 5, 5), "power": f(100, 70, 10, 5), "gas": f(500, 100, 0, 50),
                  "heat": f(0, 0, applicable=False)},
    "fill_housing": {"water": f(10, 3, 1, 1), "sewage": f(8, 2, 0, 1), "factory": f(0, 0)},
}
NINGER = {
    "fill_nrp": {"land": ROOMY},
    "fill_eco": {"env_cod": ROOMY, "env_nh3": ROOMY, "env_so2": ROOMY, "env_nox": ROOMY},
    "fill_ndrc": {"energy": ROOMY, "power": ROOMY, "gas": ROOMY, "heat": ROOMY},
    "fill_housing": {"water": ROOMY, "sewage": ROOMY, "factory": ROOMY},
}
BY_REGION = {"530802": SIMAO, "530821": NINGER}


def fill_ledgers(flow, iid: int) -> None:
    for element in LEDGER_TASKS:
        done = complete_each(flow, iid, element,
                             lambda task, element=element: {**BY_REGION[task.region_code][element],
                                                            "data_source": "部门统计台账"})
        assert sorted(done) == ["530802", "530821"]


def test_each_semi_annual_occurrence_starts_exactly_one_assessment(flow):
    set_clock(flow, "2027-01-04T12:00:00+08:00")
    job = schedule_timer_start(flow, "capacity_assessment")
    assert job.due_at == dt.datetime(2027, 1, 5, 9, tzinfo=dt.timezone(dt.timedelta(hours=8)))

    assert flow.run_jobs() == 0
    assert count_instances(flow, "capacity_assessment") == 0

    flow.advance("P1D")  # 2027-01-05 12:00: the first occurrence
    assert count_instances(flow, "capacity_assessment") == 1
    assert flow.run_jobs() == 0 and count_instances(flow, "capacity_assessment") == 1  # fired once
    [first] = flow.instances_of("capacity_assessment")
    data = flow.data(first.id)
    assert (data["period"], data["period_label"], data["occurrence"]) == ("2026H2", "2026年下半年", 1)
    assert len(data["assess_units"]) == 10  # default scope: the ten counties
    for element, lane in LEDGER_TASKS.items():
        tasks = open_tasks(flow, first.id, element)
        assert len(tasks) == 10 and {t.lane for t in tasks} == {lane}
        assert sorted(t.region_code for t in tasks) == [u["region_code"] for u in data["assess_units"]]
    [fired] = flow.audit(type_="timer_start_fired")
    assert fired.detail["occurrence"] == 1
    [nxt] = timer_start_jobs(flow, "capacity_assessment")
    assert (nxt.payload["occurrence"], nxt.due_at) == (2, dt.datetime(2027, 7, 5, 1, tzinfo=dt.UTC))

    flow.advance("P5M")  # June: no occurrence
    assert count_instances(flow, "capacity_assessment") == 1
    flow.advance("P1M")  # 2027-07-05 12:00: the second occurrence
    assert count_instances(flow, "capacity_assessment") == 2
    second = flow.instances_of("capacity_assessment")[-1]
    assert flow.data(second.id)["period"] == "2027H1"
    assert [j.payload["occurrence"] for j in timer_start_jobs(flow, "capacity_assessment")] == [3]


def test_a_semi_annual_run_rates_the_ledgers_with_d11_and_saves_ledger_and_report(flow):
    iid = start_occurrence(flow, "capacity_assessment", {"assess_units": UNITS, "period": "2026H2"})
    assert {lane for lane in LEDGER_TASKS.values()} == {t.lane for e in LEDGER_TASKS for t in open_tasks(flow, iid, e)}

    fill_ledgers(flow, iid)

    data = flow.data(iid)
    ratings = {r["row_id"]: r["rating"] for r in data["factor_ratings"]}  # D11 by the DMN, one per row
    assert len(ratings) == 24
    assert {k: v for k, v in ratings.items() if k.startswith("530802:")} == {
        "530802:land": "紧张", "530802:env_capacity:COD": "充足", "530802:env_capacity:氨氮": "充足",
        "530802:env_capacity:SO2": "充足", "530802:env_capacity:NOx": "不足", "530802:energy": "充足",
        "530802:power": "紧张", "530802:gas": "充足", "530802:heat": "不适用", "530802:water": "充足",
        "530802:sewage": "充足", "530802:factory": "不足"}
    assert {v for k, v in ratings.items() if k.startswith("530821:")} == {"充足"}
    units = {u["region_code"]: u for u in data["capacity_units"]}
    assert (units["530802"]["index"], units["530802"]["overall"]) == (68.42, "中")
    assert (units["530821"]["index"], units["530821"]["overall"]) == (100.0, "优")

    rows = ledger(flow, "2026H2")
    simao = {r.factor: r for r in rows if r.region_code == "530802"}
    assert {k: r.rating for k, r in simao.items()} == {
        "land": "紧张", "env_capacity": "不足", "energy": "充足", "power": "紧张", "water": "充足",
        "sewage": "充足", "gas": "充足", "heat": "不适用", "factory": "不足"}
    land = simao["land"]
    assert (land.total, land.used, land.committed, land.unit, land.available) == (1000, 600, 100, "亩", 300)
    env = simao["env_capacity"]
    assert (env.total, env.used, env.committed, env.note) == (100, 85, 10, "约束污染物:NOx")
    assert len([r for r in rows if r.region_code == "530821"]) == 9
    assert all(r.park_id is None for r in rows)

    report = flow.task(iid, "office_report")
    assert report.lane == "zsw_office"
    assert data["report_summary"] == "2026年下半年共评估2个县(区)/园区。宁洱县承载指数100.0(优);思茅区承载指数68.42(中)。"
    assert data["bottlenecks"] == "思茅区:环境容量、标准厂房不足"
    flow.complete(iid, "office_report", {"report_summary": data["report_summary"], "bottlenecks": data["bottlenecks"],
                                         "measures": "加快污水处理厂扩容,新建标准厂房。",
                                         "project_suggestions": "优先导入低排放的咖啡精深加工项目。"}, username="office1")
    assert flow.task(iid, "deputy_approve").lane == "committee_deputy"
    flow.complete(iid, "deputy_approve", {"approval": "同意", "approval_opinion": "按措施抓好落实"})

    [saved] = reports(flow, "capacity")
    assert (saved.period, saved.instance_id) == ("2026H2", iid)
    assert saved.title == "2026年下半年县(区)、工业园区承载能力评估报告"
    ratings_table = section(saved, "ratings")
    assert table_row(ratings_table, "思茅区") == ["思茅区", 68.42, "中", "环境容量、标准厂房", "土地存量、电力容量"]
    assert table_row(ratings_table, "宁洱县") == ["宁洱县", 100.0, "优", "", ""]
    assert [r[0] for r in ratings_table["table"]["rows"]] == ["宁洱县", "思茅区"]  # by index
    assert section(saved, "measures")["text"] == "加快污水处理厂扩容,新建标准厂房。"
    assert section(saved, "approval")["text"] == "同意。按措施抓好落实"
    published = [n for n in flow.notifications(title_contains="2026年下半年承载能力评估结果") if n.instance_id == iid]
    assert {n.role for n in published} == {"county_gov", "park_admin", "nrp", "eco", "ndrc", "housing",
                                           "committee_deputy"}
    assert flow.instance(iid).status == "completed"


def test_late_ledgers_are_chased_and_the_run_waits_for_every_department(flow):
    iid = start_occurrence(flow, "capacity_assessment", {"assess_units": UNITS, "period": "2026H2"})
    for element in ("fill_nrp", "fill_eco", "fill_ndrc"):
        complete_each(flow, iid, element, lambda task, element=element: BY_REGION[task.region_code][element])
    assert "office_report" not in flow.open_tasks(iid)  # housing is still missing
    assert ledger(flow, "2026H2") == []

    assert flow.advance("P14D") == 0
    assert flow.advance("P1DT1H") >= 1  # 15 days: 催报

    chased = [n for n in flow.notifications(title_contains="台账填报超时(2026年下半年)") if n.instance_id == iid]
    assert {n.title for n in chased} == {"供排水与厂房台账填报超时(2026年下半年)"}
    assert {n.role for n in chased} == {"housing", "zsw_office"}
    assert len(open_tasks(flow, iid, "fill_housing")) == 2  # the reminder keeps the tasks open

    complete_each(flow, iid, "fill_housing", lambda task: BY_REGION[task.region_code]["fill_housing"])
    assert "office_report" in flow.open_tasks(iid)
    assert len(ledger(flow, "2026H2")) == 18


def test_a_manual_start_with_a_period_assesses_that_period_now(flow):
    iid = flow.start("capacity_assessment", None, {"assess_units": UNITS, "period": "2026H1"})

    assert flow.instance(iid).status == "running"
    assert flow.data(iid)["period"] == "2026H1"
    assert len(open_tasks(flow, iid, "fill_nrp")) == 2


def test_ledger_tasks_show_their_deadline_and_turn_yellow_when_chased(flow):
    iid = start_occurrence(flow, "capacity_assessment", {"assess_units": UNITS, "period": "2026H2"})
    t0 = flow.clock.now()
    tasks = open_tasks(flow, iid, "fill_housing")
    assert all(t.due_at is not None and abs(t.due_at - (t0 + dt.timedelta(days=15))) < dt.timedelta(minutes=5)
               for t in tasks)

    flow.advance("P15DT1H")
    assert {t.warning for t in open_tasks(flow, iid, "fill_housing")} == {"yellow"}
