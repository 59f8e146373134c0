"""Readable differences between two deployed versions of a process key.

Works on the stored files of each :class:`ProcessVersion` with lxml only (no SpiffWorkflow): every
element carrying an ``id`` (tasks, events, gateways, flows, lanes, event definitions, DMN rules…) is
compared with its namesake in the other version, and reported as added, removed or changed, with the
changed properties (attributes, texts such as scripts / conditions / timer expressions, extension
properties such as the form file or the service-task operator) listed before → after. Diagram layout
(BPMNDI) changes are counted separately so that moving a shape does not read as a model change.
Form files (JSON Schema) are compared per field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import BadRequest, NotFound
from app.models.runtime import ProcessVersion

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


def _label(e: Element) -> str:
    return TYPE_NAMES.get(e.type, e.type)


def _prop_label(key: str) -> str:
    labels = {"@name": "名称", "#text": "内容", "@isExecutable": "可执行", "@sourceRef": "起点", "@targetRef": "终点",
              "@attachedToRef": "附着于", "@cancelActivity": "中断活动", "@default": "默认流", "incoming": "流入",
              "outgoing": "流出", "flowNodeRef": "泳道内元素", "conditionExpression": "条件表达式", "script": "脚本",
              "timeDuration": "定时(时长)", "timeDate": "定时(日期)", "timeCycle": "定时(周期)",
              "documentation": "说明"}
    if key in labels:
        return labels[key]
    last = key.rsplit("/", 1)[-1]
    if last in labels:
        return labels[last]
    if "property[formJsonSchemaFilename]" in key:
        return "表单文件"
    if "property[formUiSchemaFilename]" in key:
        return "表单界面文件"
    if "serviceTaskOperator" in key and key.endswith("serviceTaskOperator"):
        return "服务处理器"
    if "instructionsForEndUser" in key:
        return "办理说明"
    return key.replace("extensionElements/", "扩展/")


def diff_documents(old: bytes, new: bytes) -> dict:
    """Element-level diff of two BPMN/DMN documents."""
    a, b = elements(old), elements(new)
    added = [_row(e, "added") for k, e in b.items() if k not in a]
    removed = [_row(e, "removed") for k, e in a.items() if k not in b]
    changed = []
    moved = []
    for key in a.keys() & b.keys():
        ea, eb = a[key], b[key]
        changes = []
        if ea.type != eb.type:
            changes.append({"property": "类型", "key": "type", "before": _label(ea), "after": _label(eb)})
        for prop in sorted(ea.props.keys() | eb.props.keys()):
            va, vb = ea.props.get(prop), eb.props.get(prop)
            if va != vb:
                changes.append({"property": _prop_label(prop), "key": prop, "before": va, "after": vb})
        if ea.parent != eb.parent:
            changes.append({"property": "所属", "key": "parent", "before": ea.parent, "after": eb.parent})
        if changes:
            row = _row(eb, "changed")
            row["name_before"] = ea.name
            row["changes"] = changes
            changed.append(row)
        elif ea.layout != eb.layout:
            moved.append(_row(eb, "moved"))
    order = {"added": 0, "removed": 1, "changed": 2}
    items = sorted(added + removed + changed, key=lambda r: (order[r["status"]], r["line"] or 0, r["id"]))
    return {"items": items, "moved": sorted(moved, key=lambda r: r["id"]),
            "summary": {"added": len(added), "removed": len(removed), "changed": len(changed),
                        "moved": len(moved)}}


def _row(e: Element, status: str) -> dict:
    return {"id": e.id, "type": e.type, "type_name": _label(e), "name": e.name, "parent": e.parent,
            "line": e.line, "status": status, "changes": []}


def diff_forms(old: bytes, new: bytes) -> list[dict]:
    """Per-field differences of two JSON Schema (or ui-schema) documents."""
    try:
        a, b = json.loads(old or b"{}"), json.loads(new or b"{}")
    except ValueError:
        return [{"field": "(文件)", "status": "changed", "before": "(非 JSON)", "after": "(非 JSON)"}]
    rows = []
    pa = a.get("properties") if isinstance(a, dict) else None
    pb = b.get("properties") if isinstance(b, dict) else None
    if isinstance(pa, dict) and isinstance(pb, dict):
        for key in sorted(pa.keys() | pb.keys()):
            fa, fb = pa.get(key), pb.get(key)
            title = (fb or fa or {}).get("title") if isinstance(fb or fa, dict) else None
            if fa is None:
                rows.append({"field": key, "title": title, "status": "added", "before": None, "after": _dump(fb)})
            elif fb is None:
                rows.append({"field": key, "title": title, "status": "removed", "before": _dump(fa), "after": None})
            elif fa != fb:
                rows.append({"field": key, "title": title, "status": "changed", "before": _dump(fa),
                             "after": _dump(fb)})
        rest_a = {k: v for k, v in a.items() if k != "properties"}
        rest_b = {k: v for k, v in b.items() if k != "properties"}
    else:
        rest_a, rest_b = (a if isinstance(a, dict) else {"": a}), (b if isinstance(b, dict) else {"": b})
    for key in sorted(rest_a.keys() | rest_b.keys()):
        if rest_a.get(key) != rest_b.get(key):
            rows.append({"field": key or "(整体)", "title": None, "status": "changed",
                         "before": _dump(rest_a.get(key)), "after": _dump(rest_b.get(key))})
    return rows


def _dump(value) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _version(session: Session, key: str, number: int) -> ProcessVersion:
    found = session.scalar(select(ProcessVersion).where(ProcessVersion.process_key == key,
                                                        ProcessVersion.version == number))
    if found is None:
        raise NotFound(f"流程 {key} 没有版本 v{number} / process {key} has no version {number}")
    return found


def diff_versions(session: Session, key: str, a: int, b: int) -> dict:
    """Readable diff of version ``a`` → ``b`` of ``key``: files added/removed, elements, form fields."""
    va, vb = _version(session, key, a), _version(session, key, b)
    files_a = {f.filename: f for f in va.files}
    files_b = {f.filename: f for f in vb.files}
    files = []
    for name in sorted(files_a.keys() | files_b.keys()):
        fa, fb = files_a.get(name), files_b.get(name)
        kind = (fb or fa).kind
        entry = {"filename": name, "kind": kind}
        if fa is None:
            entry["status"] = "added"
        elif fb is None:
            entry["status"] = "removed"
        elif fa.content == fb.content:
            entry["status"] = "same"
        else:
            entry["status"] = "changed"
        if kind in ("bpmn", "dmn") and entry["status"] != "same":
            try:
                entry["diff"] = diff_documents(fa.content if fa else _EMPTY, fb.content if fb else _EMPTY)
            except BadRequest as exc:
                entry["error"] = exc.message
        elif kind == "form" and entry["status"] != "same":
            entry["fields"] = diff_forms(fa.content if fa else b"{}", fb.content if fb else b"{}")
        files.append(entry)
    summary = {"added": 0, "removed": 0, "changed": 0, "moved": 0}
    for entry in files:
        for k, v in (entry.get("diff") or {}).get("summary", {}).items():
            summary[k] += v
    return {"process_key": key, "a": _meta(va), "b": _meta(vb), "files": files, "summary": summary,
            "identical": all(f["status"] == "same" for f in files)}


_EMPTY = f'<definitions xmlns="{BPMN_NS}" id="empty"/>'.encode()


def _meta(v: ProcessVersion) -> dict:
    return {"version": v.version, "name": v.name, "author": v.author, "created_at": v.created_at.isoformat(),
            "hash": v.content_hash, "main_file": v.main_file}


# ------------------------------------------------------------------ layout for files without a diagram
# Hand-written BPMN (and some exports) carry no BPMNDI; bpmn-js then has nothing to draw. These give
# such a process a plain left-to-right layered layout so the viewer and the modeler can show it.
DI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DDI_NS = "http://www.omg.org/spec/DD/20100524/DI"
_EVENT_TYPES = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
_GATEWAY_TYPES = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"}
_NODE_TYPES = _EVENT_TYPES | _GATEWAY_TYPES | {
    "task", "userTask", "manualTask", "serviceTask", "scriptTask", "businessRuleTask", "sendTask", "receiveTask",
    "callActivity", "subProcess", "transaction"}


def _size(kind: str) -> tuple[int, int]:
    if kind in _EVENT_TYPES:
        return 36, 36
    if kind in _GATEWAY_TYPES:
        return 50, 50
    return 100, 80


def with_layout(content: bytes) -> bytes:
    """``content`` unchanged when it has diagram shapes; otherwise with a generated BPMNDI layout."""
    if b"BPMNShape" in content:
        return content
    try:
        root = parse_xml(content)
    except BadRequest:
        return content
    process = next((p for p in root.iter(f"{{{BPMN_NS}}}process") if p.get("isExecutable") == "true"), None)
    if process is None:
        process = next(root.iter(f"{{{BPMN_NS}}}process"), None)
    if process is None:
        return content
    nodes: dict[str, str] = {}
    order: list[str] = []
    boundary_host: dict[str, str] = {}
    flows: list[tuple[str, str, str]] = []
    for child in process:
        if not isinstance(child.tag, str) or etree.QName(child).namespace != BPMN_NS:
            continue
        kind, cid = _local(child), child.get("id")
        if kind in _NODE_TYPES and cid:
            nodes[cid] = kind
            order.append(cid)
            if kind == "boundaryEvent" and child.get("attachedToRef"):
                boundary_host[cid] = child.get("attachedToRef")
        elif kind == "sequenceFlow" and cid:
            flows.append((cid, child.get("sourceRef"), child.get("targetRef")))
    if not nodes:
        return content
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    for _fid, src, dst in flows:
        if src in succ and dst in nodes:
            succ[src].append(dst)
    for b, host in boundary_host.items():
        if host in succ:
            succ[host].append(b)
    indegree = {n: 0 for n in nodes}
    for targets in succ.values():
        for dst in targets:
            indegree[dst] += 1
    # longest-path layering over the graph without its back edges (DFS from the sources)
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}

    def dfs(start: str) -> None:
        stack = [(start, iter(succ[start]))]
        state[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                back.add((node, nxt))
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(succ[nxt])))

    for n in [n for n in order if indegree[n] == 0] + order:
        if n not in state:
            dfs(n)
    layer = {n: 0 for n in nodes}
    for _ in range(len(nodes)):
        changed = False
        for src, targets in succ.items():
            for dst in targets:
                if (src, dst) not in back and layer[dst] < layer[src] + 1:
                    layer[dst] = layer[src] + 1
                    changed = True
        if not changed:
            break
    for b, host in boundary_host.items():  # a boundary event sits on its host, its path goes on from there
        if host in layer:
            layer[b] = layer[host]
    preds: dict[str, list[str]] = {n: [] for n in nodes}
    for src, targets in succ.items():
        for dst in targets:
            if (src, dst) not in back:
                preds[dst].append(src)
    used: dict[int, set[int]] = {}
    row_of: dict[str, int] = {}
    bounds: dict[str, tuple[int, int, int, int]] = {}
    position = {n: i for i, n in enumerate(order)}
    for n in sorted(nodes, key=lambda k: (layer[k], k in boundary_host, position[k])):
        col = layer[n]
        if n in boundary_host:  # reserve the row under the host for the boundary path
            placed = [row_of[boundary_host[n]] + 1] if boundary_host[n] in row_of else []
        else:
            placed = [row_of[p] for p in preds[n] if p in row_of]
        row = min(placed) if placed else 0
        taken = used.setdefault(col, set())
        while row in taken:
            row += 1
        taken.add(row)
        row_of[n] = row
        if n in boundary_host:
            continue
        w, h = _size(nodes[n])
        cx, cy = 120 + col * 170 + 50, 100 + row * 130 + 40
        bounds[n] = (cx - w // 2, cy - h // 2, w, h)
    attached: dict[str, int] = {}
    for b, host in boundary_host.items():
        if host not in bounds:
            continue
        hx, hy, hw, hh = bounds[host]
        k = attached.get(host, 0)
        attached[host] = k + 1
        bounds[b] = (hx + 10 + k * 44, hy + hh - 18, 36, 36)
    definitions = root
    nsmap = {"bpmndi": DI_NS, "dc": DC_NS, "di": DDI_NS}
    diagram = etree.SubElement(definitions, f"{{{DI_NS}}}BPMNDiagram", nsmap=nsmap, id=f"{process.get('id')}_diagram")
    plane = etree.SubElement(diagram, f"{{{DI_NS}}}BPMNPlane", id=f"{process.get('id')}_plane",
                             bpmnElement=process.get("id"))
    for n in order:
        if n not in bounds:
            continue
        x, y, w, h = bounds[n]
        shape = etree.SubElement(plane, f"{{{DI_NS}}}BPMNShape", id=f"{n}_di", bpmnElement=n)
        etree.SubElement(shape, f"{{{DC_NS}}}Bounds", x=str(x), y=str(y), width=str(w), height=str(h))
    for fid, src, dst in flows:
        if src not in bounds or dst not in bounds:
            continue
        sx, sy, sw, sh = bounds[src]
        tx, ty, tw, th = bounds[dst]
        if src in boundary_host:
            points = [(sx + sw // 2, sy + sh), (sx + sw // 2, ty + th // 2), (tx, ty + th // 2)]
        else:
            start, end = (sx + sw, sy + sh // 2), (tx, ty + th // 2)
            if (src, dst) in back or tx <= sx:
                low = max(sy + sh, ty + th) + 30
                points = [(sx + sw // 2, sy + sh), (sx + sw // 2, low), (tx + tw // 2, low), (tx + tw // 2, ty + th)]
            elif layer.get(dst, 0) - layer.get(src, 0) > 1:
                top = min(sy, ty) - 25
                points = [start, (start[0] + 15, start[1]), (start[0] + 15, top), (end[0] - 15, top),
                          (end[0] - 15, end[1]), end]
            elif start[1] == end[1]:
                points = [start, end]
            else:
                mid = (start[0] + end[0]) // 2
                points = [start, (mid, start[1]), (mid, end[1]), end]
        edge = etree.SubElement(plane, f"{{{DI_NS}}}BPMNEdge", id=f"{fid}_di", bpmnElement=fid)
        for px, py in points:
            etree.SubElement(edge, f"{{{DDI_NS}}}waypoint", x=str(px), y=str(py))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
