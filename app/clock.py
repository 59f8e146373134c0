"""The one application clock.

Everything that needs "now" calls :func:`now`. In demo/test mode the clock can be moved: the
offset lives in the database (``app_setting`` row ``clock_offset_seconds``) so every process
(web, workers, CLI) sees the same time. The offset is re-read at most every
``_REFRESH_SECONDS`` and whenever :func:`refresh` is called (each request, each sweep).
"""

from __future__ import annotations

import datetime as dt
import threading
import time

_lock = threading.Lock()
_offset = dt.timedelta(0)
_loaded_at = 0.0
_loader = None  # callable returning the stored offset in seconds, installed by app.db
_REFRESH_SECONDS = 1.0

OFFSET_KEY = "clock_offset_seconds"


def install_loader(loader) -> None:
    global _loader, _loaded_at
    _loader = loader
    _loaded_at = 0.0


def refresh() -> None:
    """Re-read the stored offset now."""
    global _offset, _loaded_at
    if _loader is None:
        return
    seconds = _loader()
    with _lock:
        _offset = dt.timedelta(seconds=seconds or 0.0)
        _loaded_at = time.monotonic()


def real_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def now() -> dt.datetime:
    """Current application time, timezone-aware UTC."""
    if _loader is not None and time.monotonic() - _loaded_at > _REFRESH_SECONDS:
        try:
            refresh()
        except Exception:  # a clock must not fail a request; keep the last known offset
            pass
    return real_now() + _offset


def offset() -> dt.timedelta:
    return _offset


def set_local_offset(delta: dt.timedelta) -> None:
    """Set the in-process offset immediately (the caller has stored it in the database)."""
    global _offset, _loaded_at
    with _lock:
        _offset = delta
        _loaded_at = time.monotonic()
