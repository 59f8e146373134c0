"""Demo data loader (demo mode only; ``investflow demo load``).

:func:`load` writes the static reference and project data of reference/domain.md §5 in one
transaction, then — for every process that is deployed — starts instances, completes a few tasks
with form data generated from each task's JSON Schema and plays the clock forward so that yellow
and red lights appear on some projects while others stay green. Each process step runs in its own
transaction; a failing step is echoed and skipped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import clock
from app.demo import clock as clock_admin
from app.demo import data as D
from app.demo.forms import fill_form, uscc
from app.errors import AppError
from app.models.auth import OrgUnit, User
from app.models.domain import (
    STAGE_LIBRARY_STATUS,
    STATUS_LIBRARY_STATUS,
    Agreement,
    Chain,
    Complaint,
    Enterprise,
    FundsArrival,
    Milestone,
    Park,
    Project,
    Region,
    StageRecord,
    TimelineEvent,
    Visit,
)
from app.models.runtime import HumanTask, Instance, ProcessVersion
from app.services import jobs, tasks
from app.services.domain import users
from app.services.runtime import instances

ACTOR = "admin"
# Clock steps played after the instances are set up (total 65 days: S1 → red, S2 → yellow, S6 green).
CLOCK_STEPS = ("P10D", "P25D", "P30D")

# ------------------------------------------------------------------ small helpers

def _enterprise_uscc(index: int) -> str:
    return uscc(f"91530800MA{index:07d}")


def _ago(days: float) -> dt.datetime:
    return clock.now() - dt.timedelta(days=days)


def _month(months_back: int) -> str:
    today = clock.now().date()
    y, m = today.year, today.month - months_back
    while m < 1:
        y, m = y - 1, m + 12
    return f"{y:04d}-{m:02d}"


# ------------------------------------------------------------------ static data


def _load_static(session: Session, echo: Callable[[str], Any]) -> dict[str, int]:
    counts = {"users": 0}
    for order, (code, name, short, seat, _key) in enumerate(D.REGIONS):
        if session.get(Region, code) is None:
            session.add(Region(code=code, name=name, short_name=short, seat=seat, sort_order=order))
    for code, cname, _lead, chief, links in D.CHAINS:
        if session.get(Chain, code) is None:
            session.add(Chain(code=code, name=cname, lead_org_unit_key=_lead, chief_name=chief,
                              links=[{"code": f"{code}-L{i + 1}", "name": n, "position": i + 1}
                                     for i, n in enumerate(links)]))
    session.flush()
    parks: dict[str, int] = {}
    for code, pname, region, level, industries in D.PARKS:
        park = session.scalar(select(Park).where(Park.code == code))
        if park is None:
            park = Park(code=code, name=pname, region_code=region, level=level, leading_industries=industries)
            session.add(park)
            session.flush()
        parks[code] = park.id

    # org units: city level (region NULL), then per county government + IPB, then park committees
    for key, oname, otype in D.CITY_ORGS:
        users.create_org(session, key, oname, type_=otype)
    for code, _name, short, _seat, key in D.REGIONS:
        users.create_org(session, f"{key}_gov", f"{short}{'区' if code == '530802' else '县'}人民政府",
                         region_code=code, type_="county_government")
        users.create_org(session, f"{key}_ipb", f"{short}{'区' if code == '530802' else '县'}投资促进局",
                         region_code=code, type_="county_ipb", parent_key=f"{key}_gov")
    for code, pname, region, _level, _ind in D.PARKS:
        users.create_org(session, f"park_{code.lower()}", f"{pname}管委会", region_code=region, type_="park",
                         parent_key=f"{D.REGION_KEY[region]}_gov")

    # users
    planned: list[tuple[str, str, list[str], str | None]] = list(D.CITY_USERS)
    for _code, _name, short, _seat, key in D.REGIONS:
        for suffix, label, roles, org_suffix in D.COUNTY_USERS:
            planned.append((f"{key}_{suffix}", f"{short}{label}", roles, f"{key}_{org_suffix}"))
    for code, _pname, _region, _level, _ind in D.PARKS:
        planned.append((f"park_{code.lower()}", f"{code}园区经办人", ["park_admin"], f"park_{code.lower()}"))
    for username, display, roles, org in planned:
        if users.get_user(session, username) is not None:
            continue
        users.create_user(session, username, roles, org=org, password=D.DEMO_PASSWORD, display_name=display)
        counts["users"] += 1
        echo(f"{username} / {D.DEMO_PASSWORD} / {','.join(roles)} / {org or '-'}")

    # enterprises
    ents: dict[str, int] = {}
    for i, (key, ename, hq, nature, tags, chain, industry) in enumerate(D.ENTERPRISES, start=1):
        code = _enterprise_uscc(i)
        ent = session.scalar(select(Enterprise).where(Enterprise.uscc == code))
        if ent is None:
            ent = Enterprise(uscc=code, name=ename, hq_region=hq, nature=nature, industry=industry, rank_tags=tags,
                             chain_code=chain, library_status="在谈", tags=["目标"], source=f"demo_{key}",
                             created_at=_ago(400 - i * 10))
            session.add(ent)
            session.flush()
        ents[key] = ent.id

    # projects
    projects: dict[str, Project] = {}
    for spec in D.PROJECTS:
        code = spec["key"]
        existing = session.scalar(select(Project).where(Project.code == code))
        if existing is not None:
            projects[code] = existing
            continue
        projects[code] = _project(session, spec, parks, ents)
    session.flush()

    for key, rows in D.FUNDS.items():
        p = projects[key]
        if session.scalar(select(func.count()).select_from(FundsArrival).where(FundsArrival.project_id == p.id)):
            continue
        for months_back, amount, origin in rows:
            session.add(FundsArrival(project_id=p.id, period=_month(months_back), amount_wan=amount, origin=origin,
                                     nature="固定资产", evidence="演示数据:银行进账单"))
    if not session.scalar(select(func.count()).select_from(Visit)):
        for days, ent_key, name, interests, region, routing, routed_to, chain, pkey in D.VISITS:
            session.add(Visit(visit_date=(clock.now() - dt.timedelta(days=days)).date(),
                              enterprise_id=ents.get(ent_key) if ent_key else None,
                              enterprise_name=name or next(e[1] for e in D.ENTERPRISES if e[0] == ent_key),
                              visitors=[{"name": "演示来访人", "title": "总经理"}], interests=interests,
                              host="市投资促进局", region_code=region, routing_type=routing, routed_to=routed_to,
                              chain_code=chain, status="routed" if routing != "投诉" else "registered",
                              project_id=projects[pkey].id if pkey else None, created_at=_ago(days)))
    if not session.scalar(select(func.count()).select_from(Complaint)):
        for who, pkey, category, region, content, handler, days, status in D.COMPLAINTS:
            closed = status == "closed"
            session.add(Complaint(complainant=who, project_id=projects[pkey].id if pkey else None, category=category,
                                  region_code=region, content=content, handler_unit=handler, received_at=_ago(days),
                                  due_at=_ago(days - 30), status=status,
                                  reply="已协调完成供电增容。" if closed else None,
                                  satisfied=True if closed else None, closed_at=_ago(days - 20) if closed else None))
    session.flush()
    counts["projects"] = session.scalar(select(func.count()).select_from(Project))
    return counts


def _project(session: Session, spec: dict, parks: dict[str, int], ents: dict[str, int]) -> Project:
    status = spec.get("status", "active")
    stage = spec["stage"]
    region = spec["region"]
    library = STATUS_LIBRARY_STATUS[status] if status != "active" else STAGE_LIBRARY_STATUS[stage]
    entered, signed, started = spec["entered"], spec.get("signed"), spec.get("started")
    created = max(entered, signed or 0, started or 0) + 60
    unit = f"{D.REGION_SHORT[region]}{'区' if region == '530802' else '县'}投资促进局"
    p = Project(code=spec["key"], name=spec["name"], region_code=region,
                park_id=parks.get(spec["park"]) if spec.get("park") else None, chain_code=spec.get("chain"),
                chain_action=spec.get("action"), is_industrial=spec.get("industrial", True),
                planned_investment_wan=float(spec["inv"]), tier=spec["tier"], stage=stage, library_status=library,
                light=spec.get("light", "green") if status == "active" else "green", status=status,
                supervisor_role="committee_deputy" if spec["tier"] == "重大" else "zsw_office",
                commissioner_name=f"{D.REGION_SHORT[region]}服务专员", responsible_unit=unit,
                factor_units=["市自然资源和规划局", "市生态环境局"],
                enterprise_id=ents.get(spec["ent"]) if spec.get("ent") else None,
                designated_major=bool(spec.get("major")), prereview_result=spec.get("prereview"),
                description=f"演示项目:{spec['name']}", created_at=_ago(created), updated_at=_ago(entered),
                signed_at=_ago(signed) if signed is not None else None,
                landed_at=_ago(started + 30) if started is not None else None,
                started_at=_ago(started) if started is not None else None)
    session.add(p)
    session.flush()
    session.add(TimelineEvent(project_id=p.id, at=_ago(created), kind="status", title="项目入库",
                              detail={"library_status": "待招商"}, actor="demo"))
    if stage != "DONE":
        session.add(StageRecord(project_id=p.id, stage=stage, started_at=_ago(entered), light=p.light,
                                completed_at=_ago(0) if status != "active" else None))
    if status == "terminated":
        session.add(TimelineEvent(project_id=p.id, at=_ago(entered - 20), kind="status", title="预审否决,项目终止",
                                  detail={"prereview_result": "否决"}, actor="demo"))
    if status == "sealed":
        session.add(TimelineEvent(project_id=p.id, at=_ago(30), kind="status", title="项目封存",
                                  detail={"reason": "投资方战略调整,暂缓投资"}, actor="demo"))
    if signed is not None:
        sign_date = _ago(signed).date()
        agreement = Agreement(project_id=p.id, kind="投资协议", sign_date=sign_date,
                              agreed_investment_wan=float(spec["inv"]),
                              exit_clause="第十二条:未按约定履约的,甲方有权解除协议并收回优惠政策。",
                              bond_wan=round(float(spec["inv"]) * 0.01, 1), incentive_terms=["按政策兑现招商引资奖励"])
        for name, offset in (("注册项目公司", 30), ("首期资金到位", 55), ("取得用地/租赁厂房", 120), ("开工", 300)):
            due = sign_date + dt.timedelta(days=offset)
            done = _ago(signed - offset + 5) if due < clock.now().date() and spec["key"] != "P-15" else None
            if spec["key"] == "P-15" and name == "注册项目公司":
                done = _ago(signed - 25)
            agreement.milestones.append(Milestone(name=name, due_date=due, done_at=done))
        session.add(agreement)
    return p


# ------------------------------------------------------------------ process part


class _Player:
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


def _project_data(p: Project) -> dict:
    return {"project_id": p.id, "project_name": p.name, "region_code": p.region_code, "tier": p.tier,
            "stage": p.stage, "chain_code": p.chain_code,
            "enterprise_name": p.enterprise.name if p.enterprise is not None else ""}


def _team(p: Project) -> dict:
    return {"responsible_unit": p.responsible_unit or "市投资促进局",
            "commissioner_name": p.commissioner_name or "服务专员", "commissioner_mobile": "13800000000",
            "supervisor_name": "副市长A" if p.tier == "重大" else "陈海波"}


_ADVANCE = {"stage_action": "advance", "stage_evidence": {"summary": "本阶段工作已完成,申请转段。"}}


def _agreement(p: Project) -> dict:
    today = clock.now().date()
    return {"agreement": {"kind": "投资协议", "sign_date": today.isoformat(),
                          "agreed_investment_wan": p.planned_investment_wan or 1,
                          "exit_clause": "第十二条:未按约定履约的,甲方有权解除协议。",
                          "milestones": [{"name": "注册项目公司", "due_date": (today + dt.timedelta(days=30)).isoformat()},
                                         {"name": "开工", "due_date": (today + dt.timedelta(days=300)).isoformat()}]}}


def _play(db, echo: Callable[[str], Any]) -> _Player:
    player = _Player(db, echo)
    with db.read_scope() as s:
        projects = {p.code: p for p in s.scalars(select(Project).order_by(Project.id))}
        for p in projects.values():
            _ = p.enterprise
    lifecycle: dict[str, int] = {}
    if player.deployed("project_lifecycle"):
        echo("starting project_lifecycle instances")
        for code, p in projects.items():
            if p.status != "active" or p.stage == "DONE":
                continue
            iid = player.start("project_lifecycle", f"project-{p.id}", _project_data(p))
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

    if player.deployed("visitor_routing"):
        topics = (["茶产业"], ["现代物流与口岸经济"], ["数字经济"])
        for i, (_days, ent_key, name, _interests, region, *_rest) in enumerate(D.VISITS[:3]):
            ename = name or next(e[1] for e in D.ENTERPRISES if e[0] == ent_key)
            iid = player.start("visitor_routing", f"visit-demo-{i + 1}",
                               {"project_id": None, "project_name": ename, "region_code": region, "tier": None,
                                "stage": None, "chain_code": None, "enterprise_name": ename})
            player.drive(iid, 1 + i, overrides={"vi-register": {"enterprise_name": ename, "interests": topics[i]}})
    if player.deployed("complaint_handling"):
        for i, (who, pkey, _cat, region, content, *_rest) in enumerate(D.COMPLAINTS):
            p = projects.get(pkey) if pkey else None
            base = _project_data(p) if p is not None else {"project_id": None, "project_name": "", "region_code": region,
                                                           "tier": None, "stage": None, "chain_code": None,
                                                           "enterprise_name": who}
            iid = player.start("complaint_handling", f"complaint-demo-{i + 1}", base)
            over = {"complainant_name": who, "facts": content, "in_other_procedure": False}
            if p is not None:
                over["project_id"] = p.id
            player.drive(iid, 1 + i, overrides={"co-register": over})
    if player.deployed("project_prereview") and "P-10" in projects:
        iid = player.start("project_prereview", f"prereview-{projects['P-10'].id}", _project_data(projects["P-10"]))
        player.drive(iid, 2)
    if player.deployed("project_exit") and "P-15" in projects:
        p15 = projects["P-15"]
        iid = player.start("project_exit", f"exit-{p15.id}",
                           {**_project_data(p15), "path": "breach", "trigger": "首期资金履约节点逾期"})
        player.drive(iid, 1)

    if lifecycle or player.instances:
        echo("playing the clock forward")
        for step in CLOCK_STEPS:
            player.advance(step)
        # answer one yellow warning and supervise one red light (without starting an exit)
        for code, iid in lifecycle.items():
            if player.complete_element(iid, "st_y_explain"):
                echo(f"  yellow warning of {code} answered")
                break
        for code, iid in lifecycle.items():
            if player.complete_element(iid, "st_r_supervise", {"supervise_decision": "协调解决"}):
                echo(f"  red light of {code} supervised")
                break
    return player


# ------------------------------------------------------------------ entry point


def load(db, if_empty: bool = False, echo: Callable[[str], Any] = print) -> str:
    """Load the demo data set; see the module docstring. Returns a one-line summary."""
    clock.refresh()
    with db.read_scope() as s:
        has_projects = s.scalar(select(Project.id).limit(1)) is not None
    if if_empty and has_projects:
        return "demo data already present"
    with db.session_scope() as s:
        static = _load_static(s, echo)
    echo(f"static data loaded: {static['users']} new user(s), {static['projects']} project(s)")
    player = _play(db, echo)
    with db.read_scope() as s:
        n_users = s.scalar(select(func.count()).select_from(User))
        n_orgs = s.scalar(select(func.count()).select_from(OrgUnit))
        n_projects = s.scalar(select(func.count()).select_from(Project))
        n_instances = s.scalar(select(func.count()).select_from(Instance))
        lights = dict(s.execute(select(Project.light, func.count()).where(Project.status == "active")
                                .group_by(Project.light)).all())
    return (f"demo data loaded: {n_users} users, {n_orgs} org units, {n_projects} projects, "
            f"{n_instances} instances ({player.instances} started by the loader, {player.errors} step error(s)), "
            f"{lights.get('yellow', 0)} yellow, {lights.get('red', 0)} red, {lights.get('green', 0)} green")
