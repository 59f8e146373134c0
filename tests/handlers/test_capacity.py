"""承载能力评估: utilisation, D11 rating and composite index (domain.md P10, D11)."""

from __future__ import annotations

import pytest

from handlers.capacity import FACTORS, capacity_rating_calc, capacity_utilisation, d11_rating


def _row(factor, total, used, committed=0, pipeline=0, **kw):
    return dict(region_code="530802", unit_name="思茅区", factor=factor, total=total, used=used,
                committed=committed, pipeline_demand=pipeline, **kw)


@pytest.mark.parametrize(("args", "rating"), [
    ((False, 100, 0.5, 0.1), "不适用"),
    ((True, 0, 0.0, 0.0), "不足"),
    ((True, 100, 0.05, 0.0), "不足"),
    ((True, 100, 0.5, 1.2), "不足"),
    ((True, 100, 0.2, 0.1), "紧张"),
    ((True, 100, 0.5, 0.8), "紧张"),
    ((True, 100, 0.5, 0.5), "充足"),
    ((True, 100, 0.10, 1.0), "紧张"),  # boundaries: 0.10 is not < 0.10, 1.0 is not > 1.0
    ((True, 100, 0.30, 0.7), "充足"),
])
def test_d11_rules(args, rating):
    assert d11_rating(*args) == rating


def test_utilisation_and_ratios():
    (row,) = capacity_utilisation([_row("land", 1000, 600, 100, 250)])
    assert row["row_id"] == "530802:land"
    assert row["available"] == 300
    assert row["utilisation"] == 0.7
    assert row["available_ratio"] == 0.3
    assert row["pipeline_ratio"] == round(250 / 300, 4)
    assert row["owner"] == "nrp"


def test_over_committed_factor_has_nothing_available():
    (row,) = capacity_utilisation([_row("power", 100, 90, 30, 5)])
    assert row["available"] == 0
    assert row["over_committed"] is True
    assert row["pipeline_ratio"] == 999.0
    assert d11_rating(True, row["total"], row["available_ratio"], row["pipeline_ratio"]) == "不足"


def test_nine_factors_composite_index_by_hand():
    """All nine factors of 思茅区.

    land 紧张 (avail 0.30, pipeline 0.833 > 0.7) · env_capacity: COD 充足, NOx 不足 → 不足 (binding NOx)
    energy 充足 · power 紧张 (avail 0.2) · water 充足 · sewage 充足 · gas 充足 · heat 不适用 · factory 不足 (total 0)

    index = (20·60 + 15·20 + 15·100 + 15·60 + 10·100 + 10·100 + 5·100 + 5·20) / (100 − 5 heat)
          = (1200 + 300 + 1500 + 900 + 1000 + 1000 + 500 + 100) / 95 = 6500 / 95 = 68.42 → 中 (50 ≤ x < 70)
    """
    rows = [
        _row("land", 1000, 600, 100, 250),
        _row("env_capacity", 100, 50, 0, 10, sub="COD"),
        _row("env_capacity", 100, 85, 10, 1, sub="NOx"),
        _row("energy", 50, 10, 5, 5),
        _row("power", 100, 70, 10, 5),
        _row("water", 10, 3, 1, 1),
        _row("sewage", 8, 2, 0, 1),
        _row("gas", 500, 100, 0, 50),
        _row("heat", 0, 0, applicable=False),
        _row("factory", 0, 0),
    ]
    result = capacity_rating_calc(rows, period="2026H2")
    (unit,) = result["units"]
    ratings = {f: unit["factors"][f]["rating"] for f in FACTORS}
    assert ratings == {"land": "紧张", "env_capacity": "不足", "energy": "充足", "power": "紧张", "water": "充足",
                       "sewage": "充足", "gas": "充足", "heat": "不适用", "factory": "不足"}
    assert unit["factors"]["env_capacity"]["binding"] == "NOx"
    assert len(unit["factors"]["env_capacity"]["parts"]) == 2
    assert unit["index"] == round(6500 / 95, 2) == 68.42
    assert unit["overall"] == "中"
    assert unit["short_factors"] == ["env_capacity", "factory"]
    assert unit["tight_factors"] == ["land", "power"]
    assert unit["missing_factors"] == []
    assert result["period"] == "2026H2"
    ledger = {row["factor"]: row for row in unit["ledger"]}
    assert list(ledger) == list(FACTORS)
    assert ledger["env_capacity"]["note"] == "约束污染物:NOx" and ledger["env_capacity"]["used"] == 85
    assert ledger["land"] == {"factor": "land", "label": "土地存量", "unit": "亩", "total": 1000.0, "used": 600.0,
                              "committed": 100.0, "available": 300.0, "utilisation": 0.7, "rating": "紧张",
                              "note": None}
    assert len(result["rows"]) == 10


