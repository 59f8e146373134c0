"""Excel exports of the monthly bulletin and the assessment table (openpyxl)."""

from __future__ import annotations

import io
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.models.domain import (
    AssessmentScore,
)
from app.services.domain import kpis
from app.services.domain import settings as settings_service
from app.services.domain.queries import LOCAL_TZ, month_bounds
from app.services.reports.dashboards import ranking_rows
from app.services.reports.reference import (
    regions,
)

# ---------------------------------------------------------------------------------- Excel exports
# (bulletin_counts key, column title) — every value is kpis.indicators' value of the same month
BULLETIN_COLUMNS: tuple[tuple[str, str], ...] = (
    ("new_projects", "新增项目数"), ("signed", "新签约项目数"), ("signed_amount_wan", "协议投资额(万元)"),
    ("landed", "落地项目数"), ("started", "开工项目数"), ("funds_total_wan", "到位资金合计(万元)"),
    ("funds_out_of_province_wan", "省外到位资金(万元)"), ("active_projects", "在推项目数"), ("green", "绿灯"),
    ("yellow", "黄灯"), ("red", "红灯"), ("visits", "来访企业数"), ("complaints_received", "受理投诉"),
    ("complaints_closed", "办结投诉"), ("complaints_satisfied", "满意件数"),
    ("assignments_on_time_pct", "交办事项按期办结率(%)"), ("joint_handling_on_time_pct", "联办协办按期办结率(%)"),
)


def bulletin_rows(session: Session, period: str) -> list[dict]:
    """The monthly bulletin table: ``kpis.indicators`` of the month per county, then the city total
    (flat view :func:`kpis.bulletin_counts`)."""
    month_bounds(period)  # validates YYYY-MM
    cfg = settings_service.values(session)

    def row(code):
        return kpis.bulletin_counts(kpis.indicators(session, period[:4], month=period[5:7], region_code=code, cfg=cfg))

    rows = [{"region_code": r["code"], "region_name": r["name"], **row(r["code"])} for r in regions(session)]
    rows.append({"region_code": None, "region_name": "全市合计", **row(None)})
    return rows


def _style_header(ws, row: int, count: int) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill

    for col in range(1, count + 1):
        cell = ws.cell(row=row, column=col)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="2F6B4F")
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)


def _autosize(ws) -> None:
    from openpyxl.utils import get_column_letter

    for idx, column in enumerate(ws.iter_cols(), 1):
        width = max((len(str(c.value)) * (2 if any(ord(ch) > 127 for ch in str(c.value)) else 1)
                     for c in column if c.value is not None), default=8)
        ws.column_dimensions[get_column_letter(idx)].width = min(40, max(10, width + 2))


