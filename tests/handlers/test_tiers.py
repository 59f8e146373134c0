"""handlers.tiers.project_tier follows D1 (processes/dmn/tier_classification.dmn) rule by rule."""

import re
from pathlib import Path

from handlers.tiers import project_tier

DMN = Path(__file__).resolve().parents[2] / "processes" / "dmn" / "tier_classification.dmn"


def test_thresholds_are_the_tables():
    text = DMN.read_text(encoding="utf-8")
    assert re.findall(r"&gt;= (\d+)", text) == ["100000", "50000", "50000", "10000"]


def test_each_rule():
    assert project_tier(planned_investment_wan=10, designated_major=True)["tier"] == "重大"
    assert project_tier(planned_investment_wan=100000)["tier"] == "重大"
    assert project_tier(planned_investment_wan=99999)["tier"] == "重点"
    assert project_tier(planned_investment_wan=50000, investor_top500=True)["tier"] == "重大"
    assert project_tier(planned_investment_wan=50000, is_chain_leader=True)["escalated_review"] is True
    assert project_tier(planned_investment_wan=49999, is_chain_leader=True)["tier"] == "重点"
    assert project_tier(planned_investment_wan=10000)["tier"] == "重点"
    assert project_tier(planned_investment_wan=9999)["tier"] == "一般"
