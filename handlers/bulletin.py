"""月通报 — turn ``bulletin_kpis`` output (the flat view of ``kpis.indicators``) into bulletin sections with rankings (domain.md P11-M, §4.2).

Pure functions, no ``app`` imports. Used by ``processes/supervision_monthly.bpmn`` and, for
``report_period``, by every cycle process (monthly / quarterly / annual / capacity).

``bulletin_sections`` is deliberately tolerant about the snapshot's key names: it flattens nested
dicts (``{"lights": {"red": 2}}`` → ``lights.red`` / ``lights_red``) and looks each metric up under
several likely names (see :data:`METRICS`). Numeric keys it does not know are still listed, under
their own key, in the overview table.
"""

from __future__ import annotations

import datetime as dt
import re

from handlers.registry import handler

CST = dt.timezone(dt.timedelta(hours=8))  # 北京时间; the platform's calendar periods are local

# key, 中文, unit, candidate keys in bulletin_kpis output, direction, weight in the composite ranking
METRICS: list[tuple[str, str, str, tuple[str, ...], str, float]] = [
    ("new_projects", "新入库项目", "个",
     ("new_projects", "projects_new", "new", "admitted", "new_count", "projects.new"), "high", 1),
    ("signed", "新签约项目", "个",
     ("signed", "signed_projects", "projects_signed", "signed_count", "new_signed", "projects.signed"), "high", 2),
    ("signed_amount_wan", "协议投资额", "万元",
     ("signed_amount_wan", "signed_investment_wan", "agreed_investment_wan", "signed_wan",
      "funds.signed_wan"), "high", 1),
    ("landed", "新落地项目", "个",
     ("landed", "landed_projects", "projects_landed", "landed_count", "projects.landed"), "high", 2),
    ("started", "新开工项目", "个",
     ("started", "started_projects", "projects_started", "started_count", "projects.started"), "high", 1),
    ("funds_wan", "实际到位资金", "万元",
     ("funds_wan", "funds_arrived_wan", "funds_total_wan", "funds_sum_wan", "funds.total_wan", "funds.total",
      "funds_amount_wan"), "high", 2),
    ("funds_outside_wan", "其中省外到位资金", "万元",
     ("funds_outside_wan", "funds_out_of_province_wan", "funds_province_outside_wan", "funds.省外",
      "funds.outside_wan", "funds_by_origin.省外"), "high", 0),
    ("yellow", "黄灯项目", "个",
     ("yellow", "lights_yellow", "yellow_count", "lights.yellow", "lights.黄", "yellow_lights"), "low", 0),
    ("red", "红灯项目", "个",
     ("red", "lights_red", "red_count", "lights.red", "lights.红", "red_lights"), "low", 1),
    ("visits", "来访企业", "批次",
     ("visits", "visit_count", "visits_count", "visitors", "visits.count", "visits.total"), "high", 1),
    ("complaints", "受理投诉", "件",
     ("complaints", "complaints_new", "complaint_count", "complaints_received", "complaints.count",
      "complaints.total", "complaints.new"), "info", 0),
    ("assignments_on_time_pct", "交办事项按期办结率", "%",
     ("assignments_on_time_pct",), "info", 0),
    ("joint_handling_on_time_pct", "联办协办按期办结率", "%",
     ("joint_handling_on_time_pct",), "info", 0),
]

CN_NUM = "零一二三四五六七八九十"


# --------------------------------------------------------------------------------------------- periods
def _parse_at(at) -> dt.date:
    if at in (None, ""):
        return dt.datetime.now(dt.UTC).astimezone(CST).date()
    if isinstance(at, dt.datetime):
        return (at if at.tzinfo else at.replace(tzinfo=dt.UTC)).astimezone(CST).date()
    if isinstance(at, dt.date):
        return at
    text = str(at).strip().replace("Z", "+00:00")
    if len(text) == 10:
        return dt.date.fromisoformat(text)
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CST)
    return moment.astimezone(CST).date()


