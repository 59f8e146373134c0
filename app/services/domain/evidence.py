"""Stage evidence (issue #12): what each lifecycle stage requires before it may be completed, which of
it a project has, attaching a piece, and the server-side check of the stage form (lc-stage.json).

The requirement is the ``stage.evidence`` setting ({stage: [{kind, label}]}; defaults: 落地 needs
工商注册/营业执照, 项目用地, 投资项目备案/核准; 开工 needs 施工许可). A kind is *present* when the project
has a ``project_evidence`` row of that kind, or when the stage form being submitted carries it (the
form's 统一社会信用代码, 已取得用地, 备案/核准文号, 施工许可证号 fields) — then the row is written as part of
the completion. Otherwise the completion is refused (422) with one Chinese message per missing kind
and nothing changes. Attaching evidence checks role and jurisdiction like every project write.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import FormInvalid, Invalid
from app.models.domain import STAGE_NAMES, Project, TimelineEvent
from app.models.domain_projects import ProjectEvidence
from app.services import access, audit
from app.services.domain import settings

# evidence kind → (field of the stage form's ``stage_evidence`` object that supplies it, what it must hold)
FORM_FIELDS = {"registration": "company_uscc", "site": "site_secured", "filing": "filing_no", "permit": "permit_no"}
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def declared(session: Session) -> dict[str, list[dict]]:
    return settings.get(session, "stage.evidence") or {}


def kinds(session: Session) -> dict[str, str]:
    """Every declared kind → its label (over all stages)."""
    return {item["kind"]: item["label"] for items in declared(session).values() for item in items}


def evidence_dict(row: ProjectEvidence) -> dict:
    return {"id": row.id, "project_id": row.project_id, "kind": row.kind, "title": row.title, "number": row.number,
            "issued_on": row.issued_on.isoformat() if row.issued_on else None, "attachment": row.attachment,
            "stage": row.stage, "source": row.source, "created_by": row.created_by,
            "created_at": row.created_at.isoformat() if row.created_at else None}


def _records(session: Session, project_id: int) -> list[ProjectEvidence]:
    return list(session.scalars(select(ProjectEvidence).where(ProjectEvidence.project_id == project_id)
                                .order_by(ProjectEvidence.id)))


def _from_form(kind: str, form: dict | None):
    """The value the stage form supplies for ``kind`` (None when it supplies nothing)."""
    field = FORM_FIELDS.get(kind)
    value = (form or {}).get(field) if field else None
    if value is True:
        return "已取得"
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def stage_status(session: Session, project_id: int, stage: str | None, form: dict | None = None,
                 records: list[ProjectEvidence] | None = None) -> list[dict]:
    """The evidence ``stage`` requires, each with ``present`` and the records (or form value) showing it."""
    rows = _records(session, project_id) if records is None else records
    out = []
    for item in declared(session).get(stage or "", []):
        mine = [evidence_dict(r) for r in rows if r.kind == item["kind"]]
        supplied = _from_form(item["kind"], form)
        out.append({**item, "present": bool(mine or supplied), "records": mine, "form_value": supplied,
                    "form_field": FORM_FIELDS.get(item["kind"])})
    return out


def project_evidence(session: Session, user, project_id: int) -> dict:
    """GET: the project's evidence and, per stage that declares any, what is required and present."""
    project = _project(session, project_id)
    access.check_region(user, project.region_code)
    rows = _records(session, project_id)
    stages = {stage: stage_status(session, project_id, stage, records=rows) for stage in declared(session)}
    return {"project_id": project_id, "stage": project.stage, "items": [evidence_dict(r) for r in rows],
            "required": stages, "kinds": [{"kind": k, "label": v} for k, v in kinds(session).items()]}


def _project(session: Session, project_id: int) -> Project:
    from app.errors import NotFound

    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(f"项目 {project_id} 不存在 / project {project_id} not found")
    return project


