"""quality_transfer (优质项目流转, P09) end to end: offered to another county, accepted and approved
(region, responsible unit and credit split recorded and audited), declined and offered elsewhere,
declined and returned, refused by the office, and the target's answer deadline on the moved clock."""

from __future__ import annotations

from sqlalchemy import select

from app.models.domain_processes import ProjectTransfer

PROPOSE = {"transfer_reasons": ["承载能力不足"], "reason_detail": "江城县工业用地指标不足,投资方同意调整至思茅区。",
           "target_region_code": "530802", "target_unit": "思茅区投资促进局", "investor_consent": True}
ACCEPT = {"accept_decision": "同意接收", "accept_note": "园区标准厂房可满足需求。", "receiving_unit": "思茅区投资促进局",
          "receiving_commissioner": "李专员"}
DECLINE = {"accept_decision": "不予接收", "accept_note": "本区同类产能已饱和。"}
APPROVE = {"approve_decision": "同意流转", "approve_note": "同意流转。"}


def transfers(flow, pid) -> list[ProjectTransfer]:
    with flow.db.read_scope() as s:
        return list(s.scalars(select(ProjectTransfer).where(ProjectTransfer.project_id == pid)
                              .order_by(ProjectTransfer.id)))


def offer(flow, **start):
    pid = flow.project("边贸商品加工项目", region_code="530826", chain_code="C08")
    iid = flow.start("quality_transfer", f"transfer-{pid}", flow.project_data(pid, **start))
    propose = flow.task(iid, "qt_propose")
    assert (propose.lane, propose.region_code) == ("county_ipb", "530826")
    return pid, iid


def test_an_accepted_and_approved_transfer_moves_the_project_with_the_default_credit_split(flow):
    pid, iid = offer(flow)
    assert flow.data(iid)["credit_split_origin_pct"] == 50  # default when the start data has none
    flow.complete(iid, "qt_propose", PROPOSE)

    accept = flow.task(iid, "qt_accept")
    assert (accept.lane, accept.region_code) == ("county_ipb", "530802")  # the receiving county's inbox
    [note] = flow.notifications(pid, "【项目流转】")
    assert note.region_code == "530802"
    [row] = transfers(flow, pid)
    assert (row.status, row.origin_region_code, row.target_region_code, row.credit_split_origin_pct) == (
        "offered", "530826", "530802", 50)

    flow.complete(iid, "qt_accept", ACCEPT)
    assert flow.task(iid, "qt_approve").lane == "zsw_office"
    assert flow.project_row(pid).region_code == "530826"  # nothing moves before the office approves
    flow.complete(iid, "qt_approve", {**APPROVE, "credit_split_origin_pct": 50})

    assert flow.instance(iid).status == "completed" and "qt_end_done" in flow.reached(iid)
    project = flow.project_row(pid)
    assert (project.region_code, project.responsible_unit, project.commissioner_name) == (
        "530802", "思茅区投资促进局", "李专员")
    [row] = transfers(flow, pid)
    assert (row.status, row.credit_split_origin_pct) == ("completed", 50)
    [audit] = flow.audit(iid, "project_transferred")
    assert audit.detail["from"]["region_code"] == "530826" and audit.detail["to"]["region_code"] == "530802"
    assert audit.detail["credit_split_target_pct"] == 50
    titles = [e.title for e in flow.timeline(pid, "transfer")]
    assert titles[0].startswith("优质项目流转:推荐至思茅区") and titles[-1] == "项目流转完成:思茅区承接"
    assert flow.data(iid)["region_code"] == "530802"


def test_a_declined_offer_goes_back_to_the_office_which_picks_another_county(flow):
    pid, iid = offer(flow, credit_split_origin_pct=70)
    assert flow.data(iid)["credit_split_origin_pct"] == 70  # the start data's value wins
    flow.complete(iid, "qt_propose", {**PROPOSE, "credit_split_origin_pct": 70})
    flow.complete(iid, "qt_accept", DECLINE)

    redirect = flow.task(iid, "qt_redirect")
    assert (redirect.lane, redirect.region_code) == ("zsw_office", "530826")
    flow.complete(iid, "qt_redirect", {"redirect_decision": "另选承接地", "target_region_code": "530824",
                                       "target_unit": "景谷县投资促进局", "redirect_note": "景谷林产园区有承载能力。"})
    second = flow.task(iid, "qt_accept")
    assert second.region_code == "530824"
    flow.complete(iid, "qt_accept", {**ACCEPT, "receiving_unit": "景谷县投资促进局"})
    flow.complete(iid, "qt_approve", {**APPROVE, "credit_split_origin_pct": 60})

    first, last = transfers(flow, pid)
    assert (first.status, first.target_region_code, first.note) == ("declined", "530802", DECLINE["accept_note"])
    assert (last.status, last.target_region_code, last.credit_split_origin_pct) == ("completed", "530824", 60)
    assert flow.project_row(pid).region_code == "530824"
    assert flow.audit(iid, "project_transferred")[0].detail["credit_split_target_pct"] == 40


