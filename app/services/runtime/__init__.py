"""Running instances: the one change path every state change takes, and what it keeps in step.

Owns: ``change`` (InstanceChange, lock_instance, apply_change, save_change, derive_status),
``projections`` (task / timer / subscription rows), ``service_calls`` (@operator, OperatorContext,
operations()), ``failures`` (backoff, retries, incidents), ``instances`` (start / cancel / suspend /
resume / instance_view), ``messages`` (send_message) and ``migration`` (instances to a new version).
May import: definitions, audit, caches, models, engine. Never tasks, jobs, reports, domain.
"""

from app.services.runtime.change import InstanceChange, apply_change, lock_instance, save_change  # noqa: F401
from app.services.runtime.instances import (  # noqa: F401
    cancel_instance,
    element_states,
    get_instance,
    instance_data,
    instance_view,
    resume_instance,
    start_instance,
    suspend_instance,
    task_summary,
)
from app.services.runtime.messages import send_message  # noqa: F401
from app.services.runtime.migration import migrate_bulk, migrate_instance  # noqa: F401
from app.services.runtime.service_calls import OperatorContext, operator  # noqa: F401
