"""Demo cases of the supporting processes (联办协办, 优质项目流转, 会议与交办), started and driven through
the same services as the rest of the demo (``Player``: runtime.start_instance / tasks.complete_task).
Called once by :func:`app.demo.loader._play` before the clock is played forward, so the open items
turn yellow and red while the demo clock moves (reference/domain.md §5.7).

* 联办协办: P-03 用工 closed; P-02 用水 answered and awaiting the commissioner; P-06 用地 unanswered
  (red once the clock has moved).
* 优质项目流转: P-12 孟连 → 澜沧 completed (credit 60/40); P-11 江城 → 思茅 awaiting the answer.
* 会议与交办: a 季度会 with two 交办 items, one closed, one received and overdue after the clock moves.
"""

from __future__ import annotations

from typing import Any


def _issue(player, projects, code: str, category: str, description: str, departments: list[str]) -> int | None:
    from app.demo.script import project_data

    p = projects.get(code)
    if p is None or p.status != "active":
        return None
    iid = player.start("joint_handling", f"joint-{p.id}-{category}", project_data(p))
    player.complete_element(iid, "jh_register", {"issue_category": category, "issue_description": description,
                                                 "departments": departments, "respond_days": 7,
                                                 "issue_urgency": "一般"})
    return iid


def _answer(player, iid, times: int, result: str = "已解决") -> None:
    for _ in range(times):
        player.complete_element(iid, "jh_handle", {"handling_result": result,
                                                   "handling_measures": "已现场协调并明确办理时限,相关手续已受理。"})


def play(player, projects: dict[str, Any]) -> None:
    from app.demo.script import project_data

    if player.deployed("joint_handling"):
        player.echo("starting joint_handling (联办协办) cases")
        iid = _issue(player, projects, "P-03", "用工", "项目投产需熟练技工 120 人,本地招聘缺口较大。", ["市人力资源社会保障局"])
        _answer(player, iid, 1)
        player.complete_element(iid, "jh_confirm", {"confirm_decision": "确认办结", "confirm_note": "已组织专场招聘会,投资方认可。"})
        iid = _issue(player, projects, "P-02", "用水", "园区供水管网未接入项目地块,影响试生产。", ["市水务局", "市住房城乡建设局"])
        _answer(player, iid, 2)
        _issue(player, projects, "P-06", "用地", "二期用地农用地转用及林地报批滞后,影响开工。",
               ["市自然资源和规划局", "市林业和草原局"])

    if player.deployed("quality_transfer"):
        player.echo("starting quality_transfer (优质项目流转) cases")
        p12 = projects.get("P-12")
        if p12 is not None and p12.region_code != "530828":
            iid = player.start("quality_transfer", f"transfer-{p12.id}", {**project_data(p12), "credit_split_origin_pct": 60})
            player.complete_element(iid, "qt_propose", {
                "transfer_reasons": ["承载能力不足"], "reason_detail": "孟连县冷库用地不足,澜沧县物流园区可提供地块,投资方同意调整落地地点。",
                "target_region_code": "530828", "target_unit": "澜沧县投资促进局", "target_park": "",
                "credit_split_origin_pct": 60, "accept_days": 14, "investor_consent": True})
            player.complete_element(iid, "qt_accept", {"accept_decision": "同意接收", "accept_note": "物流园区可提供 80 亩地块。",
                                                       "receiving_unit": "澜沧县投资促进局", "receiving_commissioner": "澜沧服务专员"})
            player.complete_element(iid, "qt_approve", {"approve_decision": "同意流转", "credit_split_origin_pct": 60,
                                                        "approve_note": "同意流转,原县区保留 60% 考核分成。"})
        p11 = projects.get("P-11")
        if p11 is not None and p11.region_code != "530802":
            iid = player.start("quality_transfer", f"transfer-{p11.id}", project_data(p11))
            player.complete_element(iid, "qt_propose", {
                "transfer_reasons": ["承载能力不足"], "reason_detail": "江城县建设用地指标不足,拟推荐至思茅区。",
                "target_region_code": "530802", "target_unit": "思茅区投资促进局", "target_park": "",
                "credit_split_origin_pct": 50, "accept_days": 14, "investor_consent": True})

    if player.deployed("meeting_assignments"):
        player.echo("starting meeting_assignments (会议与交办)")
        p06, p02 = projects.get("P-06"), projects.get("P-02")
        items = []
        if p06 is not None:
            items.append({"title": "协调解决林板家居产业园二期用地报批", "owner_unit": "景谷傣族彝族自治县人民政府",
                          "region_code": p06.region_code, "due_days": 15, "project_id": p06.id})
        if p02 is not None:
            items.append({"title": "年底前完成园区供水管网接入", "owner_unit": "宁洱哈尼族彝族自治县人民政府",
                          "region_code": p02.region_code, "due_days": 10, "project_id": p02.id})
        iid = player.start("meeting_assignments", "meeting-demo-2026Q4",
                           {"agenda_requests": [{"topic": "重点项目要素保障", "source": "要素保障组"}]})
        player.complete_element(iid, "ma_prepare", {"meeting_type": "季度会", "meeting_title": "2026年第四季度招商引资调度会",
                                                    "meeting_chair": "市招商委主任"})
        player.complete_element(iid, "ma_minutes", {"decisions": "会议听取重点项目推进情况汇报,研究要素保障问题,作出交办。",
                                                    "action_items": items})
        player.complete_element(iid, "ma_sign_director", {"sign_decision": "同意签发", "sign_note": ""})
        player.drive(iid, 2, stop_at=("ma_feedback", "ma_confirm"))  # both received
        if player.complete_element(iid, "ma_feedback", {"feedback_result": "已完成", "feedback_text": "已按会议要求办结。"}):
            player.complete_element(iid, "ma_confirm", {"close_decision": "确认销号", "confirm_note": ""})
