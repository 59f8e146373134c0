"""System role keys (reference/domain.md §1.13) and the declared permissions the access rule reads.

A BPMN lane name must be one of the role keys. Each role is one of three kinds: ``scoped`` (county
roles: confined to the county of their org unit), ``city`` (city roles: an org unit without region
means every county) or ``external`` (investor, expert, investment representative: see only what is
explicitly theirs). A user whose org has no region and who holds no city role is in *no* county.

``START_PERMISSIONS`` and ``MESSAGE_PERMISSIONS`` declare who may start a process by hand and who may
send a message (admins always may); see docs/CONTRACTS.md "Permissions". ``CITY_WIDE_PROCESSES`` hold
every county's data: only city roles read those instances.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    key: str
    name: str
    scoped: bool = False  # county-scoped: sees only tasks of its own region
    city: bool = False  # city role: an org without region means every county
    external: bool = False  # outside the government: only what is explicitly theirs


ROLES: dict[str, Role] = {
    r.key: r
    for r in [
        Role("admin", "流程管理员", city=True),
        Role("leading_group_head", "市招商引资工作领导小组组长", city=True),
        Role("committee_director", "市招商委主任", city=True),
        Role("committee_deputy", "市招商委副主任", city=True),
        Role("deputy_secgen", "副秘书长", city=True),
        Role("zsw_office", "市招商委办公室", city=True),
        Role("city_ipb", "市投资促进局", city=True),
        Role("county_gov", "县(区)人民政府", scoped=True),
        Role("county_ipb", "县(区)投资促进局", scoped=True),
        Role("park_admin", "工业园区管委会", scoped=True),
        Role("industry_dept", "行业主管部门", city=True),
        Role("chain_chief", "链长", city=True),
        Role("chain_group", "产业链牵头单位", city=True),
        Role("factor_group", "要素保障组", city=True),
        Role("factor_dept", "要素部门", city=True),
        Role("ndrc", "市发展改革委", city=True),
        Role("eco", "市生态环境局", city=True),
        Role("nrp", "市自然资源和规划局", city=True),
        Role("housing", "市住房城乡建设局", city=True),
        Role("project_supervisor", "项目主管", city=True),
        Role("service_commissioner", "服务专员", scoped=True),
        Role("responsible_unit", "责任单位", scoped=True),
        Role("investor", "投资方联系人", external=True),
        Role("investment_rep", "招商代表", external=True),
        Role("expert", "专家", external=True),
        Role("inspector", "督查人员", city=True),
        Role("legal", "法律顾问", city=True),
        Role("leader", "领导", city=True),
        Role("metrics", "监控采集(Prometheus)"),  # may read /metrics only
    ]
}


_DESK = ("zsw_office", "city_ipb")  # the city desks that run the investment process

# process key -> roles that may start it by hand (admins always may). A process not listed here:
# if it starts on a timer or a message, only admins; otherwise any non-external role.
START_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "project_lifecycle": (*_DESK, "county_ipb", "county_gov"),
    "project_prereview": (*_DESK, "county_ipb", "responsible_unit"),
    "project_exit": (*_DESK, "committee_director", "responsible_unit", "county_ipb"),
    "complaint_handling": (*_DESK, "county_ipb", "county_gov", "responsible_unit", "service_commissioner"),
    "library_admission": (*_DESK, "county_ipb"),
    "visitor_routing": (*_DESK, "chain_group", "county_ipb"),
    # city-wide cycles start on their timer; 补做 a period by hand is the office's job
    "capacity_assessment": ("zsw_office",),
    "annual_assessment": ("zsw_office",),
    "quarterly_inspection": ("zsw_office",),
    "monthly_bulletin": ("zsw_office",),
    # issue #12's processes
    "joint_handling": (*_DESK, "service_commissioner"),
    "quality_transfer": (*_DESK, "county_ipb", "county_gov"),
    "meeting_assignments": ("zsw_office",),
}

# message name -> roles that may send it (admins always may; broadcast is admin/system only).
# A message not listed here may be sent by admins (and processes, through the operators) only.
MESSAGE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "msg_exit_decided": ("committee_director", "zsw_office"),
}

# instances that hold every county's data: read by city roles only
CITY_WIDE_PROCESSES = frozenset({"capacity_assessment", "annual_assessment", "quarterly_inspection",
                                 "monthly_bulletin"})