def bulletin_xlsx(session: Session, period: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    rows = bulletin_rows(session, period)
    wb = Workbook()
    ws = wb.active
    ws.title = "月通报"
    ws.append([f"普洱市招商引资工作月通报({period})"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([f"生成时间:{clock.now().astimezone(LOCAL_TZ).strftime('%Y-%m-%d %H:%M')}(北京时间);"
               "口径:同 /api/v1/kpis(kpis.indicators);签约/落地/开工按阶段事件时间,到位资金按 F-12 月度登记,灯色为当前状态"])
    header = ["县(区)", "区划代码", *[label for _, label in BULLETIN_COLUMNS]]
    ws.append(header)
    _style_header(ws, 3, len(header))
    for r in rows:
        ws.append([r["region_name"], r["region_code"] or "",
                   *["—" if r.get(key) is None else r[key] for key, _ in BULLETIN_COLUMNS]])
    ws.cell(row=ws.max_row, column=1).font = Font(bold=True)
    ws.freeze_panes = "C4"
    _autosize(ws)
    origins = wb.create_sheet("到位资金来源")
    origin_names = ["省外", "市外省内", "市内"]
    origins.append(["县(区)", *[f"{o}(万元)" for o in origin_names], "合计(万元)"])
    _style_header(origins, 1, len(origin_names) + 2)
    for r in rows:
        by = r.get("funds_by_origin") or {}
        origins.append([r["region_name"], *[float(by.get(o, 0.0)) for o in origin_names], r["funds_total_wan"]])
    _autosize(origins)
    year = int(period[:4])
    ranking = wb.create_sheet("县区排名")
    ranking.append(["排名", "县(区)", "签约项目(两年队列)", "落地", "开工", "项目落地率", "开工率", "资金到位率"])
    _style_header(ranking, 1, 8)
    for s in ranking_rows(session, year, period):
        ranking.append([s["rank"], s["name"], s["signed"], s["landed"], s["started"], s["landing_rate"],
                        s["start_rate"], s["funds_rate"]])
        for col in (6, 7, 8):
            ranking.cell(row=ranking.max_row, column=col).number_format = "0.0%"
    _autosize(ranking)
    return _save(wb)


ASSESSMENT_COLUMNS = (("daily", "日常考评"), ("year_end", "年终考评"), ("bonus", "加分"), ("penalty", "扣分"),
                      ("total", "总分"))


def assessment_rows(session: Session, year: int) -> dict:
    rows = session.scalars(select(AssessmentScore).where(AssessmentScore.year == year)
                           .order_by(AssessmentScore.quarter, AssessmentScore.total.desc(),
                                     AssessmentScore.unit_key)).all()

    def as_dict(a: AssessmentScore) -> dict:
        return {"unit_key": a.unit_key, "unit_name": a.unit_name, "quarter": a.quarter, "daily": a.daily,
                "year_end": a.year_end, "bonus": a.bonus, "penalty": a.penalty, "total": a.total, "grade": a.grade,
                "scores": _flat_scores(a.scores or {})}

    annual = [as_dict(a) for a in rows if a.quarter is None]
    quarterly = [as_dict(a) for a in rows if a.quarter is not None]
    for i, r in enumerate(annual, 1):
        r["rank"] = i
    keys = sorted({k for r in annual + quarterly for k in r["scores"]})
    return {"year": year, "annual": annual, "quarterly": quarterly, "score_keys": keys}


def _flat_scores(scores: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in scores.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat_scores(value, name + "."))
        elif isinstance(value, int | float | str | bool) or value is None:
            out[name] = value
        else:
            out[name] = str(value)
    return out


def assessment_xlsx(session: Session, year: int) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    data = assessment_rows(session, year)
    keys = data["score_keys"]
    wb = Workbook()
    ws = wb.active
    ws.title = "年度考核"
    ws.append([f"普洱市招商引资工作 {year} 年度考核结果"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(["最终得分 = 0.3 × 日常考评 + 0.7 × 年终考评 + 加分 − 扣分"])
    header = ["排名", "单位", "单位代码", *[label for _, label in ASSESSMENT_COLUMNS], "等级", *keys]
    ws.append(header)
    _style_header(ws, 3, len(header))
    for r in data["annual"]:
        ws.append([r["rank"], r["unit_name"], r["unit_key"], *[r[k] for k, _ in ASSESSMENT_COLUMNS], r["grade"] or "",
                   *[r["scores"].get(k) for k in keys]])
    if not data["annual"]:
        ws.append(["", f"{year} 年暂无年度考核结果"])
    _autosize(ws)
    q = wb.create_sheet("季度考评")
    q_header = ["季度", "单位", "单位代码", *[label for _, label in ASSESSMENT_COLUMNS], "等级", *keys]
    q.append(q_header)
    _style_header(q, 1, len(q_header))
    for r in data["quarterly"]:
        q.append([f"Q{r['quarter']}", r["unit_name"], r["unit_key"], *[r[k] for k, _ in ASSESSMENT_COLUMNS],
                  r["grade"] or "", *[r["scores"].get(k) for k in keys]])
    _autosize(q)
    return _save(wb)


def _save(wb) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
