"""Observing job runs: a JSON log line, the jobs_run counter and a correlation id per run."""

from __future__ import annotations

import contextlib
import time

from app.errors import Conflict, NotFound
from app.ops import context, logs, metrics


@contextlib.contextmanager
def job_run(job, observe_failure: bool = True, observations: list | None = None):
    """Wrap applying one job: outcome ``ok``, ``dropped`` (target moved on) or ``error`` (raised).

    ``observe_failure=False``: a failed run is not counted nor logged (the sweep's fast path, whose
    failed job is rolled back and run again — and observed — on its careful path).
    ``observations``: the count and the log line are appended there as a callable instead of being
    made now; the caller makes them once the job's transaction has committed (a batch that rolls back
    runs its jobs again, and each run must be observed once, when it took effect)."""
    request_id = context.new_id("job-")
    token = context.REQUEST_ID.set(request_id)
    started = time.perf_counter()
    outcome, error = "ok", None
    try:
        yield
    except (Conflict, NotFound) as exc:
        outcome, error = "dropped", getattr(exc, "message", str(exc))
        raise
    except BaseException as exc:
        outcome, error = "error", f"{type(exc).__name__}: {exc}"
        raise
    finally:
        context.REQUEST_ID.reset(token)
        if outcome == "ok" or observe_failure:
            duration_ms = (time.perf_counter() - started) * 1000
            line = dict(request_id=request_id, job_id=job.id, kind=job.kind, instance_id=job.instance_id,
                        element_id=job.element_id, outcome=outcome, duration_ms=duration_ms, error=error)

            def observe() -> None:
                metrics.job_outcome(line["kind"], outcome)
                logs.job_line(**line)

            if observations is None:
                observe()
            else:
                observations.append(observe)
