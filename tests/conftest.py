"""Shared fixtures: a real database (SQLite file, and PostgreSQL where marked), app, users, clock."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

# every reuse of a workflow kept in memory between changes is checked against its row (services.caches)
os.environ.setdefault("INVESTFLOW_HOT_VERIFY", "1")
# every task-tree walk of app.engine.walks is checked against SpiffWorkflow's own iterator, task by task
os.environ.setdefault("INVESTFLOW_WALK_VERIFY", "1")
# every instance JSON orjson writes is checked to parse like the standard encoder's (app.engine.statejson)
os.environ.setdefault("INVESTFLOW_JSON_VERIFY", "1")

from tests.support import CALLS, FAILURES  # noqa: E402  (imports the engine: the switches above come first)

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parent.parent
MIWG = ROOT.parent / "shared" / "interop" / "miwg"
PG_ADMIN_URL = os.environ.get("INVESTFLOW_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")

def _pg_available() -> str | None:
    try:
        eng = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with eng.connect() as c:
            c.execute(text("SELECT 1"))
        eng.dispose()
        return None
    except Exception as exc:  # pragma: no cover - depends on the machine
        return f"PostgreSQL unreachable at {PG_ADMIN_URL}: {exc.__class__.__name__}"


@pytest.fixture(scope="session")
def pg_database():
    reason = _pg_available()
    if reason:
        if os.environ.get("CI") and not os.environ.get("INVESTFLOW_ALLOW_PG_SKIP"):
            pytest.fail(reason)
        pytest.skip(reason)
    name = f"investflow_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    from app.db import Database
    from app.models.schema import upgrade

    db = Database(url)
    upgrade(db)
    db.dispose()
    yield url
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_pg(url: str) -> None:
    eng = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with eng.begin() as c:
        tables = [r[0] for r in c.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> 'alembic_version'"))]
        if tables:
            c.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    eng.dispose()


@pytest.fixture(params=["sqlite"])
def db_kind(request):
    return request.param


@pytest.fixture
def database_url(db_kind, tmp_path, request):
    if db_kind == "pg":
        url = request.getfixturevalue("pg_database")
        _truncate_pg(url)
        return url
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def app(database_url, tmp_path):
    from app import clock, create_app
    from app.config import Config
    from app.models.schema import upgrade

    config = Config(DATABASE_URL=database_url, DEMO=True, SCHEDULER=False, TESTING=True,
                    SERVICE_BACKOFF_SECONDS=60.0, SECRET_KEY="test", WTF_CSRF_ENABLED=True,
                    ATTACHMENT_DIR=str(tmp_path / "attachments"))
    application = create_app(config)
    db = application.extensions["db"]
    if db.is_sqlite:
        upgrade(db)
    clock.set_local_offset(__import__("datetime").timedelta(0))
    db.caches.clear()  # version ids restart per database
    CALLS.clear()
    FAILURES.clear()
    yield application
    clock.set_local_offset(__import__("datetime").timedelta(0))
    clock.install_loader(None)
    db.dispose()


@pytest.fixture
def db(app):
    return app.extensions["db"]


@pytest.fixture
def client(app):
    return app.test_client()


class Clock:
    def __init__(self, db):
        self.db = db

    def advance(self, duration: str):
        from app.demo import clock as clock_admin

        with self.db.session_scope() as s:
            return clock_admin.advance(s, duration, demo=True, actor="test")

    def now(self):
        from app import clock

        return clock.now()


@pytest.fixture
def clock(db):
    return Clock(db)


class Factory:
    def __init__(self, db):
        self.db = db

    def org(self, key, name=None, region_code=None):
        from app.services.domain import users

        with self.db.session_scope() as s:
            users.create_org(s, key, name or key, region_code=region_code)
        return key

    def user(self, username, *roles, org=None, password="Secret-pass-9"):
        from app.services.domain import users

        with self.db.session_scope() as s:
            users.create_user(s, username, list(roles), org=org, password=password)
        return username

    def token(self, username):
        from app.services.domain import users

        with self.db.session_scope() as s:
            return users.create_token(s, username)

    def get_user(self, username):
        from app.services.domain import users

        with self.db.read_scope() as s:
            user = users.get_user(s, username)
            s.expunge(user)
            return user

    def deploy(self, *names, author="tester"):
        from app.services.definitions import deploy

        files = []
        for name in names:
            p = FIXTURES / "bpmn" / name
            files.append((p.name, p.read_bytes()))
        with self.db.session_scope() as s:
            return deploy.deploy_files(s, files, author)

    def deploy_onboarding(self):
        return self.deploy("onboarding.bpmn", "ob-basic.json", "ob-basic-uischema.json")

    def start(self, key="onboarding", data=None, business_key=None, version=None):
        from app.services.runtime import instances

        payload = {"yellow_after": "P1D", "project_name": "测试项目", "amount_wan": 100, **(data or {})}
        with self.db.session_scope() as s:
            return instances.start_instance(s, key, data=payload, business_key=business_key, version=version,
                                            actor="tester")

    def open_tasks(self, instance_id):
        from sqlalchemy import select

        from app.models.runtime import HumanTask

        with self.db.read_scope() as s:
            return {t.element_id: t.id for t in s.scalars(select(HumanTask).where(
                HumanTask.instance_id == instance_id, HumanTask.state == "open"))}

    def complete(self, task_id, data=None, username="admin"):
        from app.services import tasks

        with self.db.session_scope() as s:
            from app.services.domain import users

            user = users.get_user(s, username)
            return tasks.complete_task(s, user, task_id, data or {})

    def run_jobs(self):
        from app.services import jobs

        return jobs.run_due(self.db, worker_id="test")


@pytest.fixture
def factory(db):
    f = Factory(db)
    f.user("admin", "admin")
    return f


@pytest.fixture
def miwg_dir():
    if not MIWG.is_dir():
        pytest.skip(f"MIWG interop folder absent ({MIWG})")
    return MIWG
