"""gunicorn settings for the platform (``gunicorn -c deploy/gunicorn.conf.py 'app:create_app()'``).

Prometheus multiprocess mode: set ``PROMETHEUS_MULTIPROC_DIR`` to an empty folder shared by every
gunicorn worker and every ``investflow worker`` of this host *before* they start (the systemd units
and docker-compose file do). The folder must be emptied when the whole service (re)starts, never
while it runs: counters of a dead worker stay in its file and keep counting in the sum.
"""

import os

bind = os.environ.get("INVESTFLOW_BIND", "127.0.0.1:5000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
timeout = int(os.environ.get("INVESTFLOW_WEB_TIMEOUT", "60"))
graceful_timeout = 20
accesslog = None  # the app writes one JSON line per request itself (logger investflow.access)


def on_starting(server):
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        os.makedirs(folder, exist_ok=True)


def child_exit(server, worker):
    # app.ops.metrics names each process's files host-pid; only "live" gauges would need cleaning up
    # here and the platform has none (its gauges are computed from the database at scrape time).
    pass
