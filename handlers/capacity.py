"""承载能力评估 — per-factor utilisation, D11 rating and the composite 承载指数 (domain.md P10, F-18, D11).

Pure functions, no ``app`` imports. Used by ``processes/capacity.bpmn``:

1. ``capacity_utilisation(rows)`` turns the ledger rows filled in by the four factor departments
   into rows carrying the D11 inputs (``applicable``, ``total``, ``available_ratio``,
   ``pipeline_ratio``) and a ``row_id``;
2. the process rates every row with the DMN table ``capacity_rating`` (D11, multi-instance
   business-rule task) and collects ``[{"row_id", "rating"}]``;
3. ``capacity_rating_calc(rows, ratings)`` aggregates per county/park: per-factor utilisation and
   rating (the DMN's, or the same D11 rules in Python when ``ratings`` is not given), composite
   承载指数 and the overall result 优/良/中/差 used by the annual scorecard (§4.3 block 5).

A ledger row::

    {"region_code": "530802", "park_id": None, "unit_name": "思茅区",
     "factor": "land", "sub": None,              # sub: pollutant for env_capacity (COD/氨氮/SO2/NOx)
     "total": 1200, "used": 700, "committed": 150, "pipeline_demand": 200,
     "applicable": True}

``available = total − used − committed`` (never below 0); ``utilisation = (used + committed) / total``;
``available_ratio = available / total``; ``pipeline_ratio = pipeline_demand / available``.
"""

from __future__ import annotations

from handlers.registry import handler

# factor key → (中文, ledger unit, owner role, weight [A])
FACTORS: dict[str, tuple[str, str, str, int]] = {
    "land": ("土地存量", "亩", "nrp", 20),
    "env_capacity": ("环境容量", "吨/年", "eco", 15),
    "energy": ("能源消费总量(能耗增量空间)", "万吨标准煤", "ndrc", 15),
    "power": ("电力容量", "MW", "ndrc", 15),
    "water": ("供排水容量", "万m³/日", "housing", 10),
    "sewage": ("污水处理能力", "万m³/日", "housing", 10),
    "gas": ("天然气", "万m³/年", "ndrc", 5),
    "heat": ("热能供应", "t/h", "ndrc", 5),
    "factory": ("标准厂房", "万m²", "housing", 5),
}

RATING_SCORE = {"充足": 100, "紧张": 60, "不足": 20}
RATING_ORDER = {"不适用": -1, "充足": 0, "紧张": 1, "不足": 2}  # higher = worse
# composite index → overall result [A]
OVERALL_BANDS = [(85.0, "优"), (70.0, "良"), (50.0, "中"), (float("-inf"), "差")]
NO_SPARE_PIPELINE_RATIO = 999.0  # pipeline demand with nothing available


def _f(value) -> float:
    if value is None or value == "":
        return 0.0
    return float(value)


def _r(x: float | None, nd: int = 4) -> float | None:
    return None if x is None else round(x + 0.0, nd)


def unit_key_of(row: dict) -> str:
    region = str(row.get("region_code") or "")
    park = row.get("park_id")
    return f"{region}/park-{park}" if park not in (None, "") else region


def d11_rating(applicable: bool, total: float, available_ratio: float, pipeline_ratio: float) -> str:
    """D11 要素评级 (UNIQUE, first match) — mirrors processes/dmn/capacity_rating.dmn."""
    if applicable is False:
        return "不适用"
    if total == 0:
        return "不足"
    if available_ratio < 0.10:
        return "不足"
    if pipeline_ratio > 1.0:
        return "不足"
    if available_ratio < 0.30:
        return "紧张"
    if pipeline_ratio > 0.7:
        return "紧张"
    return "充足"


def _prepare(row: dict) -> dict:
    factor = row.get("factor")
    if factor not in FACTORS:
        raise ValueError(f"unknown capacity factor {factor!r}")
    total, used, committed = _f(row.get("total")), _f(row.get("used")), _f(row.get("committed"))
    pipeline = _f(row.get("pipeline_demand"))
    if min(total, used, committed, pipeline) < 0:
        raise ValueError(f"negative ledger figure for {factor}")
    applicable = row.get("applicable")
    applicable = True if applicable is None else bool(applicable)
    available = max(total - used - committed, 0.0)
    if total > 0:
        utilisation = (used + committed) / total
        available_ratio = available / total
    else:
        utilisation = None
        available_ratio = 0.0
    if available > 0:
        pipeline_ratio = pipeline / available
    else:
        pipeline_ratio = 0.0 if pipeline == 0 else NO_SPARE_PIPELINE_RATIO
    sub = row.get("sub") or None
    key = unit_key_of(row)
    label, unit, owner, _w = FACTORS[factor]
    return {
        "row_id": f"{key}:{factor}" + (f":{sub}" if sub else ""),
        "unit_key": key,
        "region_code": row.get("region_code"),
        "park_id": row.get("park_id"),
        "unit_name": row.get("unit_name") or key,
        "factor": factor,
        "factor_name": label,
        "sub": sub,
        "unit": row.get("unit") or unit,
        "owner": owner,
        "applicable": applicable,
        "total": total,
        "used": used,
        "committed": committed,
        "pipeline_demand": pipeline,
        "available": _r(available),
        "over_committed": total - used - committed < 0,
        "utilisation": _r(utilisation),
        "available_ratio": _r(available_ratio),
        "pipeline_ratio": _r(pipeline_ratio),
    }


