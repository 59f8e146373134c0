"""The investflow CLI and worker processes: exactly-once timers across processes, lease takeover after SIGKILL."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.models.runtime import AuditEvent, Job

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent / "investflow"


def _cli(url, *args, demo=True, extra_env=None):
    env = {**os.environ, "DATABASE_URL": url, "INVESTFLOW_DEMO": "1" if demo else "0",
           "INVESTFLOW_HANDLER_MODULES": "tests.support", "PYTHONPATH": str(ROOT), **(extra_env or {})}
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)


def test_cli_users_tokens_clock_deploy_and_worker(database_url, db):
    assert _cli(database_url, "db", "upgrade").returncode == 0
    bad_role = _cli(database_url, "users", "create", "zhang", "--role", "nobody")
    assert bad_role.returncode != 0 and "未知角色" in bad_role.stderr
    ok = _cli(database_url, "users", "create", "zhang", "--role", "admin", "--password", "Pw-12345678")
    assert ok.returncode == 0, ok.stderr
    token = _cli(database_url, "tokens", "create", "zhang")
    assert token.returncode == 0 and token.stdout.strip().splitlines()[-1].startswith("ifw_")
    refused = _cli(database_url, "clock", "advance", "P1D", demo=False)
    assert refused.returncode != 0 and "演示" in refused.stderr
    assert _cli(database_url, "clock", "advance", "P1X").returncode != 0
    moved = _cli(database_url, "clock", "advance", "P31D")
    assert moved.returncode == 0 and "now=" in moved.stdout
    broken = ROOT / "tests" / "fixtures" / "bpmn" / "timers.bpmn"
    dep = _cli(database_url, "deploy", str(broken), "--forms", str(broken.parent))
    assert dep.returncode == 0, dep.stderr
    assert dep.stdout.strip().splitlines()[-1] == "5"
    worker = _cli(database_url, "worker", "--once")
    assert worker.returncode == 0 and worker.stdout.strip().splitlines()[-1] == "0"
    missing = _cli(database_url, "deploy", str(ROOT / "tests" / "core"))
    assert missing.returncode != 0 and "没有上传文件" in missing.stderr


def _seed_due_timers(factory, clock, n):
    factory.deploy_onboarding()
    for _ in range(n):
        factory.start()
    clock.advance("P1DT1M")  # every yellow timer is now due


def _fired(db):
    with db.read_scope() as s:
        return (s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.type == "timer_fired")),
                s.scalar(select(func.count(func.distinct(AuditEvent.instance_id)))
                         .where(AuditEvent.type == "timer_fired")))


@pytest.mark.slow
@pytest.mark.parametrize("db_kind", ["pg"], indirect=True)
def test_three_worker_processes_fire_2000_timers_exactly_once(factory, clock, db, database_url):
    n = int(os.environ.get("INVESTFLOW_TIMER_TEST_N", "2000"))
    _seed_due_timers(factory, clock, n)
    procs = [subprocess.Popen([str(BIN), "worker", "--once", "--name", f"w{i}"], cwd=ROOT, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env={**os.environ, "DATABASE_URL": database_url, "INVESTFLOW_DEMO": "1",
                                   "INVESTFLOW_HANDLER_MODULES": "tests.support", "PYTHONPATH": str(ROOT)})
             for i in range(3)]
    counts = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-2000:]
        counts.append(int(out.strip().splitlines()[-1]))
    assert sum(counts) == n
    assert _fired(db) == (n, n)
    with db.read_scope() as s:
        assert s.scalar(select(func.count()).select_from(Job).where(Job.element_id == "yellow1")) == 0


@pytest.mark.slow
@pytest.mark.parametrize("db_kind", ["pg"], indirect=True)
def test_killed_worker_jobs_are_taken_over_after_lease_expiry(factory, clock, db, database_url):
    n = 300
    _seed_due_timers(factory, clock, n)
    env = {**os.environ, "DATABASE_URL": database_url, "INVESTFLOW_DEMO": "1", "INVESTFLOW_JOB_LEASE": "120",
           "INVESTFLOW_HANDLER_MODULES": "tests.support", "PYTHONPATH": str(ROOT)}
    victim = subprocess.Popen([str(BIN), "worker", "--interval", "0.2", "--name", "victim"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while _fired(db)[0] < 20 and time.monotonic() < deadline:  # wait for the process, not for a timer
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    fired_before, _ = _fired(db)
    assert 0 < fired_before < n
    with db.read_scope() as s:
        leased = s.scalar(select(func.count()).select_from(Job).where(Job.lease_owner.is_not(None)))
    assert leased > 0  # the dead worker still holds leases
    taken = subprocess.run([str(BIN), "worker", "--once"], cwd=ROOT, env=env, capture_output=True, text=True)
    # the unleased remainder runs; the dead worker's leased jobs wait for their lease to expire
    assert int(taken.stdout.strip().splitlines()[-1]) == n - fired_before - leased
    assert _fired(db)[0] == n - leased
    clock.advance("PT3M")  # past the 120 s lease
    taken = subprocess.run([str(BIN), "worker", "--once"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert taken.returncode == 0, taken.stderr[-2000:]
    assert _fired(db) == (n, n)
