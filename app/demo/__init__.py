"""Demo mode only (INVESTFLOW_DEMO=1): never runs in production.

``loader`` (investflow demo load: reference data, users, projects), ``script`` (the processes played
forward through the same services a user calls), ``forms`` (form data from a JSON Schema), ``data``
(the demo data set), ``clock`` (the movable demo clock: advance / set).
"""
