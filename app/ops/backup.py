"""Online backup and restore of the SQLite database, with the uploaded attachments.

``backup FILE`` writes two files:

* ``FILE`` — a consistent copy of the database made with SQLite's online backup API (the source
  stays fully usable while it runs; the copy is one transactionally consistent state);
* ``FILE.attachments.tar`` — the attachments folder (content-addressed files, written once, so a
  plain tar taken right after the database copy holds every file the copy refers to).

``restore FILE`` copies ``FILE`` into the configured database (again through the backup API, so a
running reader never sees half a file) and unpacks ``FILE.attachments.tar`` into the attachments
folder. It refuses to overwrite a database that holds data unless ``force`` is given.

PostgreSQL is backed up with its own tools (``pg_dump -Fc`` / ``pg_restore``); see README.
"""

from __future__ import annotations

import os
import sqlite3
import tarfile
from pathlib import Path

from sqlalchemy.engine import make_url

PG_HINT = ("PostgreSQL 请使用 pg_dump / pg_restore:pg_dump -Fc -f investflow.dump \"$DATABASE_URL\";"
           "恢复:pg_restore --clean --if-exists -d \"$DATABASE_URL\" investflow.dump(附件目录请另行复制) / "
           "on PostgreSQL use pg_dump -Fc and pg_restore (see README, Operations); copy the attachments folder "
           "separately")


class BackupError(Exception):
    pass


def sqlite_path(db) -> Path:
    if not db.is_sqlite:
        raise BackupError(PG_HINT)
    database = make_url(db.url).database
    if not database or database == ":memory:":
        raise BackupError("内存数据库无法备份 / an in-memory database cannot be backed up")
    return Path(database)


def attachments_archive(target: Path) -> Path:
    return target.with_name(target.name + ".attachments.tar")


def _copy(source: sqlite3.Connection, dest: sqlite3.Connection) -> None:
    # One step over all pages: it reads in one transaction, so the copy is one consistent state. The
    # database runs in WAL mode, where that read transaction does not block writers; a copy in small
    # steps would restart whenever another process writes and might never finish on a busy server.
    source.backup(dest, pages=-1)


def backup(db, target: str | os.PathLike, attachment_dir: str | os.PathLike | None) -> dict:
    src_path = sqlite_path(db)
    if not src_path.exists():
        raise BackupError(f"数据库文件不存在 / database file not found: {src_path}")
    target = Path(target)
    if target.exists() and target.is_dir():
        raise BackupError(f"目标是目录 / target is a folder: {target}")
    if not target.parent.is_dir():
        raise BackupError(f"目标目录不存在 / target folder does not exist: {target.parent}")
    if target.resolve() == src_path.resolve() or target.name.startswith(src_path.name + "-"):
        raise BackupError("目标就是当前数据库或其日志文件 / the target is the live database or one of its files")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(src_path, timeout=60)  # read only in practice; WAL needs its -shm file writable
    dest = sqlite3.connect(partial)
    try:
        _copy(source, dest)
        dest.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
        check = dest.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        dest.close()
        source.close()
    if check != "ok":
        partial.unlink(missing_ok=True)
        raise BackupError(f"备份校验失败 / integrity check of the copy failed: {check}")
    os.replace(partial, target)
    files = _pack_attachments(attachment_dir, attachments_archive(target))
    return {"database": str(target), "attachments": str(attachments_archive(target)), "attachment_files": files,
            "bytes": target.stat().st_size, "source": str(src_path)}


def _pack_attachments(folder, archive: Path) -> int:
    count = 0
    partial = archive.with_name(archive.name + ".partial")
    with tarfile.open(partial, "w") as tar:
        if folder and Path(folder).is_dir():
            root = Path(folder)
            for path in sorted(root.rglob("*")):
                if path.is_file() and not path.is_symlink() and not path.name.startswith(".upload-"):
                    tar.add(path, arcname=str(path.relative_to(root)), recursive=False)
                    count += 1
    os.replace(partial, archive)
    return count


def _has_data(path: Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return False
    conn = sqlite3.connect(path, timeout=60)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
            "AND name <> 'alembic_version'")]
        return any(conn.execute(f'SELECT 1 FROM "{t}" LIMIT 1').fetchone() for t in tables)
    finally:
        conn.close()


def _check_backup(source: Path) -> str:
    if not source.is_file():
        raise BackupError(f"备份文件不存在 / backup file not found: {source}")
    try:
        conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
            revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"不是本平台的 SQLite 备份 / not a SQLite backup of this platform: {exc}") from None
    if check != "ok" or revision is None:
        raise BackupError(f"备份文件损坏或不完整 / the backup is damaged or incomplete ({check})")
    return revision[0]


def restore(db, source: str | os.PathLike, attachment_dir: str | os.PathLike | None, force: bool = False) -> dict:
    target = sqlite_path(db)
    source = Path(source)
    revision = _check_backup(source)
    if source.resolve() == target.resolve():
        raise BackupError("备份文件就是当前数据库 / the backup is the configured database itself")
    if _has_data(target) and not force:
        raise BackupError(f"目标数据库非空,拒绝覆盖(加 --force 强制) / the database {target} holds data; "
                          "refusing to overwrite it without --force")
    target.parent.mkdir(parents=True, exist_ok=True)
    db.dispose()  # our own pooled connections must not hold old pages
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dest = sqlite3.connect(target, timeout=60)
    try:
        _copy(src, dest)
    finally:
        src.close()
        dest.close()
    files = 0
    archive = attachments_archive(source)
    if archive.is_file() and attachment_dir:
        folder = Path(attachment_dir)
        folder.mkdir(parents=True, exist_ok=True)
        with tarfile.open(archive) as tar:
            members = [m for m in tar.getmembers() if m.isfile()]
            tar.extractall(folder, members=members, filter="data")  # no absolute paths, no links, no ..
            files = len(members)
    return {"database": str(target), "revision": revision, "attachment_files": files,
            "attachments": str(archive) if archive.is_file() else None}
