"""KPIs of the two further §4.3 (B) 市直部门 profiles — 产业链牵头单位 and 要素保障部门 (issue #12).

:func:`profile_of` derives a department's profile from the records: the lead unit of a chain in the
chain registry (``chain.lead_org_unit_key``) or an org unit whose users hold ``chain_group`` → ``"chain"``;
an org unit keyed or roled ``factor_dept``/``ndrc``/``eco``/``nrp``/``housing`` → ``"factor"``; any other
→ ``"department"`` (the existing 其他承担招商任务的市直部门 table).

:func:`profile_indicators` adds the profile's indicators (same ``{"value", "numerator", "denominator",
"reason"}`` shape as :mod:`kpis`, value a fraction; ``None`` + reason when nothing can be counted):

chain (scope: every project/visit/enterprise on the unit's chains)

* ``chain_signed_target_rate``: 链上新签约亿元以上项目 (window) ÷ the unit's ``signed_1e8_target``;
* ``chain_landing_start_rate``: (landed + started) ÷ (2 × signed) of the chain cohort (落地率+开工率);
* ``target_library_docking_rate``: 目标企业库 enterprises of the chains docked (a visit or a project, or
  library status past 目标/待招商) ÷ enterprises in the library (current stock);
* ``visit_intake_conversion_rate``: (visits handled by their due + visits converted into a project) ÷
  (visits with a passed due or handled + visits) on the chains in the window (承接及时率与转化率);
* ``chain_big_count``: chain projects signed in the window ≥ ``kpi.big_10e8_wan`` or by a 500强/链主;
* ``info_meeting_rate``: (招商工作信息 months met + 会议交办 on time) ÷ (months expected + 交办 counted).

factor (scope: the department by name / key)

* ``joint_handling_on_time_rate`` (K-I1, from :mod:`kpis`);
* ``consult_on_time_rate``: 预审会商 tasks (process ``project_prereview``, lane = the unit key or a
  candidate org) due in the window, on time = completed by the due (意见质量 has no record: not scored apart);
* ``capacity_ledger_timely_rate``: capacity ledger rows of the half-years ended in the window, timely and
  accurate = total and rating filled and updated by the half-year end + ``kpi.capacity_ledger_due_days``;
* ``escalation_rate`` (lower is better): consultations that ran past their due + 联办协办 cases reopened
  (rounds > 1), ÷ consultations + cases counted;
* ``service_rating_rate``: no rating records exist on the platform → ``None``, reason "无评价记录".
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select

from app.models.assessment import AssessmentTarget
from app.models.auth import OrgUnit, User
from app.models.domain import CHAIN_LEADER_TAGS, TOP500_TAGS, Chain, Enterprise, Project, Visit
from app.models.domain_processes import FactorIssue
from app.models.domain_records import CapacityLedger
from app.models.runtime import HumanTask
from app.services.domain.kpi_scope import (
    agreed_subquery,
    as_aware,
    count_value,
    labelled,
    local_midnight,
    rate_value,
)
from app.services.domain.queries import LOCAL_TZ

FACTOR_KEYS = ("factor_dept", "ndrc", "eco", "nrp", "housing")
CONSULT_ELEMENTS = ("pr_ndrc", "pr_eco", "pr_industry")
UNDOCKED = (None, "", "目标", "待招商")
NO_RATING = "无评价记录"

LABELS = {
    "chain_signed_target_rate": ("链上新签约亿元以上项目数目标完成率", "fraction"),
    "chain_landing_start_rate": ("链上项目落地率+开工率", "fraction"),
    "target_library_docking_rate": ("目标企业库对接率", "fraction"),
    "visit_intake_conversion_rate": ("来访企业承接及时率与转化率", "fraction"),
    "chain_big_count": ("链上招大引强项目(10亿元以上/500强/链主)", "个"),
    "info_meeting_rate": ("信息报告与会议交办", "fraction"),
    "consult_on_time_rate": ("预审会商按时反馈率", "fraction"),
    "capacity_ledger_timely_rate": ("承载台账更新及时/准确率", "fraction"),
    "escalation_rate": ("升级率(越低越好)", "fraction"),
    "service_rating_rate": ("服务对象评价", "fraction"),
}


def profile_of(session, unit_key: str | None) -> tuple[str, list[str]]:
    """(profile, chain codes led) of a department: ``"chain"``, ``"factor"`` or ``"department"``."""
    if not unit_key:
        return "department", []
    chains = list(session.scalars(select(Chain.code).where(Chain.lead_org_unit_key == unit_key).order_by(Chain.code)))
    roles: set[str] = set()
    org_id = session.scalar(select(OrgUnit.id).where(OrgUnit.key == unit_key))
    if org_id is not None:
        for user_roles in session.scalars(select(User.roles).where(User.org_unit_id == org_id)):
            roles.update(user_roles or [])
    if chains or "chain_group" in roles:
        return "chain", chains
    if unit_key in FACTOR_KEYS or roles & set(FACTOR_KEYS):
        return "factor", []
    return "department", []


def _combined(parts: list[dict], empty_reason: str) -> dict:
    """Σ numerators ÷ Σ denominators of rate parts (a part with no records adds nothing; all empty → None)."""
    num = sum(p["numerator"] or 0 for p in parts if p["denominator"])
    den = sum(p["denominator"] or 0 for p in parts if p["denominator"])
    out = rate_value(num, den, empty_reason)
    missing = [p["reason"] for p in parts if not p["denominator"] and p.get("reason")]
    if missing and out["value"] is not None:
        out["note"] = "; ".join(missing)
    return out


def chain_indicators(session, chains: list[str], unit_key: str, year: int, start, end, as_of, cfg: dict,
                     base: dict) -> dict:
    out: dict[str, dict] = {}
    if not chains:
        reason = "未在产业链登记中登记为牵头单位"
        for key in ("chain_signed_target_rate", "chain_landing_start_rate", "target_library_docking_rate",
                    "visit_intake_conversion_rate"):
            out[key] = {"value": None, "numerator": 0, "denominator": 0, "reason": reason}
        out["chain_big_count"] = count_value(0)
    else:
        out.update(_chain_projects(session, chains, unit_key, year, start, end, cfg))
        out["target_library_docking_rate"] = _docking(session, chains)
        out["visit_intake_conversion_rate"] = _visits(session, chains, start, end, as_of)
    info = base["work_info_rate"]
    meet = base["meeting_assignments_on_time_rate"]
    out["info_meeting_rate"] = _combined([info, meet], "本期无应报信息且无到期的会议交办事项")
    return out


def _chain_projects(session, chains, unit_key, year, start, end, cfg) -> dict:
    cohort_from = local_midnight(dt.date(year - int(cfg["kpi.cohort_years"]) + 1, 1, 1))
    cohort = session.execute(select(Project.landed_at, Project.started_at).where(
        Project.chain_code.in_(chains), Project.signed_at >= cohort_from, Project.signed_at < end)).all()
    landed = sum(1 for la, _ in cohort if la is not None and as_aware(la) < end)
    started = sum(1 for _, st in cohort if st is not None and as_aware(st) < end)
    out = {"chain_landing_start_rate": rate_value(landed + started, 2 * len(cohort), "链上无签约项目(分母为0)")}
    out["chain_landing_start_rate"].update(landed=landed, started=started, signed=len(cohort))
    rows = session.execute(select(agreed_subquery(), Project.enterprise_id).where(
        Project.chain_code.in_(chains), Project.signed_at >= start, Project.signed_at < end)).all()
    ents = {e for _, e in rows if e is not None}
    tags = {}
    if ents:
        tags = {i: set(t or []) for i, t in session.execute(
            select(Enterprise.id, Enterprise.rank_tags).where(Enterprise.id.in_(ents)))}
    top = set(TOP500_TAGS) | set(CHAIN_LEADER_TAGS)
    out["chain_big_count"] = count_value(sum(
        1 for a, e in rows if float(a or 0) >= float(cfg["kpi.big_10e8_wan"]) or (e is not None and tags.get(e, set()) & top)))
    n_1e8 = sum(1 for a, _ in rows if float(a or 0) >= float(cfg["kpi.signed_1e8_wan"]))
    target = session.scalar(select(AssessmentTarget.signed_1e8_target).where(
        AssessmentTarget.unit_key == unit_key, AssessmentTarget.year == year))
    if target:
        out["chain_signed_target_rate"] = rate_value(n_1e8, int(target), "")
    else:
        out["chain_signed_target_rate"] = {"value": None, "numerator": n_1e8, "denominator": None,
                                           "reason": "未下达链上亿元以上签约项目数目标"}
    return out


def _docking(session, chains) -> dict:
    rows = session.execute(select(Enterprise.id, Enterprise.library_status).where(Enterprise.chain_code.in_(chains))).all()
    ids = [i for i, _ in rows]
    touched: set[int] = set()
    if ids:
        touched |= set(session.scalars(select(Visit.enterprise_id).where(Visit.enterprise_id.in_(ids))))
        touched |= set(session.scalars(select(Project.enterprise_id).where(Project.enterprise_id.in_(ids))))
    docked = sum(1 for i, status in rows if i in touched or status not in UNDOCKED)
    return rate_value(docked, len(rows), "目标企业库中无该链企业")


def _visits(session, chains, start, end, as_of) -> dict:
    rows = session.execute(select(Visit.handling_due_at, Visit.handled_at, Visit.project_id).where(
        Visit.chain_code.in_(chains), Visit.visit_date >= start.astimezone(LOCAL_TZ).date(),
        Visit.visit_date < end.astimezone(LOCAL_TZ).date())).all()
    counted = [(as_aware(d), as_aware(h)) for d, h, _ in rows
               if d is not None and ((h is not None and as_aware(h) < end) or as_aware(d) < min(end, as_of))]
    timely = rate_value(sum(1 for d, h in counted if h is not None and h <= d), len(counted), "本期无到期的链上来访承接事项")
    converted = rate_value(sum(1 for *_, p in rows if p is not None), len(rows), "本期无链上来访企业")
    out = _combined([timely, converted], "本期无链上来访企业")
    out.update(timely=timely["numerator"], timely_of=timely["denominator"], converted=converted["numerator"],
               visits=converted["denominator"])
    return out


def factor_indicators(session, unit_key: str, unit_name: str, year: int, start, end, as_of, cfg: dict) -> dict:
    out: dict[str, dict] = {}
    tasks = session.execute(select(HumanTask.due_at, HumanTask.completed_at).where(
        HumanTask.process_key == "project_prereview", HumanTask.element_id.in_(CONSULT_ELEMENTS),
        HumanTask.state != "cancelled", HumanTask.due_at >= start, HumanTask.due_at < end,
        or_(HumanTask.lane == unit_key, HumanTask.candidate_orgs.like(f"%{unit_key}%")))).all()
    consults = [(as_aware(d), as_aware(c)) for d, c in tasks if c is not None or as_aware(d) < as_of]
    on_time = sum(1 for d, c in consults if c is not None and c <= d)
    out["consult_on_time_rate"] = rate_value(on_time, len(consults), "本期无到期的预审会商任务")
    out["capacity_ledger_timely_rate"] = _ledgers(session, year, end, cfg)
    issues = session.execute(select(FactorIssue.due_at, FactorIssue.closed_at, FactorIssue.departments,
                                    FactorIssue.rounds).where(FactorIssue.due_at >= start, FactorIssue.due_at < end)).all()
    cases = [r for d, c, deps, r in issues if unit_name in (deps or []) and (c is not None or as_aware(d) < as_of)]
    escalated = (len(consults) - on_time) + sum(1 for r in cases if (r or 1) > 1)
    out["escalation_rate"] = rate_value(escalated, len(consults) + len(cases), "本期无到期的预审会商与联办协办事项")
    out["service_rating_rate"] = {"value": None, "numerator": 0, "denominator": 0, "reason": NO_RATING}
    return out


def _ledgers(session, year: int, end, cfg: dict) -> dict:
    halves = [(f"{year}H1", dt.date(year, 7, 1)), (f"{year}H2", dt.date(year + 1, 1, 1))]
    halves = [(p, local_midnight(d)) for p, d in halves if local_midnight(d) <= end]
    if not halves:
        return {"value": None, "numerator": 0, "denominator": 0, "reason": "本期无到期的半年度承载台账"}
    grace = dt.timedelta(days=int(cfg.get("kpi.capacity_ledger_due_days", 15)))
    due = dict(halves)
    rows = session.execute(select(CapacityLedger.period, CapacityLedger.total, CapacityLedger.rating,
                                  CapacityLedger.updated_at).where(CapacityLedger.period.in_(list(due)))).all()
    ok = sum(1 for p, total, rating, upd in rows
             if total is not None and rating and as_aware(upd) <= due[p] + grace)
    return rate_value(ok, len(rows), "本期无承载能力台账记录")


def profile_indicators(session, profile: str, chains: list[str], unit_key: str, unit_name: str, year: int,
                       start, end, as_of, cfg: dict, base: dict) -> dict:
    if profile == "chain":
        out = chain_indicators(session, chains, unit_key, year, start, end, as_of, cfg, base)
    elif profile == "factor":
        out = factor_indicators(session, unit_key, unit_name, year, start, end, as_of, cfg)
    else:
        return {}
    return labelled(out, LABELS)

