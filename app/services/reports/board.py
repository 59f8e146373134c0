"""The 挂图作战 board: active projects by county (rows) and stage (columns), coloured by light."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models.domain import LIGHTS, STAGE_NAMES, STAGES, Project
from app.services.reports.reference import DEFAULT_REGIONS, LIGHT_NAMES, LIGHT_RANK, regions


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
