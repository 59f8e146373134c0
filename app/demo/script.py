"""The demo script: plays the deployed processes forward through the same services a user calls
(start_instance, complete_task, the job sweep and the demo clock), so the demo shows yellow and red
lights, answered warnings and open work. Each step runs in its own transaction; a failing step is
echoed and skipped."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.demo import clock as clock_admin
from app.demo import data as D
from app.demo import processes_demo
from app.demo.forms import fill_form
from app.errors import AppError
from app.models.domain import (
    Project,
)
from app.models.runtime import HumanTask, ProcessVersion
from app.services import jobs, tasks
from app.services.domain import users
from app.services.runtime import instances

ACTOR = "admin"
# Clock steps played after the instances are set up (total 65 days: S1 → red, S2 → yellow, S6 green).
CLOCK_STEPS = ("P10D", "P25D", "P30D")



class Player:
    def __init__(self, db, echo: Callable[[str], Any]):
        self.db, self.echo = db, echo
        self.instances = 0
        self.errors = 0

    def step(self, label: str, fn: Callable[[Session], Any]) -> Any:
        try:
            with self.db.session_scope() as s:
                return fn(s)
        except AppError as exc:
            self.errors += 1
            fields = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in (getattr(exc, "errors", None) or [])[:3]
                               if isinstance(e, dict))
            self.echo(f"  ! {label}: {exc.message}" + (f" ({fields})" if fields else ""))
        except Exception as exc:  # a demo step must never stop the loader
            self.errors += 1
            self.echo(f"  ! {label}: {exc.__class__.__name__}: {exc}")
        return None

    def deployed(self, key: str) -> bool:
        with self.db.read_scope() as s:
            found = s.scalar(select(ProcessVersion.id).where(ProcessVersion.process_key == key).limit(1))
        if found is None:
            self.echo(f"  - process {key} not deployed: skipped")
        return found is not None

    def start(self, key: str, business_key: str, data: dict) -> int | None:
        def run(s: Session) -> int:
            return instances.start_instance(s, key, data=data, business_key=business_key, actor=ACTOR)["id"]

        iid = self.step(f"start {key} {business_key}", run)
        if iid is not None:
            self.instances += 1
        return iid

    def open_tasks(self, instance_id: int) -> list[tuple[str, str]]:
        with self.db.read_scope() as s:
            rows = s.execute(select(HumanTask.id, HumanTask.element_id).where(
                HumanTask.instance_id == instance_id, HumanTask.state == "open").order_by(HumanTask.created_at,
                                                                                        HumanTask.id)).all()
        return [(r[0], r[1]) for r in rows]

    def complete(self, task_id: str, element_id: str, overrides: dict | None = None,
                 by_task: dict[str, dict] | None = None) -> bool:
        """Complete a task as admin; ``by_task`` maps element ids or form file names to overrides."""
        def run(s: Session) -> bool:
            user = users.get_user(s, ACTOR)
            detail = tasks.task_view(s, user, task_id)
            extra = overrides
            if by_task:
                form_file = (tasks.get_task(s, task_id).form_file or "").split("/")[-1]
                extra = by_task.get(element_id) or by_task.get(form_file) or by_task.get(form_file[:-5]) or extra
            data = fill_form(detail.get("form"), extra)
            tasks.complete_task(s, user, task_id, data)
            return True

        return bool(self.step(f"complete {element_id}", run))

    def complete_element(self, instance_id: int | None, element_id: str, overrides: dict | None = None) -> bool:
        if instance_id is None:
            return False
        for tid, eid in self.open_tasks(instance_id):
            if eid == element_id:
                return self.complete(tid, eid, overrides)
        return False

    def drive(self, instance_id: int | None, max_tasks: int, overrides: dict[str, dict] | None = None,
              stop_at: tuple[str, ...] = ()) -> int:
        """Complete up to ``max_tasks`` open tasks one after another (generic form data)."""
        done = 0
        if instance_id is None:
            return done
        while done < max_tasks:
            todo = [(t, e) for t, e in self.open_tasks(instance_id) if e not in stop_at]
            if not todo:
                break
            tid, eid = todo[0]
            if not self.complete(tid, eid, by_task=overrides):
                break
            done += 1
        return done

    def advance(self, duration: str) -> None:
        self.step(f"clock advance {duration}", lambda s: clock_admin.advance(s, duration, demo=True, actor=ACTOR))
        try:
            ran = jobs.run_due(self.db, worker_id="demo")
        except Exception as exc:  # pragma: no cover - run_due already isolates failing jobs
            self.echo(f"  ! jobs after {duration}: {exc}")
            ran = 0
        self.echo(f"  clock +{duration}: {ran} job(s) ran")


def project_data(p: Project) -> dict:
    return {"project_id": p.id, "project_name": p.name, "region_code": p.region_code, "tier": p.tier,
            "stage": p.stage, "chain_code": p.chain_code,
            "enterprise_name": p.enterprise.name if p.enterprise is not None else ""}


def _team(p: Project) -> dict:
    """The 1+1+N team chosen from the org tree (forms/lc-team.json): the county IPB, its 服务专员,
    two factor departments, and the 项目主管 of the city IPB (with the override reason the form asks for)."""
    key = D.REGION_KEY.get(p.region_code or "", "simao")
    return {"responsible_unit_org": p.responsible_org_key or f"{key}_ipb", "service_commissioner_user": f"{key}_sc",
            "commissioner_mobile": "13800000000", "factor_dept_org": ["nrp", "eco"],
            "project_supervisor_user": "supervisor1", "supervisor_override_reason": "演示数据:由市投促局项目主管统一跟踪"}


# with the evidence 落地 and 开工 require (the stage.evidence setting; recorded as project_evidence)
_ADVANCE = {"stage_action": "advance", "stage_evidence": {
    "summary": "本阶段工作已完成,申请转段。", "company_uscc": "91530802MA6K12345X", "site_secured": True,
    "filing_no": "普发改备〔2026〕12号", "permit_no": "530802202601010101"}}


def _agreement(p: Project) -> dict:
    today = clock.now().date()
    return {"agreement": {"kind": "投资协议", "sign_date": today.isoformat(),
                          "agreed_investment_wan": p.planned_investment_wan or 1,
                          "exit_clause": "第十二条:未按约定履约的,甲方有权解除协议。",
                          "milestones": [{"name": "注册项目公司", "due_date": (today + dt.timedelta(days=30)).isoformat()},
                                         {"name": "开工", "due_date": (today + dt.timedelta(days=300)).isoformat()}]}}


def play(db, echo: Callable[[str], Any]) -> Player:
    player = Player(db, echo)
    with db.read_scope() as s:
        projects = {p.code: p for p in s.scalars(select(Project).order_by(Project.id))}
        for p in projects.values():
            _ = p.enterprise
    lifecycle = _play_lifecycle(player, projects) if player.deployed("project_lifecycle") else {}
    if player.deployed("visitor_routing"):
        _play_visits(player)
    if player.deployed("complaint_handling"):
        _play_complaints(player, projects)
    _play_prereview_and_exit(player, projects)
    processes_demo.play(player, projects)
    if lifecycle or player.instances:
        _play_clock(player, lifecycle)
    return player


def _play_lifecycle(player: Player, projects: dict[str, Project]) -> dict[str, int]:
    lifecycle: dict[str, int] = {}
    player.echo("starting project_lifecycle instances")
    for code, p in projects.items():
        if p.status != "active" or p.stage == "DONE":
            continue
        iid = player.start("project_lifecycle", f"project-{p.id}", project_data(p))
        if iid is None:
            continue
        lifecycle[code] = iid
        player.complete_element(iid, "lc_team", _team(p))
    # move some projects on: S3 → S4, S2 → S3, S5 → signed (agreement) → S6, S4 → pre-review
    for code in ("P-01", "P-17", "P-04", "P-07", "P-05"):
        iid = lifecycle.get(code)
        if player.complete_element(iid, "st_work", _ADVANCE) and code == "P-04":
            player.complete_element(iid, "st_agreement", _agreement(projects[code]))
    player.drive(lifecycle.get("P-07"), 3, stop_at=("st_work",))
    return lifecycle


def _play_visits(player: Player) -> None:
    topics = (["茶产业"], ["现代物流与口岸经济"], ["数字经济"])
    for i, (_days, ent_key, name, _interests, region, *_rest) in enumerate(D.VISITS[:3]):
        ename = name or next(e[1] for e in D.ENTERPRISES if e[0] == ent_key)
        iid = player.start("visitor_routing", f"visit-demo-{i + 1}",
                           {"project_id": None, "project_name": ename, "region_code": region, "tier": None,
                            "stage": None, "chain_code": None, "enterprise_name": ename})
        player.drive(iid, 1 + i, overrides={"vi-register": {"enterprise_name": ename, "interests": topics[i]}})


def _play_complaints(player: Player, projects: dict[str, Project]) -> None:
    for i, (who, pkey, _cat, region, content, *_rest) in enumerate(D.COMPLAINTS):
        p = projects.get(pkey) if pkey else None
        base = project_data(p) if p is not None else {"project_id": None, "project_name": "", "region_code": region,
                                                       "tier": None, "stage": None, "chain_code": None,
                                                       "enterprise_name": who}
        iid = player.start("complaint_handling", f"complaint-demo-{i + 1}", base)
        over = {"complainant_name": who, "facts": content, "in_other_procedure": False}
        if p is not None:
            over["project_id"] = p.id
        player.drive(iid, 1 + i, overrides={"co-register": over})


def _play_prereview_and_exit(player: Player, projects: dict[str, Project]) -> None:
    if player.deployed("project_prereview") and "P-10" in projects:
        iid = player.start("project_prereview", f"prereview-{projects['P-10'].id}", project_data(projects["P-10"]))
        player.drive(iid, 2)
    if player.deployed("project_exit") and "P-15" in projects:
        p15 = projects["P-15"]
        iid = player.start("project_exit", f"exit-{p15.id}",
                           {**project_data(p15), "path": "breach", "trigger": "首期资金履约节点逾期"})
        player.drive(iid, 1)


def _play_clock(player: Player, lifecycle: dict[str, int]) -> None:
    """Play the clock forward; answer one yellow warning and supervise one red light (no exit)."""
    player.echo("playing the clock forward")
    for step in CLOCK_STEPS:
        player.advance(step)
    # answer one yellow warning and supervise one red light (without starting an exit)
    for code, iid in lifecycle.items():
        if player.complete_element(iid, "st_y_explain"):
            player.echo(f"  yellow warning of {code} answered")
            break
    for code, iid in lifecycle.items():
        # a red light: the unit's 情况说明及整改计划 and the supervisor's 批示 come before the office decides
        player.complete_element(iid, "st_r_plan")
        player.complete_element(iid, "st_r_instruct")
        if player.complete_element(iid, "st_r_supervise", {"supervise_decision": "协调解决"}):
            player.echo(f"  red light of {code} supervised")
            break


