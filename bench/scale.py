"""The bench's scale parts: due-job throughput on PostgreSQL (1 and 3 worker processes) and the inbox
with 100,000 open tasks (SQLite and PostgreSQL). Run alone with ``python -m bench sweep`` / ``inbox``."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.__main__ import FORM_OK, ROOT, Server


def _pg_admin():
    """(admin engine, admin url) of the PostgreSQL the bench uses, or a sentence saying why not."""
    from sqlalchemy import create_engine, text

    admin_url = os.environ.get("INVESTFLOW_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    try:
        eng = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with eng.connect() as c:
            c.execute(text("SELECT 1"))
    except Exception as exc:
        return f"skipped: PostgreSQL unreachable ({exc.__class__.__name__})"
    return eng, admin_url


def _pg_database(eng, admin_url: str, suffix: str) -> tuple[str, str]:
    from sqlalchemy import text

    name = f"investflow_bench_{os.getpid()}_{suffix}"
    with eng.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    return name, admin_url.rsplit("/", 1)[0] + "/" + name


def _pg_drop(eng, name: str) -> None:
    from sqlalchemy import text

    with eng.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def pg_throughput(n: int = 1000):
    from sqlalchemy import create_engine, text

    admin = _pg_admin()
    if isinstance(admin, str):
        return admin
    eng, admin_url = admin
    results = {}
    for workers in (1, 3):
        name, url = _pg_database(eng, admin_url, str(workers))
        server = Server(url)
        from app.demo import clock as clock_admin
        from app.services.runtime import instances

        with server.db.session_scope() as s:
            for _ in range(n):
                instances.start_instance(s, "onboarding", data={"yellow_after": "P1D", **FORM_OK})
        with server.db.session_scope() as s:
            clock_admin.advance(s, "P1DT1M", demo=True)
        server.stop()
        server.db.dispose()
        env = {**os.environ, "DATABASE_URL": url, "INVESTFLOW_DEMO": "1", "INVESTFLOW_HANDLER_MODULES": "tests.support",
               "PYTHONPATH": str(ROOT)}
        binary = str(Path(sys.executable).parent / "investflow")
        t0 = time.perf_counter()
        procs = [subprocess.Popen([binary, "worker", "--once", "--name", f"b{i}"], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True) for i in range(workers)]
        ran = sum(int(p.communicate()[0].strip().splitlines()[-1]) for p in procs)
        elapsed = time.perf_counter() - t0
        # sweep rate from the first to the last firing (excludes interpreter start-up of the workers)
        check = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        with check.connect() as c:
            first, last = c.execute(text("SELECT min(at), max(at) FROM audit_event WHERE type='timer_fired'")).one()
        check.dispose()
        span = max((last - first).total_seconds(), 1e-6)
        results[workers] = (ran, ran / span, ran / elapsed)
        _pg_drop(eng, name)
    return results


def raw_timer_jobs(n: int = 300) -> float:
    """Raw SpiffWorkflow in this process, no database: restore an onboarding instance waiting at its
    first task, fire its due yellow timer (boundary event, service task, end event) and serialize it —
    the engine work of one due-job, median ms. Its inverse is what one process could sweep with no
    database, no projections and no audit at all: the ceiling a worker's rate is compared with."""
    import datetime as dt

    import SpiffWorkflow.bpmn.specs.event_definitions.timer as spiff_timer
    from SpiffWorkflow import TaskState

    from bench.__main__ import raw_engine

    ser, engine, start = raw_engine()
    real = dt.datetime

    class DayLater(real):  # raw SpiffWorkflow reads the wall clock: the timers are due one day on
        @classmethod
        def now(cls, tz=None):
            return real.now(tz) + dt.timedelta(days=1, minutes=1)

    patched = spiff_timer.datetime  # the app clock (app.engine.clockpatch), moved by the parts before
    try:
        spiff_timer.datetime = real
        states = [start() for _ in range(n)]
        spiff_timer.datetime = DayLater
        times = []
        for state in states:
            t0 = time.perf_counter()
            wf = ser.deserialize_json(state)
            wf.script_engine = engine
            wf.refresh_timers()
            wf.do_engine_steps()
            ser.serialize_json(wf)
            times.append(time.perf_counter() - t0)
            if not any(t.task_spec.name == "svc_yellow" and t.state == TaskState.COMPLETED for t in wf.get_tasks()):
                raise RuntimeError("a raw timer job did not fire the yellow timer")
    finally:
        spiff_timer.datetime = patched
    return statistics.median(times) * 1000