def _clean(session: Session, body: dict) -> tuple[dict, list[dict]]:
    errors = [{"field": k, "message": "未定义的字段 / unknown field"}
              for k in sorted(set(body) - {"kind", "title", "number", "issued_on", "attachment"})]
    labels = kinds(session)
    kind = body.get("kind") if isinstance(body.get("kind"), str) else None
    if kind not in labels:
        errors.append({"field": "kind", "message": f"材料类型应为 {'/'.join(labels.values())} / kind must be one of "
                                                   f"{', '.join(labels)}"})
    title = _str(body.get("title"))[:200] or labels.get(kind, "")
    number = _str(body.get("number"))[:64] or None
    if not number and not body.get("attachment"):
        errors.append({"field": "number", "message": "请填写证照/文号,或上传材料 / give a number or an attachment"})
    issued = None
    if body.get("issued_on") not in (None, ""):
        try:
            issued = dt.date.fromisoformat(str(body["issued_on"]))
        except ValueError:
            errors.append({"field": "issued_on", "message": "日期格式应为 YYYY-MM-DD / date expected"})
    attachment = body.get("attachment") or None
    if attachment is not None and not (isinstance(attachment, str) and _SHA256.match(attachment)):
        errors.append({"field": "attachment", "message": "附件标识无效 / attachment must be a sha256"})
    return {"kind": kind, "title": title or "材料", "number": number, "issued_on": issued,
            "attachment": attachment}, errors


def _str(value) -> str:
    return value.strip() if isinstance(value, str) else str(value) if isinstance(value, int | float) else ""


def attach_evidence(session: Session, user, project_id: int, body: dict) -> dict:
    """POST: record one piece of evidence (editor role, own county); audited and on the timeline."""
    project = _project(session, project_id)
    access.check_region(user, project.region_code)
    access.check_project_write(user, project.region_code)
    clean, errors = _clean(session, dict(body or {}))
    if errors:
        raise Invalid("材料信息有误,请按提示修改 / invalid evidence", errors)
    row = ProjectEvidence(project_id=project.id, stage=project.stage, source="page", created_by=user.username, **clean)
    session.add(row)
    session.flush()
    _log(session, project.id, row, user.username, None)
    return evidence_dict(row)


def _log(session: Session, project_id: int, row: ProjectEvidence, actor: str, instance_id: int | None) -> None:
    label = kinds(session).get(row.kind, row.kind)
    session.add(TimelineEvent(project_id=project_id, kind="evidence", title=f"登记转段材料:{label}",
                              actor=actor, instance_id=instance_id,
                              detail={"evidence_id": row.id, "kind": row.kind, "number": row.number}))
    audit.record(session, "project_evidence_added", actor, instance_id=instance_id,
                 detail={"project_id": project_id, "evidence_id": row.id, "kind": row.kind, "source": row.source})


def check_stage_completion(session: Session, project_id, stage: str | None, data: dict, actor: str,
                           instance_id: int | None) -> list[dict]:
    """The stage form is submitted: refuse (FormInvalid, 422) when required evidence is missing;
    otherwise record what the form supplied. Only an *advance* needs evidence (退回 does not)."""
    if (data or {}).get("stage_action", "advance") != "advance" or project_id in (None, ""):
        return []
    form = (data or {}).get("stage_evidence") or {}
    status = stage_status(session, int(project_id), stage, form)
    missing = [item for item in status if not item["present"]]
    if missing:
        name = STAGE_NAMES.get(stage or "", stage)
        labels = "、".join(item["label"] for item in missing)
        errors = [{"field": f"stage_evidence.{item['form_field']}" if item["form_field"] else "stage_evidence",
                   "title": item["label"],
                   "message": f"{name}阶段转段须有“{item['label']}”:请在本表填写或在项目页登记材料 / "
                              f"missing stage evidence: {item['kind']}"} for item in missing]
        raise FormInvalid(f"缺少转段材料:{labels} / missing stage evidence: "
                          f"{', '.join(item['kind'] for item in missing)}", errors)
    added = []
    for item in status:
        if not item["records"] and item["form_value"]:
            row = ProjectEvidence(project_id=int(project_id), kind=item["kind"], title=item["label"],
                                  number=item["form_value"][:64], stage=stage, source="stage_form",
                                  instance_id=instance_id, created_by=actor)
            session.add(row)
            session.flush()
            _log(session, int(project_id), row, actor, instance_id)
            added.append(evidence_dict(row))
    return added


def stage_note(session: Session, project_id, stage: str | None) -> str | None:
    """One line for the stage form: which evidence this stage requires and which is present."""
    if project_id in (None, ""):
        return None
    status = stage_status(session, int(project_id), stage)
    if not status:
        return None
    parts = [f"{'✔' if item['present'] else '✘'} {item['label']}{'(已登记)' if item['present'] else '(缺)'}"
             for item in status]
    return "本阶段转段所需材料:" + ";".join(parts) + "。缺少的材料可在本表填写或在项目页登记。"
