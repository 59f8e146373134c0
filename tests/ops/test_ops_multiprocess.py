"""Multiprocess metrics: counters of separate ``investflow worker`` processes are summed by the web's /metrics."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.ops.conftest import cli, free_port, http, sample, wait_http

ROOT = Path(__file__).resolve().parents[2]


def test_job_counters_of_worker_processes_add_up_in_the_web_scrape(factory, clock, db, database_url, tmp_path):
    factory.deploy_onboarding()
    for _ in range(3):
        factory.start()
    factory.user("prom", "metrics")
    token = factory.token("prom")
    prom = tmp_path / "prom"
    prom.mkdir()
    env = {"PROMETHEUS_MULTIPROC_DIR": str(prom)}
    clock.advance("P1DT1M")  # three yellow timers due
    first = cli(database_url, "worker", "--once", "--name", "a", extra_env=env)
    assert first.returncode == 0 and first.stdout.strip().splitlines()[-1] == "3", first.stderr
    factory.start()
    factory.start()
    clock.advance("P1DT1M")  # two more yellow timers, and the red timers (P3D) of the first three are not yet due
    second = cli(database_url, "worker", "--once", "--name", "b", extra_env=env)
    assert second.returncode == 0 and second.stdout.strip().splitlines()[-1] == "2", second.stderr
    assert len(list(prom.glob("counter_*.db"))) == 2  # one file per process (host-pid)

    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).parent / "investflow"), "serve", "--port", str(port)],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ, "DATABASE_URL": database_url, "INVESTFLOW_DEMO": "1",
                                   "INVESTFLOW_SCHEDULER": "0", "PYTHONPATH": str(ROOT), **env,
                                   "INVESTFLOW_HANDLER_MODULES": "tests.support"})
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", proc=server)
        status, text = http("GET", f"http://127.0.0.1:{port}/metrics", token)
        assert status == 200
        assert sample(text, "investflow_jobs_run_total", kind="timer", outcome="ok") == 5
        assert sample(text, "investflow_http_requests_total", route="/healthz", status="200") >= 1
        assert sample(text, "investflow_tasks_open", process="onboarding", light="yellow") == 5
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
