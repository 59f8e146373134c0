"""Backup while a real server takes writes; restore into a fresh database that serves the same counts."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

from tests.ops.conftest import cli, free_port, http, sample, wait_http

ROOT = Path(__file__).resolve().parents[2]


def _serve(url: str, attachments: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "INVESTFLOW_DEMO": "1", "INVESTFLOW_ATTACHMENT_DIR": str(attachments),
           "INVESTFLOW_HANDLER_MODULES": "tests.support", "PYTHONPATH": str(ROOT), "INVESTFLOW_JSON_LOGS": "0"}
    proc = subprocess.Popen([str(Path(sys.executable).parent / "investflow"), "serve", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_http(f"http://127.0.0.1:{port}/healthz", proc=proc)
    return proc


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _file_counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' "
                                             "AND name NOT LIKE 'sqlite_%'")]
        return {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        conn.close()


def test_backup_while_serving_and_restore_to_a_serving_copy(app, factory, tmp_path, database_url, db):
    factory.deploy_onboarding()
    for _ in range(5):
        factory.start()
    token = factory.token("admin")
    attachments = Path(app.config["ATTACHMENT_DIR"])
    content = "合作协议扫描件".encode() * 100
    sha = hashlib.sha256(content).hexdigest()
    (attachments / sha[:2]).mkdir(parents=True)
    (attachments / sha[:2] / sha).write_bytes(content)
    db.dispose()

    port = free_port()
    server = _serve(database_url, attachments, port)
    base = f"http://127.0.0.1:{port}"
    stop = threading.Event()
    done: list[int] = []
    errors: list[object] = []

    def load():
        while not stop.is_set():
            status, body = http("POST", f"{base}/api/v1/processes/onboarding/instances", token,
                                {"data": {"yellow_after": "P1D", "project_name": "备份中", "amount_wan": 1}})
            (done.append(1) if status == 201 else errors.append((status, body)))
            http("GET", f"{base}/api/v1/tasks?per_page=5", token)

    threads = [threading.Thread(target=load) for _ in range(2)]
    try:
        for t in threads:
            t.start()
        while len(done) < 10:
            threading.Event().wait(0.05)
        backup = tmp_path / "copy" / "investflow-backup.db"
        backup.parent.mkdir()
        before = len(done)
        made = cli(database_url, "backup", str(backup),
                   extra_env={"INVESTFLOW_ATTACHMENT_DIR": str(attachments)})
        during = len(done) - before
        while len(done) < before + during + 5:  # and requests go on after the copy
            threading.Event().wait(0.05)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
        _stop(server)
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip().splitlines()[-1] == "ok" and "1 file(s)" in made.stdout
    assert not errors, errors[:3]
    assert during > 0, "no request completed while the backup ran"

    live = _file_counts(Path(database_url.removeprefix("sqlite:///")))
    copied = _file_counts(backup)
    assert 5 + 10 <= copied["instance"] < live["instance"]  # a state between the start and the end of the load
    assert copied["human_task"] == copied["instance"]  # consistent: each instance has its first task row
    assert (backup.parent / "investflow-backup.db.attachments.tar").is_file()

    # restore into a fresh database and attachments folder, then serve it
    restored_url = f"sqlite:///{tmp_path / 'restored.db'}"
    restored_att = tmp_path / "restored-attachments"
    env = {"INVESTFLOW_ATTACHMENT_DIR": str(restored_att)}
    out = cli(restored_url, "restore", str(backup), extra_env=env)
    assert out.returncode == 0, out.stderr
    assert (restored_att / sha[:2] / sha).read_bytes() == content
    assert _file_counts(tmp_path / "restored.db") == copied
    doctor = cli(restored_url, "doctor")
    assert doctor.returncode == 0 and doctor.stdout.strip().splitlines()[-1] == "0", doctor.stdout

    port2 = free_port()
    copy_server = _serve(restored_url, restored_att, port2)
    try:
        base2 = f"http://127.0.0.1:{port2}"
        status, ready = http("GET", f"{base2}/readyz")
        assert status == 200 and ready["status"] == "ready"
        status, listed = http("GET", f"{base2}/api/v1/instances?per_page=1", token)
        assert status == 200 and listed["total"] == copied["instance"]
        status, inbox = http("GET", f"{base2}/api/v1/tasks?per_page=1", token)
        assert status == 200 and inbox["total"] == copied["human_task"]
        status, text = http("GET", f"{base2}/metrics", token)
        assert status == 200 and sample(text, "investflow_instances", process="onboarding") == copied["instance"]
        status, _ = http("POST", f"{base2}/api/v1/processes/onboarding/instances", token,
                         {"data": {"yellow_after": "P1D", "project_name": "恢复后", "amount_wan": 1}})
        assert status == 201  # the copy takes writes
    finally:
        _stop(copy_server)

    refused = cli(restored_url, "restore", str(backup), extra_env=env)
    assert refused.returncode != 0 and "--force" in refused.stderr
    forced = cli(restored_url, "restore", str(backup), "--force", extra_env=env)
    assert forced.returncode == 0, forced.stderr
    assert _file_counts(tmp_path / "restored.db") == copied


def test_backup_and_restore_refuse_bad_input(database_url, db, tmp_path):
    missing_dir = cli(database_url, "backup", str(tmp_path / "no" / "such" / "dir" / "x.db"))
    assert missing_dir.returncode != 0 and "target folder does not exist" in missing_dir.stderr
    assert cli(database_url, "restore", str(tmp_path / "absent.db")).returncode != 0
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    bad = cli(database_url, "restore", str(junk))
    assert bad.returncode != 0 and "not a SQLite backup" in bad.stderr
    assert cli(database_url, "backup").returncode != 0  # FILE is required


def test_postgresql_backup_points_to_pg_dump(pg_database, tmp_path):
    for args in (("backup", str(tmp_path / "x.db")), ("restore", str(tmp_path / "x.db"))):
        out = cli(pg_database, *args)
        assert out.returncode == 2 and "pg_dump" in out.stderr and "pg_restore" in out.stderr


def test_readyz_and_healthz(client, db):
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.get_json()
    assert body["status"] == "ready" and body["revision"] == body["head"] and body["checks"]["database"] == "ok"
    assert client.get("/healthz").status_code == 200
    with db.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0001'")
    stale = client.get("/readyz")
    assert stale.status_code == 503 and stale.get_json()["status"] == "not ready"
    assert "db upgrade" in stale.get_json()["checks"]["migrations"]
    assert client.get("/healthz").status_code == 200  # liveness does not care


def test_backup_refuses_to_overwrite_the_live_database(database_url, db):
    live = database_url.removeprefix("sqlite:///")
    out = cli(database_url, "backup", live)
    assert out.returncode != 0 and "live database" in out.stderr
    assert cli(database_url, "backup", live + "-wal").returncode != 0


def test_backup_of_a_database_nobody_has_open(factory, db, database_url, tmp_path):
    factory.deploy_onboarding()
    factory.start()
    db.dispose()  # no connection left: the WAL and shared-memory files are gone
    out = cli(database_url, "backup", str(tmp_path / "cold.db"))
    assert out.returncode == 0, out.stderr
    assert _file_counts(tmp_path / "cold.db")["instance"] == 1
