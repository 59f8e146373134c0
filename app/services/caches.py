"""Caches owned by one Database (versions are immutable, so what they hold never goes stale).

``Database.caches`` is a :class:`Caches`; services reach it with ``caches.of(session)``. Tests and
admins clear everything with one ``clear()``.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from sqlalchemy.orm import Session

from app.engine import Runner, SpecCache

TOKEN_SECONDS = 15.0


class HotInstances:
    """The restored workflows of the instances this process changed last (a sticky cache, as Temporal
    workers keep theirs): the next change of such an instance skips restoring its JSON.

    An entry is keyed by instance id and holds the *stamp* of the row it was saved as — lock version,
    version id, serializer version — and is used only when the row read under the instance lock
    carries the same stamp. Every write of an instance's state bumps its lock version (``save_change``),
    in this process or any other, so a matching stamp means the row holds exactly what this workflow was
    dumped to. ``take`` removes the entry: one change at a time owns a workflow, and a change that fails
    simply loses it (the next change restores from the row). Entries enter only after their transaction
    committed (``publish``, from ``Database``'s session events). ``size`` 0 turns the cache off.
    """

    MAX_STATE_BYTES = 128 * 1024  # larger instances (an annual assessment's ~700 KB) are restored each time:
    # in memory a workflow takes 1–3× its JSON (measured on the demo data), so the cache stays under
    # about 100 MB even when every entry is at the limit; a typical entry is 10–300 KB

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[int, tuple[tuple, Runner]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def take(self, instance_id: int, stamp: tuple) -> Runner | None:
        with self._lock:
            entry = self._items.pop(instance_id, None)
            if entry is not None and entry[0] == stamp:
                self.hits += 1
                return entry[1]
            self.misses += 1
            return None

    def publish(self, entries: dict[int, tuple[tuple, Runner]]) -> None:
        if self.size <= 0:
            return
        with self._lock:
            for instance_id, entry in entries.items():
                self._items[instance_id] = entry
                self._items.move_to_end(instance_id)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class Caches:
    def __init__(self, hot_instances: int = 256) -> None:
        self.specs = SpecCache()  # version id -> restored spec bundle
        self.hot = HotInstances(hot_instances)  # instance id -> (row stamp, workflow saved as that row)
        self.forms: dict[tuple[int, str], dict | None] = {}  # (version id, file) -> parsed form
        self.version_numbers: dict[int, int] = {}  # version id -> version number
        self.tokens: dict[str, tuple[float, Any]] = {}  # token digest -> (expiry, user snapshot)
        self._lock = threading.Lock()

    def token_user(self, digest: str):
        hit = self.tokens.get(digest)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        return None

    def remember_token(self, digest: str, user) -> None:
        with self._lock:
            if len(self.tokens) > 10_000:
                self.tokens.clear()
            self.tokens[digest] = (time.monotonic() + TOKEN_SECONDS, user)

    def forget_tokens(self) -> None:
        self.tokens.clear()

    def clear(self) -> None:
        self.specs.clear()
        self.hot.clear()
        self.forms.clear()
        self.version_numbers.clear()
        self.tokens.clear()


def of(session: Session) -> Caches:
    from app.db import database_of

    return database_of(session).caches
