"""A plain left-to-right layout for BPMN files that carry no diagram (BPMNDI).

Hand-written BPMN (and some exports) has no shapes, so bpmn-js has nothing to draw. ``add_diagram_layout``
gives such a process a layered layout: ``_graph`` reads nodes and flows, ``_layers`` assigns columns
(longest path over the graph without its back edges), ``_place`` assigns rows and bounds, ``_route``
draws each flow's waypoints and ``_emit`` writes the BPMNDI elements.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from app.errors import BadRequest
from app.services.definitions.bpmn_xml import BPMN_NS, parse_xml

DI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DDI_NS = "http://www.omg.org/spec/DD/20100524/DI"
_EVENT_TYPES = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
_GATEWAY_TYPES = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"}
_NODE_TYPES = _EVENT_TYPES | _GATEWAY_TYPES | {
    "task", "userTask", "manualTask", "serviceTask", "scriptTask", "businessRuleTask", "sendTask", "receiveTask",
    "callActivity", "subProcess", "transaction"}


@dataclass
class _Graph:
    nodes: dict[str, str] = field(default_factory=dict)  # id -> element type
    order: list[str] = field(default_factory=list)
    boundary_host: dict[str, str] = field(default_factory=dict)
    flows: list[tuple[str, str, str]] = field(default_factory=list)
    succ: dict[str, list[str]] = field(default_factory=dict)
    back: set[tuple[str, str]] = field(default_factory=set)
    layer: dict[str, int] = field(default_factory=dict)


def _size(kind: str) -> tuple[int, int]:
    if kind in _EVENT_TYPES:
        return 36, 36
    if kind in _GATEWAY_TYPES:
        return 50, 50
    return 100, 80


def add_diagram_layout(content: bytes) -> bytes:
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
    graph = _graph(process)
    if not graph.nodes:
        return content
    _layers(graph)
    bounds = _place(graph)
    _emit(root, process, graph, bounds)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _graph(process) -> _Graph:
    g = _Graph()
    for child in process:
        if not isinstance(child.tag, str) or etree.QName(child).namespace != BPMN_NS:
            continue
        kind, cid = etree.QName(child).localname, child.get("id")
        if kind in _NODE_TYPES and cid:
            g.nodes[cid] = kind
            g.order.append(cid)
            if kind == "boundaryEvent" and child.get("attachedToRef"):
                g.boundary_host[cid] = child.get("attachedToRef")
        elif kind == "sequenceFlow" and cid:
            g.flows.append((cid, child.get("sourceRef"), child.get("targetRef")))
    g.succ = {n: [] for n in g.nodes}
    for _fid, src, dst in g.flows:
        if src in g.succ and dst in g.nodes:
            g.succ[src].append(dst)
    for b, host in g.boundary_host.items():
        if host in g.succ:
            g.succ[host].append(b)
    return g


def _back_edges(g: _Graph) -> set[tuple[str, str]]:
    """Edges closing a cycle, found by depth-first search from the sources."""
    indegree = {n: 0 for n in g.nodes}
    for targets in g.succ.values():
        for dst in targets:
            indegree[dst] += 1
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}
    for start in [n for n in g.order if indegree[n] == 0] + g.order:
        if start in state:
            continue
        stack = [(start, iter(g.succ[start]))]
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
                stack.append((nxt, iter(g.succ[nxt])))
    return back


def _layers(g: _Graph) -> None:
    g.back = _back_edges(g)
    g.layer = {n: 0 for n in g.nodes}
    for _ in range(len(g.nodes)):
        changed = False
        for src, targets in g.succ.items():
            for dst in targets:
                if (src, dst) not in g.back and g.layer[dst] < g.layer[src] + 1:
                    g.layer[dst] = g.layer[src] + 1
                    changed = True
        if not changed:
            break
    for b, host in g.boundary_host.items():  # a boundary event sits on its host, its path goes on from there
        if host in g.layer:
            g.layer[b] = g.layer[host]


def _place(g: _Graph) -> dict[str, tuple[int, int, int, int]]:
    preds: dict[str, list[str]] = {n: [] for n in g.nodes}
    for src, targets in g.succ.items():
        for dst in targets:
            if (src, dst) not in g.back:
                preds[dst].append(src)
    used: dict[int, set[int]] = {}
    row_of: dict[str, int] = {}
    bounds: dict[str, tuple[int, int, int, int]] = {}
    position = {n: i for i, n in enumerate(g.order)}
    for n in sorted(g.nodes, key=lambda k: (g.layer[k], k in g.boundary_host, position[k])):
        col = g.layer[n]
        host = g.boundary_host.get(n)
        if host is not None:  # reserve the row under the host for the boundary path
            placed = [row_of[host] + 1] if host in row_of else []
        else:
            placed = [row_of[p] for p in preds[n] if p in row_of]
        row = min(placed) if placed else 0
        taken = used.setdefault(col, set())
        while row in taken:
            row += 1
        taken.add(row)
        row_of[n] = row
        if host is None:
            w, h = _size(g.nodes[n])
            cx, cy = 120 + col * 170 + 50, 100 + row * 130 + 40
            bounds[n] = (cx - w // 2, cy - h // 2, w, h)
    attached: dict[str, int] = {}
    for b, host in g.boundary_host.items():
        if host in bounds:
            hx, hy, _hw, hh = bounds[host]
            k = attached.get(host, 0)
            attached[host] = k + 1
            bounds[b] = (hx + 10 + k * 44, hy + hh - 18, 36, 36)
    return bounds


def _route(g: _Graph, src: str, dst: str, bounds) -> list[tuple[int, int]]:
    sx, sy, sw, sh = bounds[src]
    tx, ty, tw, th = bounds[dst]
    if src in g.boundary_host:
        return [(sx + sw // 2, sy + sh), (sx + sw // 2, ty + th // 2), (tx, ty + th // 2)]
    start, end = (sx + sw, sy + sh // 2), (tx, ty + th // 2)
    if (src, dst) in g.back or tx <= sx:
        low = max(sy + sh, ty + th) + 30
        return [(sx + sw // 2, sy + sh), (sx + sw // 2, low), (tx + tw // 2, low), (tx + tw // 2, ty + th)]
    if g.layer.get(dst, 0) - g.layer.get(src, 0) > 1:
        top = min(sy, ty) - 25
        return [start, (start[0] + 15, start[1]), (start[0] + 15, top), (end[0] - 15, top), (end[0] - 15, end[1]),
                end]
    if start[1] == end[1]:
        return [start, end]
    mid = (start[0] + end[0]) // 2
    return [start, (mid, start[1]), (mid, end[1]), end]


def _emit(root, process, g: _Graph, bounds) -> None:
    nsmap = {"bpmndi": DI_NS, "dc": DC_NS, "di": DDI_NS}
    diagram = etree.SubElement(root, f"{{{DI_NS}}}BPMNDiagram", nsmap=nsmap, id=f"{process.get('id')}_diagram")
    plane = etree.SubElement(diagram, f"{{{DI_NS}}}BPMNPlane", id=f"{process.get('id')}_plane",
                             bpmnElement=process.get("id"))
    for n in g.order:
        if n in bounds:
            x, y, w, h = bounds[n]
            shape = etree.SubElement(plane, f"{{{DI_NS}}}BPMNShape", id=f"{n}_di", bpmnElement=n)
            etree.SubElement(shape, f"{{{DC_NS}}}Bounds", x=str(x), y=str(y), width=str(w), height=str(h))
    for fid, src, dst in g.flows:
        if src in bounds and dst in bounds:
            edge = etree.SubElement(plane, f"{{{DI_NS}}}BPMNEdge", id=f"{fid}_di", bpmnElement=fid)
            for px, py in _route(g, src, dst, bounds):
                etree.SubElement(edge, f"{{{DDI_NS}}}waypoint", x=str(px), y=str(py))
