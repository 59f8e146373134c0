"""app.write_behind: queued writes go out, grouped by statement, before the next other statement and at the
end of the block; a row is queued once; a guarded write that misses raises; a failed block writes nothing
— on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, event, insert, select, update
from sqlalchemy.orm.exc import StaleDataError

from app import write_behind
from app.models.runtime import AppSetting

pytestmark = pytest.mark.parametrize("db_kind", ["sqlite", "pg"], indirect=True)

_T = AppSetting.__table__
_SET = update(_T).where(_T.c.key == bindparam("k")).values(value=bindparam("v"))
_ADD = insert(_T)


class Sent:
    """(statement, parameter sets) of every statement the write engine sends."""

    def __init__(self, db):
        self.db, self.sent = db, []

    def _before(self, conn, cursor, statement, params, context, executemany):
        self.sent.append((statement.split()[0], len(params) if executemany else 1))

    def __enter__(self):
        event.listen(self.db.engine, "before_cursor_execute", self._before)
        return self

    def __exit__(self, *exc):
        event.remove(self.db.engine, "before_cursor_execute", self._before)


def _seed(db, n):
    with db.session_scope() as s:
        s.execute(_ADD, [{"key": f"k{i}", "value": 0} for i in range(n)])


def _values(db):
    with db.read_scope() as s:
        return dict(s.execute(select(_T.c.key, _T.c.value).where(_T.c.key.like("k%"))).all())


def _set(conn, key, value, expect=1):
    return write_behind.execute(conn, _SET, {"k": key, "v": value}, rows=[("app_setting", key)], expect=expect)


def test_outside_a_block_a_write_runs_at_once(db):
    _seed(db, 2)
    with db.session_scope() as s:
        assert _set(s.connection(), "k0", 5) == 1
        assert _set(s.connection(), "nope", 5) == 0  # the caller sees the rowcount and decides
    assert _values(db) == {"k0": 5, "k1": 0}


def test_queued_writes_are_grouped_and_sent_before_the_next_read(db):
    _seed(db, 6)
    with db.session_scope() as s, Sent(db) as seen:
        with write_behind.deferring(s):
            conn = s.connection()
            for i in range(5):
                assert _set(conn, f"k{i}", i + 10) is None  # queued
            assert seen.sent == []
            # a read on the connection first sends the queue: it sees every queued write
            assert s.scalar(select(_T.c.value).where(_T.c.key == "k4")) == 14
            assert seen.sent == [("UPDATE", 5), ("SELECT", 1)]
            _set(conn, "k5", 99)
        assert seen.sent[-1] == ("UPDATE", 1)  # the end of the block sends the rest
    assert _values(db) == {"k0": 10, "k1": 11, "k2": 12, "k3": 13, "k4": 14, "k5": 99}


def test_a_row_written_twice_keeps_the_order_of_its_writes(db):
    _seed(db, 2)
    other = update(_T).where(_T.c.key == bindparam("k")).values(value=bindparam("w"))  # a second statement shape
    with db.session_scope() as s, Sent(db) as seen:
        with write_behind.deferring(s):
            conn = s.connection()
            _set(conn, "k0", 1)
            _set(conn, "k1", 1)
            write_behind.execute(conn, other, {"k": "k0", "w": 2}, rows=[("app_setting", "k0")])
            _set(conn, "k0", 3)
    # the second write of k0 sent the queue before it, and so did the third
    assert [n for _, n in seen.sent] == [2, 1, 1]
    assert _values(db) == {"k0": 3, "k1": 1}


def test_a_guarded_write_that_misses_raises_and_nothing_is_kept(db):
    _seed(db, 2)
    with pytest.raises(StaleDataError, match="matched 1 of 2"):
        with db.session_scope() as s, write_behind.deferring(s):
            _set(s.connection(), "k0", 7)
            _set(s.connection(), "gone", 7)
    assert _values(db) == {"k0": 0, "k1": 0}


def test_a_block_that_raises_drops_its_queue(db):
    _seed(db, 1)
    with db.session_scope() as s:
        with pytest.raises(RuntimeError), write_behind.deferring(s):
            _set(s.connection(), "k0", 8)
            raise RuntimeError("the change failed")
        assert write_behind.KEY not in s.connection().info
        s.execute(select(_T.c.value))  # nothing queued is sent by a later statement …
    assert _values(db) == {"k0": 0}  # … nor by the commit
