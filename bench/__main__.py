"""make bench: platform costs as ratios against raw SpiffWorkflow measured in the same run.

Prints: request cycle (restore + complete + serialize) raw vs through the HTTP API on a real server
with a SQLite file holding 5,000 active instances (``INVESTFLOW_BENCH_ACTIVE``), then the same on
PostgreSQL (part ``cycle-pg``); instance start throughput; stored JSON bytes per instance vs SpiffWorkflow's full
serialization; timer lag p50/p99 with the default sweep interval; due-job throughput with 1 and 3
worker processes on PostgreSQL (skipped with a reason when unreachable).
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures" / "bpmn"
FORM_OK = {"project_name": "基准", "amount_wan": 1500}


def _pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def raw_engine():
    """Raw SpiffWorkflow as its documentation sets it up: the onboarding spec, the default serializer and
    a script engine whose service calls answer at once; ``start()`` gives a new instance's full JSON."""
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
    from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser
    from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

    class Env(TaskDataEnvironment):
        def call_service(self, context, **kwargs):
            return json.dumps({"ok": True})

    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_files([str(FIX / "onboarding.bpmn")])
    spec = parser.get_spec("onboarding")
    ser = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    engine = PythonScriptEngine(environment=Env())

    def start() -> str:
        wf = BpmnWorkflow(spec, {}, script_engine=engine)
        wf.task_tree.data.update({"yellow_after": "P1D", **FORM_OK})
        wf.do_engine_steps()
        return ser.serialize_json(wf)

    return ser, engine, start


def raw_cycle(n_instances: int = 40) -> tuple[float, int]:
    """Raw SpiffWorkflow: deserialize full JSON, complete one task, serialize — per user task."""
    from app.engine import as_shipped

    with as_shipped():  # without the platform's speed-ups to SpiffWorkflow, imported by the API side
        return _raw_cycle(n_instances)


def _raw_cycle(n_instances: int) -> tuple[float, int]:
    from SpiffWorkflow import TaskState

    ser, engine, start = raw_engine()
    times, size = [], 0
    for _ in range(n_instances):
        state = start()
        size = max(size, len(state))
        while True:
            t0 = time.perf_counter()
            wf = ser.deserialize_json(state)
            wf.script_engine = engine
            ready = wf.get_tasks(state=TaskState.READY, manual=True)
            if not ready:
                break
            task = ready[0]
            task.set_data(**FORM_OK)
            task.run()
            wf.refresh_timers()
            wf.do_engine_steps()
            state = ser.serialize_json(wf)
            times.append(time.perf_counter() - t0)
    return statistics.median(times), size


class Server:
    def __init__(self, url: str):
        from waitress.server import create_server

        from app import create_app
        from app.config import Config
        from app.models.schema import upgrade
        from app.services.definitions import deploy
        from app.services.domain import users

        self.app = create_app(Config(DATABASE_URL=url, DEMO=False, SCHEDULER=False))
        db = self.app.extensions["db"]
        upgrade(db)
        from app import clock

        db.install_clock()  # this database's offset, not the one a previous Server in this process left behind
        clock.refresh()
        with db.session_scope() as s:
            users.create_user(s, "bench", ["admin"], password="Secret-pass-9")
            self.token = users.create_token(s, "bench")
            files = [(p.name, p.read_bytes()) for p in (FIX / "onboarding.bpmn", FIX / "ob-basic.json",
                                                         FIX / "ob-basic-uischema.json")]
            os.environ.setdefault("INVESTFLOW_HANDLER_MODULES", "tests.support")
            deploy.deploy_files(s, files, "bench")
        self.db = db
        self.server = create_server(self.app, host="127.0.0.1", port=0, threads=4)  # what `investflow serve` runs
        import gc

        gc.collect()  # … including its start-up heap freeze (app/cli.py _freeze_startup_heap)
        gc.freeze()
        self.port = self.server.effective_port
        threading.Thread(target=self.server.run, daemon=True).start()
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port)

    def call(self, method, path, body=None):
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        self.conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status >= 400:
            raise RuntimeError(f"{method} {path}: {resp.status} {data[:300]!r}")
        return json.loads(data)

    def stop(self):
        self.server.close()


