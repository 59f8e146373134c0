"""Prometheus metrics (``GET /metrics``).

Two kinds of families:

* **Events counted by the process that saw them** — HTTP requests, request latency, job runs. They
  are prometheus_client counters/histograms. With ``PROMETHEUS_MULTIPROC_DIR`` set (it must be set
  in the environment *before* the process starts, and be the same folder for every gunicorn worker
  and every ``investflow worker`` of the host) each process writes its values to that folder and
  ``/metrics`` sums them over all processes, dead ones included. Without it, values are per process.
* **Database state** — due jobs, job lag, open incidents, open tasks, instances, deploys. They are
  computed by SQL at scrape time (:class:`DatabaseCollector`), so they are correct whatever process
  answers the scrape and need no multiprocess bookkeeping.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy import func, select

PREFIX = "investflow"


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")


def process_identifier() -> str:
    """Host name + pid: distinct across containers that share one multiprocess folder (pids repeat there)."""
    return f"{socket.gethostname()}-{os.getpid()}"


if multiprocess_dir():  # before the families below are created: their values live in per-process files
    from prometheus_client import values as _values

    _values.ValueClass = _values.MultiProcessValue(process_identifier=process_identifier)

LOCAL = CollectorRegistry(auto_describe=True)  # process-local families (single-process mode)

HTTP_REQUESTS = Counter(f"{PREFIX}_http_requests", "HTTP requests by route template, method and status",
                        ["route", "method", "status"], registry=LOCAL)
HTTP_LATENCY = Histogram(f"{PREFIX}_http_request_duration_seconds",
                         "HTTP request latency by route template, method and status", ["route", "method", "status"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0), registry=LOCAL)
JOBS_RUN = Counter(f"{PREFIX}_jobs_run", "Job runs by kind and outcome (ok | dropped | error)",
                   ["kind", "outcome"], registry=LOCAL)


_REQUEST_CHILDREN: dict[tuple[str, str, int], tuple] = {}  # labels -> (counter child, histogram child)


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    children = _REQUEST_CHILDREN.get((route, method, status))
    if children is None:  # route templates × methods × statuses: a bounded set
        labels = (route, method, str(status))
        children = _REQUEST_CHILDREN[(route, method, status)] = (HTTP_REQUESTS.labels(*labels),
                                                                 HTTP_LATENCY.labels(*labels))
    children[0].inc()
    children[1].observe(seconds)


def job_outcome(kind: str, outcome: str) -> None:
    JOBS_RUN.labels(kind or "unknown", outcome).inc()


def light(warning: str | None) -> str:
    """The task's traffic light: a task without a warning is green."""
    return warning if warning in ("yellow", "red") else "green"


class DatabaseCollector:
    """Gauges (and the deploy counter) read from the database at scrape time."""

    def __init__(self, db):
        self.db = db

    def describe(self):
        return []

    def collect(self):
        from app import clock
        from app.models.runtime import HumanTask, Incident, Instance, Job, ProcessVersion

        now = clock.now()
        blocked = select(Instance.id).where(Instance.status.in_(("suspended", "error")))
        runnable = (Job.instance_id.is_(None)) | (Job.instance_id.not_in(blocked))
        with self.db.read_scope() as s:
            due = s.execute(select(Job.kind, func.count(), func.min(Job.due_at))
                            .where(Job.due_at <= now, runnable).group_by(Job.kind)).all()
            incidents = s.scalar(select(func.count()).select_from(Incident).where(Incident.status == "open"))
            tasks = s.execute(select(HumanTask.process_key, HumanTask.warning, func.count())
                              .where(HumanTask.state == "open")
                              .group_by(HumanTask.process_key, HumanTask.warning)).all()
            inst = s.execute(select(Instance.process_key, Instance.status, func.count())
                             .group_by(Instance.process_key, Instance.status)).all()
            deploys = s.execute(select(ProcessVersion.process_key, func.count())
                                .group_by(ProcessVersion.process_key)).all()

        jobs_due = GaugeMetricFamily(f"{PREFIX}_jobs_due", "Jobs due now and runnable, by kind", labels=["kind"])
        oldest = None
        for kind, count, first in due:
            jobs_due.add_metric([kind], count)
            if first is not None:
                first = first if first.tzinfo else first.replace(tzinfo=now.tzinfo)
                oldest = first if oldest is None or first < oldest else oldest
        yield jobs_due
        yield GaugeMetricFamily(f"{PREFIX}_job_lag_seconds",
                                "Seconds the oldest due runnable job is late (0 when none is due)",
                                value=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        yield GaugeMetricFamily(f"{PREFIX}_incidents_open", "Open incidents", value=incidents or 0)
        open_tasks = GaugeMetricFamily(f"{PREFIX}_tasks_open", "Open human tasks by process and light",
                                       labels=["process", "light"])
        merged: dict[tuple[str, str], int] = {}
        for process, warning, count in tasks:
            key = (process, light(warning))
            merged[key] = merged.get(key, 0) + count
        for key, count in sorted(merged.items()):
            open_tasks.add_metric(list(key), count)
        yield open_tasks
        instances = GaugeMetricFamily(f"{PREFIX}_instances", "Process instances by process and status",
                                      labels=["process", "status"])
        for process, status, count in inst:
            instances.add_metric([process, status], count)
        yield instances
        deployed = CounterMetricFamily(f"{PREFIX}_deploys", "Deployments that created a process version",
                                       labels=["process"])
        for process, count in deploys:
            deployed.add_metric([process], count)
        yield deployed
        hot = self.db.caches.hot
        reuse = CounterMetricFamily(f"{PREFIX}_hot_instances",
                                    "Changes that reused the workflow this process kept in memory (hit) or "
                                    "restored it from its row (miss); this process only", labels=["outcome"])
        reuse.add_metric(["hit"], hot.hits)
        reuse.add_metric(["miss"], hot.misses)
        yield reuse
        yield GaugeMetricFamily(f"{PREFIX}_hot_instances_kept", "Workflows this process keeps in memory",
                                value=len(hot))


class _Local:
    def collect(self):
        yield from LOCAL.collect()


def exposition(db) -> bytes:
    """The text exposition of every family: process counters (or their multiprocess sum) + database state."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Local())
    registry.register(DatabaseCollector(db))
    return generate_latest(registry)


@contextlib.contextmanager
def timed():
    start = time.perf_counter()
    box = {"seconds": 0.0}
    try:
        yield box
    finally:
        box["seconds"] = time.perf_counter() - start
