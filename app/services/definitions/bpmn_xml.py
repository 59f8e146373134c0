"""Safe lxml reading of BPMN/DMN documents: parse without entities, list elements and names (no engine)."""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from app.errors import BadRequest

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DI_NAMESPACES = {
    "http://www.omg.org/spec/BPMN/20100524/DI",
    "http://www.omg.org/spec/DD/20100524/DI",
    "http://www.omg.org/spec/DD/20100524/DC",
    "https://www.omg.org/spec/DMN/20191111/DMNDI/",
    "http://www.omg.org/spec/DMN/20180521/DMNDI/",
    "http://www.omg.org/spec/DMN/20180521/DI/",
    "http://www.omg.org/spec/DMN/20180521/DC/",
}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)

TYPE_NAMES = {
    "process": "流程", "collaboration": "协作", "participant": "参与者(池)", "laneSet": "泳道集", "lane": "泳道",
    "startEvent": "开始事件", "endEvent": "结束事件", "intermediateCatchEvent": "中间捕获事件",
    "intermediateThrowEvent": "中间抛出事件", "boundaryEvent": "边界事件", "task": "任务", "userTask": "用户任务",
    "manualTask": "人工任务", "serviceTask": "服务任务", "scriptTask": "脚本任务", "businessRuleTask": "业务规则任务",
    "sendTask": "发送任务", "receiveTask": "接收任务", "callActivity": "调用活动", "subProcess": "子流程",
    "exclusiveGateway": "排他网关", "parallelGateway": "并行网关", "inclusiveGateway": "包容网关",
    "eventBasedGateway": "事件网关", "sequenceFlow": "顺序流", "messageFlow": "消息流", "message": "消息",
    "signal": "信号", "error": "错误", "escalation": "升级", "timerEventDefinition": "定时器定义",
    "messageEventDefinition": "消息定义", "signalEventDefinition": "信号定义", "errorEventDefinition": "错误定义",
    "terminateEventDefinition": "终止定义", "escalationEventDefinition": "升级定义", "dataObject": "数据对象",
    "dataObjectReference": "数据对象引用", "dataStoreReference": "数据存储引用", "textAnnotation": "文本注释",
    "association": "关联", "group": "分组", "correlationProperty": "相关属性", "decision": "决策",
    "decisionTable": "决策表", "rule": "规则", "input": "输入列", "output": "输出列", "definitions": "定义",
}


class UnsafeXml(BadRequest):
    pass


def parse_xml(content: bytes) -> etree._Element:
    """Parse stored or uploaded XML; DOCTYPE / entity declarations are refused (no XXE, no bombs)."""
    if isinstance(content, str):
        content = content.encode("utf-8")
    head = content[:65536]
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        raise UnsafeXml("不允许 DOCTYPE 或实体声明 / DOCTYPE and entity declarations are not allowed")
    try:
        return etree.fromstring(content, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise BadRequest(f"XML 格式错误 / malformed XML: {exc.msg}") from None


@dataclass
class Element:
    id: str
    type: str
    name: str | None
    parent: str | None
    line: int | None
    props: dict[str, str] = field(default_factory=dict)
    layout: str = ""


def _local(node) -> str:
    return etree.QName(node).localname


def _is_di(node) -> bool:
    return etree.QName(node).namespace in DI_NAMESPACES


def _text(node) -> str:
    return " ".join((node.text or "").split())


# BPMN attribute defaults: writing them or leaving them out is the same model (bpmn-js drops them)
_ATTR_DEFAULTS = {("cancelActivity", "true"), ("isInterrupting", "true"), ("parallelMultiple", "false"),
                  ("isForCompensation", "false"), ("startQuantity", "1"), ("completionQuantity", "1"),
                  ("triggeredByEvent", "false"), ("isClosed", "false"), ("instantiate", "false"),
                  ("gatewayDirection", "Unspecified")}


def _own_props(node) -> dict[str, str]:
    """Attributes, text and id-less descendants of ``node`` (descendants with an id are elements of their own)."""
    props: dict[str, list[str]] = {}

    def put(key: str, value: str) -> None:
        props.setdefault(key, []).append(value)

    for name, value in sorted(node.attrib.items()):
        local = etree.QName(name).localname
        if local != "id" and (local, value) not in _ATTR_DEFAULTS:
            put(f"@{local}", value)
    text = _text(node)
    if text:
        put("#text", text)

    def walk(parent, path: str) -> None:
        for child in parent:
            if not isinstance(child.tag, str) or _is_di(child) or child.get("id"):
                continue
            local = _local(child)
            qualifier = child.get("name") or child.get("key")
            key = f"{path}{local}" + (f"[{qualifier}]" if qualifier else "")
            attrs = {etree.QName(k).localname: v for k, v in child.attrib.items()
                     if etree.QName(k).localname not in ("name", "key")}
            value = _text(child)
            if attrs:
                value = (value + " " if value else "") + " ".join(f"{k}={v}" for k, v in sorted(attrs.items()))
            if value or len(child) == 0:
                put(key, value)
            walk(child, key + "/")

    walk(node, "")
    return {k: "; ".join(v) for k, v in props.items()}


def elements(content: bytes) -> dict[str, Element]:
    """Every element with an id of a BPMN/DMN document, with its own properties; layout from the DI."""
    root = parse_xml(content)
    out: dict[str, Element] = {}
    layouts: dict[str, str] = {}
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        if _is_di(node):
            ref = node.get("bpmnElement") or node.get("dmnElementRef")
            if ref:
                coords = []
                for sub in node.iter():
                    if isinstance(sub.tag, str) and _local(sub) in ("Bounds", "waypoint"):
                        coords.append(",".join(sub.get(a, "") for a in ("x", "y", "width", "height") if sub.get(a)))
                layouts[ref] = "|".join(coords)
            continue
        node_id = node.get("id")
        if not node_id or node is root:
            continue
        parent = node.getparent()
        while parent is not None and not parent.get("id"):
            parent = parent.getparent()
        out[node_id] = Element(id=node_id, type=_local(node), name=node.get("name"),
                               parent=parent.get("id") if parent is not None and parent is not root else None,
                               line=node.sourceline, props=_own_props(node))
    for ref, layout in layouts.items():
        if ref in out:
            out[ref].layout = layout
    return out


def element_names(content: bytes) -> dict[str, str]:
    """BPMN element id → its name (or type label), for timelines and error lists."""
    try:
        found = elements(content)
    except BadRequest:
        return {}
    return {k: (e.name or TYPE_NAMES.get(e.type, e.type)) for k, e in found.items()}


def process_ids(content: bytes) -> list[dict]:
    """The ``bpmn:process`` elements of a document: id, name, isExecutable."""
    root = parse_xml(content)
    return [{"id": p.get("id"), "name": p.get("name"), "executable": p.get("isExecutable") == "true"}
            for p in root.iter(f"{{{BPMN_NS}}}process")]
