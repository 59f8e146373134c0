"""The inbox at scale: every query of the page is answered from an index of human_task (EXPLAIN on SQLite
and PostgreSQL), the list's count stops at COUNT_LIMIT ("1000+"), the grouped summary equals the
per-facet counts, and the two-read due order equals ORDER BY due_at IS NULL, due_at, created_at, id."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import event, insert, select

from app.models.runtime import HumanTask
from app.services.tasks import inbox
from tests.web.helpers import login

pytestmark = pytest.mark.parametrize("db_kind", ["sqlite", "pg"], indirect=True)
REGIONS = ["530802", "530821", "530827", "530829"]


@pytest.fixture
def many(factory, db):
    """1,200 open tasks in four counties, half of them in the county_ipb lane, some naming candidates."""
    factory.deploy_onboarding()
    factory.org("c1", "孟连县投资促进局", region_code="530827")
    factory.user("county", "county_ipb", org="c1")
    factory.user("boss", "admin")
    inst = factory.start()
    now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    rows = [{"id": f"t-{i:05d}", "instance_id": inst["id"], "process_key": "onboarding", "element_id": "ut3",
             "name": f"任务{i}", "lane": "county_ipb" if i % 2 else "zsw_office", "state": "open",
             "due_at": None if i % 7 == 0 else now + dt.timedelta(minutes=i % 50), "warning": "none",
             "region_code": REGIONS[i % 4], "project_name": f"项目{i % 90}", "created_at": now,
             "candidate_users": ",county," if i % 97 == 0 else None,
             "candidate_orgs": ",c1," if i % 89 == 0 else None}
            for i in range(1200)]
    with db.session_scope() as s:
        s.execute(insert(HumanTask), rows)
    return {"county": factory.get_user("county"), "boss": factory.get_user("boss")}


def _captured(db, run):
    """The SELECTs on human_task that ``run(session)`` executes, with their parameters."""
    seen = []

    def grab(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "human_task" in statement:
            seen.append((statement, parameters))

    engines = {db.engine, db.read_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", grab)
    try:
        with db.read_scope() as s:
            run(s)
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", grab)
    assert seen
    return seen


def _plans(db, statements) -> list[str]:
    plans = []
    with db.engine.connect() as conn:
        if db.is_sqlite:
            for sql, params in statements:
                plans.append("\n".join(r[3] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)))
        else:
            conn.exec_driver_sql("SET enable_seqscan = off")  # a seq scan left in the plan means: no index fits
            for sql, params in statements:
                plans.append("\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql, params)))
    return plans


def _no_full_read(plan: str, sqlite: bool) -> bool:
    if sqlite:  # a SCAN of the table, or a full index used only for state = 'open' (every open task);
        # the partial indexes of the tasks that name candidates hold only those few rows
        return not re.search(r"SCAN human_task|INDEX (?!ix_human_task_named_)\S+ \(state=\?\)", plan)
    return "Seq Scan on human_task" not in plan


def test_the_county_inbox_queries_use_indexes(db, many):
    county = many["county"]

    def page(s):
        inbox.inbox_summary(s, county)
        inbox.list_tasks(s, county, per_page=20, count_limit=inbox.COUNT_LIMIT)
        inbox.list_tasks(s, county, per_page=20, scope="mine")
        inbox.list_tasks(s, county, per_page=20, scope="done")
        inbox.scope_counts(s, county, unit=0)

    statements = _captured(db, page)
    assert len(statements) >= 6
    for (sql, _), plan in zip(statements, _plans(db, statements), strict=True):
        assert _no_full_read(plan, db.is_sqlite), f"{sql}\n--\n{plan}"


def test_the_admin_page_is_read_in_due_order_from_the_index(db, many):
    statements = _captured(db, lambda s: inbox.list_tasks(s, many["boss"], per_page=20))
    dated = [p for (sql, _), p in zip(statements, _plans(db, statements), strict=True)
             if "due_at IS NOT NULL" in sql and "ORDER BY" in sql]
    assert dated
    for plan in dated:
        if db.is_sqlite:
            assert "ix_human_task_open_due" in plan and "TEMP B-TREE" not in plan, plan
        else:
            assert "ix_human_task_open_due" in plan and "Sort" not in plan.split("Index")[0], plan


def test_two_read_due_order_equals_the_single_order(db, many):
    boss = many["boss"]
    with db.read_scope() as s:
        expected = list(s.scalars(select(HumanTask.id).where(HumanTask.state == "open").order_by(
            HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.created_at, HumanTask.id)))
        for per_page, pages in ((50, range(1, 26)), (7, (1, 146, 147, 148, 149, 172, 173))):
            got = []
            for page in pages:
                got += [t["id"] for t in inbox.list_tasks(s, boss, page=page, per_page=per_page)["items"]]
            want = [i for n, page in enumerate(pages)
                    for i in expected[(page - 1) * per_page:page * per_page]] if per_page == 7 else expected
            assert got == want, per_page


def test_bounded_count_and_summary(db, many):
    county, boss = many["county"], many["boss"]
    with db.read_scope() as s:
        capped = inbox.list_tasks(s, boss, count_limit=1000)
        assert capped["total"] == 1000 and capped["total_capped"] is True
        assert inbox.list_tasks(s, boss)["total"] == 1201  # exact without a limit (the API), the started one too
        small = inbox.list_tasks(s, boss, filters={"region_code": "530827"}, count_limit=1000)
        assert small["total"] == 300 and small["total_capped"] is False
        summary = inbox.inbox_summary(s, county)
        for facet in inbox.FACETS:
            assert summary["by"][facet] == inbox.counts(s, county, facet), facet
        assert summary["total"] == inbox.list_tasks(s, county)["total"]
        assert summary["overdue"] == inbox.list_tasks(s, county, filters={"due": "overdue"})["total"]


def test_the_inbox_page_shows_1000_plus(client, db, many):
    login(client, "boss")
    html = client.get("/inbox?process_key=onboarding").get_data(as_text=True)
    assert re.search(r'data-testid="total">1000\+<', html)
    assert "(共 1000+ 条)" in html
    assert re.search(r'本单位<span class="count">1201</span>', html)  # the tab counts stay exact
    html = client.get("/inbox").get_data(as_text=True)  # unfiltered: the exact total of the summary
    assert re.search(r'data-testid="total">1201<', html)
