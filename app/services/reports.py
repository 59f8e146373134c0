"""Shared read-model helpers (jurisdiction, reference data) and the 挂图作战 board.

Project pages live in report_projects, dashboards in report_dashboards, Excel in report_exports.

SQL over the domain and projection tables; views pass the returned plain dicts to templates (which
never query). Jurisdiction is applied here by a ``region_code`` argument: ``None`` means city-wide
(admins and city-level users), a code restricts to one county (users whose org unit has that
``region_code``), see :func:`user_region`.

Counting rules follow reference/domain.md §4.1: signed / landed / started are the P05 stage-event
timestamps on the project, months are local (UTC+8) months, 到位资金 are F-12 rows (省外 primary),
cohort rates use the projects signed in the year and the year before (2-year rolling cohort).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import NotAllowed
from app.models.domain import (
    LIGHTS,
    STAGE_NAMES,
    STAGES,
    Chain,
    Project,
    Region,
)

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


def user_region(user) -> str | None:
    """The county a user is confined to (``None``: admin or city level, sees everything)."""
    if user is None or user.is_admin:
        return None
    return user.region_code


def check_project_scope(user, project_region: str | None) -> None:
    region = user_region(user)
    if region and project_region != region:
        raise NotAllowed("该项目不在您的管辖县区 / this project is outside your jurisdiction")


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


def filter_options(session: Session, region_code: str | None = None) -> dict:
    return {"regions": regions(session, region_code), "chains": chains(session),
            "stages": [{"code": s, "name": STAGE_NAMES[s]} for s in (*STAGES, "DONE")],
            "lights": [{"code": k, "name": LIGHT_NAMES[k]} for k in LIGHTS],
            "tiers": ["重大", "重点", "一般"],
            "statuses": [{"code": k, "name": v} for k, v in STATUS_NAMES.items()]}


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


# ---------------------------------------------------------------------------------- 挂图作战 board
def board_matrix(session: Session, *, region_code: str | None = None, chain_code: str | None = None,
                 tier: str | None = None, lights: tuple[str, ...] | None = None) -> dict:
    """Active projects by county (rows) × stage S1..S7 (columns), with per-light counts per cell."""
    stmt = select(Project.id, Project.name, Project.region_code, Project.stage, Project.light, Project.tier,
                  Project.chain_code).where(Project.status == "active", Project.stage.in_(STAGES))
    if region_code:
        stmt = stmt.where(Project.region_code == region_code)
    if chain_code:
        stmt = stmt.where(Project.chain_code == chain_code)
    if tier:
        stmt = stmt.where(Project.tier == tier)
    if lights:
        stmt = stmt.where(Project.light.in_(lights))
    rows = regions(session, region_code)
    known = {r["code"] for r in rows}
    cells: dict[tuple[str | None, str], list[dict]] = defaultdict(list)
    extra: set[str | None] = set()
    for pid, name, rc, stage, light, ptier, chain in session.execute(stmt.order_by(Project.id)):
        cells[(rc, stage)].append({"id": pid, "name": name, "light": light, "tier": ptier, "chain_code": chain,
                                   "light_name": LIGHT_NAMES.get(light, light)})
        if rc not in known:
            extra.add(rc)
    names = dict(DEFAULT_REGIONS)
    rows = rows + [{"code": rc, "name": names.get(rc or "", rc or "未分县区")} for rc in sorted(extra, key=str)]
    out_rows = []
    col_totals = {s: 0 for s in STAGES}
    light_totals = {k: 0 for k in LIGHTS}
    for r in rows:
        row_cells = []
        total = 0
        for stage in STAGES:
            projects = cells.get((r["code"], stage), [])
            counts = {k: 0 for k in LIGHTS}
            for p in projects:
                counts[p["light"]] = counts.get(p["light"], 0) + 1
                light_totals[p["light"]] = light_totals.get(p["light"], 0) + 1
            worst = max((p["light"] for p in projects), key=lambda x: LIGHT_RANK.get(x, 0), default=None)
            row_cells.append({"stage": stage, "projects": projects, "count": len(projects), "counts": counts,
                              "worst": worst})
            total += len(projects)
            col_totals[stage] += len(projects)
        out_rows.append({"code": r["code"], "name": r["name"], "cells": row_cells, "total": total})
    return {"columns": [{"stage": s, "name": STAGE_NAMES[s]} for s in STAGES], "rows": out_rows,
            "column_totals": col_totals, "light_totals": light_totals, "total": sum(col_totals.values())}