@handler("capacity_utilisation")
def capacity_utilisation(rows: list[dict]) -> list[dict]:
    """Ledger rows → rows with utilisation and the D11 inputs (one per row, same order)."""
    return [_prepare(row) for row in rows or []]


def _overall(index: float | None, bands: dict | None = None) -> str:
    if index is None:
        return "不适用"
    table = OVERALL_BANDS if not bands else [
        *sorted(((float(v), k) for k, v in bands.items()), reverse=True), (float("-inf"), "差")]
    for floor, word in table:
        if index >= floor:
            return word
    return "差"


@handler("capacity_rating_calc")
def capacity_rating_calc(rows: list[dict], ratings: list[dict] | dict | None = None,
                         weights: dict | None = None, period: str | None = None, bands: dict | None = None) -> dict:
    """Nine factors per county/park → per-factor utilisation and rating, composite index, overall.

    ``ratings``: the D11 DMN results, ``[{"row_id": ..., "rating": ...}]`` or ``{row_id: rating}``;
    rows without one are rated here with :func:`d11_rating`. For a factor with several rows
    (环境容量 per pollutant) the worst row is the binding constraint.

    Returns ``{"period", "units": [...], "rows": [...]}``; each unit has ``unit_key, region_code,
    park_id, unit_name, factors{factor: {...}}, ledger [...], index, overall, short_factors,
    tight_factors``. ``weights`` and ``bands`` ({"优": 85, "良": 70, "中": 50}) are the
    ``capacity.weights`` / ``capacity.bands`` settings (defaults: FACTORS, OVERALL_BANDS). ``ledger`` is the list form ``capacity_record`` stores: one row per factor
    (``factor, total, used, committed, unit, rating, note``; for 环境容量 the binding pollutant).
    """
    weights = {k: float(v) for k, v in (weights or {k: v[3] for k, v in FACTORS.items()}).items()}
    if isinstance(ratings, list):
        ratings = {r["row_id"]: r["rating"] for r in ratings if isinstance(r, dict) and r.get("row_id")}
    ratings = ratings or {}
    prepared = [dict(r) if "row_id" in r and "available_ratio" in r else _prepare(r) for r in rows or []]
    for row in prepared:
        rating = ratings.get(row["row_id"]) or row.get("rating")
        if not rating:
            rating = d11_rating(row["applicable"], row["total"], row["available_ratio"], row["pipeline_ratio"])
        if rating not in RATING_ORDER:
            raise ValueError(f"unknown rating {rating!r} for {row['row_id']}")
        row["rating"] = rating

    units: dict[str, dict] = {}
    for row in prepared:
        unit = units.setdefault(row["unit_key"], {
            "unit_key": row["unit_key"], "region_code": row["region_code"], "park_id": row["park_id"],
            "unit_name": row["unit_name"], "factors": {},
        })
        current = unit["factors"].get(row["factor"])
        part = {k: row[k] for k in ("sub", "total", "used", "committed", "pipeline_demand", "available",
                                    "utilisation", "available_ratio", "pipeline_ratio", "rating")}
        if current is None:
            current = unit["factors"][row["factor"]] = {
                "factor": row["factor"], "label": row["factor_name"], "unit": row["unit"],
                "weight": weights.get(row["factor"], 0.0), "parts": [],
            }
        current["parts"].append(part)

    out_units = []
    for unit in units.values():
        num = den = 0.0
        short, tight = [], []
        for factor in [f for f in FACTORS if f in unit["factors"]]:
            entry = unit["factors"][factor]
            parts = entry["parts"]
            # binding constraint: worst rating, then the lowest available ratio
            worst = max(parts, key=lambda p: (RATING_ORDER[p["rating"]], -(p["available_ratio"] or 0)))
            entry.update({k: worst[k] for k in ("total", "used", "committed", "pipeline_demand", "available",
                                               "utilisation", "available_ratio", "pipeline_ratio", "rating")})
            if worst["sub"]:
                entry["binding"] = worst["sub"]
            if len(parts) == 1 and not parts[0]["sub"]:
                del entry["parts"]
            score = RATING_SCORE.get(entry["rating"])
            entry["score"] = score
            if score is not None and entry["weight"] > 0:
                num += entry["weight"] * score
                den += entry["weight"]
            if entry["rating"] == "不足":
                short.append(factor)
            elif entry["rating"] == "紧张":
                tight.append(factor)
        unit["ledger"] = [
            {"factor": f, "label": e["label"], "unit": e["unit"], "total": e["total"], "used": e["used"],
             "committed": e["committed"], "available": e["available"], "utilisation": e["utilisation"],
             "rating": e["rating"],
             "note": f"约束污染物:{e['binding']}" if e.get("binding") else None}
            for f, e in ((f, unit["factors"][f]) for f in FACTORS if f in unit["factors"])
        ]
        index = round(num / den, 2) if den else None
        unit["index"] = index
        unit["overall"] = _overall(index, bands)
        unit["short_factors"] = short
        unit["tight_factors"] = tight
        unit["missing_factors"] = [f for f in FACTORS if f not in unit["factors"]]
        out_units.append(unit)
    out_units.sort(key=lambda u: (-(u["index"] if u["index"] is not None else -1), u["unit_key"]))
    for rank, unit in enumerate(out_units, start=1):
        unit["rank"] = rank
    return {"period": period, "units": out_units, "rows": prepared}
