"""Durable jobs (ARCHITECTURE rule 6): timers, service retries, timer starts, messages, mail, starts.

Owns: ``executor`` (acquire with a lease, run_job under one lock with a savepoint around the kind,
run_due, list_jobs, retry_incident, pending_for) and ``kinds`` (the {kind: function} table).
The timer-start schedule itself is ``definitions.occurrences``.
May import: runtime, definitions, audit, models (mail delivery from domain.notifications, at call time).
"""

from app.services.jobs.executor import (  # noqa: F401
    acquire,
    list_jobs,
    pending_for,
    retry_incident,
    run_due,
    run_job,
    worker_name,
)
from app.services.jobs.kinds import KINDS, apply_job  # noqa: F401
