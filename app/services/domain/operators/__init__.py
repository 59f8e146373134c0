"""Domain operators (DB-aware service-task calls), one module per area: projects, records, messaging, notify.

Each registers with ``@operator("name")`` from ``runtime.service_calls``; all are imported by
``service_calls.load_all()``. They run in the calling instance's transaction.
"""
