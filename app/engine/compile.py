"""Deploy-time compilation of a set of BPMN/DMN/form files into serialized specs (rules 2, 3).

``compile_files`` either returns one :class:`CompiledProcess` per executable process, with its
serialized spec and the exact files it depends on, or raises :class:`BundleInvalid` carrying
every error found, each naming file, element id, line and a message (Chinese first). The checks the
parser does not make live in :mod:`app.engine.validation`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from lxml import etree
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser

from app.engine import camunda
from app.engine.lint import lint_process
from app.engine.serializer import SERIALIZER_VERSION, dump_spec
from app.engine.validation import NS, BundleInvalid, FileError, UploadedFiles, check_process, form_refs


@dataclass
class CompiledProcess:
    process_key: str
    name: str | None
    main_file: str
    spec_json: str
    serializer_version: str
    files: dict[str, tuple[str, bytes]]  # filename -> (kind, content)
    content_hash: str
    timer_start: dict | None = None
    message_starts: list[str] = field(default_factory=list)
    warnings: list[FileError] = field(default_factory=list)  # lint warnings (app/engine/lint.py)


_SPIFF_HINTS = [
    (r"There is no support implemented for this task type", "不支持的元素类型"),
    (r"No start event found", "流程没有开始事件"),
    (r"Multiple outgoing flows are not supported for tasks of type", "该类型的任务不支持多条流出顺序流,请改用网关"),
    (r"A Service Task must have an operator", "服务任务缺少 operator"),
    (r"Duplicate process ID", "流程 ID 重复"),
    (r"was not found", "找不到被调用的流程"),
    (r"No DMN Diagram available", "找不到决策表 (DMN)"),
    (r"This element is not expected|is not a valid value|is not facet-valid|is not accepted", "不符合 BPMN 2.0 XSD"),
    (r"perhaps a form has the same ID", "顺序流指向不存在的元素"),
    (r"data ?store", "数据存储(data store)没有实现,无法执行"),
]


def _humanize(message: str) -> str:
    message = (message or "").strip().rstrip(".").strip()
    if message.endswith("type"):
        message += " (unnamed type)"
    for pattern, zh in _SPIFF_HINTS:
        if re.search(pattern, message, re.IGNORECASE):
            return f"{zh} / {message}"
    return f"流程定义无效 / {message or 'invalid process definition'}"


def _line(tree: etree._ElementTree, element_id: str | None) -> int | None:
    if not element_id:
        return None
    found = tree.getroot().xpath("//*[@id=$i]", i=element_id)
    return found[0].sourceline if found else None


def _locate(tree, message: str) -> tuple[str | None, int | None]:
    """Find the element a message talks about (by id or name) when the engine did not say."""
    root = tree.getroot()
    for token in re.findall(r"[\w\-.:]{3,}", message or ""):
        found = root.xpath("//*[@id=$t or @name=$t]", t=token)
        if found:
            return found[0].get("id"), found[0].sourceline
    flat = " ".join((message or "").split())
    for el in root.iter():
        name = " ".join((el.get("name") or "").split()) if isinstance(el.tag, str) else ""
        if len(name) >= 3 and f" {name} " in f" {flat} ":
            return el.get("id"), el.sourceline
    return None, None


def _hash(files: dict[str, tuple[str, bytes]]) -> str:
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode())
        h.update(b"\0")
        h.update(hashlib.sha256(files[name][1]).digest())
    return h.hexdigest()


def _add_dmn(parser, ctx: UploadedFiles, errors: list[FileError]) -> None:
    for name, (_content, tree) in ctx.dmn.items():
        try:
            parser.add_dmn_xml(tree.getroot(), filename=name)
        except SpiffWorkflowException as exc:
            errors.append(FileError(name, _humanize(str(exc)), getattr(exc, "id", None) or None,
                                    getattr(exc, "line_number", None) or None))
        except Exception as exc:  # the DMN parser raises plain exceptions on bad tables
            errors.append(FileError(name, _humanize(f"{type(exc).__name__}: {exc}")))


def _executable_processes(name: str, root, ctx: UploadedFiles, operators, roles, only_executable: bool,
                          errors: list[FileError], lint: tuple[set, dict] | None = None
                          ) -> list[tuple[str, str, str | None]]:
    processes = root.findall("bpmn:process", NS)
    found = []
    for proc in processes:
        if proc.get("isExecutable") == "true" or not only_executable:
            found.append((proc.get("id"), name, proc.get("name")))
            errors.extend(check_process(name, root.getroottree(), proc, ctx, operators, roles))
            if lint is not None:
                bundle_pids, warnings = lint
                found_w = warnings.setdefault(proc.get("id"), [])
                lint_process(proc, bundle_pids,
                             lambda el, m, f=name: errors.append(FileError(f, m, el.get("id"), el.sourceline)),
                             lambda el, m, f=name, w=found_w: w.append(FileError(f, m, el.get("id"), el.sourceline)))
    if not found:
        first = processes[0] if processes else root
        errors.append(FileError(name, "没有可执行流程(请将流程的 isExecutable 设为 true) / no executable process "
                                      "(set isExecutable=\"true\" on the process)",
                                first.get("id"), first.sourceline))
    return found


def _add_bpmn(parser, name: str, tree, errors: list[FileError]) -> None:
    try:
        parser.add_bpmn_xml(tree, filename=name)
    except SpiffWorkflowException as exc:
        element = getattr(exc, "id", None) or None
        line = getattr(exc, "line_number", None) or _line(tree, element)
        if not element and not line:
            element, line = _locate(tree, str(exc))
        errors.append(FileError(name, _humanize(str(exc)), element, line or None))
    except Exception as exc:
        element, line = _locate(tree, str(exc))
        errors.append(FileError(name, _humanize(f"{type(exc).__name__}: {exc}"), element, line))


def _used_files(ctx: UploadedFiles, name: str, subs: dict) -> dict[str, tuple[str, bytes]]:
    """The exact files a process depends on: its BPMN, called BPMN files, DMN tables and forms."""
    used: dict[str, tuple[str, bytes]] = {name: ("bpmn", ctx.bpmn[name][0])}
    for sub in subs.values():
        sub_name = PurePosixPath(getattr(sub, "file", None) or "").name
        if sub_name in ctx.bpmn:
            used[sub_name] = ("bpmn", ctx.bpmn[sub_name][0])
    dmn_ids = set()
    for fname in list(used):
        for brt in ctx.bpmn[fname][1].getroot().iterfind(".//spiffworkflow:calledDecisionId", NS):
            dmn_ids.add((brt.text or "").strip())
    for dname, (content, dtree) in ctx.dmn.items():
        if {d.get("id") for d in dtree.getroot().iter("{*}decision")} & dmn_ids:
            used[dname] = ("dmn", content)
    for fname in [f for f, (k, _) in used.items() if k == "bpmn"]:
        for ref in form_refs(ctx.bpmn[fname][1]):
            if ref in ctx.forms:
                used[ref] = ("form", ctx.forms[ref])
    return used


def _compile_one(parser, ctx: UploadedFiles, pid: str, name: str, pname: str | None,
                 errors: list[FileError]) -> CompiledProcess | None:
    tree = ctx.bpmn[name][1]
    try:
        spec = parser.get_spec(pid)
        subs = parser.get_subprocess_specs(pid)
        spec_json = dump_spec(spec, subs)
    except SpiffWorkflowException as exc:
        element = getattr(exc, "id", None) or None
        fname = getattr(exc, "file_name", None) or name
        line = getattr(exc, "line_number", None) or _line(ctx.bpmn.get(fname, (None, tree))[1], element)
        errors.append(FileError(PurePosixPath(str(fname)).name, _humanize(str(exc)), element, line or None))
        return None
    except RecursionError:
        errors.append(FileError(name, "流程嵌套过深 / process nesting too deep", pid))
        return None
    except Exception as exc:
        errors.append(FileError(name, _humanize(f"{type(exc).__name__}: {exc}"), pid, _line(tree, pid)))
        return None
    used = _used_files(ctx, name, subs)
    timer_start, message_starts = _start_events(tree, pid)
    return CompiledProcess(pid, pname, name, spec_json, SERIALIZER_VERSION, used, _hash(used),
                           timer_start, message_starts)


def compile_files(files: list[tuple[str, bytes]], operators: set[str], roles: set[str],
                  only_executable: bool = True) -> list[CompiledProcess]:
    ctx = UploadedFiles(files)
    errors = list(ctx.errors)
    parser = SpiffBpmnParser(validator=VALIDATOR)
    executable: list[tuple[str, str, str | None]] = []  # (pid, file, name)
    warnings = _translate_exports(ctx, operators, roles, errors)
    bundle_pids = {p.get("id") for _c, t in ctx.bpmn.values() for p in t.getroot().iterfind("bpmn:process", NS)}
    _add_dmn(parser, ctx, errors)
    for name, (_content, tree) in ctx.bpmn.items():
        root = tree.getroot()
        if etree.QName(root).namespace != NS["bpmn"]:
            errors.append(FileError(name, "不是 BPMN 2.0 文件(根元素应为 bpmn:definitions) / not a BPMN 2.0 file",
                                    line=root.sourceline))
            continue
        executable += _executable_processes(name, root, ctx, operators, roles, only_executable, errors,
                                            (bundle_pids, warnings))
        _add_bpmn(parser, name, tree, errors)
    all_warnings = [w for ws in warnings.values() for w in ws]
    if errors:
        raise BundleInvalid(errors, all_warnings)
    compiled = [_compile_one(parser, ctx, pid, name, pname, errors) for pid, name, pname in executable]
    if errors:
        raise BundleInvalid(errors, all_warnings)
    for c in compiled:
        if c is not None:
            c.warnings = warnings.get(c.process_key, [])
    return [c for c in compiled if c is not None]


def _translate_exports(ctx: UploadedFiles, operators, roles, errors: list[FileError]) -> dict[str, list[FileError]]:
    """Camunda / Zeebe / JUEL / FEEL → ours (engine/camunda.py); returns warnings by process id."""
    warnings: dict[str, list[FileError]] = {}
    for name, (content, tree) in list(ctx.bpmn.items()):
        tree, issues = camunda.translate(tree, set(ctx.forms), operators, roles)
        ctx.bpmn[name] = (content, tree)
        for level, el, message in issues:
            found = FileError(name, message, el.get("id"), el.sourceline)
            proc = camunda.process_of(el)
            pid = proc.get("id") if proc is not None else ""
            (errors if level == "error" else warnings.setdefault(pid, [])).append(found)
    return warnings


def _start_events(tree, pid: str) -> tuple[dict | None, list[str]]:
    proc = tree.getroot().find(f"bpmn:process[@id='{pid}']", NS)
    timer = None
    messages = []
    for start in proc.findall("bpmn:startEvent", NS):
        cycle = start.find("bpmn:timerEventDefinition/*", NS)
        if cycle is not None:
            timer = {"element_id": start.get("id"), "kind": etree.QName(cycle).localname,
                     "expression": (cycle.text or "").strip()}
        msg = start.find("bpmn:messageEventDefinition", NS)
        if msg is not None and msg.get("messageRef"):
            ref = msg.get("messageRef")
            node = tree.getroot().find(f"bpmn:message[@id='{ref}']", NS)
            messages.append(node.get("name") if node is not None and node.get("name") else ref)
    return timer, messages
