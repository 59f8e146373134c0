"""The city's own tables: projects, enterprises, visits, complaints, reports, people.

Owns: ``operators/`` (service-task calls that read and write domain tables: projects, records,
messaging, notify), ``queries`` (KPI queries shared by operators, dashboards, bulletins and the API),
``notifications`` (in-app rows plus mail delivery), ``users`` (users, org units, API tokens).
May import: runtime.service_calls (to register operators), caches, models. Never tasks, jobs, reports.
A new complaint column that is not stored yet: the Complaint model (app/models/domain.py) + a
migration, the operator that writes it (operators/records.py), then the ledger in reports/records.py.
"""