REGIONS = ["530802", "530821", "530822", "530823", "530824", "530825", "530826", "530827", "530828", "530829"]


def _inbox_rows(instance_id: int, n: int) -> list[dict]:
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    return [{"id": f"bench-{i:06d}", "instance_id": instance_id, "process_key": "onboarding", "element_id": "ut3",
             "name": f"任务{i}", "lane": "county_ipb" if i % 2 else "zsw_office",
             "state": "open", "due_at": now + dt.timedelta(minutes=i % 5000), "warning": "none",
             "region_code": REGIONS[i % 10], "project_name": f"项目{i % 900}", "created_at": now}
            for i in range(n)]


def inbox_100k(backend: str | None = None, n: int = 100_000):
    """Server time of the inbox's first page with 100,000 open tasks (SQL over the projection).

    ``backend`` None: a SQLite file; ``"pg"``: a scratch PostgreSQL database (a sentence when unreachable).
    """
    pg = None
    if backend == "pg":
        admin = _pg_admin()
        if isinstance(admin, str):
            return admin
        eng, admin_url = admin
        name, url = _pg_database(eng, admin_url, "inbox")
        pg = (eng, name)
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/inbox.db"
    try:
        return _measure_inbox(Server(url), n)
    finally:
        if pg:
            _pg_drop(*pg)


def _measure_inbox(server: Server, n: int):
    from sqlalchemy import insert, text

    from app.models.runtime import HumanTask
    from app.services import tasks
    from app.services.domain import users

    db = server.db
    with db.session_scope() as s:
        inst = server.call("POST", "/api/v1/processes/onboarding/instances", {"data": {"yellow_after": "P1D"}})
        users.create_org(s, "c1", "县投促局", region_code="530827")
        users.create_user(s, "county", ["county_ipb"], org="c1", password="Secret-pass-9")
    rows = _inbox_rows(inst["id"], n)
    with db.session_scope() as s:
        for start in range(0, n, 10_000):
            s.execute(insert(HumanTask), rows[start:start + 10_000])
    if not db.is_sqlite:
        with db.session_scope() as s:
            s.execute(text("ANALYZE human_task"))  # what autovacuum does shortly after a bulk load
    with db.read_scope() as s:
        county = users.get_user(s, "county")
        admin = users.get_user(s, "bench")
        for who in (county, admin):
            tasks.list_tasks(s, who)  # warm
        timings = {}
        for label, who in (("county staff", county), ("admin", admin)):
            samples = []
            for _ in range(15):
                t0 = time.perf_counter()
                page = tasks.list_tasks(s, who, per_page=20)
                samples.append(time.perf_counter() - t0)
            timings[label] = (statistics.median(samples), page["total"])
    page_ms = _render_inbox(server)
    server.stop()
    db.dispose()
    return timings, page_ms


def _render_inbox(server: Server) -> float | None:
    """Median server time of GET /inbox for the county user (Flask test client: no network)."""
    import re

    client = server.app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', login_page)
    client.post("/login", data={"username": "county", "password": "Secret-pass-9",
                                "csrf_token": token.group(1) if token else ""})
    client.get("/inbox")  # warm
    samples = []
    for _ in range(10):
        t0 = time.perf_counter()
        resp = client.get("/inbox")
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1000 if resp.status_code == 200 else None
