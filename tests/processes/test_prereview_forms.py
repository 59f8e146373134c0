"""Conditional required fields of the pre-review forms, enforced server-side (JSON Schema if/then):
有条件同意 needs 附加条件; 不同意 needs 政策依据; 一票否决 needs 政策依据 and a category; an expert's veto
suggestion needs a reason. Veto categories carry their meanings (oneOf const/title)."""

from __future__ import annotations

import json

import pytest

from app.errors import FormInvalid
from app.services.tasks import forms
from tests.processes.conftest import ECO_OK, FORMS, INDUSTRY_OK, NDRC_OK, form_data, sheet

OK = {"ndrc": NDRC_OK, "eco": ECO_OK, "industry": INDUSTRY_OK}


def schema(name: str) -> dict:
    return json.loads((FORMS / f"{name}.json").read_text(encoding="utf-8"))


def errors(name: str, data: dict) -> list[str]:
    with pytest.raises(FormInvalid) as err:
        form_data(schema(name), data)
    return sorted(e["field"] for e in err.value.errors)


@pytest.mark.parametrize("dept", ["ndrc", "eco", "industry"])
def test_consultation_opinions_require_their_grounds(dept):
    form, ok = f"pr-{dept}", OK[dept]
    assert form_data(schema(form), ok)[f"{dept}_opinion"] == "同意"

    assert errors(form, {**ok, f"{dept}_opinion": "有条件同意"}) == [f"{dept}_conditions"]
    assert form_data(schema(form), {**ok, f"{dept}_opinion": "有条件同意", f"{dept}_conditions": "落实能耗指标来源"})

    assert errors(form, {**ok, f"{dept}_opinion": "不同意"}) == [f"{dept}_basis"]
    assert errors(form, {**ok, f"{dept}_opinion": "不同意", f"{dept}_basis": ""}) == [f"{dept}_basis"]

    vetoed = {**ok, f"{dept}_opinion": "不同意", f"{dept}_veto_flag": True, f"{dept}_veto_categories": []}
    assert errors(form, vetoed) == [f"{dept}_basis", f"{dept}_veto_categories"]
    assert form_data(schema(form), {**vetoed, f"{dept}_basis": "依据相关产业政策", f"{dept}_veto_categories": ["V10"]})


def test_veto_categories_show_their_meanings():
    cats = schema("pr-ndrc")["properties"]["ndrc_veto_categories"]["items"]["oneOf"]
    assert cats[0] == {"const": "V01", "title": "V01 产业结构调整指导目录淘汰类"}
    assert len(cats) == 13
    with pytest.raises(FormInvalid):
        forms.validate(schema("pr-ndrc"), {**form_data(schema("pr-ndrc"), NDRC_OK), "ndrc_veto_categories": ["V77"]})


def test_an_expert_veto_suggestion_needs_a_reason():
    no_reason = {**sheet("张专家"), "panel_veto_flag": True}
    assert errors("pr-panel", {"panel_mode": "常规预审会", "panel_scores": [no_reason]}) == ["panel_scores.0.panel_veto_reason"]
    assert form_data(schema("pr-panel"), {"panel_mode": "常规预审会", "panel_scores": [sheet("张专家", veto=True)]})


def test_the_deployed_consultation_task_refuses_a_veto_without_grounds(flow):
    pid = flow.project(investment_wan=3000, tier="一般", stage="S4_NEGOTIATE")
    iid = flow.start_prereview(pid)
    flow.complete(iid, "pr_credit", {"registration_status": "存续", "credit_conclusion": "良好"})
    flow.complete(iid, "pr_feasibility", {"land_mode": "存量土地"})
    task = flow.task(iid, "pr_industry")
    with pytest.raises(FormInvalid) as err:
        flow.factory.complete(task.id, {**INDUSTRY_OK, "industry_opinion": "不同意", "industry_veto_flag": True,
                                        "industry_signer": "王处长", "industry_signed_on": "2026-12-01"})
    assert {e["field"] for e in err.value.errors} == {"industry_basis", "industry_veto_categories"}
    assert flow.task(iid, "pr_industry").state == "open"
