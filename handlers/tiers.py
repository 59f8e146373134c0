"""D1 项目分级 (reference/domain.md §3.4) as a pure function, for records created outside a process.

The same rules, in the same order, as ``processes/dmn/tier_classification.dmn`` (first hit wins);
``tests/handlers/test_tiers.py`` checks every rule of that table against this function.
"""

from __future__ import annotations

from handlers.registry import handler


@handler("project_tier")
def project_tier(planned_investment_wan: float = 0, designated_major: bool = False, investor_top500: bool = False,
                 is_chain_leader: bool = False) -> dict:
    amount = float(planned_investment_wan or 0)
    if designated_major or amount >= 100000 or (amount >= 50000 and (investor_top500 or is_chain_leader)):
        return {"tier": "重大", "escalated_review": True}
    if amount >= 10000:
        return {"tier": "重点", "escalated_review": False}
    return {"tier": "一般", "escalated_review": False}
