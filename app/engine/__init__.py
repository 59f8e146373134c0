"""The engine boundary: the ONLY package that imports SpiffWorkflow (ARCHITECTURE rule 1).

Everything outside gets plain ids, dataclasses and dicts from here:
``validation`` + ``compile`` (deploy-time checks and specs), ``serializer`` (instance JSON without
the spec, the spec cache), ``runner`` (create/restore/step one workflow), ``views`` (what a step
projects), ``spec_migration`` (move an instance to another version), ``scripting`` (the sandbox),
``clockpatch`` (SpiffWorkflow reads ``app.clock``), ``walks`` (its task-tree walks, same order, less overhead).
"""

import contextlib

from app.engine.compile import CompiledProcess, compile_files  # noqa: F401
from app.engine.runner import Runner, make_script_engine  # noqa: F401
from app.engine.scripting import check_code  # noqa: F401
from app.engine.serializer import SERIALIZER_VERSION, SpecBundle, SpecCache  # noqa: F401
from app.engine.spec_migration import MappingInvalid, MigrationCheck, check_and_migrate  # noqa: F401
from app.engine.validation import BundleInvalid, FileError, safe_parse_xml  # noqa: F401
from app.engine.views import (  # noqa: F401
    ServiceFailure,
    StepResult,
    TimerView,
    UserTaskView,
    element_instructions,
)


@contextlib.contextmanager
def as_shipped():
    """SpiffWorkflow without this package's speed-ups to it (task-tree walks, task ids that keep their
    text), for the bench's raw baseline measured in the same process; the app clock stays installed."""
    from app.engine import serializer, walks

    walks.uninstall()
    serializer.draw_plain_task_ids(True)
    try:
        yield
    finally:
        serializer.draw_plain_task_ids(False)
        walks.install()
