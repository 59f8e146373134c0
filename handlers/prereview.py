"""项目预审 — panel scoring (F-09 / D5) and the one-vote-veto summary (D4) for ``project_prereview``.

Pure functions, no ``app`` imports (reference/domain.md P04, §3.3 F-08/F-09, §3.4 D4/D5).

``prereview_panel_score`` turns the experts' score sheets into the numbers D5 needs:

* each sheet scores items A–H in points; an item's maximum is its weight (A 15, B 15, C 10, D 10,
  E 15, F 10, G 10, H 15 = 100 points);
* credit verification "存疑" caps item B at 6 points (F-09 guidance);
* with five or more experts the single highest and the single lowest total are dropped
  (去掉一个最高分和一个最低分) before averaging; item averages use the same experts;
* any expert's veto flag (否决建议) is counted — D5 turns a veto into "不通过".

``prereview_veto_summary`` merges the COLLECT output of D4 with the veto categories the consulted
departments ticked on their opinion forms (F-08), de-duplicated and ordered by code.
"""

from __future__ import annotations

from handlers.registry import handler

# F-09 评分表: item → (中文, maximum points). The maxima are the criteria weights.
CRITERIA: dict[str, tuple[str, float]] = {
    "A": ("产业契合度", 15),
    "B": ("投资方实力与资信", 15),
    "C": ("投资规模", 10),
    "D": ("投资强度与集约用地", 10),
    "E": ("经济与社会效益", 15),
    "F": ("要素匹配度", 10),
    "G": ("生态环保与安全", 10),
    "H": ("可行性与可控性", 15),
}
CREDIT_DOUBT_CAP_B = 6  # 资信"存疑" caps B at 6
DROP_EXTREMES_FROM = 5  # experts needed before the highest and lowest totals are dropped

# D4 一票否决 categories (codes used on the F-08 forms and by the DMN ``prereview_veto``).
VETO_LABELS: dict[str, str] = {
    "V01": "产业结构调整指导目录淘汰类",
    "V02": "限制类新建项目",
    "V03": "“两高”项目能效未达标杆水平",
    "V04": "无能耗指标/不符合能耗双控要求",
    "V05": "涉及生态保护红线/自然保护地核心区",
    "V06": "不符合生态环境分区管控(三线一单)准入要求",
    "V07": "环境容量不足且无区域削减方案",
    "V08": "占用永久基本农田/不符合国土空间规划",
    "V09": "投资方严重失信/资信不合格",
    "V10": "不符合行业准入条件",
    "V11": "重大安全风险不可控",
    "V12": "以违规优惠为合作前提",
    "V13": "以产业名义变相房地产开发/圈地",
    "V99": "部门一票否决(未注明类别)",
}


def _item_score(sheet: dict, item: str):
    for key in (f"score_{item.lower()}", item, item.lower(), f"score_{item}"):
        if key in sheet and sheet[key] not in (None, ""):
            return sheet[key]
    return None


def _number(value, where: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{where} 应为数字 / must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where} 应为数字 / must be a number, got {value!r}") from None


def _criteria(criteria) -> dict[str, tuple[str, float]]:
    if not criteria:
        return dict(CRITERIA)
    out = {}
    for item, spec in dict(criteria).items():
        if isinstance(spec, dict):
            out[str(item)] = (str(spec.get("name") or item), _number(spec.get("max"), f"criteria.{item}.max"))
        else:
            out[str(item)] = (CRITERIA.get(str(item), (str(item), 0))[0], _number(spec, f"criteria.{item}"))
    return out