def api_cycle(server: Server, n_instances: int = 40):
    times, starts = [], []
    for _ in range(n_instances):
        t0 = time.perf_counter()
        inst = server.call("POST", "/api/v1/processes/onboarding/instances",
                           {"data": {"yellow_after": "P1D", **FORM_OK}})
        starts.append(time.perf_counter() - t0)
        tasks = inst["tasks"]
        while tasks:
            t0 = time.perf_counter()
            out = server.call("POST", f"/api/v1/tasks/{tasks[0]['id']}/complete", {"data": FORM_OK})
            times.append(time.perf_counter() - t0)
            tasks = out["tasks"]
    return statistics.median(times), len(starts) / sum(starts)


ACTIVE_INSTANCES = int(os.environ.get("INVESTFLOW_BENCH_ACTIVE", "5000"))


def populate(server: Server, n: int = ACTIVE_INSTANCES, batch: int = 250) -> float:
    """Fill the server's database with ``n`` active instances of the same model (each waits at its first
    user task with its boundary timers as jobs), through the service the API calls, ``batch`` per
    transaction; returns the seconds it took."""
    from app.services.runtime import instances

    t0 = time.perf_counter()
    for start in range(0, n, batch):
        with server.db.session_scope() as s:
            for _ in range(min(batch, n - start)):
                instances.start_instance(s, "onboarding", data={"yellow_after": "P1D", **FORM_OK}, actor="bench")
    return time.perf_counter() - t0


def active_count(server: Server) -> int:
    from sqlalchemy import func, select

    from app.models.runtime import Instance

    with server.db.read_scope() as s:
        return s.scalar(select(func.count()).select_from(Instance).where(Instance.status.in_(("running", "waiting"))))


def request_cycle(server: Server, rounds: int = 20) -> tuple[float, float, float, list[float]]:
    """Raw and API request cycle in short interleaved rounds (3 instances, 21 completions a side), so
    that machine noise hits both sides alike; (raw seconds, API seconds, instance starts per second)
    medians and the API/raw ratio of every round (a pair measured within about 0.1 s)."""
    api_cycle(server, 5)  # warm-up
    raw_cycle(5)
    raws, apis, rates, ratios = [], [], [], []
    for _ in range(rounds):
        raw_round = raw_cycle(3)[0]
        api_round, rate = api_cycle(server, 3)
        raws.append(raw_round)
        apis.append(api_round)
        rates.append(rate)
        ratios.append(api_round / raw_round)
    return statistics.median(raws), statistics.median(apis), statistics.median(rates), ratios


def print_cycle(server: Server, raw_s: float, api_s: float, start_rate: float, filled: float, backend: str,
                ratios: list[float]) -> None:
    hot = server.db.caches.hot
    print(f"== request cycle: restore + complete one user task + serialize (7-user-task model), "
          f"{active_count(server)} active instances in the database (filled in {filled:.0f} s) ==")
    print(f"raw SpiffWorkflow (full JSON)      : {raw_s * 1000:7.2f} ms median")
    print(f"HTTP API, waitress, {backend:14s} : {api_s * 1000:7.2f} ms median   "
          f"(hot instances: {hot.hits} reused, {hot.misses} restored)")
    quartiles = statistics.quantiles(ratios, n=4)
    print(f"ratio API / raw                    : {statistics.median(ratios):7.2f}x   (target ≤ 1.5x; median of "
          f"{len(ratios)} paired rounds, quartiles {quartiles[0]:.2f}–{quartiles[2]:.2f}; "
          f"ratio of the medians {api_s / raw_s:.2f}x)")
    print(f"instance start throughput (API)    : {start_rate:7.1f} starts/s")


def full_serialize(workflow) -> str:
    """SpiffWorkflow's own full serialization (spec embedded), to compare the stored size against."""
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
    from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG)).serialize_json(workflow)


def stored_bytes(server: Server):
    from sqlalchemy import func, select

    from app.engine import Runner
    from app.models.runtime import Instance

    with server.db.read_scope() as s:
        inst = s.scalars(select(Instance).order_by(Instance.id.desc()).limit(1)).first()
        avg = s.scalar(select(func.avg(func.length(Instance.state))))
        from app.services.definitions.versions import spec_for_version

        bundle = spec_for_version(s, inst.version_id)  # the Database's own spec cache
        runner = Runner.restore(inst.state, bundle, None, inst.serializer_version)
        return len(inst.state), len(full_serialize(runner.wf)), avg


