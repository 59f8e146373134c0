"""End-to-end fixtures for the deployed processes (processes/*.bpmn, dmn/, forms/).

``flow`` deploys the whole ``processes/`` folder (with ``forms/``) into the test database once,
seeds the reference data the processes read (regions, chains, org units, enterprises) and hands
back a :class:`Flow` driver: create projects, start instances, complete a task by its BPMN element
id with form data built from the task's own JSON schema (plus the overrides that steer the
gateways), move the clock and run every due job, and read back the rows the processes write
(Project, StageRecord, HumanTask, Notification, TimelineEvent, AuditEvent, Instance).

The periodic processes (monthly/quarterly/annual supervision, capacity) are deployed too but their
timer-start jobs are removed: these tests move the clock by months and must not start them.
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from app import clock as app_clock
from app.demo import data as D
from app.demo.forms import fill_value
from app.engine import Runner
from app.models.domain import Chain, Enterprise, Notification, Project, Region, StageRecord, TimelineEvent
from app.models.runtime import AuditEvent, HumanTask, Incident, Instance, Job, MessageSubscription
from app.services.definitions import deploy, versions
from app.services.domain import users
from app.services.domain.queries import LOCAL_TZ
from app.services.runtime import instances
from app.services.tasks import forms

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = ROOT / "processes"
FORMS = ROOT / "forms"

STAGES = ("S1_PLAN", "S2_SCREEN", "S3_VISIT", "S4_NEGOTIATE", "S5_SIGN", "S6_LAND", "S7_START")

# ---------------------------------------------------------------- canned form answers
# Only the fields that steer a gateway or that the assertions read; everything else the driver
# fills from the task's schema.

# the team is chosen from the org tree (forms/lc-team.json x-options): unit key, username, unit keys
TEAM = {"responsible_unit_org": "simao_ipb", "service_commissioner_user": "simao_sc",
        "commissioner_mobile": "13800000000", "factor_dept_org": ["nrp", "eco"],
        "project_supervisor_user": "supervisor1", "supervisor_override_reason": "测试:固定的项目主管"}
# the stage form also carries the evidence 落地 and 开工 require (stage.evidence setting, domain/evidence.py)
EVIDENCE = {"company_uscc": "91530802MA6K12345X", "site_secured": True, "filing_no": "普发改备〔2026〕12号",
            "permit_no": "530802202601010101"}
ADVANCE = {"stage_action": "advance", "stage_evidence": {"summary": "本阶段工作已完成,申请转段。", **EVIDENCE}}


def back_to(stage: str) -> dict:
    return {"stage_action": "back", "back_to_stage": stage,
            "stage_evidence": {"summary": "需要重新开展本项工作,申请退回。"}}


def agreement(kind: str = "投资协议") -> dict:
    today = app_clock.now().astimezone(LOCAL_TZ).date()  # a date in 普洱, as the platform's today() (UTC+8)
    return {"agreement": {
        "kind": kind, "sign_date": today.isoformat(), "agreed_investment_wan": 12000,
        "exit_clause": "第十二条:未按约定履约的,甲方有权解除协议并收回优惠政策。",
        "milestones": [{"name": "注册项目公司", "due_date": (today + dt.timedelta(days=30)).isoformat()},
                       {"name": "开工", "due_date": (today + dt.timedelta(days=300)).isoformat()}]}}


CREDIT_GOOD = {"registration_status": "存续", "credit_conclusion": "良好"}
FEASIBLE = {"feasibility_summary": "项目选址、市场与要素条件均可行,风险可控。", "land_mode": "存量土地",
            "conforms_spatial_plan": True, "occupies_basic_farmland": False,
            "control_measures": "分期投入,按履约节点兑现政策"}
NDRC_OK = {"ndrc_opinion": "同意", "industry_policy_class": "鼓励类", "is_new_project": True,
           "energy_review_required": False, "energy_quota_available": True, "below_benchmark": False,
           "ndrc_veto_flag": False, "ndrc_veto_categories": []}
ECO_OK = {"eco_opinion": "同意", "eco_eia_category": "报告表", "in_ecological_redline": False,
          "in_nature_reserve_core": False, "env_access_ok": True, "env_capacity_ok": True,
          "offset_plan_feasible": False, "eco_veto_flag": False, "eco_veto_categories": []}
INDUSTRY_OK = {"industry_opinion": "同意", "industry_access_ok": True, "chain_fit": "高",
               "major_safety_risk_unmitigable": False, "industry_veto_flag": False, "industry_veto_categories": []}
INSPECTED = {"inspection_conclusion": "建议推进",
             "inspection_sites": [{"place": "企业总部生产基地", "site_type": "企业总部"}]}
ESCALATED = {"escalated_reasons": "投资额超过10亿元,属重大项目。", "escalated_key_points": "要素保障与履约能力。",
             "committee_opinion": "同意进入专家评审"}


def sheet(name: str, a=13, b=13, c=9, d=9, e=13, f=9, g=9, h=13, veto: bool = False) -> dict:
    """One F-09 score sheet (defaults total 88)."""
    out = {"expert_name": name, "score_a": a, "score_b": b, "score_c": c, "score_d": d, "score_e": e,
           "score_f": f, "score_g": g, "score_h": h, "panel_veto_flag": veto}
    if veto:
        out["panel_veto_reason"] = "以违规优惠为合作前提"
    return out


def panel(*sheets: dict) -> dict:
    return {"panel_mode": "常规预审会", "panel_scores": list(sheets)}


PANEL_PASS = panel(sheet("张专家"), sheet("李专家"), sheet("王专家"))  # 88 分
PANEL_CONDITIONAL = panel(*(sheet(n, a=10, b=10, c=7, d=7, e=10, f=7, g=7, h=10) for n in ("张专家", "李专家")))  # 68
CONDITIONS = {"prereview_conditions": "签约前落实能耗指标来源并提交资金证明。", "conditions_owner": "思茅区投资促进局"}
PANEL_LOW = panel(sheet("张专家", a=5, b=5, c=5, d=5, e=5, f=5, g=5, h=5))  # 40

# ---------------------------------------------------------------- the driver


def _merge(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def form_data(schema: dict | None, overrides: dict | None = None) -> dict:
    """Required fields of ``schema`` filled with valid values, then ``overrides``; validated strictly
    (an override that does not fit the form is a test error, never silently dropped)."""
    data = _merge(fill_value(schema, optional=False) or {}, overrides or {}) if schema else dict(overrides or {})
    return forms.validate(schema, data)


class Flow:
    def __init__(self, db, factory, clock):
        self.db, self.factory, self.clock = db, factory, clock
        self._seq = 0

    # -- arrange ----------------------------------------------------------------------------
    def project(self, name: str = "普洱茶精深加工项目", *, investment_wan: float = 3000, region_code: str = "530802",
                chain_code: str | None = "C01", designated_major: bool = False, enterprise_tags: list[str] | None = None,
                stage: str = "S1_PLAN", tier: str | None = None) -> int:
        """A project row as the library would have created it (no lifecycle yet)."""
        self._seq += 1
        with self.db.session_scope() as s:
            ent = Enterprise(uscc=None, name=f"{name}投资有限公司", rank_tags=list(enterprise_tags or []),
                             chain_code=chain_code, tags=["目标"])
            s.add(ent)
            s.flush()
            p = Project(code=f"T-{self._seq:03d}", name=name, region_code=region_code, chain_code=chain_code,
                        planned_investment_wan=float(investment_wan), designated_major=designated_major,
                        tier=tier, stage=stage, enterprise_id=ent.id)
            s.add(p)
            s.flush()
            return p.id

    def project_data(self, project_id: int, **extra) -> dict:
        """The standard data keys (docs/CONTRACTS.md) of a project."""
        p = self.project_row(project_id)
        with self.db.read_scope() as s:
            ent = s.get(Enterprise, p.enterprise_id) if p.enterprise_id else None
            enterprise_name = ent.name if ent else ""
        return {"project_id": p.id, "project_name": p.name, "region_code": p.region_code, "tier": p.tier,
                "stage": p.stage, "chain_code": p.chain_code, "enterprise_name": enterprise_name, **extra}

    # -- act --------------------------------------------------------------------------------
    def start(self, process_key: str, business_key: str, data: dict) -> int:
        with self.db.session_scope() as s:
            return instances.start_instance(s, process_key, data=data, business_key=business_key,
                                            actor="tester")["id"]

    def start_lifecycle(self, project_id: int, *, team: bool = True, **extra) -> int:
        iid = self.start("project_lifecycle", f"project-{project_id}", self.project_data(project_id, **extra))
        if team:
            self.complete(iid, "lc_team", TEAM)
        return iid

    def start_prereview(self, project_id: int, **extra) -> int:
        return self.start("project_prereview", f"prereview-{project_id}", self.project_data(project_id, **extra))

    def start_exit(self, project_id: int, path: str, **extra) -> int:
        return self.start("project_exit", f"exit-{project_id}", self.project_data(project_id, path=path, **extra))

    def complete(self, instance_id: int, element_id: str, overrides: dict | None = None,
                 username: str = "admin") -> dict:
        """Complete the open task ``element_id`` of the instance with schema-valid data + overrides."""
        task = self.task(instance_id, element_id)
        from app.services.tasks.commands import _expanded_form

        with self.db.read_scope() as s:
            instance = s.get(Instance, instance_id)
            # the form as staff see it: x-options fields carry their lists (tasks/options.py)
            schema = _expanded_form(s, instance, task, versions.load_form(s, instance.version_id, task.form_file))
        return self.factory.complete(task.id, form_data(schema, overrides), username=username)

    def advance(self, duration: str) -> int:
        """Move the application clock and run every job that fell due; returns how many ran."""
        self.clock.advance(duration)
        return self.factory.run_jobs()

    def run_jobs(self) -> int:
        return self.factory.run_jobs()

    # -- read -------------------------------------------------------------------------------
    def open_tasks(self, instance_id: int) -> dict[str, str]:
        return self.factory.open_tasks(instance_id)

    def task(self, instance_id: int, element_id: str, state: str = "open") -> HumanTask:
        with self.db.read_scope() as s:
            rows = s.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                     HumanTask.element_id == element_id,
                                                     HumanTask.state == state)
                             .order_by(HumanTask.created_at.desc(), HumanTask.id)).all()
        if not rows:
            raise AssertionError(f"no {state} task {element_id} in instance {instance_id}; "
                                 f"open: {sorted(self.open_tasks(instance_id))}; {self._whereabouts(instance_id)}")
        return rows[0]

    def _whereabouts(self, instance_id: int) -> str:
        """What an instance is doing when a test expected a task it does not have (for the failure)."""
        inst = self.instance(instance_id)
        with self.db.read_scope() as s:
            incidents = [(i.element_id, i.message[:300]) for i in s.scalars(
                select(Incident).where(Incident.instance_id == instance_id))]
        jobs = [(j.kind, j.element_id, str(j.due_at)) for j in self.jobs(instance_id)]
        recent = [(e.type, e.element_id) for e in self.audit(instance_id)[-8:]]
        return (f"status {inst.status if inst else None}, incidents {incidents}, jobs {jobs}, "
                f"last audit events {recent}")

    def tasks(self, instance_id: int, element_id: str | None = None) -> list[HumanTask]:
        with self.db.read_scope() as s:
            stmt = select(HumanTask).where(HumanTask.instance_id == instance_id)
            if element_id:
                stmt = stmt.where(HumanTask.element_id == element_id)
            return list(s.scalars(stmt.order_by(HumanTask.created_at, HumanTask.id)))

    def instance(self, instance_id: int) -> Instance:
        with self.db.read_scope() as s:
            return s.get(Instance, instance_id)

    def instances_of(self, process_key: str, business_key: str | None = None) -> list[Instance]:
        with self.db.read_scope() as s:
            stmt = select(Instance).where(Instance.process_key == process_key)
            if business_key is not None:
                stmt = stmt.where(Instance.business_key == business_key)
            return list(s.scalars(stmt.order_by(Instance.id)))

    def data(self, instance_id: int) -> dict:
        with self.db.read_scope() as s:
            return instances.instance_data(s, s.get(Instance, instance_id))

    def project_row(self, project_id: int) -> Project:
        with self.db.read_scope() as s:
            return s.scalar(select(Project).where(Project.id == project_id)
                            .options(selectinload(Project.stage_records), selectinload(Project.agreements)))

    def stage_records(self, project_id: int) -> list[StageRecord]:
        with self.db.read_scope() as s:
            return list(s.scalars(select(StageRecord).where(StageRecord.project_id == project_id)
                                  .order_by(StageRecord.id)))

    def notifications(self, project_id: int | None = None, title_contains: str | None = None) -> list[Notification]:
        with self.db.read_scope() as s:
            stmt = select(Notification)
            if project_id is not None:
                stmt = stmt.where(Notification.project_id == project_id)
            rows = list(s.scalars(stmt.order_by(Notification.id)))
        return [n for n in rows if title_contains is None or title_contains in n.title]

    def timeline(self, project_id: int, kind: str | None = None) -> list[TimelineEvent]:
        with self.db.read_scope() as s:
            stmt = select(TimelineEvent).where(TimelineEvent.project_id == project_id)
            if kind is not None:
                stmt = stmt.where(TimelineEvent.kind == kind)
            return list(s.scalars(stmt.order_by(TimelineEvent.id)))

    def audit(self, instance_id: int | None = None, type_: str | None = None) -> list[AuditEvent]:
        with self.db.read_scope() as s:
            stmt = select(AuditEvent)
            if instance_id is not None:
                stmt = stmt.where(AuditEvent.instance_id == instance_id)
            if type_ is not None:
                stmt = stmt.where(AuditEvent.type == type_)
            return list(s.scalars(stmt.order_by(AuditEvent.id)))

    def jobs(self, instance_id: int | None = None, kind: str | None = None) -> list[Job]:
        with self.db.read_scope() as s:
            stmt = select(Job)
            if instance_id is not None:
                stmt = stmt.where(Job.instance_id == instance_id)
            if kind is not None:
                stmt = stmt.where(Job.kind == kind)
            return list(s.scalars(stmt.order_by(Job.id)))

    def subscriptions(self, instance_id: int) -> list[str]:
        with self.db.read_scope() as s:
            return list(s.scalars(select(MessageSubscription.name)
                                  .where(MessageSubscription.instance_id == instance_id)))

    def reached(self, instance_id: int) -> set[str]:
        """BPMN elements the instance has completed (end events included)."""
        with self.db.read_scope() as s:
            states = instances.element_states(s, s.get(Instance, instance_id))
        return {element for element, state in states.items() if state == "completed"}

    def tree_shape(self, instance_id: int) -> dict[str, Any]:
        """Size of the restored workflow: depth of each ready user task (ancestors up to the
        outermost workflow, across embedded subprocesses) and the total number of tasks."""
        with self.db.read_scope() as s:
            inst = s.get(Instance, instance_id)
            runner = Runner.restore(inst.state, versions.spec_for_version(s, inst.version_id), None, inst.serializer_version)
        wf = runner.wf
        depths = {}
        for view in runner.user_tasks():
            depth, node = 0, wf.get_task_from_id(UUID(view.id))
            while node is not None:
                depth += 1
                parent = node.parent
                if parent is None and getattr(node.workflow, "parent_task_id", None) is not None:
                    parent = wf.get_task_from_id(node.workflow.parent_task_id)
                node = parent
            depths[view.element_id] = depth
        return {"depths": depths, "tasks": len(wf.get_tasks())}


# ---------------------------------------------------------------- multi-step helpers


def advance_stages(flow: Flow, instance_id: int, count: int, username: str = "simao_unit") -> None:
    """Complete ``st_work`` with "advance" ``count`` times (no pre-review or agreement in between)."""
    for _ in range(count):
        flow.complete(instance_id, "st_work", ADVANCE, username=username)


def consult(flow: Flow, instance_id: int, ndrc: dict | None = None, eco: dict | None = None,
            industry: dict | None = None) -> None:
    flow.complete(instance_id, "pr_ndrc", {**NDRC_OK, **(ndrc or {})})
    flow.complete(instance_id, "pr_eco", {**ECO_OK, **(eco or {})})
    flow.complete(instance_id, "pr_industry", {**INDUSTRY_OK, **(industry or {})})


def prereview_to_panel(flow: Flow, instance_id: int, credit: dict | None = None, **opinions) -> None:
    """资信 → 可行性 → (前期考察) → 三部门会商 → (提级预审): stops where the panel (or the veto end) is."""
    flow.complete(instance_id, "pr_credit", {**CREDIT_GOOD, **(credit or {})}, username="office1")
    flow.complete(instance_id, "pr_feasibility", FEASIBLE, username="simao_unit")
    if "pr_inspection" in flow.open_tasks(instance_id):
        flow.complete(instance_id, "pr_inspection", INSPECTED, username="simao_unit")
    consult(flow, instance_id, **opinions)
    if "pr_escalated" in flow.open_tasks(instance_id):
        flow.complete(instance_id, "pr_escalated", ESCALATED, username="director1")


def run_prereview(flow: Flow, instance_id: int, panel_data: dict = PANEL_PASS, credit: dict | None = None,
                  conditions: dict | None = None) -> None:
    """A whole pre-review without vetoes, ending with ``panel_data``'s scores (and, when the result
    is 有条件通过, the conditions stated, fulfilled and confirmed)."""
    prereview_to_panel(flow, instance_id, credit=credit)
    flow.complete(instance_id, "pr_panel", panel_data, username="office1")
    if "pr_conditions" in flow.open_tasks(instance_id):
        flow.complete(instance_id, "pr_conditions", conditions or CONDITIONS, username="office1")
        fulfil_conditions(flow, instance_id)


RED_PLAN = {"red_cause": "要素保障", "red_explanation": "用地报批材料尚在补正,影响转段。",
            "red_actions": "协调自然资源部门加快审查", "red_new_target_date": "2027-06-30"}
RED_INSTRUCT = {"supervisor_instruction": "请责任单位倒排工期,办公室跟踪督办。", "supervisor_suggestion": "协调解决"}


def red_followthrough(flow: Flow, instance_id: int) -> None:
    """A red light's two follow-up tasks done (the unit's 情况说明及整改计划, the supervisor's 批示), so the
    office's 督办 (st_r_supervise) is open."""
    flow.complete(instance_id, "st_r_plan", RED_PLAN, username="simao_unit")
    flow.complete(instance_id, "st_r_instruct", RED_INSTRUCT, username="supervisor1")