def test_dmn_ratings_override_python_rules():
    rows = capacity_utilisation([_row("land", 1000, 100), _row("energy", 50, 10)])
    dmn = [{"row_id": "530802:land", "rating": "紧张"}, {"row_id": "530802:energy", "rating": "充足"}]
    (unit,) = capacity_rating_calc(rows, ratings=dmn)["units"]
    assert unit["factors"]["land"]["rating"] == "紧张"
    # (20·60 + 15·100) / 35 = 77.14 → 良
    assert unit["index"] == 77.14
    assert unit["overall"] == "良"


def test_units_are_ranked_and_parks_kept_apart():
    rows = [_row("land", 100, 10), dict(_row("land", 100, 95), park_id=3, unit_name="普洱工业园区")]
    result = capacity_rating_calc(rows)
    assert [(u["unit_key"], u["rank"], u["overall"]) for u in result["units"]] == [
        ("530802", 1, "优"), ("530802/park-3", 2, "差")]


def test_handler_does_not_mutate_its_input():
    rows = capacity_utilisation([_row("land", 100, 10)])
    before = [dict(r) for r in rows]
    capacity_rating_calc(rows)
    assert rows == before


def test_bad_rows_are_rejected():
    with pytest.raises(ValueError):
        capacity_utilisation([_row("coal", 1, 0)])
    with pytest.raises(ValueError):
        capacity_utilisation([_row("land", 100, -1)])
    with pytest.raises(ValueError):
        capacity_rating_calc([_row("land", 100, 1)], ratings={"530802:land": "很好"})


def test_bands_and_weights_are_parameters_from_settings():
    """capacity.bands / capacity.weights: the same 84.0 index is 良 by default and 优 with 优 ≥ 80."""
    from handlers.capacity import capacity_rating_calc, capacity_utilisation

    given = [{"region_code": "X", "factor": f, "rating": r, "total": 1, "applicable": True}
             for f, r in (("land", "充足"), ("env_capacity", "紧张"), ("energy", "充足"), ("power", "充足"),
                          ("water", "紧张"), ("sewage", "充足"), ("gas", "不足"), ("heat", "充足"), ("factory", "紧张"))]
    rows = capacity_utilisation(given)
    ratings = {r["row_id"]: g["rating"] for r, g in zip(rows, given, strict=True)}
    # (20·100 + 15·60 + 15·100 + 15·100 + 10·60 + 10·100 + 5·20 + 5·100 + 5·60) / 100 = 84.0
    (unit,) = capacity_rating_calc(rows, ratings)["units"]
    assert (unit["index"], unit["overall"]) == (84.0, "良")
    (unit,) = capacity_rating_calc(rows, ratings, bands={"优": 80, "良": 70, "中": 50})["units"]
    assert unit["overall"] == "优"
    only_land = {f: 0 for f in ("env_capacity", "energy", "power", "water", "sewage", "gas", "heat", "factory")}
    (unit,) = capacity_rating_calc(rows, ratings, weights={"land": 1, **only_land})["units"]
    assert unit["index"] == 100.0
