"""Readiness: the database answers and ``alembic_version`` equals the head of the shipped migrations."""

from __future__ import annotations

import functools

from sqlalchemy import text


@functools.lru_cache(maxsize=1)
def migration_heads() -> tuple[str, ...]:
    from pathlib import Path

    from alembic.script import ScriptDirectory

    import app.models

    folder = Path(app.models.__file__).resolve().parent / "migrations"  # the Alembic scripts shipped with the app
    return tuple(sorted(ScriptDirectory(str(folder)).get_heads()))


def database_revisions(db) -> tuple[str, ...]:
    from alembic.migration import MigrationContext

    with db.read_engine.connect() as conn:
        return tuple(sorted(MigrationContext.configure(conn).get_current_heads()))


def readiness(db) -> dict:
    report: dict = {"status": "ready", "database": db.dialect, "checks": {}}
    try:
        with db.read_engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        report["checks"]["database"] = "ok"
    except Exception as exc:
        report["status"] = "not ready"
        report["checks"]["database"] = f"数据库不可用 / database unavailable: {exc.__class__.__name__}"
        return report
    try:
        current, heads = database_revisions(db), migration_heads()
    except Exception as exc:
        report["status"] = "not ready"
        report["checks"]["migrations"] = f"无法读取迁移版本 / cannot read the revision: {exc.__class__.__name__}"
        return report
    report["revision"], report["head"] = list(current), list(heads)
    if current != heads:
        report["status"] = "not ready"
        report["checks"]["migrations"] = ("数据库未迁移到最新版本,请运行 investflow db upgrade / "
                                          "the database is not at the migrations' head; run investflow db upgrade")
    else:
        report["checks"]["migrations"] = "ok"
    return report
