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
from app.demo import data as D
from app.demo.forms import uscc
from app.demo.script import ACTOR, play
from app.models.assessment import AssessmentTarget, UnitReport
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
from app.models.runtime import Instance
from app.services.domain import projects as records
from app.services.domain import users

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
    _load_reference(session)
    _load_orgs(session)
    counts = {"users": _load_users(session, echo)}
    actor = users.get_user(session, ACTOR)
    ents = _load_enterprises(session, actor)
    projects = _load_projects(session, actor, ents)
    _load_funds(session, projects)
    _load_visits(session, projects, ents)
    _load_complaints(session, projects)
    _assessment_records(session)
    session.flush()
    counts["projects"] = session.scalar(select(func.count()).select_from(Project))
    return counts


def _load_reference(session: Session) -> None:
    """Regions, industry chains and parks."""
    for order, (code, name, short, seat, _key) in enumerate(D.REGIONS):
        if session.get(Region, code) is None:
            session.add(Region(code=code, name=name, short_name=short, seat=seat, sort_order=order))
    for code, cname, _lead, chief, links in D.CHAINS:
        if session.get(Chain, code) is None:
            session.add(Chain(code=code, name=cname, lead_org_unit_key=_lead, chief_name=chief,
                              links=[{"code": f"{code}-L{i + 1}", "name": n, "position": i + 1}
                                     for i, n in enumerate(links)]))
    session.flush()
    for code, pname, region, level, industries in D.PARKS:
        park = session.scalar(select(Park).where(Park.code == code))
        if park is None:
            park = Park(code=code, name=pname, region_code=region, level=level, leading_industries=industries)
            session.add(park)
            session.flush()


def _load_orgs(session: Session) -> None:
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


def _load_users(session: Session, echo: Callable[[str], Any]) -> int:
    created = 0
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
        created += 1
        echo(f"{username} / {D.DEMO_PASSWORD} / {','.join(roles)} / {org or '-'}")
    return created


def _load_enterprises(session: Session, actor: User) -> dict[str, int]:
    ents: dict[str, int] = {}
    for i, (key, ename, hq, nature, tags, chain, industry) in enumerate(D.ENTERPRISES, start=1):
        code = _enterprise_uscc(i)
        ent = session.scalar(select(Enterprise).where(Enterprise.uscc == code))
        if ent is None:  # through the library service, as staff would; then back-date it
            ent = records.create_enterprise_record(session, actor, {
                "uscc": code, "name": ename, "hq_region": hq, "nature": nature, "industry": industry,
                "rank_tags": tags, "chain_code": chain, "library_status": "在谈", "source": f"demo_{key}"})
            ent.created_at = _ago(400 - i * 10)
        ents[key] = ent.id
    return ents


def _load_projects(session: Session, actor: User, ents: dict[str, int]) -> dict[str, Project]:
    projects: dict[str, Project] = {}
    for spec in D.PROJECTS:
        code = spec["key"]
        existing = session.scalar(select(Project).where(Project.code == code))
        if existing is not None:
            projects[code] = existing
            continue
        projects[code] = _project(session, actor, spec, ents)
    session.flush()
    return projects


def _load_funds(session: Session, projects: dict[str, Project]) -> None:
    for key, rows in D.FUNDS.items():
        p = projects[key]
        if session.scalar(select(func.count()).select_from(FundsArrival).where(FundsArrival.project_id == p.id)):
            continue
        for months_back, amount, origin in rows:
            session.add(FundsArrival(project_id=p.id, period=_month(months_back), amount_wan=amount, origin=origin,
                                     nature="固定资产", evidence="演示数据:银行进账单"))


def _load_visits(session: Session, projects: dict[str, Project], ents: dict[str, int]) -> None:
    if not session.scalar(select(func.count()).select_from(Visit)):
        for days, ent_key, name, interests, region, routing, routed_to, chain, pkey in D.VISITS:
            session.add(Visit(visit_date=(clock.now() - dt.timedelta(days=days)).date(),
                              enterprise_id=ents.get(ent_key) if ent_key else None,
                              enterprise_name=name or next(e[1] for e in D.ENTERPRISES if e[0] == ent_key),
                              visitors=[{"name": "演示来访人", "title": "总经理"}], interests=interests,
                              host="市投资促进局", region_code=region, routing_type=routing, routed_to=routed_to,
                              chain_code=chain, status="routed" if routing != "投诉" else "registered",
                              project_id=projects[pkey].id if pkey else None, created_at=_ago(days)))


