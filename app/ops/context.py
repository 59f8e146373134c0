"""The correlation id of the current request or job run (a context variable; no Flask import).

Audit events written while a request or a job runs carry this id, so an operator can go from a
log line to the events it caused and back.
"""

from __future__ import annotations

import contextvars
import re
import uuid

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("investflow_request_id", default=None)
_SANE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,63}$")


def current() -> str | None:
    return REQUEST_ID.get()


def new_id(prefix: str = "") -> str:
    return prefix + uuid.uuid4().hex


def accept(incoming: str | None) -> str:
    """An incoming X-Request-Id when it is sane (1–64 printable id characters), else a fresh id."""
    if incoming and _SANE.match(incoming.strip()):
        return incoming.strip()
    return new_id()