def _month_end(year: int, month: int) -> dt.date:
    first_next = dt.date(year + (month == 12), month % 12 + 1, 1)
    return first_next - dt.timedelta(days=1)


def _info(kind: str, year: int, index: int) -> dict:
    if kind == "month":
        first, last = (index, index)
        period, label = f"{year}-{index:02d}", f"{year}年{index}月"
    elif kind == "quarter":
        first, last = (3 * index - 2, 3 * index)
        period, label = f"{year}Q{index}", f"{year}年第{CN_NUM[index]}季度"
    elif kind == "half":
        first, last = (6 * index - 5, 6 * index)
        period, label = f"{year}H{index}", f"{year}年{'上' if index == 1 else '下'}半年"
    elif kind == "year":
        first, last = (1, 12)
        period, label = f"{year}", f"{year}年度"
    else:
        raise ValueError(f"unknown period kind {kind!r}")
    info = {
        "kind": kind,
        "period": period,
        "label": label,
        "year": year,
        "start": dt.date(year, first, 1).isoformat(),
        "end": _month_end(year, last).isoformat(),
        "months": [f"{year}-{m:02d}" for m in range(first, last + 1)],
    }
    if kind != "year":
        info[{"month": "month", "quarter": "quarter", "half": "half"}[kind]] = index
    return info


_PATTERNS = {
    "month": re.compile(r"^(\d{4})-(\d{2})$"),
    "quarter": re.compile(r"^(\d{4})-?Q([1-4])$", re.I),
    "half": re.compile(r"^(\d{4})-?H([12])$", re.I),
    "year": re.compile(r"^(\d{4})$"),
}


@handler("report_period")
def report_period(kind: str, at=None, period: str | None = None) -> dict:
    """The reporting period a cycle run covers: the last *complete* month/quarter/half/year.

    ``period`` (e.g. ``"2026-11"``, ``"2026Q4"``, ``"2026H2"``, ``"2026"``) wins when given — a
    manual or re-run start passes it in the start data. Otherwise ``at`` (ISO date/date-time, the
    occurrence time) decides, and without ``at`` the current UTC time does (北京时间 calendar).
    """
    if kind not in _PATTERNS:
        raise ValueError(f"unknown period kind {kind!r}")
    if period not in (None, ""):
        match = _PATTERNS[kind].match(str(period).strip())
        if not match:
            raise ValueError(f"period {period!r} does not look like a {kind}")
        year = int(match.group(1))
        index = int(match.group(2)) if kind != "year" else 0
        if kind == "month" and not 1 <= index <= 12:
            raise ValueError(f"bad month in {period!r}")
        return _info(kind, year, index)
    today = _parse_at(at)
    if kind == "month":
        year, index = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    elif kind == "quarter":
        q = (today.month - 1) // 3 + 1
        year, index = (today.year, q - 1) if q > 1 else (today.year - 1, 4)
    elif kind == "half":
        year, index = (today.year, 1) if today.month > 6 else (today.year - 1, 2)
    else:
        year, index = today.year - 1, 0
    return _info(kind, year, index)


# --------------------------------------------------------------------------------------------- metrics
def _flatten(data, prefix: str = "", out: dict | None = None) -> dict:
    out = {} if out is None else out
    if not isinstance(data, dict):
        return out
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            _flatten(value, f"{name}.", out)
        else:
            out[name.lower()] = value
            if "." in name:
                out.setdefault(name.replace(".", "_").lower(), value)
    return out


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def extract_metrics(snapshot: dict | None) -> tuple[dict, dict]:
    """→ (known metrics {key: number}, other numeric keys {flat_key: number})."""
    flat = _flatten(snapshot or {})
    known, used = {}, set()
    for key, _label, _unit, candidates, _dir, _w in METRICS:
        for cand in candidates:
            cand = cand.lower()
            if cand in flat and _is_number(flat[cand]):
                known[key] = flat[cand]
                used.add(cand)
                used.add(cand.replace(".", "_"))
                break
    others = {
        k: v for k, v in flat.items()
        if _is_number(v) and k not in used and k.replace(".", "_") not in used and "." not in k
        and k not in ("year", "month", "quarter", "region_code", "park_id")
    }
    return known, others


