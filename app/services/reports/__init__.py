"""Read models for pages and exports (no writes): SQL over the domain and projection tables.

Owns: ``reference`` (regions, chains, filter options, display names), ``board`` (挂图作战 matrix),
``projects`` (project list, project page, timeline, documents, diagram), ``records`` (投诉台账 and
来访台账: the complaint and visit ledgers), ``dashboards`` (KPIs per
county, park, chain, month; rankings), ``exports`` (Excel bulletin and assessment), ``admin``
(instance list, incident list, counts — one copy for the admin pages and the API).
May import: runtime, definitions, domain.queries, access, models. Nothing imports reports but views.
To add a column to the complaint list: a key in ``records.list_complaints`` and a cell in
templates/records/complaints.html. To add a field to the complaint form: forms/co-*.json (the
complaint_handling process's forms, see processes/README.md); server validation follows the schema.
"""