def _load_complaints(session: Session, projects: dict[str, Project]) -> None:
    if not session.scalar(select(func.count()).select_from(Complaint)):
        for who, pkey, category, region, content, handler, days, status in D.COMPLAINTS:
            closed = status == "closed"
            session.add(Complaint(complainant=who, project_id=projects[pkey].id if pkey else None, category=category,
                                  region_code=region, content=content, handler_unit=handler, received_at=_ago(days),
                                  due_at=_ago(days - 30), status=status,
                                  reply="已协调完成供电增容。" if closed else None,
                                  satisfied=True if closed else None, closed_at=_ago(days - 20) if closed else None))


def _assessment_records(session: Session) -> None:
    """Demo annual targets and F-20 monthly reports (every month of the year so far) so the KPIs computed from
    records (app/services/domain/kpis.py) show values; 景东 misses a report, 孟连 reports late."""
    year = clock.now().year
    if not session.scalar(select(func.count()).select_from(AssessmentTarget)):
        for code, *_rest in D.REGIONS:
            session.add(AssessmentTarget(unit_key=code, year=year, funds_target_wan=20000 if code == "530802" else 8000,
                                         signed_1e8_target=3 if code == "530802" else 1, note="演示数据"))
    if not session.scalar(select(func.count()).select_from(UnitReport)):
        for months_back in range(1, clock.now().month + 1):
            period = _month(months_back)
            y, m = int(period[:4]), int(period[5:7])
            due = dt.datetime(y + (m == 12), m % 12 + 1, 5, 15, 59, tzinfo=dt.UTC)  # the 5th, 23:59 local
            for i, (code, _name, short, *_r) in enumerate(D.REGIONS):
                if code == "530823" and months_back == 1:
                    continue  # 景东: last month's report missing
                late = code == "530827" and months_back == 1
                session.add(UnitReport(unit_key=code, unit_name=_name, unit_kind="county", region_code=code,
                                       period=period, leader_trips=(i + months_back) % 2,
                                       trips=[{"destination": "昆明", "leads_obtained": 1}],
                                       work_info=[{"title": f"{short}招商动态(演示)", "channel": "政务网站"}],
                                       due_at=due, submitted_at=due + dt.timedelta(days=2 if late else -2)))


def _project(session: Session, actor: User, spec: dict, ents: dict[str, int]) -> Project:
    """A demo project: created through the project library service, then given its simulated history
    (stage, light, status and back-dated timestamps — what the processes would have written)."""
    status = spec.get("status", "active")
    stage = spec["stage"]
    region = spec["region"]
    library = STATUS_LIBRARY_STATUS[status] if status != "active" else STAGE_LIBRARY_STATUS[stage]
    entered, signed, started = spec["entered"], spec.get("signed"), spec.get("started")
    created = max(entered, signed or 0, started or 0) + 60
    unit = f"{D.REGION_SHORT[region]}{'区' if region == '530802' else '县'}投资促进局"
    p = records.create_project_record(session, actor, {
        "code": spec["key"], "name": spec["name"], "region_code": region, "park_code": spec.get("park"),
        "chain_code": spec.get("chain"), "chain_action": spec.get("action"),
        "is_industrial": spec.get("industrial", True), "amount_wan": float(spec["inv"]), "tier": spec["tier"],
        "enterprise_id": ents.get(spec["ent"]) if spec.get("ent") else None, "source": "线索",
        "designated_major": bool(spec.get("major")), "description": f"演示项目:{spec['name']}"})
    key = D.REGION_KEY[region]
    for attr, value in dict(
            stage=stage, library_status=library, light=spec.get("light", "green") if status == "active" else "green",
            status=status, supervisor_role="committee_deputy" if spec["tier"] == "重大" else "zsw_office",
            commissioner_name=f"{D.REGION_SHORT[region]}服务专员", responsible_unit=unit,
            factor_units=["市自然资源和规划局", "市生态环境局"], responsible_org_key=f"{key}_ipb",
            commissioner_username=f"{key}_sc", factor_org_keys=["nrp", "eco"],
            prereview_result=spec.get("prereview"), created_at=_ago(created), updated_at=_ago(entered),
            signed_at=_ago(signed) if signed is not None else None,
            landed_at=_ago(started + 30) if started is not None else None,
            started_at=_ago(started) if started is not None else None).items():
        setattr(p, attr, value)
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
    player = play(db, echo)
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
