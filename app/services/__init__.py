"""Services: every transaction and read model the views (web, api, cli) call. The map:

  definitions/  what is deployed: deploy, versions (spec, forms), bpmn_xml, diff, layout, occurrences
  runtime/      running instances: change (the one state-change path), projections, service_calls,
                failures, instances, messages, migration
  tasks/        human work: inbox, commands (claim / complete …), forms (validation)
  jobs/         durable jobs: executor (lease, run, sweep) and kinds ({kind: function})
  domain/       the city's tables: operators/, queries (KPIs), notifications, users
  reports/      read models for pages: reference, board, projects, dashboards, exports, admin
  access.py  who may see or act (one rule) · audit.py  events · caches.py  per-Database caches
Rules: groups import downward only (definitions ← runtime ← tasks / jobs ← reports; domain operators
register with runtime); public functions take a Session, return dicts, never commit.
"""
