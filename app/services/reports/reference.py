"""Reference data and display names shared by the read models: regions, chains, filter options, labels.

Project pages live in reports.projects, dashboards in reports.dashboards, Excel in reports.exports,
the 挂图作战 matrix in reports.board.

SQL over the domain and projection tables; views pass the returned plain dicts to templates (which
never query). Jurisdiction is applied here by a ``region_code`` argument: ``None`` means city-wide
(admins and city-level users), a code restricts to one county (users whose org unit has that
``region_code``), see ``services.access.user_region``.

Counting rules follow reference/domain.md §4.1: signed / landed / started are the P05 stage-event
timestamps on the project, months are local (UTC+8) months, 到位资金 are F-12 rows (省外 primary),
cohort rates use the projects signed in the year and the year before (2-year rolling cohort).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models.domain import (
    LIGHTS,
    STAGE_NAMES,
    STAGES,
    Chain,
    Enterprise,
    Park,
    Region,
)
from app.services.domain.kpi_scope import as_aware as aware  # noqa: F401  (re-exported for the read models)

# The 9 counties + 1 district of 普洱市 (GB/T 2260), used when the region table is not loaded.
DEFAULT_REGIONS: tuple[tuple[str, str], ...] = (
    ("530802", "思茅区"), ("530821", "宁洱县"), ("530822", "墨江县"), ("530823", "景东县"), ("530824", "景谷县"),
    ("530825", "镇沅县"), ("530826", "江城县"), ("530827", "孟连县"), ("530828", "澜沧县"), ("530829", "西盟县"),
)
LIGHT_NAMES = {"green": "绿灯", "blue": "蓝灯", "yellow": "黄灯", "red": "红灯"}
LIGHT_RANK = {"green": 0, "blue": 1, "yellow": 2, "red": 3}
STATUS_NAMES = {"active": "推进中", "sealed": "已封存", "exited": "已退出", "terminated": "已终止"}
INSTANCE_STATUS_NAMES = {"running": "运行中", "waiting": "等待中", "suspended": "已挂起", "error": "故障",
                         "completed": "已完成", "cancelled": "已取消"}
AUDIT_NAMES = {
    "instance_started": "启动流程", "instance_completed": "流程结束", "instance_cancelled": "取消流程",
    "instance_suspended": "挂起流程", "instance_resumed": "恢复流程", "instance_migrated": "迁移版本",
    "task_completed": "完成任务", "task_claimed": "认领任务", "task_unclaimed": "退回认领",
    "timer_fired": "定时器触发", "message_delivered": "收到消息", "message_undelivered": "消息未送达",
    "service_failed": "服务调用失败", "incident_opened": "产生故障", "incident_retried": "故障重试",
    "timer_start_fired": "定时启动", "deploy": "部署",
}
TIMELINE_KIND_NAMES = {"stage": "阶段", "light": "预警", "status": "状态", "update": "更新", "agreement": "协议",
                       "note": "记录", "funds": "资金", "notify": "通知"}
# The lifecycle process is preferred for the project diagram (P05); keys are matched by substring.
LIFECYCLE_HINTS = ("lifecycle", "p05", "全生命周期")


# ---------------------------------------------------------------------------------- reference data
def regions(session: Session, only: str | None = None) -> list[dict]:
    rows = session.execute(select(Region.code, Region.name).order_by(Region.sort_order, Region.code)).all()
    items = [{"code": c, "name": n} for c, n in rows] or [{"code": c, "name": n} for c, n in DEFAULT_REGIONS]
    return [r for r in items if r["code"] == only] if only else items


def region_names(session: Session) -> dict[str, str]:
    names = dict(DEFAULT_REGIONS)
    names.update({r["code"]: r["name"] for r in regions(session)})
    return names


def chains(session: Session) -> list[dict]:
    return [{"code": c, "name": n} for c, n in session.execute(select(Chain.code, Chain.name).order_by(Chain.code))]


def parks(session: Session, region_code: str | None = None) -> list[dict]:
    stmt = select(Park.code, Park.name, Park.region_code).order_by(Park.code)
    return [{"code": c, "name": n, "region_code": r} for c, n, r in session.execute(stmt)
            if not region_code or r == region_code]


def enterprise_choices(session: Session, limit: int = 500) -> list[dict]:
    return [{"id": i, "name": n} for i, n in session.execute(
        select(Enterprise.id, Enterprise.name).order_by(Enterprise.name).limit(limit))]


def filter_options(session: Session, region_code: str | None = None) -> dict:
    return {"regions": regions(session, region_code), "chains": chains(session),
            "stages": [{"code": s, "name": STAGE_NAMES[s]} for s in (*STAGES, "DONE")],
            "lights": [{"code": k, "name": LIGHT_NAMES[k]} for k in LIGHTS],
            "tiers": ["重大", "重点", "一般"],
            "statuses": [{"code": k, "name": v} for k, v in STATUS_NAMES.items()]}


def iso(value) -> str | None:
    return value.isoformat() if value is not None else None