def rework_loop(server: Server, rounds: int = 1000) -> dict[int, float]:
    """A back-edge loop (提交材料 → 审核 → 不通过 → back) driven over the HTTP API: ms per round."""
    from app.services.definitions import deploy

    path = FIX / "rework.bpmn"
    with server.db.session_scope() as s:
        deploy.deploy_files(s, [(path.name, path.read_bytes())], "bench")
    inst = server.call("POST", "/api/v1/processes/rework/instances", {"data": {"rounds": 0}})
    task = inst["tasks"][0]["id"]
    per_round = []
    for i in range(rounds):
        t0 = time.perf_counter()
        after = server.call("POST", f"/api/v1/tasks/{task}/complete", {"data": {"note": i}})
        review = after["tasks"][0]["id"]
        after = server.call("POST", f"/api/v1/tasks/{review}/complete", {"data": {"approved": False}})
        per_round.append(time.perf_counter() - t0)
        task = after["tasks"][0]["id"]
    return {at: statistics.median(per_round[max(0, at - 10):at]) * 1000 for at in (10, 100, rounds)}


def raw_rework_loop(rounds: int = 1000) -> tuple[dict[int, float], int | None]:
    """The same loop in raw SpiffWorkflow with a JSON round trip per round; the round where it breaks."""
    from SpiffWorkflow import TaskState
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
    from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser
    from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_files([str(FIX / "rework.bpmn")])
    ser = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    wf = BpmnWorkflow(parser.get_spec("rework"), {})
    wf.task_tree.data.update({"rounds": 0})
    wf.do_engine_steps()
    state, per_round = ser.serialize_json(wf), []
    for i in range(rounds):
        t0 = time.perf_counter()
        try:
            for data in ({"note": i}, {"approved": False}):
                wf = ser.deserialize_json(state)
                ready = wf.get_tasks(state=TaskState.READY, manual=True)
                if not ready:
                    return _windows(per_round), i + 1
                ready[0].set_data(**data)
                ready[0].run()
                wf.do_engine_steps()
                state = ser.serialize_json(wf)
        except RecursionError:
            return _windows(per_round), i + 1
        per_round.append(time.perf_counter() - t0)
    return _windows(per_round), None


def _windows(per_round: list[float]) -> dict[int, float]:
    return {at: statistics.median(per_round[at - 10:at]) * 1000 for at in (10, 100, 1000) if len(per_round) >= at}


def timer_lag(server: Server, n: int = 20):
    """Real time, default 1 s sweep: timers due over the next seconds; lag = audit time − due time."""
    from sqlalchemy import select

    from app import worker as scheduler
    from app.models.runtime import AuditEvent, Job

    ids = []
    for _ in range(n):
        inst = server.call("POST", "/api/v1/processes/onboarding/instances",
                           {"data": {"yellow_after": "PT3S", **FORM_OK}})
        ids.append(inst["id"])
    with server.db.read_scope() as s:
        due = {j.instance_id: j.due_at for j in s.scalars(select(Job).where(Job.instance_id.in_(ids),
                                                                              Job.element_id == "yellow1"))}
    sched = scheduler.start_background(server.db, float(os.environ.get("INVESTFLOW_SWEEP_INTERVAL", "1.0")))
    deadline = time.time() + 30
    fired = {}
    while time.time() < deadline and len(fired) < n:
        time.sleep(0.2)
        with server.db.read_scope() as s:
            fired = {e.instance_id: e.at for e in s.scalars(select(AuditEvent).where(
                AuditEvent.instance_id.in_(ids), AuditEvent.type == "timer_fired"))}
    sched.shutdown(wait=True)
    lags = [(fired[i] - due[i]).total_seconds() for i in ids if i in fired]
    return _pct(lags, 50), _pct(lags, 99), len(lags)


def _setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("INVESTFLOW_HANDLER_MODULES", "tests.support")
    import tests.support  # noqa: F401  (registers the fixture's service handler)


def run_request_cycle() -> None:
    _request_cycle_parts(Server(f"sqlite:///{tempfile.mkdtemp()}/bench.db"), "SQLite file")