FULFILLED = {"fulfilment_summary": "能耗指标已由县发改局出具保障函,资金证明已提交。"}


def fulfil_conditions(flow: Flow, instance_id: int) -> None:
    """The 有条件通过 conditions reported fulfilled and confirmed by the office (the pre-review ends)."""
    flow.complete(instance_id, "pr_cond_fulfil", FULFILLED, username="simao_unit")
    flow.complete(instance_id, "pr_cond_confirm", {"cond_decision": "确认已落实", "cond_confirm_note": ""},
                  username="office1")


# ---------------------------------------------------------------- fixtures


def seed_reference_data(db) -> None:
    """Regions, chains, org units and users the processes address (like the demo loader, trimmed)."""
    with db.session_scope() as s:
        for order, (code, name, short, seat, _key) in enumerate(D.REGIONS):
            s.add(Region(code=code, name=name, short_name=short, seat=seat, sort_order=order))
        for code, cname, lead, chief, links in D.CHAINS:
            s.add(Chain(code=code, name=cname, lead_org_unit_key=lead, chief_name=chief,
                        links=[{"code": f"{code}-L{i + 1}", "name": n, "position": i + 1}
                               for i, n in enumerate(links)]))
        s.flush()
        for key, oname, otype in D.CITY_ORGS:
            users.create_org(s, key, oname, type_=otype)
        users.create_org(s, "simao_ipb", "思茅区投资促进局", region_code="530802", type_="county_ipb")
        for username, roles, org in (("office1", ["zsw_office"], "zsw_office"),
                                     ("director1", ["committee_director"], "committee"),
                                     ("legal1", ["legal"], "justice"),
                                     ("simao_unit", ["responsible_unit"], "simao_ipb"),
                                     ("simao_sc", ["service_commissioner"], "simao_ipb"),
                                     ("supervisor1", ["project_supervisor"], "city_ipb"),
                                     ("nrp1", ["nrp", "factor_dept"], "nrp"),
                                     ("eco1", ["eco", "factor_dept"], "eco")):
            users.create_user(s, username, roles, org=org, password="Secret-pass-9",
                              display_name={"simao_sc": "王服务", "supervisor1": "陈海波"}.get(username))


@pytest.fixture
def deployed(db):
    with db.session_scope() as s:
        result = deploy.deploy_folder(s, PROCESSES, "tester", forms_dir=FORMS)
        s.execute(delete(Job).where(Job.kind == "timer_start"))
    return {r["process_key"]: r for r in result}


@pytest.fixture
def flow(db, factory, clock, deployed):
    seed_reference_data(db)
    return Flow(db, factory, clock)