def _fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


def _label(key: str) -> tuple[str, str]:
    for k, label, unit, *_ in METRICS:
        if k == key:
            return label, unit
    return key, ""


def _efficacy(values: dict[str, float], direction: str) -> dict[str, float]:
    """功效系数法: s = 60 + 40·(x − min)/(max − min); reversed when lower is better."""
    if not values:
        return {}
    lo, hi = min(values.values()), max(values.values())
    if hi == lo:
        return {k: 100.0 for k in values}
    if direction == "low":
        return {k: 60 + 40 * (hi - v) / (hi - lo) for k, v in values.items()}
    return {k: 60 + 40 * (v - lo) / (hi - lo) for k, v in values.items()}


def _competition_rank(scores: list[tuple[str, float]]) -> dict[str, int]:
    ordered = sorted(scores, key=lambda kv: (-kv[1], kv[0]))
    ranks, previous, rank = {}, None, 0
    for index, (key, score) in enumerate(ordered, start=1):
        if score != previous:
            rank, previous = index, score
        ranks[key] = rank
    return ranks


def _cn_ordinal(n: int) -> str:
    if n <= 10:
        return CN_NUM[n]
    if n < 20:
        return "十" + (CN_NUM[n - 10] if n > 10 else "")
    return str(n)


def _names(rows: list[dict]) -> str:
    return "、".join(r["region_name"] for r in rows) or "无"


