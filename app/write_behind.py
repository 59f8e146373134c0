"""Write-behind: a transaction's writes of rows it holds locked, sent in groups.

The job sweep's fast path changes dozens of instances in one transaction, and every change writes its
instance row and its task rows: two or three statements per job, each paying SQLAlchemy's execution
path and a round trip. Inside :func:`deferring` those writes are queued instead and sent — one
executemany per statement, which psycopg pipelines — just before the next other statement on the
connection and at the end of the block. Whatever runs in between (a read, an ORM flush, a lock, a
handler's query) therefore sees exactly the rows it would have seen without the queue.

A row is queued at most once: writing a queued row again sends the queue first, so sending it grouped
by statement never reorders two writes of one row. A guarded UPDATE that matches fewer rows than it
expects raises :class:`StaleDataError` (an ``SQLAlchemyError``: the sweep then runs the batch again on
its careful path, where every write is immediate and checked on its own).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

KEY = "write_behind"


class _Queue:
    def __init__(self) -> None:
        self.groups: dict[object, list[dict]] = {}  # statement -> parameter sets, in order of first use
        self.expected: dict[object, int] = {}  # statement -> rows its parameter sets must match
        self.rows: set = set()  # (table, key) of every queued row
        self.sending = False


def execute(connection: Connection, statement, params: dict | list[dict], rows: Iterable,
            expect: int | None = None) -> int | None:
    """Run ``statement`` now (returns its rowcount), or queue it inside :func:`deferring` (returns None).

    ``rows``: the (table, key) of each row it writes; ``expect``: rows it must match (guarded UPDATEs).
    """
    queue = connection.info.get(KEY)
    if queue is None or queue.sending:
        return connection.execute(statement, params).rowcount
    rows = list(rows)
    if queue.rows.intersection(rows):
        send(connection)
    queue.groups.setdefault(statement, []).extend(params if isinstance(params, list) else [params])
    if expect is not None:
        queue.expected[statement] = queue.expected.get(statement, 0) + expect
    queue.rows.update(rows)
    return None


def send(connection: Connection) -> None:
    """Send the queued writes now (nothing to do outside :func:`deferring` or with an empty queue)."""
    queue = connection.info.get(KEY)
    if queue is None or not queue.groups or queue.sending:
        return
    groups, expected = queue.groups, queue.expected
    queue.groups, queue.expected, queue.rows = {}, {}, set()
    queue.sending = True
    try:
        for statement, params in groups.items():
            matched = connection.execute(statement, params).rowcount
            want = expected.get(statement)
            if want is not None and matched != want:
                raise StaleDataError(f"a queued guarded write matched {matched} of {want} rows: a row changed "
                                     "under a lock this transaction holds")
    finally:
        queue.sending = False


@contextlib.contextmanager
def deferring(session: Session) -> Iterator[None]:
    """Queue :func:`execute` writes of this session's transaction until the next other statement.

    The queue is sent when the block ends normally; when it raises, the queue is dropped with the
    transaction the caller rolls back."""
    connection = session.connection()
    connection.info[KEY] = _Queue()
    try:
        yield
        send(connection)
    finally:
        connection.info.pop(KEY, None)


def _before_execute(conn, clauseelement, multiparams, params, execution_options) -> None:
    queue = conn.info.get(KEY)
    if queue is not None and queue.groups and not queue.sending:
        send(conn)


def install(engine: Engine) -> None:
    """Every statement on this engine's connections first sends the connection's queued writes."""
    if not event.contains(engine, "before_execute", _before_execute):
        event.listen(engine, "before_execute", _before_execute)
