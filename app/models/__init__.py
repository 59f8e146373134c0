"""All models, imported so that ``Base.metadata`` is complete (Alembic, create_all)."""

from app.models.auth import ApiToken, OrgUnit, User  # noqa: F401
from app.models.base import Base  # noqa: F401
from app.models.runtime import (  # noqa: F401
    AppSetting,
    AuditEvent,
    HumanTask,
    Incident,
    Instance,
    Job,
    MessageSubscription,
    ProcessFile,
    ProcessVersion,
)

try:  # domain tables are written alongside; keep the core importable while they evolve
    from app.models import domain  # noqa: F401
except ImportError:  # pragma: no cover
    pass
