"""The engine boundary: the ONLY package that imports SpiffWorkflow (ARCHITECTURE rule 1).

Everything outside gets plain ids, dataclasses and dicts from here.
"""

from app.engine.runtime import (  # noqa: F401
    SERIALIZER_VERSION,
    SPEC_CACHE,
    Runner,
    ServiceFailure,
    SpecCache,
    StepResult,
    TimerView,
    UserTaskView,
    element_instructions,
    full_serialize,
    make_script_engine,
)
from app.engine.scripting import check_code  # noqa: F401
from app.engine.validation import (  # noqa: F401
    BundleInvalid,
    CompiledProcess,
    FileError,
    compile_files,
    safe_parse_xml,
)