@handler("bulletin_sections")
def bulletin_sections(period: str, city: dict | None = None, regions: list[dict] | None = None,
                      label: str | None = None, title: str | None = None, summary_text: str | None = None,
                      extra_sections: list[dict] | None = None, units: list[dict] | None = None) -> dict:
    """bulletin_kpis output → bulletin sections with rankings.

    ``city``: ``bulletin_kpis(period)``; ``regions``: ``[{"region_code", "region_name", "kpis":
    bulletin_kpis(period, region_code)}]``. ``summary_text`` replaces the generated overview text and
    ``extra_sections`` (``[{"key", "title", "text"}]``, empty texts dropped) are appended — both come
    from the office's review. ``units`` (the ``seed_items`` operator: counties *and* 市直部门) adds the
    section of the seed's 督查通报 items — "一把手"招商, 外出招商信息报告, 来访企业报告, 招商工作信息报告 and
    目标任务 — with the units that reported late or not at all. Returns ``{"title", "summary_text", "sections", "ranking", "metrics"}``;
    a section is ``{"key", "title", "text", "table"?}`` (titles numbered 一、二、…) with ``table =
    {"columns": [...], "rows": [[...], ...]}``.
    """
    label = label or period
    title = title or f"普洱市招商引资工作月通报({label})"
    city_known, city_other = extract_metrics(city)

    region_rows = []
    for item in regions or []:
        known, _ = extract_metrics(item.get("kpis") if isinstance(item, dict) else None)
        code = str(item.get("region_code") or "")
        region_rows.append({"region_code": code, "region_name": item.get("region_name") or code, "metrics": known})

    # city totals: fall back to the sum over regions where the city snapshot lacks a metric
    for key, *_ in METRICS:
        if key not in city_known:
            values = [r["metrics"][key] for r in region_rows if key in r["metrics"]]
            if values:
                city_known[key] = sum(values)

    sections = []
    # 一、总体情况
    phrases = []
    m = city_known
    if "signed" in m:
        phrase = f"新签约项目{_fmt(m['signed'])}个"
        if "signed_amount_wan" in m:
            phrase += f",协议投资额{_fmt(m['signed_amount_wan'])}万元"
        phrases.append(phrase)
    for key in ("new_projects", "landed", "started"):
        if key in m:
            lab, unit = _label(key)
            phrases.append(f"{lab}{_fmt(m[key])}{unit}")
    if "funds_wan" in m:
        phrase = f"实际到位资金{_fmt(m['funds_wan'])}万元"
        if "funds_outside_wan" in m:
            phrase += f"(其中省外{_fmt(m['funds_outside_wan'])}万元)"
        phrases.append(phrase)
    if "yellow" in m or "red" in m:
        phrases.append(f"亮黄灯项目{_fmt(m.get('yellow', 0))}个、红灯项目{_fmt(m.get('red', 0))}个")
    if "visits" in m:
        phrases.append(f"接待来访企业{_fmt(m['visits'])}批次")
    if "complaints" in m:
        phrases.append(f"受理投诉{_fmt(m['complaints'])}件")
    generated = f"{label},全市" + (";".join(phrases) if phrases else "暂无统计数据") + "。"
    summary_text = summary_text.strip() if isinstance(summary_text, str) and summary_text.strip() else generated
    overview_rows = [[_label(k)[0], _fmt(v), _label(k)[1]] for k, v in m.items()]
    overview_rows += [[k, _fmt(v), ""] for k, v in sorted(city_other.items())]
    sections.append({"key": "overview", "title": "总体情况", "text": summary_text,
                     "table": {"columns": ["指标", "本期", "单位"], "rows": overview_rows}})

    # 二、各县(区)主要指标
    present = [k for k, *_ in METRICS if any(k in r["metrics"] for r in region_rows)]
    if region_rows:
        sections.append({
            "key": "regions", "title": "各县(区)主要指标", "text": f"共{len(region_rows)}个县(区)参与统计。",
            "table": {"columns": ["县(区)"] + [f"{_label(k)[0]}({_label(k)[1]})" for k in present],
                      "rows": [[r["region_name"]] + [_fmt(r["metrics"].get(k)) for k in present]
                               for r in region_rows]},
        })

    # 三、综合排名 (功效系数法, weighted) and 四、分项排名
    ranking = []
    weighted = [(k, d, w) for k, _l, _u, _c, d, w in METRICS if w > 0 and k in present]
    if region_rows and weighted:
        composite = {r["region_code"]: 0.0 for r in region_rows}
        per_metric_rank = {}
        total_weight = sum(w for _k, _d, w in weighted)
        for key, direction, weight in weighted:
            values = {r["region_code"]: float(r["metrics"].get(key, 0) or 0) for r in region_rows}
            for code, s in _efficacy(values, direction).items():
                composite[code] += weight * s / total_weight
            signed = {c: (-v if direction == "low" else v) for c, v in values.items()}
            per_metric_rank[key] = _competition_rank(list(signed.items()))
        ranks = _competition_rank([(c, round(s, 2)) for c, s in composite.items()])
        by_code = {r["region_code"]: r for r in region_rows}
        ranking = sorted(
            ({"rank": ranks[c], "region_code": c, "region_name": by_code[c]["region_name"],
              "score": round(composite[c], 2),
              "metric_ranks": {k: per_metric_rank[k][c] for k, _d, _w in weighted}}
             for c in composite),
            key=lambda r: (r["rank"], r["region_code"]),
        )
        top, bottom = ranking[:3], ranking[-3:] if len(ranking) > 3 else []
        text = f"按功效系数法综合排名,前三位:{_names(top)}"
        if bottom:
            text += f";后三位:{_names(bottom)}"
        sections.append({
            "key": "ranking", "title": "综合排名", "text": text + "。",
            "table": {"columns": ["名次", "县(区)", "综合得分"],
                      "rows": [[r["rank"], r["region_name"], f"{r['score']:.2f}"] for r in ranking]},
        })
        sections.append({
            "key": "metric_ranks", "title": "分项排名",
            "text": ";".join(
                f"{_label(k)[0]}{'最少' if d == 'low' else '第一'}:"
                f"{_names([r for r in ranking if r['metric_ranks'][k] == 1])}"
                for k, d, _w in weighted
            ) + "。",
            "table": {"columns": ["县(区)"] + [_label(k)[0] for k, _d, _w in weighted],
                      "rows": [[r["region_name"]] + [r["metric_ranks"][k] for k, _d, _w in weighted]
                               for r in ranking]},
        })

    # 五、预警情况
    if any("red" in r["metrics"] or "yellow" in r["metrics"] for r in region_rows):
        lights = sorted(region_rows, key=lambda r: (-(r["metrics"].get("red") or 0),
                                                    -(r["metrics"].get("yellow") or 0), r["region_code"]))
        flagged = [r for r in lights if (r["metrics"].get("red") or 0) > 0]
        sections.append({
            "key": "warnings", "title": "预警情况",
            "text": ("存在红灯项目的县(区):" + _names(flagged) + "。请相关县(区)限期整改。") if flagged
            else "本期无红灯项目。",
            "table": {"columns": ["县(区)", "黄灯", "红灯"],
                      "rows": [[r["region_name"], _fmt(r["metrics"].get("yellow", 0)),
                                _fmt(r["metrics"].get("red", 0))] for r in lights]},
        })
    if units:
        sections.append(_seed_items_section(units))
    for extra in extra_sections or []:
        if isinstance(extra, dict) and str(extra.get("text") or "").strip():
            sections.append({"key": str(extra.get("key") or f"extra{len(sections)}"),
                             "title": str(extra.get("title") or "其他"), "text": str(extra["text"]).strip()})
    for index, section in enumerate(sections, start=1):
        section["title"] = f"{_cn_ordinal(index)}、{section['title']}"
    return {"title": title, "period": period, "summary_text": summary_text, "sections": sections,
            "ranking": ranking, "metrics": city_known}


