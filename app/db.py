"""Engines and sessions.

``Database`` owns two engines on SQLite — writers begin with ``BEGIN IMMEDIATE`` so write
transactions serialise cleanly instead of failing with "database is locked" half-way, readers use
plain deferred transactions (WAL lets them run beside a writer) — and one engine on PostgreSQL,
where writers lock the instance row with ``SELECT … FOR UPDATE``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from sqlalchemy import create_engine, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from app import clock
from app.config import RuntimeSettings

_DEFAULT: Database | None = None

log = logging.getLogger(__name__)


def after_savepoint_rollback(session: Session, exc: BaseException) -> None:
    """Where a savepoint swallows a failed change, its ``after_rollback`` work joins the outer transaction."""
    hook = getattr(exc, "after_rollback", None)
    if hook is not None:
        exc.after_rollback = None
        hook(session)


def database_of(session: Session) -> Database:
    """The Database a session belongs to (its settings and caches)."""
    db = session.info.get("db")
    if db is None:  # a session made outside Database (rare: scripts, migrations)
        global _DEFAULT
        if _DEFAULT is None:
            _DEFAULT = Database.__new__(Database)
            from app.services.caches import Caches

            _DEFAULT.settings, _DEFAULT.caches = RuntimeSettings(), Caches()
        db = _DEFAULT
    return db


def normalize_url(url: str) -> str:
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _sqlite_engine(url: str, immediate: bool) -> Engine:
    engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False}, pool_size=10,
                           max_overflow=20)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine, "begin")
    def _begin(conn):
        # on the driver connection: SQLAlchemy's own execution path (result set-up, events) would cost
        # more than the statement, on every transaction
        conn.connection.driver_connection.execute(begin)

    return engine


HOT_PENDING = "hot_pending"  # session.info: instance id -> (row stamp, workflow) saved in this transaction


def _drop_hot(session: Session, _transaction) -> None:
    """Any rollback, a savepoint's included, forgets the workflows saved so far: the rows may not hold them."""
    session.info.pop(HOT_PENDING, None)


def _end_hot(session: Session, transaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended without publishing (closed, failed)
        session.info.pop(HOT_PENDING, None)


class Database:
    """Engines, sessions, the runtime settings and the per-database caches.

    Every session made here carries the Database in ``session.info["db"]``, so services reach the
    settings and caches of *their* database (``database_of(session)``) without module globals.
    """

    def __init__(self, url: str, settings: RuntimeSettings | None = None):
        from app.services.caches import Caches

        self.url = normalize_url(url)
        self.settings = settings or RuntimeSettings()
        self.caches = Caches(self.settings.hot_instances)
        self.is_sqlite = self.url.startswith("sqlite")
        if self.is_sqlite:
            self.engine = _sqlite_engine(self.url, immediate=True)
            self.read_engine = _sqlite_engine(self.url, immediate=False)
        else:
            self.engine = create_engine(self.url, pool_size=10, max_overflow=20, pool_pre_ping=True)
            self.read_engine = self.engine
        from app import write_behind

        write_behind.install(self.engine)  # the sweep's queued writes go out before any other statement
        self.Session = sessionmaker(self.engine, expire_on_commit=False, info={"db": self})
        self.ReadSession = sessionmaker(self.read_engine, expire_on_commit=False, info={"db": self})
        event.listen(self.Session, "after_commit", self._publish_hot)
        event.listen(self.Session, "after_soft_rollback", _drop_hot)
        event.listen(self.Session, "after_transaction_end", _end_hot)

    def _publish_hot(self, session: Session) -> None:
        """The workflows a committed transaction saved join the hot cache (a savepoint's commit waits
        for its outer transaction)."""
        if session.get_nested_transaction() is None:
            pending = session.info.pop(HOT_PENDING, None)
            if pending:
                self.caches.hot.publish(pending)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextlib.contextmanager
    def session_scope(self) -> Iterator[Session]:
        """One write transaction: commit on success, roll back on any error."""
        session = self.Session()
        try:
            yield session
            session.commit()
        except BaseException as exc:
            session.rollback()
            self.run_after_rollback(exc)
            raise
        finally:
            session.close()

    def run_after_rollback(self, exc: BaseException) -> None:
        """Give a failed change's ``after_rollback`` work (an incident) its own transaction; run it once."""
        hook = getattr(exc, "after_rollback", None)
        if hook is None:
            return
        exc.after_rollback = None
        try:
            with self.session_scope() as session:
                hook(session)
        except Exception:  # the original error is what the caller must see
            log.exception("recording the failure of a rolled-back change failed")

    @contextlib.contextmanager
    def read_scope(self) -> Iterator[Session]:
        session = self.ReadSession()
        try:
            yield session
        finally:
            session.close()  # releases the connection (rolled back); loaded objects stay readable

    def install_clock(self) -> None:
        """Make app.clock read its offset from this database."""
        from app.models.runtime import AppSetting

        def load() -> float:
            with self.read_scope() as s:
                value = s.scalar(select(AppSetting.value).where(AppSetting.key == clock.OFFSET_KEY))
            return float(value or 0.0)

        clock.install_loader(load)

    def dispose(self) -> None:
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()
