"""揭牌认领 (REQ-16, library_admission ``claim`` task, form li-claim.json): a listed project is claimed by
ONE unit — the project's county units (县区投促局、县区政府、园区) or a 市直部门 — recorded as an org unit
(``project_claim.org_unit_id``), never as free text.

Two ways in, one record: the county's ``claim`` task in the inbox, and ``POST /api/v1/projects/<id>/claim``
for units outside the task's lane (``authorise_claim`` decides, then the same task completion runs).
Either way the server check of li-claim.json (:func:`check_claim_form`, under the library instance's
lock) writes the ``project_claim`` row; its unique ``project_id`` makes a second claim fail with 409
even from another library instance, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.errors import Conflict, FormInvalid, NotAllowed, NotFound
from app.models.auth import OrgUnit, User
from app.models.domain import Project, TimelineEvent
from app.models.domain_projects import ProjectClaim
from app.models.runtime import HumanTask
from app.services import access, audit

COUNTY_CLAIMANTS = ("county_ipb", "county_gov", "park_admin")
# 市直部门: the city's departments that carry investment targets (reference §4.3 "其他承担招商任务的市直部门")
CITY_CLAIMANTS = ("city_ipb", "industry_dept", "chain_group", "factor_dept", "ndrc", "eco", "nrp", "housing")
CLAIM_ROLES = frozenset(COUNTY_CLAIMANTS + CITY_CLAIMANTS)
CLAIM_FIELDS = ("claim_reason", "approach", "target_sign_date", "commissioner_name", "contact_mobile")
OFFICE = frozenset({"zsw_office"})  # may record a claim on a unit's behalf


def claim_dict(session: Session, row: ProjectClaim) -> dict:
    org = session.get(OrgUnit, row.org_unit_id)
    return {"id": row.id, "project_id": row.project_id, "org_unit_id": row.org_unit_id,
            "org_unit_key": org.key if org else None, "org_unit_name": org.name if org else None,
            "claimed_by": row.claimed_by, "claim_reason": row.claim_reason, "approach": row.approach,
            "target_sign_date": row.target_sign_date.isoformat() if row.target_sign_date else None,
            "commissioner_name": row.commissioner_name, "instance_id": row.instance_id,
            "created_at": row.created_at.isoformat() if row.created_at else None}


def get_claim(session: Session, project_id: int) -> ProjectClaim | None:
    return session.scalar(select(ProjectClaim).where(ProjectClaim.project_id == project_id))


def _taken(session: Session, claim: ProjectClaim) -> Conflict:
    org = session.get(OrgUnit, claim.org_unit_id)
    return Conflict(f"该项目已由{org.name if org else claim.org_unit_id}认领,每个项目只能有一个认领单位 / "
                    f"the project is already claimed (one claimant per project)")


def open_claim_task(session: Session, project_id: int) -> HumanTask | None:
    return session.scalar(select(HumanTask).where(
        HumanTask.project_id == project_id, HumanTask.process_key == "library_admission",
        HumanTask.element_id == "claim", HumanTask.state == "open").order_by(HumanTask.created_at).limit(1))


def may_claim(user) -> bool:
    return user is not None and (user.is_admin or bool(CLAIM_ROLES & set(user.roles or [])))


def authorise_claim(session: Session, user, project_id: int) -> HumanTask:
    """May ``user`` claim the project now? Returns the open claim task (403 / 404 / 409 otherwise)."""
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(f"项目 {project_id} 不存在 / project {project_id} not found")
    access.check_region(user, project.region_code)
    if not may_claim(user):
        raise NotAllowed("只有县(区)投资促进局、县(区)政府、园区和市直部门可以揭牌认领 / "
                         "only county units, parks and municipal departments may claim")
    if access.org_key(user) is None:
        raise NotAllowed("您的账号未关联单位,不能认领 / your account has no org unit")
    existing = get_claim(session, project_id)
    if existing is not None:
        raise _taken(session, existing)
    task = open_claim_task(session, project_id)
    if task is None:
        raise Conflict("该项目不在揭牌认领期(未发布或认领期已结束)/ the project is not open for claiming")
    return task


def claim_form(user, body: dict) -> dict:
    """The li-claim form data of a claim made through the API (the claimant is the user's unit)."""
    unknown = sorted(set(body or {}) - set(CLAIM_FIELDS))
    if unknown:
        raise FormInvalid("表单填写有误,请按提示修改 / the form has errors",
                          [{"field": k, "message": "未定义的字段 / unknown field"} for k in unknown])
    data = {k: v for k, v in (body or {}).items() if v not in (None, "")}
    return {"claim_decision": "认领", "claimant_org": access.org_key(user), **data}


def _claimant(session: Session, data: dict, actor: User | None) -> OrgUnit:
    key = data.get("claimant_org") or (actor.org_unit.key if actor is not None and actor.org_unit else None)
    org = session.scalar(select(OrgUnit).where(OrgUnit.key == key)) if key else None
    if org is None:
        raise FormInvalid("请选择认领单位 / choose the claiming unit",
                          [{"field": "claimant_org", "message": "请选择认领单位 / choose the claiming unit"}])
    own = actor is not None and actor.org_unit_id == org.id
    if not own and not (actor is not None and (actor.is_admin or OFFICE & set(actor.roles or []))):
        raise FormInvalid("只能以本单位名义认领 / you may claim only for your own unit",
                          [{"field": "claimant_org", "message": "只能以本单位名义认领 / claim for your own unit"}])
    return org


def check_claim_form(session: Session, task, data: dict, actor: str, instance_id: int | None) -> dict:
    """Server check of li-claim.json: record the one claim (409 when the project already has one)."""
    if (data or {}).get("claim_decision") != "认领" or task.project_id is None:
        return {}
    existing = get_claim(session, task.project_id)
    if existing is not None:
        raise _taken(session, existing)
    user = session.scalar(select(User).where(User.username == actor))
    org = _claimant(session, data, user)
    row = ProjectClaim(project_id=task.project_id, org_unit_id=org.id, claimed_by=actor,
                       claim_reason=data.get("claim_reason"), approach=data.get("approach"),
                       target_sign_date=_date(data.get("target_sign_date")),
                       commissioner_name=data.get("commissioner_name"), contact_mobile=data.get("contact_mobile"),
                       instance_id=instance_id)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # a concurrent claim from another instance won
        raise Conflict("该项目已被其他单位认领,每个项目只能有一个认领单位 / the project is already claimed") from None
    session.add(TimelineEvent(project_id=task.project_id, kind="claim", title=f"揭牌认领:{org.name}", actor=actor,
                              instance_id=instance_id, element_id=getattr(task, "element_id", None),
                              detail={"claim_id": row.id, "org_unit_id": org.id, "org_unit_key": org.key}))
    audit.record(session, "project_claimed", actor, instance_id=instance_id,
                 detail={"project_id": task.project_id, "claim_id": row.id, "org_unit_id": org.id})
    return {"data": {"claimant_org": org.key, "claimant_org_id": org.id, "claimant_org_name": org.name}}


def _date(value):
    import datetime as dt

    try:
        return dt.date.fromisoformat(str(value)) if value not in (None, "") else None
    except ValueError:
        return None
