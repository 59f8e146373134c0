"""Form fields chosen from the city's registers (org units, users), not typed.

A form property (or an array's ``items``) may carry ``"x-options": SOURCE``; when a task's form is
shown or submitted the schema gets a ``oneOf`` of ``{"const": key, "title": name}`` computed from the
organisation tree for that task's data, so the renderer shows a list and validation refuses anything
else (422, Chinese message). Sources:

- ``org_units:local`` — units of the task's county (``region_code``) plus city-level departments/offices
- ``org_units:department`` — city-level departments (type department / utility)
- ``org_units`` — every unit
- ``users:<role>[,<role>…]`` — active users holding one of the roles, in the task's county or at city level
- ``supervisors`` — 项目主管 candidates; the users matching the D2 category in ``supervisor_role``
  come first and the first of them is the default. ``"x-reason-unless-suggested": "<field>"`` makes
  ``<field>`` required when another user is chosen (项目主管 overridable with a reason).
"""

from __future__ import annotations

import copy

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import FormInvalid
from app.models.auth import OrgUnit, User

# D2 (processes/dmn/project_supervisor.dmn) category → the roles whose holders may be that 项目主管
SUPERVISOR_ROLES: dict[str, tuple[str, ...]] = {
    "municipal_leader_in_charge": ("committee_deputy", "leader"),
    "deputy_secgen_liaison": ("deputy_secgen",),
    "lead_unit_head": ("project_supervisor", "city_ipb"),
    "county_leader_in_charge": ("county_gov",),
    "county_unit_head": ("county_ipb",),
}
SUPERVISOR_ANY = tuple(dict.fromkeys(r for roles in SUPERVISOR_ROLES.values() for r in roles))


def _orgs(session: Session, source: str, region: str | None) -> list[tuple[str, str]]:
    rows = session.execute(select(OrgUnit.key, OrgUnit.name, OrgUnit.region_code, OrgUnit.type)
                           .order_by(OrgUnit.region_code.is_not(None).desc(), OrgUnit.id)).all()
    kind = source.partition(":")[2]
    out = []
    for key, name, org_region, org_type in rows:
        if kind == "local":
            ok = (region is not None and org_region == region) or (
                org_region is None and org_type in ("department", "office", "utility", None))
        elif kind == "department":
            ok = org_region is None and org_type in ("department", "utility")
        else:
            ok = True
        if ok:
            out.append((key, name))
    return out


def _users(session: Session, roles: tuple[str, ...], region: str | None) -> list[tuple[str, str]]:
    rows = session.execute(select(User.username, User.display_name, User.roles, OrgUnit.region_code, OrgUnit.name)
                           .outerjoin(OrgUnit, OrgUnit.id == User.org_unit_id)
                           .where(User.active.is_not(False)).order_by(User.id)).all()
    out = []
    for username, display, user_roles, org_region, org_name in rows:
        if not set(roles) & set(user_roles or []):
            continue
        if region and org_region not in (None, region):
            continue
        out.append((username, f"{display or username}({org_name or '市级'})"))
    return out


def _choices(session: Session, source: str, data: dict) -> tuple[list[tuple[str, str]], list[str]]:
    region = data.get("region_code")
    region = str(region) if region else None
    if source.startswith("org_units"):
        return _orgs(session, source, region), []
    if source.startswith("users:"):
        roles = tuple(r.strip() for r in source[len("users:"):].split(",") if r.strip())
        return _users(session, roles, region), []
    if source == "supervisors":
        suggested = _users(session, SUPERVISOR_ROLES.get(str(data.get("supervisor_role") or ""), ()), region)
        everyone = _users(session, SUPERVISOR_ANY, region)
        keys = {k for k, _ in suggested}
        return suggested + [c for c in everyone if c[0] not in keys], [k for k, _ in suggested]
    return [], []


def expand(session: Session, schema: dict | None, data: dict | None) -> dict | None:
    """A copy of ``schema`` whose ``x-options`` fields carry the computed ``oneOf`` (and defaults)."""
    if not schema or "x-options" not in str(schema):
        return schema
    data = data or {}
    out = copy.deepcopy(schema)

    def walk(node: dict, optional: bool = False) -> None:
        if not isinstance(node, dict):
            return
        source = node.get("x-options")
        if isinstance(source, str):
            choices, suggested = _choices(session, source, data)
            node["oneOf"] = [{"const": k, "title": t} for k, t in choices]
            if optional or not node["oneOf"]:  # an optional field may name nobody ("" = not named)
                node["oneOf"].insert(0, {"const": "", "title": "(不指定)" if optional else "(无可选项)"})
            if suggested:
                node["x-suggested"] = suggested
                node.setdefault("default", suggested[0])
        required = set(node.get("required") or [])
        for key, sub in (node.get("properties") or {}).items():
            walk(sub, optional=key not in required)
        if isinstance(node.get("items"), dict):
            walk(node["items"])

    walk(out)
    return out


def check_reasons(schema: dict | None, data: dict) -> None:
    """``x-reason-unless-suggested``: a reason is required when a non-suggested choice is made."""
    errors = []
    for name, prop in ((schema or {}).get("properties") or {}).items():
        reason_field = prop.get("x-reason-unless-suggested") if isinstance(prop, dict) else None
        suggested = prop.get("x-suggested") if isinstance(prop, dict) else None
        if not reason_field or not suggested or data.get(name) in (None, "") or data.get(name) in suggested:
            continue
        if not str(data.get(reason_field) or "").strip():
            errors.append({"field": reason_field,
                           "message": "与 D2 建议不一致时必须说明理由 / a reason is required when overriding the suggestion"})
    if errors:
        raise FormInvalid("表单数据有误 / form data invalid", errors)