@handler("prereview_panel_score")
def prereview_panel_score(
    scores: list[dict], credit_conclusion: str | None = None, criteria: dict | None = None
) -> dict:
    """Aggregate F-09 score sheets.

    ``scores``: one dict per expert: ``expert_name``, ``score_a`` … ``score_h`` (points, 0…max),
    optional ``panel_veto_flag`` / ``panel_veto_reason`` / ``comments``.
    Returns ``avg_score`` (0–100, 2 dp), ``item_avgs`` (A–H), ``panel_veto_count`` and the details.
    """
    if not isinstance(scores, list | tuple) or not scores:
        raise ValueError("至少需要一位专家的评分表 / at least one expert score sheet is required")
    crit = _criteria(criteria)
    cap_b = credit_conclusion == "存疑"
    sheets = []
    veto_reasons = []
    for i, sheet in enumerate(scores):
        if not isinstance(sheet, dict):
            raise ValueError(f"第{i + 1}份评分表格式错误 / score sheet {i + 1} must be an object")
        name = str(sheet.get("expert_name") or f"专家{i + 1}")
        items = {}
        capped = False
        for item, (label, maximum) in crit.items():
            raw = _item_score(sheet, item)
            if raw is None:
                raise ValueError(f"{name}:缺少{item}项({label})得分 / missing score for item {item}")
            value = _number(raw, f"{name} {item}项")
            if value < 0 or value > maximum:
                raise ValueError(
                    f"{name}:{item}项({label})得分应在 0–{maximum:g} 之间 / item {item} must be "
                    f"between 0 and {maximum:g}, got {value:g}"
                )
            if item == "B" and cap_b and value > CREDIT_DOUBT_CAP_B:
                value, capped = float(CREDIT_DOUBT_CAP_B), True
            items[item] = value
        total = round(sum(items.values()), 2)
        vetoed = bool(sheet.get("panel_veto_flag"))
        if vetoed:
            veto_reasons.append({"expert_name": name, "reason": str(sheet.get("panel_veto_reason") or "")})
        sheets.append(
            {"index": i, "expert_name": name, "items": items, "total": total, "capped_b": capped, "veto": vetoed}
        )

    counted = list(sheets)
    dropped = []
    if len(sheets) >= DROP_EXTREMES_FROM:
        # stable choice: the first sheet with the highest total, the last sheet with the lowest total
        highest = max(sheets, key=lambda s: (s["total"], -s["index"]))
        rest = [s for s in sheets if s is not highest]
        lowest = min(rest, key=lambda s: (s["total"], -s["index"]))
        dropped = [
            {
                "index": highest["index"],
                "expert_name": highest["expert_name"],
                "total": highest["total"],
                "reason": "最高分",
            },
            {
                "index": lowest["index"],
                "expert_name": lowest["expert_name"],
                "total": lowest["total"],
                "reason": "最低分",
            },
        ]
        counted = [s for s in sheets if s is not highest and s is not lowest]

    n = len(counted)
    avg_score = round(sum(s["total"] for s in counted) / n, 2)
    item_avgs = {item: round(sum(s["items"][item] for s in counted) / n, 2) for item in crit}
    return {
        "expert_count": len(sheets),
        "counted": n,
        "dropped": dropped,
        "totals": [
            {"expert_name": s["expert_name"], "total": s["total"], "capped_b": s["capped_b"], "veto": s["veto"]}
            for s in sheets
        ],
        "avg_score": avg_score,
        "item_avgs": item_avgs,
        "item_F_score": item_avgs.get("F"),
        "max_score": round(sum(m for _, m in crit.values()), 2),
        "panel_veto_count": len(veto_reasons),
        "panel_veto_reasons": veto_reasons,
        "credit_cap_applied": any(s["capped_b"] for s in sheets),
    }


@handler("prereview_veto_summary")
def prereview_veto_summary(
    rule_codes: list | None = None, rule_labels: list | None = None, opinions: list[dict] | None = None
) -> dict:
    """Merge D4 hits with the departments' own veto flags (F-08).

    ``rule_codes``/``rule_labels``: the COLLECT lists from DMN ``prereview_veto``.
    ``opinions``: ``[{"source": "市发展改革委", "opinion": "同意", "veto_flag": bool,
    "categories": ["V01", ...]}, ...]``; a flag without categories counts as V99.
    """
    found: dict[str, dict] = {}

    def add(code: str, label: str | None, source: str) -> None:
        code = str(code).strip().upper()
        entry = found.setdefault(code, {"code": code, "label": label or VETO_LABELS.get(code, code), "sources": []})
        if source not in entry["sources"]:
            entry["sources"].append(source)

    codes = list(rule_codes or [])
    labels = list(rule_labels or [])
    for i, code in enumerate(codes):
        add(code, labels[i] if i < len(labels) else None, "一票否决规则(D4)")
    dissent = []
    for op in opinions or []:
        if not isinstance(op, dict):
            continue
        source = str(op.get("source") or "会商部门")
        if op.get("opinion") == "不同意":
            dissent.append(source)
        if not op.get("veto_flag"):
            continue
        cats = [c for c in (op.get("categories") or []) if c]
        for code in cats or ["V99"]:
            add(code, None, source)
    items = sorted(found.values(), key=lambda e: e["code"])
    return {
        "vetoed": bool(items),
        "count": len(items),
        "codes": [e["code"] for e in items],
        "labels": [e["label"] for e in items],
        "items": items,
        "dissenting": dissent,
    }
