"""Deploy-time checks of a set of BPMN/DMN/form files (rules 3, 9, 10), before and beside parsing.

:class:`UploadedFiles` sorts an upload by kind and checks sizes, XML safety and form schemas;
:func:`check_process` checks one ``bpmn:process`` for what the parser lets through (lanes, operators,
timer expressions, code, form references). Every problem is a :class:`FileError` naming file,
element id, line and a message (Chinese first); :mod:`app.engine.compile` raises them together.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

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
    "readOnly", "multipleOf", "$defs", "dependentRequired", "if", "then", "else", "allOf", "not",
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


class UploadedFiles:
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


def check_process(filename: str, tree, process, ctx: UploadedFiles, operators: set[str], roles: set[str]) -> list[FileError]:
    """Everything SpiffWorkflow's parser does not check but running would trip over (rule 3)."""
    errors: list[FileError] = []

    def err(el, message):
        errors.append(FileError(filename, message, el.get("id"), el.sourceline))

    _check_lanes(process, roles, err)
    _check_service_tasks(process, operators, err)
    _check_timer_expressions(process, err)
    _check_code(process, err)
    _check_form_files(process, ctx, err)
    return errors


def _check_lanes(process, roles: set[str], err) -> None:
    for lane in process.iterfind(".//bpmn:lane", NS):
        name = (lane.get("name") or "").strip()
        if name not in roles:
            err(lane, f"泳道 “{name or lane.get('id')}” 不是已知角色,请使用角色键(如 zsw_office、ndrc) / lane "
                      f"'{name}' names no known role")


def _check_service_tasks(process, operators: set[str], err) -> None:
    for task in process.iterfind(".//bpmn:serviceTask", NS):
        op = task.find("bpmn:extensionElements/spiffworkflow:serviceTaskOperator", NS)
        if op is None or not op.get("id"):
            err(task, f"服务任务 {task.get('id')} 没有指定处理器 operator / service task has no handler operator "
                      "(add spiffworkflow:serviceTaskOperator)")
            continue
        if op.get("id") not in operators:
            err(task, f"服务任务 {task.get('id')} 的处理器 “{op.get('id')}” 未注册 / operator '{op.get('id')}' is "
                      "not registered")
            continue
        for param in op.iterfind(".//spiffworkflow:parameter", NS):
            problem = check_code(param.get("value") or "None", "eval")
            if problem:
                err(task, f"参数 {param.get('id')} 表达式无效 / parameter expression invalid: {problem}")


def _timer_problem(kind: str, text: str) -> str | None:
    if not text:
        return None
    problem = check_code(text, "eval")
    if problem:
        return f"定时器表达式无效 / timer expression invalid: {problem}"
    value = _literal(text)
    if value is None and re.fullmatch(r"[A-Z0-9:+\-/.TZ]+", text):
        return f"定时器表达式 {text} 需要加引号(表达式按 Python 计算) / quote literal timer values: '{text}'"
    if value is not None:
        return _check_timer_literal(kind, value)
    return None


def _check_timer_expressions(process, err) -> None:
    for kind in ("timeDuration", "timeDate", "timeCycle"):
        for node in process.iterfind(f".//bpmn:timerEventDefinition/bpmn:{kind}", NS):
            event = node.getparent().getparent()
            text = (node.text or "").strip()
            if not text:
                err(event, f"定时器 {event.get('id')} 没有时间表达式 / timer has no time expression")
                continue
            problem = _timer_problem(kind, text)
            if problem:
                err(event, problem)
    for timer in process.iterfind(".//bpmn:timerEventDefinition", NS):
        if len(timer) == 0 or all(not etree.QName(c).localname.startswith("time") for c in timer):
            event = timer.getparent()
            err(event, f"定时器 {event.get('id')} 没有时间表达式 / timer '{event.get('id')}' has no time expression")


def _check_code(process, err) -> None:
    for cond in process.iterfind(".//bpmn:conditionExpression", NS):
        problem = check_code((cond.text or "").strip() or "True", "eval")
        if problem:
            err(cond.getparent(), f"条件表达式无效 / condition invalid: {problem}")
    for script in process.iterfind(".//bpmn:scriptTask/bpmn:script", NS):
        problem = check_code(script.text or "", "exec")
        if problem:
            err(script.getparent(), f"脚本无效 / script refused: {problem}")
    for tag in ("preScript", "postScript"):
        for script in process.iterfind(f".//spiffworkflow:{tag}", NS):
            problem = check_code(script.text or "", "exec")
            if problem:
                err(script.getparent().getparent(), f"{tag} 无效 / {tag} refused: {problem}")


def _check_form_files(process, ctx: UploadedFiles, err) -> None:
    for prop in process.iterfind(".//spiffworkflow:property", NS):
        if prop.get("name") in ("formJsonSchemaFilename", "formUiSchemaFilename"):
            ref = PurePosixPath(prop.get("value") or "").name
            owner = prop.getparent().getparent().getparent()
            if ref not in ctx.forms:
                err(owner, f"缺少表单文件 {ref} / missing form file '{ref}'")


def form_refs(tree) -> set[str]:
    """Form files a BPMN document references."""
    refs = set()
    for prop in tree.getroot().iterfind(".//spiffworkflow:property", NS):
        if prop.get("name") in ("formJsonSchemaFilename", "formUiSchemaFilename"):
            refs.add(PurePosixPath(prop.get("value") or "").name)
    return refs
