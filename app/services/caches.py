"""Caches owned by one Database (versions are immutable, so what they hold never goes stale).

``Database.caches`` is a :class:`Caches`; services reach it with ``caches.of(session)``. Tests and
admins clear everything with one ``clear()``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy.orm import Session

from app.engine import SpecCache

TOKEN_SECONDS = 15.0


class Caches:
    def __init__(self) -> None:
        self.specs = SpecCache()  # version id -> restored spec bundle
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
        self.forms.clear()
        self.version_numbers.clear()
        self.tokens.clear()


def of(session: Session) -> Caches:
    from app.db import database_of

    return database_of(session).caches