def test_a_declined_offer_can_be_returned_to_the_origin_county(flow):
    pid, iid = offer(flow)
    flow.complete(iid, "qt_propose", PROPOSE)
    flow.complete(iid, "qt_accept", DECLINE)
    flow.complete(iid, "qt_redirect", {"redirect_decision": "退回原县区继续推进", "redirect_note": "暂无合适承接地。"})

    assert flow.instance(iid).status == "completed"
    assert {"qt_returned_notify", "qt_end_returned"} <= flow.reached(iid) and "qt_approve" not in flow.reached(iid)
    assert flow.project_row(pid).region_code == "530826"
    assert [r.status for r in transfers(flow, pid)] == ["declined"]
    assert flow.notifications(pid, "项目流转退回")[0].region_code == "530826"
    assert flow.audit(iid, "project_transferred") == []


def test_the_office_can_refuse_an_accepted_transfer(flow):
    pid, iid = offer(flow)
    flow.complete(iid, "qt_propose", PROPOSE)
    flow.complete(iid, "qt_accept", ACCEPT)
    flow.complete(iid, "qt_approve", {"approve_decision": "不同意流转", "credit_split_origin_pct": 50,
                                      "approve_note": "原县区要素问题可通过联办协办解决。"})

    assert "qt_end_rejected" in flow.reached(iid)
    assert flow.project_row(pid).region_code == "530826"
    assert [r.status for r in transfers(flow, pid)] == ["rejected"]


def test_the_receiving_county_is_chased_yellow_then_red(flow):
    pid, iid = offer(flow)
    flow.complete(iid, "qt_propose", PROPOSE)  # 14 days to answer; red after 21
    flow.advance("P14DT1H")
    assert flow.task(iid, "qt_accept").warning == "yellow"
    [chase] = flow.notifications(pid, "【黄灯】项目流转待答复")
    assert (chase.role, chase.region_code) == ("county_ipb", "530802")
    assert flow.notifications(pid, "【红灯】") == []
    flow.advance("P7D")
    assert flow.task(iid, "qt_accept").warning == "red"
    assert {n.role for n in flow.notifications(pid, "【红灯】项目流转严重超期")} == {"zsw_office", "county_ipb"}


def test_accepting_requires_the_receiving_unit(flow):
    import pytest

    from app.errors import FormInvalid

    pid, iid = offer(flow)
    flow.complete(iid, "qt_propose", PROPOSE)
    with pytest.raises(FormInvalid) as err:
        flow.complete(iid, "qt_accept", {"accept_decision": "同意接收", "accept_note": "同意。"})
    assert [e["field"] for e in err.value.errors] == ["receiving_unit"]


def test_the_default_credit_split_is_a_setting_and_the_kpis_follow_it(flow):
    import datetime as dt

    from app.models.domain import Agreement
    from app.services.domain import kpis, settings

    with flow.db.session_scope() as s:
        settings.put(s, "transfer.credit_split_origin_pct", 30, "admin")
    pid, iid = offer(flow)
    assert flow.data(iid)["credit_split_origin_pct"] == 30  # the setting, no start data
    # the task page prefills the form with the instance's value (web/tasks.py _initial_values)
    flow.complete(iid, "qt_propose", {**PROPOSE, "credit_split_origin_pct": flow.data(iid)["credit_split_origin_pct"]})
    assert transfers(flow, pid)[0].credit_split_origin_pct == 30
    flow.complete(iid, "qt_accept", ACCEPT)
    flow.complete(iid, "qt_approve", {**APPROVE, "credit_split_origin_pct": flow.data(iid)["credit_split_origin_pct"]})
    [row] = transfers(flow, pid)
    assert (row.status, row.credit_split_origin_pct) == ("completed", 30)
    now = flow.clock.now()
    with flow.db.session_scope() as s:
        project = flow.project_row(pid)
        s.get(type(project), pid).signed_at = now
        s.add(Agreement(project_id=pid, kind="投资协议", sign_date=now.date(), agreed_investment_wan=10000))
    with flow.db.read_scope() as s:
        year = (now + dt.timedelta(hours=8)).year
        origin = kpis.indicators(s, year, region_code="530826", as_of=now + dt.timedelta(days=1))["indicators"]
        target = kpis.indicators(s, year, region_code="530802", as_of=now + dt.timedelta(days=1))["indicators"]
    assert abs(origin["signed_count"]["value"] - 0.3) < 1e-9
    assert abs(target["signed_count"]["value"] - 0.7) < 1e-9
