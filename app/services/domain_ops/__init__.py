"""Domain operators (DB-aware service-task operations), one module per area."""
