"""Demo mode only (INVESTFLOW_DEMO=1): never runs in production.

``loader`` (investflow demo load: reference data, users and projects played forward through the same
services a user calls), ``data`` (the demo data set), ``clock`` (the movable demo clock: advance / set).
"""