def _pct(value) -> str:
    return "—" if value is None else f"{float(value) * 100:.1f}%"


def _seed_items_section(units: list[dict]) -> dict:
    """督查事项落实情况 for counties and 市直部门 (seed 二(十)): one row per unit."""
    kinds = {"county": "县(区)", "department": "市直部门"}
    rows = []
    for u in units:
        if not isinstance(u, dict):
            raise ValueError("units 的每一项应为对象 / each unit must be an object")
        rows.append([u.get("unit_name") or u.get("unit_key"), kinds.get(u.get("unit_kind"), u.get("unit_kind") or ""),
                     u.get("report_status") or "", _fmt(u.get("leader_trips", 0)), _fmt(u.get("trip_reports", 0)),
                     _fmt(u.get("visits", 0)), _fmt(u.get("work_info", 0)), _pct(u.get("funds_target_rate"))])
    counties = sum(1 for u in units if u.get("unit_kind") == "county")
    depts = sum(1 for u in units if u.get("unit_kind") == "department")
    late = [u.get("unit_name") for u in units if u.get("report_status") == "迟报"]
    missing = [u.get("unit_name") for u in units if u.get("report_status") == "未报"]
    no_leader = [u.get("unit_name") for u in units if u.get("report_status") in ("按时", "迟报")
                 and not u.get("leader_trips")]
    text = f"共{counties}个县(区)、{depts}个市直部门。"
    text += ("月报迟报:" + "、".join(late) + "。") if late else "无迟报单位。"
    text += ("月报未报:" + "、".join(missing) + "。") if missing else "无未报单位。"
    if no_leader:
        text += "本月“一把手”未外出招商:" + "、".join(no_leader) + "。"
    return {"key": "seed_items", "title": "“一把手”招商、信息报告及目标任务落实情况", "text": text,
            "table": {"columns": ["单位", "类别", "月报", "“一把手”外出招商(次)", "外出招商信息(篇)",
                                  "来访企业(批)", "招商工作信息(篇)", "到位资金目标完成率(年初至今)"],
                      "rows": rows}}