def run_request_cycle_pg() -> None:
    """The same parts on a scratch PostgreSQL database (skipped with a reason when it is unreachable)."""
    from bench.scale import _pg_admin, _pg_database, _pg_drop

    admin = _pg_admin()
    if isinstance(admin, str):
        print(f"request cycle on PostgreSQL        : {admin}")
        return
    eng, admin_url = admin
    name, url = _pg_database(eng, admin_url, "cycle")
    try:
        _request_cycle_parts(Server(url), "PostgreSQL")
    finally:
        _pg_drop(eng, name)


def _request_cycle_parts(server: Server, backend: str) -> None:
    from app.engine import as_shipped

    filled = populate(server)
    raw_s, api_s, start_rate, ratios = request_cycle(server)
    print_cycle(server, raw_s, api_s, start_rate, filled, backend, ratios)
    stored, full, avg = stored_bytes(server)
    print(f"stored instance JSON               : {stored} bytes (avg {avg:.0f}) vs SpiffWorkflow full {full} bytes"
          f" → {stored / full:.2f}x")
    loop = rework_loop(server)
    with as_shipped():
        raw_loop, broke_at = raw_rework_loop()
    print("== rework loop: 提交材料 → 审核 → 不通过 → back (back edge), over the HTTP API ==")
    print("ms per round at round 10 / 100 / 1000  : " + " / ".join(f"{loop[k]:.1f}" for k in (10, 100, 1000))
          + f"   ratio 1000/10 {loop[1000] / loop[10]:.2f}x   (target ≤ 1.5x)")
    raw_text = " / ".join(f"{raw_loop[k]:.1f}" for k in (10, 100, 1000) if k in raw_loop)
    print(f"raw SpiffWorkflow (JSON per step)      : {raw_text} ms"
          + (f"; stalls or overflows at round {broke_at}" if broke_at else ""))
    p50, p99, count = timer_lag(server)
    print(f"timer lag (due → fired), {count} timers : p50 {p50:.2f} s, p99 {p99:.2f} s   (target p99 ≤ 2 s)")
    server.stop()
    server.db.dispose()


def run_inbox() -> None:
    from bench.scale import inbox_100k

    print("== inbox, 100k open tasks ==")
    for backend, url in (("SQLite", None), ("PostgreSQL", "pg")):
        result = inbox_100k(url)
        if isinstance(result, str):
            print(f"inbox on {backend:10s}: {result}")
            continue
        timings, page_ms = result
        for label, (seconds, total) in timings.items():
            print(f"inbox first page, {backend:10s}, {label:12s}: {seconds * 1000:6.1f} ms (query; {total} visible)"
                  f"   (target < 100 ms)")
        if page_ms is not None:
            print(f"inbox first page rendered (/inbox, county staff), {backend:10s}: {page_ms:6.1f} ms server time"
                  f" (target < 100 ms)")


def run_sweep() -> None:
    from bench.scale import pg_throughput, raw_timer_jobs

    pg = pg_throughput()
    if isinstance(pg, str):
        print(f"due-job throughput on PostgreSQL    : {pg}")
        return
    from app.engine import as_shipped

    with as_shipped():
        raw_ms = raw_timer_jobs()
    for workers, (ran, rate, wall) in pg.items():
        print(f"due-job throughput, {workers} worker(s), PG : {rate:7.1f} jobs/s while sweeping "
              f"({wall:.1f}/s incl. process start, {ran} jobs)")
    print("(target ≥ 200 jobs/s with 1 and with 3 workers)")
    print(f"raw SpiffWorkflow timer job (restore, fire, serialize; no database): {raw_ms:5.2f} ms = "
          f"{1000 / raw_ms:6.1f} jobs/s in one process; one worker sweeps at "
          f"{pg[1][1] * raw_ms / 1000:4.2f}× that rate")


PARTS = {"cycle": run_request_cycle, "cycle-pg": run_request_cycle_pg, "inbox": run_inbox, "sweep": run_sweep}


def main(argv: list[str] | None = None) -> None:
    """``python -m bench`` runs every part; ``python -m bench sweep inbox`` only the named ones."""
    _setup()
    names = (sys.argv[1:] if argv is None else argv) or list(PARTS)
    unknown = [n for n in names if n not in PARTS]
    if unknown:
        raise SystemExit(f"unknown bench part(s) {unknown}; choose from {list(PARTS)}")
    for name in names:
        PARTS[name]()


if __name__ == "__main__":
    main()
