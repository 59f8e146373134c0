"""APScheduler as the local clock that calls the job sweeper; it never holds the schedule (rule 6)."""

from __future__ import annotations

import logging
import signal
import threading

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from app.services import jobs

log = logging.getLogger(__name__)


def _sweep(db, name):
    try:
        ran = jobs.run_due(db, worker_id=name)
        if ran:
            log.info("sweep ran %s job(s)", ran)
    except Exception:
        log.exception("sweep failed")


def _configure(scheduler, db, interval: float, name: str | None):
    scheduler.add_job(_sweep, "interval", seconds=interval, args=[db, name], id="sweep", max_instances=1,
                      coalesce=True, misfire_grace_time=None)
    return scheduler


def start_background(db, interval: float = 1.0, name: str | None = None) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(executors={"default": ThreadPoolExecutor(1)}, timezone="UTC")
    _configure(scheduler, db, interval, name).start()
    return scheduler


def run_forever(db, interval: float = 1.0, name: str | None = None) -> None:
    scheduler = BlockingScheduler(executors={"default": ThreadPoolExecutor(1)}, timezone="UTC")
    _configure(scheduler, db, interval, name)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
    scheduler.start()
