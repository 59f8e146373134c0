"""Deploy-time validation and compilation of a set of BPMN/DMN/form files (rules 2, 3, 9, 10).

``compile_files`` either returns one :class:`CompiledProcess` per executable process, with its
serialized spec and the exact files it depends on, or raises :class:`BundleInvalid` carrying
every error found, each naming file, element id, line and a message (Chinese first).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser

from app.engine import camunda
from app.engine.lint import lint_process
from app.engine.runtime import SERIALIZER_VERSION, dump_spec
from app.engine.scripting import check_code

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_TOTAL_BYTES = 20 * 1024 * 1024
MAX_FILES = 200
FORM_KEYWORDS = {
    "$schema", "$id", "title", "description", "type", "properties", "required", "enum", "const", "oneOf",
    "anyOf", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength",
    "pattern", "items", "minItems", "maxItems", "default", "additionalProperties", "uniqueItems", "examples",
    "readOnly", "multipleOf", "$defs", "dependentRequired",
}


@dataclass
class FileError:
    file: str
    message: str
    element_id: str | None = None
    line: int | None = None

    def as_dict(self) -> dict:
        return {"file": self.file, "element_id": self.element_id, "line": self.line, "message": self.message}


class BundleInvalid(Exception):
    def __init__(self, errors: list[FileError], warnings: list[FileError] | None = None):
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors
        self.warnings = warnings or []


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


def _kind(filename: str) -> str | None:
    name = filename.lower()
    if name.endswith(".bpmn") or name.endswith(".bpmn20.xml"):
        return "bpmn"
    if name.endswith(".dmn"):
        return "dmn"
    if name.endswith(".json"):
        return "form"
    return None


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                          remove_comments=False, dtd_validation=False)


def safe_parse_xml(filename: str, content: bytes) -> etree._ElementTree:
    """Parse XML refusing DOCTYPEs (external entities, entity expansion) outright."""
    head = content[:4096].lstrip()
    if b"<!DOCTYPE" in content[:65536] or b"<!ENTITY" in content[:65536]:
        raise BundleInvalid([FileError(filename, "不允许 DOCTYPE 或实体声明(安全原因) / DOCTYPE and entity "
                                       "declarations are not allowed", line=_line_of(content, b"<!"))])
    if not head:
        raise BundleInvalid([FileError(filename, "文件为空 / the file is empty")])
    try:
        return etree.ElementTree(etree.fromstring(content, _PARSER))
    except etree.XMLSyntaxError as exc:
        raise BundleInvalid([FileError(filename, f"XML 格式错误 / malformed XML: {exc.msg}",
                                       line=exc.lineno)]) from None


def _line_of(content: bytes, needle: bytes) -> int | None:
    pos = content.find(needle)
    return content.count(b"\n", 0, pos) + 1 if pos >= 0 else None


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


class _Files:
    def __init__(self, files: list[tuple[str, bytes]]):
        self.errors: list[FileError] = []
        self.bpmn: dict[str, tuple[bytes, etree._ElementTree]] = {}
        self.dmn: dict[str, tuple[bytes, etree._ElementTree]] = {}
        self.forms: dict[str, bytes] = {}
        self.form_docs: dict[str, dict] = {}
        total = 0
        if not files:
            self.errors.append(FileError("", "没有上传文件 / no files were given"))
        if len(files) > MAX_FILES:
            self.errors.append(FileError("", f"文件过多(最多 {MAX_FILES} 个) / too many files"))
            return
        for filename, content in files:
            name = PurePosixPath(filename.replace("\\", "/")).name
            total += len(content)
            kind = _kind(name)
            if not name or kind is None:
                self.errors.append(FileError(name or "?", "不支持的文件类型(仅 .bpmn, .dmn, .json) / unsupported file "
                                                           "type (only .bpmn, .dmn, .json)"))
                continue
            if len(content) > MAX_FILE_BYTES:
                self.errors.append(FileError(name, f"文件过大(上限 {MAX_FILE_BYTES // 1024 // 1024} MB) / file too "
                                                   f"large ({len(content)} bytes)"))
                continue
            if name in self.bpmn or name in self.dmn or name in self.forms:
                self.errors.append(FileError(name, "文件名重复 / duplicate file name"))
                continue
            if kind == "form":
                self._add_form(name, content)
                continue
            try:
                tree = safe_parse_xml(name, content)
            except BundleInvalid as exc:
                self.errors.extend(exc.errors)
                continue
            (self.bpmn if kind == "bpmn" else self.dmn)[name] = (content, tree)
        if total > MAX_TOTAL_BYTES:
            self.errors.append(FileError("", "上传总量过大 / upload too large"))

    def _add_form(self, name: str, content: bytes) -> None:
        try:
            doc = json.loads(content.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            line = getattr(exc, "lineno", None)
            self.errors.append(FileError(name, f"表单不是有效的 JSON / form is not valid JSON: {exc}", line=line))
            return
        if not isinstance(doc, dict):
            self.errors.append(FileError(name, "表单必须是 JSON 对象 / a form must be a JSON object"))
            return
        self.forms[name] = content
        self.form_docs[name] = doc
        if name.endswith("-uischema.json") or name.endswith(".uischema.json"):
            return
        try:
            Draft202012Validator.check_schema(doc)
        except SchemaError as exc:
            self.errors.append(FileError(name, f"表单 JSON Schema 无效 / invalid JSON Schema: {exc.message}"))
            return
        if doc.get("type") != "object":
            self.errors.append(FileError(name, "表单的顶层 type 必须是 object / top-level type must be 'object'"))
        for path, key in _walk_keys(doc):
            if key == "$ref" or key == "$dynamicRef":
                self.errors.append(FileError(name, f"表单不支持引用 {key} ({path}) / references are not supported"))
            elif key not in FORM_KEYWORDS and not key.startswith("x-") and not path.endswith("/properties") \
                    and not path.endswith("/$defs"):
                self.errors.append(FileError(name, f"表单使用了不支持的关键字 {key} ({path}) / unsupported schema "
                                                   f"keyword"))


def _walk_keys(doc, path=""):
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield path, key
            if key in ("enum", "const", "default", "examples"):
                continue
            yield from _walk_keys(value, f"{path}/{key}")
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from _walk_keys(value, f"{path}/{i}")


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


def _literal(expression: str):
    """Return the value of a constant expression ("'P3D'"), or None when it names variables."""
    try:
        import ast

        return ast.literal_eval(expression.strip())
    except (ValueError, SyntaxError):
        return None


def _check_timer_literal(kind: str, value) -> str | None:
    if not isinstance(value, str):
        return "定时器表达式必须得到 ISO 8601 字符串 / timer expression must give an ISO 8601 string"
    try:
        if kind == "timeDuration":
            if not re.fullmatch(r"P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?", value):
                raise ValueError(value)
            TimerEventDefinition.parse_iso_duration(value)
        elif kind == "timeDate":
            TimerEventDefinition.get_datetime(value)
        else:
            TimerEventDefinition.parse_iso_recurring_interval(value)
    except Exception:
        return f"定时器表达式不是有效的 ISO 8601 {kind}: {value!r} / timer is not valid ISO 8601"
    return None


def _check_process(filename: str, tree, process, ctx: _Files, operators: set[str], roles: set[str]) -> list[FileError]:
    errors: list[FileError] = []

    def err(el, message):
        errors.append(FileError(filename, message, el.get("id"), el.sourceline))

    for lane in process.iterfind(".//bpmn:lane", NS):
        name = (lane.get("name") or "").strip()
        if name not in roles:
            err(lane, f"泳道 “{name or lane.get('id')}” 不是已知角色,请使用角色键(如 zsw_office、ndrc) / lane "
                      f"'{name}' names no known role")
    for task in process.iterfind(".//bpmn:serviceTask", NS):
        op = task.find("bpmn:extensionElements/spiffworkflow:serviceTaskOperator", NS)
        if op is None or not op.get("id"):
            err(task, f"服务任务 {task.get('id')} 没有指定处理器 operator / service task has no handler operator "
                      "(add spiffworkflow:serviceTaskOperator)")
        elif op.get("id") not in operators:
            err(task, f"服务任务 {task.get('id')} 的处理器 “{op.get('id')}” 未注册 / operator '{op.get('id')}' is "
                      "not registered")
        else:
            for param in op.iterfind(".//spiffworkflow:parameter", NS):
                problem = check_code(param.get("value") or "None", "eval")
                if problem:
                    err(task, f"参数 {param.get('id')} 表达式无效 / parameter expression invalid: {problem}")
    for kind in ("timeDuration", "timeDate", "timeCycle"):
        for node in process.iterfind(f".//bpmn:timerEventDefinition/bpmn:{kind}", NS):
            event = node.getparent().getparent()
            text = (node.text or "").strip()
            if not text:
                err(event, f"定时器 {event.get('id')} 没有时间表达式 / timer has no time expression")
                continue
            problem = check_code(text, "eval")
            if problem:
                err(event, f"定时器表达式无效 / timer expression invalid: {problem}")
                continue
            value = _literal(text)
            if value is None and re.fullmatch(r"[A-Z0-9:+\-/.TZ]+", text):
                err(event, f"定时器表达式 {text} 需要加引号(表达式按 Python 计算) / quote literal timer values: '{text}'")
            elif value is not None:
                problem = _check_timer_literal(kind, value)
                if problem:
                    err(event, problem)
    for timer in process.iterfind(".//bpmn:timerEventDefinition", NS):
        if len(timer) == 0 or all(not etree.QName(c).localname.startswith("time") for c in timer):
            event = timer.getparent()
            err(event, f"定时器 {event.get('id')} 没有时间表达式 / timer '{event.get('id')}' has no time expression")
    for cond in process.iterfind(".//bpmn:conditionExpression", NS):
        flow = cond.getparent()
        problem = check_code((cond.text or "").strip() or "True", "eval")
        if problem:
            err(flow, f"条件表达式无效 / condition invalid: {problem}")
    for script in process.iterfind(".//bpmn:scriptTask/bpmn:script", NS):
        problem = check_code(script.text or "", "exec")
        if problem:
            err(script.getparent(), f"脚本无效 / script refused: {problem}")
    for tag in ("preScript", "postScript"):
        for script in process.iterfind(f".//spiffworkflow:{tag}", NS):
            problem = check_code(script.text or "", "exec")
            if problem:
                err(script.getparent().getparent(), f"{tag} 无效 / {tag} refused: {problem}")
    for prop in process.iterfind(".//spiffworkflow:property", NS):
        if prop.get("name") in ("formJsonSchemaFilename", "formUiSchemaFilename"):
            ref = PurePosixPath(prop.get("value") or "").name
            owner = prop.getparent().getparent().getparent()
            if ref not in ctx.forms:
                err(owner, f"缺少表单文件 {ref} / missing form file '{ref}'")
    return errors


def _form_refs(tree) -> set[str]:
    refs = set()
    for prop in tree.getroot().iterfind(".//spiffworkflow:property", NS):
        if prop.get("name") in ("formJsonSchemaFilename", "formUiSchemaFilename"):
            refs.add(PurePosixPath(prop.get("value") or "").name)
    return refs


def _hash(files: dict[str, tuple[str, bytes]]) -> str:
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode())
        h.update(b"\0")
        h.update(hashlib.sha256(files[name][1]).digest())
    return h.hexdigest()


def compile_files(files: list[tuple[str, bytes]], operators: set[str], roles: set[str],
                  only_executable: bool = True) -> list[CompiledProcess]:
    ctx = _Files(files)
    errors = list(ctx.errors)
    parser = SpiffBpmnParser(validator=VALIDATOR)
    process_file: dict[str, str] = {}
    executable: list[tuple[str, str, str | None]] = []  # (pid, file, name)
    warnings: dict[str, list[FileError]] = {}
    for name, (content, tree) in list(ctx.bpmn.items()):  # Camunda / Zeebe / JUEL / FEEL → ours
        tree, issues = camunda.translate(tree, set(ctx.forms), operators, roles)
        ctx.bpmn[name] = (content, tree)
        for level, el, message in issues:
            found = FileError(name, message, el.get("id"), el.sourceline)
            proc = camunda._process_of(el)
            (errors if level == "error" else warnings.setdefault(proc.get("id") if proc is not None else "", []))\
                .append(found)
    bundle_pids = {p.get("id") for _c, t in ctx.bpmn.values() for p in t.getroot().iterfind("bpmn:process", NS)}
    for name, (_content, tree) in ctx.dmn.items():
        try:
            parser.add_dmn_xml(tree.getroot(), filename=name)
        except SpiffWorkflowException as exc:
            errors.append(FileError(name, _humanize(str(exc)), getattr(exc, "id", None) or None,
                                    getattr(exc, "line_number", None) or None))
        except Exception as exc:  # the DMN parser raises plain exceptions on bad tables
            errors.append(FileError(name, _humanize(f"{type(exc).__name__}: {exc}")))
    for name, (_content, tree) in ctx.bpmn.items():
        root = tree.getroot()
        if etree.QName(root).namespace != NS["bpmn"]:
            errors.append(FileError(name, "不是 BPMN 2.0 文件(根元素应为 bpmn:definitions) / not a BPMN 2.0 file",
                                    line=root.sourceline))
            continue
        processes = root.findall("bpmn:process", NS)
        found = False
        for proc in processes:
            pid = proc.get("id")
            if proc.get("isExecutable") == "true" or not only_executable:
                found = True
                executable.append((pid, name, proc.get("name")))
                process_file[pid] = name
                errors.extend(_check_process(name, tree, proc, ctx, operators, roles))
                found_w = warnings.setdefault(pid, [])
                lint_process(proc, bundle_pids,
                             lambda el, m, f=name: errors.append(FileError(f, m, el.get("id"), el.sourceline)),
                             lambda el, m, f=name, w=found_w: w.append(FileError(f, m, el.get("id"), el.sourceline)))
        if not found:
            first = processes[0] if processes else root
            errors.append(FileError(name, "没有可执行流程(请将流程的 isExecutable 设为 true) / no executable process "
                                          "(set isExecutable=\"true\" on the process)",
                                    first.get("id"), first.sourceline))
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
    if errors:
        raise BundleInvalid(errors, [w for ws in warnings.values() for w in ws])
    compiled = []
    for pid, name, pname in executable:
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
            continue
        except RecursionError:
            errors.append(FileError(name, "流程嵌套过深 / process nesting too deep", pid))
            continue
        except Exception as exc:
            errors.append(FileError(name, _humanize(f"{type(exc).__name__}: {exc}"), pid, _line(tree, pid)))
            continue
        used: dict[str, tuple[str, bytes]] = {name: ("bpmn", ctx.bpmn[name][0])}
        for sub in subs.values():
            sub_file = getattr(sub, "file", None)
            if sub_file and PurePosixPath(sub_file).name in ctx.bpmn:
                sub_name = PurePosixPath(sub_file).name
                used[sub_name] = ("bpmn", ctx.bpmn[sub_name][0])
        dmn_ids = set()
        for fname, _ in list(used.items()):
            for brt in ctx.bpmn[fname][1].getroot().iterfind(".//spiffworkflow:calledDecisionId", NS):
                dmn_ids.add((brt.text or "").strip())
        for dname, (content, dtree) in ctx.dmn.items():
            ids = {d.get("id") for d in dtree.getroot().iter("{*}decision")}
            if ids & dmn_ids:
                used[dname] = ("dmn", content)
        for fname in [f for f, (k, _) in used.items() if k == "bpmn"]:
            for ref in _form_refs(ctx.bpmn[fname][1]):
                if ref in ctx.forms:
                    used[ref] = ("form", ctx.forms[ref])
        timer_start, message_starts = _start_events(tree, pid)
        compiled.append(CompiledProcess(pid, pname, name, spec_json, SERIALIZER_VERSION, used, _hash(used),
                                        timer_start, message_starts, warnings.get(pid, [])))
    if errors:
        raise BundleInvalid(errors, [w for ws in warnings.values() for w in ws])
    return compiled


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
