"""Model lint at deploy and in the modeler: structural rules in the spirit of bpmnlint's recommended set,
written for this platform (no bpmnlint code).

``lint_process(filename, process, bundle_process_ids)`` returns ``(errors, warnings)`` — lists of
:class:`~app.engine.validation.FileError`-shaped tuples built by the caller's factory. Errors refuse the
deploy; warnings come back in the deploy answer and show as overlays on the modeler canvas.

Errors: an element with no sequence flow at all (disconnected), an element no flow reaches (it can
never run), a process or sub-process without a start or an end event, a call activity whose target
process is not in the bundle, an implicit split from an activity or an intermediate event.
Warnings: a gateway branch without a label, an activity without a name, a user task without a form
(it then completes with a plain confirmation; data sent with the completion over the API is still
stored) unless it carries ``noForm=true``, an implicit split (an activity with several outgoing flows),
an exclusive / inclusive gateway without a default flow, a branch without a condition, an implicit split
from a start event. An implicit split from an activity or an intermediate event is an error: the
engine (SpiffWorkflow) cannot run it.
"""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN, "spiffworkflow": SPIFF}

ACTIVITIES = {"task", "userTask", "serviceTask", "scriptTask", "businessRuleTask", "sendTask", "receiveTask",
              "manualTask", "callActivity", "subProcess", "transaction", "adHocSubProcess"}
EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
GATEWAYS = {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway"}
FLOW_NODES = ACTIVITIES | EVENTS | GATEWAYS
CONTAINERS = {"process", "subProcess", "transaction", "adHocSubProcess"}

KIND_ZH = {"userTask": "用户任务", "serviceTask": "服务任务", "scriptTask": "脚本任务", "businessRuleTask": "规则任务",
           "callActivity": "调用活动", "subProcess": "子流程", "task": "任务", "manualTask": "人工任务",
           "sendTask": "发送任务", "receiveTask": "接收任务", "exclusiveGateway": "排他网关",
           "inclusiveGateway": "包容网关", "parallelGateway": "并行网关", "eventBasedGateway": "事件网关",
           "startEvent": "开始事件", "endEvent": "结束事件", "intermediateCatchEvent": "中间事件",
           "intermediateThrowEvent": "中间事件", "boundaryEvent": "边界事件", "transaction": "事务子流程",
           "adHocSubProcess": "自由子流程", "complexGateway": "复杂网关"}

Report = Callable[[etree._Element, str], None]


def _local(el) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _has_def(el, name: str) -> bool:
    return el.find(f"bpmn:{name}", NS) is not None


def _label(el) -> str:
    name = (el.get("name") or "").strip()
    kind = KIND_ZH.get(_local(el), _local(el))
    return f"{kind} “{name}”({el.get('id')})" if name else f"{kind} {el.get('id')}"


def _is_compensation(el) -> bool:
    return el.get("isForCompensation") == "true"


def _is_link(el) -> bool:
    return _has_def(el, "linkEventDefinition")


def lint_process(process, bundle_process_ids: set[str], error: Report, warning: Report) -> None:
    """Lint ``process`` (an lxml bpmn:process element) and, recursively, its sub-processes."""
    _lint_container(process, bundle_process_ids, error, warning, top=True)


def _lint_container(container, process_ids: set[str], error: Report, warning: Report, top: bool) -> None:
    kind = _local(container)
    nodes = [c for c in container if _local(c) in FLOW_NODES]
    incoming: dict[str, list] = {}
    outgoing: dict[str, list] = {}
    for flow in (c for c in container if _local(c) == "sequenceFlow"):
        outgoing.setdefault(flow.get("sourceRef"), []).append(flow)
        incoming.setdefault(flow.get("targetRef"), []).append(flow)
    if nodes and kind != "adHocSubProcess":
        _lint_start_end(container, nodes, error, top)
    for node in nodes:
        nid = node.get("id")
        _lint_connections(node, kind, incoming.get(nid, []), outgoing.get(nid, []), error, warning)
        _lint_node(node, outgoing.get(nid, []), process_ids, error, warning)


def _lint_start_end(container, nodes: list, error: Report, top: bool) -> None:
    event_sub = container.get("triggeredByEvent") == "true"
    where = "流程" if top else ("事件子流程" if event_sub else "子流程")
    what = "process" if top else "sub-process"
    if not any(_local(n) == "startEvent" for n in nodes):
        error(container, f"{where} {container.get('id')} 没有开始事件 / no start event in {what} '{container.get('id')}'")
    if not event_sub and not any(_local(n) == "endEvent" for n in nodes):
        error(container, f"{where} {container.get('id')} 没有结束事件 / no end event in {what} '{container.get('id')}'")


def _exempt(node, kind: str) -> tuple[bool, bool]:
    """(may lack incoming flows, may lack outgoing flows)"""
    local = _local(node)
    loose = _is_compensation(node) or kind == "adHocSubProcess"
    exempt_in = loose or local in ("startEvent", "boundaryEvent") or (local == "intermediateCatchEvent"
                                                                       and _is_link(node))
    exempt_out = loose or local == "endEvent" or (local == "intermediateThrowEvent" and _is_link(node)) or \
        (local == "boundaryEvent" and _has_def(node, "compensateEventDefinition"))
    return exempt_in, exempt_out


def _lint_connections(node, kind: str, ins: list, outs: list, error: Report, warning: Report) -> None:
    nid = node.get("id")
    exempt_in, exempt_out = _exempt(node, kind)
    if not ins and not outs and not (exempt_in and exempt_out):
        error(node, f"{_label(node)} 没有连接任何顺序流 / element '{nid}' is disconnected (no sequence flow)")
    elif not ins and not exempt_in:
        error(node, f"{_label(node)} 没有流入的顺序流,永远不会执行 / element '{nid}' has no incoming sequence flow")
    elif not outs and not exempt_out:
        warning(node, f"{_label(node)} 没有流出的顺序流(隐式结束),建议连到结束事件 / element '{nid}' has no "
                      "outgoing flow (implicit end)")


def _lint_call(node, process_ids: set[str], error: Report) -> None:
    target = (node.get("calledElement") or "").strip()
    if not target:
        error(node, f"{_label(node)} 没有指定被调用流程 calledElement / call activity '{node.get('id')}' names no "
                    "called process")
    elif target not in process_ids:
        error(node, f"{_label(node)} 调用的流程 “{target}” 不在本次部署的文件中 / called process "
                    f"'{target}' is not in the deployed files")


def _lint_node(node, outs: list, process_ids: set[str], error: Report, warning: Report) -> None:
    local, nid = _local(node), node.get("id")
    if local in ACTIVITIES and not (node.get("name") or "").strip():
        warning(node, f"{_label(node)} 没有名称 / activity '{nid}' has no label")
    if local == "userTask":
        _lint_user_task(node, warning)
    if local == "callActivity":
        _lint_call(node, process_ids, error)
    if len(outs) > 1 and local not in GATEWAYS:
        # the engine runs an implicit split only from a start event (as a parallel split)
        report = warning if local == "startEvent" else error
        report(node, f"{_label(node)} 有 {len(outs)} 条流出顺序流(隐式分支),请改用网关 / implicit split: "
                     f"'{nid}' has {len(outs)} outgoing flows; use a gateway")
    if local in ("exclusiveGateway", "inclusiveGateway") and len(outs) > 1:
        _lint_split(node, outs, warning)
    if local in ("subProcess", "transaction", "adHocSubProcess"):
        _lint_container(node, process_ids, error, warning, top=False)


def _lint_user_task(node, warning: Report) -> None:
    props = {p.get("name"): p.get("value") for p in
             node.iterfind("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS)}
    if props.get("formJsonSchemaFilename") or (props.get("noForm") or "").lower() == "true":
        return
    warning(node, f"{_label(node)} 没有表单:办理时只显示“确认办理”按钮(经 API 提交的数据仍会保存);如确实无需表单,"
                  "请勾选“无表单” / user task has no form: it completes with a plain confirmation "
                  "(set noForm=true to silence)")


def _lint_split(gateway, outs: list, warning: Report) -> None:
    default = gateway.get("default")
    if not default:
        warning(gateway, f"{_label(gateway)} 没有默认分支:所有条件都不成立时流程会出错 / gateway "
                         f"'{gateway.get('id')}' has no default flow")
    for flow in outs:
        # the default flow carries the default marker ("otherwise"): no label needed
        if flow.get("id") != default and not (flow.get("name") or "").strip():
            warning(flow, f"网关 {gateway.get('id')} 的分支 {flow.get('id')} 没有标签 / gateway branch "
                          f"'{flow.get('id')}' has no label")
        if flow.get("id") != default and flow.find("bpmn:conditionExpression", NS) is None:
            warning(flow, f"网关 {gateway.get('id')} 的分支 {flow.get('id')} 既没有条件也不是默认分支 / branch "
                          f"'{flow.get('id')}' has no condition and is not the default")
