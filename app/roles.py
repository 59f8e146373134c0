"""System role keys (reference/domain.md §1.13). A BPMN lane name must be one of these keys."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    key: str
    name: str
    scoped: bool = False  # county-scoped: sees only tasks of its own region


ROLES: dict[str, Role] = {
    r.key: r
    for r in [
        Role("admin", "流程管理员"),
        Role("leading_group_head", "市招商引资工作领导小组组长"),
        Role("committee_director", "市招商委主任"),
        Role("committee_deputy", "市招商委副主任"),
        Role("deputy_secgen", "副秘书长"),
        Role("zsw_office", "市招商委办公室"),
        Role("city_ipb", "市投资促进局"),
        Role("county_gov", "县(区)人民政府", scoped=True),
        Role("county_ipb", "县(区)投资促进局", scoped=True),
        Role("park_admin", "工业园区管委会", scoped=True),
        Role("industry_dept", "行业主管部门"),
        Role("chain_chief", "链长"),
        Role("chain_group", "产业链牵头单位"),
        Role("factor_group", "要素保障组"),
        Role("factor_dept", "要素部门"),
        Role("ndrc", "市发展改革委"),
        Role("eco", "市生态环境局"),
        Role("nrp", "市自然资源和规划局"),
        Role("housing", "市住房城乡建设局"),
        Role("project_supervisor", "项目主管"),
        Role("service_commissioner", "服务专员", scoped=True),
        Role("responsible_unit", "责任单位", scoped=True),
        Role("investor", "投资方联系人"),
        Role("investment_rep", "招商代表"),
        Role("expert", "专家"),
        Role("inspector", "督查人员"),
        Role("legal", "法律顾问"),
        Role("leader", "领导"),
        Role("metrics", "监控采集(Prometheus)"),  # may read /metrics only
    ]
}

