"""All models, imported so that ``Base.metadata`` is complete (Alembic, create_all)."""

from app.models import (
    assessment,  # noqa: F401,E402  (F-20 unit reports, annual targets)
    domain,  # noqa: F401,E402  (domain tables: projects, libraries, reports…)
    domain_processes,  # noqa: F401,E402  (联办协办, 流转, 会议与交办)
    domain_projects,  # noqa: F401,E402  (stage evidence, 揭牌认领)
)
from app.models.auth import ApiToken, OrgUnit, User, UserAbsence  # noqa: F401
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
