"""Human work: the inbox and the commands on a task.

Owns: ``inbox`` (list_tasks, counts, FILTERS), ``commands`` (get_task, task_view, claim_task,
unclaim_task, save_draft, complete_task), ``forms`` (validate() with Chinese per-field messages
from a {validator: template} table). Who may see or act is decided by ``services.access``.
May import: runtime, definitions, access, audit, models, engine.
To add a field to a task form: edit the JSON Schema in forms/ (the renderer and validate() follow).
"""

from app.services.tasks.commands import (  # noqa: F401
    claim_task,
    complete_task,
    get_task,
    save_draft,
    task_view,
    unclaim_task,
)
from app.services.tasks.forms import validate  # noqa: F401
from app.services.tasks.inbox import FILTERS, counts, list_tasks  # noqa: F401
