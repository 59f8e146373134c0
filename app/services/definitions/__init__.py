"""What is deployed: immutable, content-hashed process versions and everything read from them.

Owns: ``deploy`` (validate and store versions, reschedule timer starts; deploy_files, deploy_folder,
list_processes, list_versions), ``versions`` (resolve_version, version_number, spec_for_version,
load_form), ``bpmn_xml`` (safe lxml parsing, elements and names), ``diff`` (diff_versions /
diff_documents / diff_forms), ``layout`` (add_diagram_layout), ``occurrences`` (timer-start schedule).
May import: audit, caches, models, engine (deploy reads the registered service-call names from
runtime at call time). Nothing above it.
"""

from app.services.definitions.deploy import (  # noqa: F401
    deploy_files,
    deploy_folder,
    list_processes,
    list_versions,
    read_folder,
    validate_files,
)
from app.services.definitions.versions import load_form, resolve_version, spec_for_version, version_number  # noqa: F401
