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

from sqlalchemy.orm import Session

from app.errors import BadRequest
from app.models.runtime import ProcessVersion
from app.services.definitions.bpmn_xml import BPMN_NS, TYPE_NAMES, Element, elements
from app.services.definitions.versions import get_version


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


def diff_versions(session: Session, key: str, a: int, b: int) -> dict:
    """Readable diff of version ``a`` → ``b`` of ``key``: files added/removed, elements, form fields."""
    va, vb = get_version(session, key, a), get_version(session, key, b)
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
