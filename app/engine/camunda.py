"""Diagrams from Camunda Modeler (7 and 8 / Zeebe) and other modelers, made runnable at deploy.

``translate(tree, forms, operators, roles)`` works on a copy of the parsed BPMN (the stored file is the
original upload) and returns ``(tree, issues)`` where each issue is ``(level, element, message)``,
level ``"error"`` or ``"warning"``. What it does:

* Timer definitions: a bare ISO 8601 literal (``PT2H``, ``2027-01-01T09:00:00Z``, ``R3/PT1H``) is taken
  as the literal (quoted); ``${var}`` / ``#{var}`` / ``=var`` become the expression ``var``.
* Conditions: JUEL (``${...}`` / ``#{...}``) and simple FEEL (a Zeebe ``=...`` expression, or an
  expression whose ``language`` says feel) — comparisons, ``&&``/``and``, ``||``/``or``, ``!``/``not``,
  arithmetic, literals, variables and ``a.b`` paths, ``empty x`` — become Python expressions of the
  engine. Anything else (method calls, ``execution``, ...) is refused, naming the expression and
  the element.
* Assignment: ``camunda:candidateGroups`` and Zeebe's ``assignmentDefinition candidateGroups`` name
  roles: a group that is a role key (app/roles.py) puts the task in a lane of that role (a task
  already in a lane keeps its lane); another group is refused. ``camunda:assignee`` /
  Zeebe ``assignee`` with a literal user name assigns the task to that user;
  ``camunda:candidateUsers`` cannot be represented and gives a warning.
* Forms: ``camunda:formKey`` / ``camunda:formRef`` / Zeebe ``formDefinition`` naming a JSON Schema
  of the bundle becomes the task's form; otherwise the task becomes a "no form" task (plain
  confirmation) with a warning naming the key.
* External service tasks (``camunda:topic`` / Zeebe ``taskDefinition type``) naming a registered
  operator get that operator.
* Scripts in another language than Python are refused.
"""

from __future__ import annotations

import copy
import re
from pathlib import PurePosixPath

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
ZEEBE = "http://camunda.org/schema/zeebe/1.0"
NS = {"bpmn": BPMN, "spiffworkflow": SPIFF, "camunda": CAMUNDA, "zeebe": ZEEBE}

ISO_DURATION = re.compile(r"-?P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?")
ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?")
ISO_CYCLE = re.compile(r"R\d*/[^\s]+")


class Untranslatable(ValueError):
    pass


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def is_iso_literal(text: str) -> bool:
    return bool(ISO_DURATION.fullmatch(text) or ISO_DATETIME.fullmatch(text) or ISO_CYCLE.fullmatch(text))


# ------------------------------------------------------------------------------------ expressions
_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<number>\d+(\.\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<op>&&|\|\||==|!=|<=|>=|<|>|!|\(|\)|\+|-|\*|/|%|\.|=)
  | (?P<name>[A-Za-z_\u4e00-\u9fff][\w\u4e00-\u9fff]*)
  | (?P<bad>.)
""", re.VERBOSE)

_WORD_OPS = {"and": "and", "or": "or", "not": "not", "eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">",
             "ge": ">=", "div": "/", "mod": "%"}
_LITERALS = {"true": "True", "false": "False", "null": "None"}
_FORBIDDEN = {"execution", "task", "authorization", "environment", "java", "class", "import", "lambda"}


def _tokens(text: str) -> list[tuple[str, str]]:
    out = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        value = m.group(kind)
        if kind == "ws":
            continue
        if kind == "bad":
            raise Untranslatable(f"不支持的字符 {value!r}")
        if kind == "name" and value in _WORD_OPS:
            kind, value = "op", _WORD_OPS[value]
        out.append((kind, value))
    return out


class _Parser:
    """Recursive descent over the JUEL / simple-FEEL subset; emits Python source."""

    def __init__(self, text: str, feel: bool):
        self.toks = _tokens(text)
        self.i = 0
        self.feel = feel

    def peek(self, *values) -> bool:
        return self.i < len(self.toks) and self.toks[self.i][0] == "op" and self.toks[self.i][1] in values

    def take(self):
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def parse(self) -> str:
        if not self.toks:
            raise Untranslatable("表达式为空")
        out = self.or_()
        if self.i != len(self.toks):
            raise Untranslatable(f"无法理解 {self.toks[self.i][1]!r} 之后的内容")
        return out

    def or_(self):
        out = self.and_()
        while self.peek("||", "or"):
            self.take()
            out = f"{out} or {self.and_()}"
        return out

    def and_(self):
        out = self.not_()
        while self.peek("&&", "and"):
            self.take()
            out = f"{out} and {self.not_()}"
        return out

    def not_(self):
        if self.peek("!", "not"):
            self.take()
            return f"not {self.not_()}"
        return self.cmp()

    def cmp(self):
        left = self.add()
        ops = ("==", "!=", "<", "<=", ">", ">=") + (("=",) if self.feel else ())
        if self.peek(*ops):
            op = self.take()[1]
            op = "==" if op == "=" else op
            right = self.add()
            if self.peek(*ops):
                raise Untranslatable("不支持连续比较")
            return f"{left} {op} {right}"
        return left

    def add(self):
        out = self.mul()
        while self.peek("+", "-"):
            op = self.take()[1]
            out = f"{out} {op} {self.mul()}"
        return out

    def mul(self):
        out = self.unary()
        while self.peek("*", "/", "%"):
            op = self.take()[1]
            out = f"{out} {op} {self.unary()}"
        return out

    def unary(self):
        if self.peek("-"):
            self.take()
            return f"-{self.unary()}"
        if self.i < len(self.toks) and self.toks[self.i] == ("name", "empty"):
            self.take()
            return f"({self.unary()} in (None, '', [], {{}}))"
        return self.primary()

    def primary(self):
        if self.i >= len(self.toks):
            raise Untranslatable("表达式不完整")
        kind, value = self.take()
        if kind == "op" and value == "(":
            inner = self.or_()
            if not self.peek(")"):
                raise Untranslatable("括号不匹配")
            self.take()
            return f"({inner})"
        if kind == "number":
            return value
        if kind == "string":
            body = value[1:-1]
            return repr(re.sub(r"\\(.)", r"\1", body))
        if kind == "name":
            if value in _LITERALS:
                return _LITERALS[value]
            if value in _FORBIDDEN:
                raise Untranslatable(f"不支持 Camunda 引擎对象 {value}")
            out = value
            while self.peek("."):
                self.take()
                if self.i >= len(self.toks) or self.toks[self.i][0] != "name":
                    raise Untranslatable("“.” 之后应为属性名")
                out = f"{out}[{self.take()[1]!r}]"
            if self.peek("("):
                raise Untranslatable(f"不支持函数或方法调用 {value}(...)")
            return out
        raise Untranslatable(f"无法理解 {value!r}")


def translate_expression(text: str, feel: bool = False) -> str:
    """``${a > 1 && !b}`` → ``a > 1 and not b``; raises :class:`Untranslatable` with a Chinese reason."""
    text = text.strip()
    m = re.fullmatch(r"[$#]\{(.*)\}", text, re.DOTALL)
    if m:
        return _Parser(m.group(1), feel=False).parse()
    if text.startswith("="):
        return _Parser(text[1:], feel=True).parse()
    return _Parser(text, feel=feel).parse()


def looks_foreign(text: str) -> bool:
    text = text.strip()
    return bool(re.fullmatch(r"[$#]\{.*\}", text, re.DOTALL)) or text.startswith("=")


# ------------------------------------------------------------------------------------ tree rewrite
def _ext(el):
    ext = el.find(_q(BPMN, "extensionElements"))
    if ext is None:
        ext = etree.Element(_q(BPMN, "extensionElements"))
        # extensionElements comes right after documentation
        pos = 0
        for i, child in enumerate(el):
            if isinstance(child.tag, str) and etree.QName(child).localname == "documentation":
                pos = i + 1
        el.insert(pos, ext)
    return ext


def _set_property(el, name: str, value: str) -> None:
    ext = _ext(el)
    props = ext.find(_q(SPIFF, "properties"))
    if props is None:
        props = etree.SubElement(ext, _q(SPIFF, "properties"))
    for prop in props.iterfind(_q(SPIFF, "property")):
        if prop.get("name") == name:
            prop.set("value", value)
            return
    etree.SubElement(props, _q(SPIFF, "property"), name=name, value=value)


def _has_property(el, name: str) -> bool:
    return bool(el.xpath("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property[@name=$n]",
                         namespaces=NS, n=name))


def process_of(el):
    node = el.getparent()
    while node is not None and etree.QName(node).localname != "process":
        node = node.getparent()
    return node


_HEAD = {"documentation", "extensionElements", "auditing", "monitoring", "property"}


def _lane_for(process, role: str):
    lane_set = process.find(_q(BPMN, "laneSet"))
    if lane_set is None:
        lane_set = etree.Element(_q(BPMN, "laneSet"), id=f"{process.get('id')}_camunda_lanes")
        pos = 0
        for i, child in enumerate(process):
            if isinstance(child.tag, str) and etree.QName(child).localname in _HEAD:
                pos = i + 1
        process.insert(pos, lane_set)
    for lane in lane_set.iterfind(_q(BPMN, "lane")):
        if lane.get("name") == role:
            return lane
    return etree.SubElement(lane_set, _q(BPMN, "lane"), id=f"camunda_lane_{role}", name=role)


def _attr(el, ns: str, name: str) -> str | None:
    value = el.get(_q(ns, name))
    return value.strip() if value and value.strip() else None


def translate(tree, forms: set[str], operators: set[str], roles: set[str]):
    """Return ``(translated copy, issues)``; the input tree is not modified."""
    root = copy.deepcopy(tree.getroot())
    issues: list[tuple[str, object, str]] = []

    def error(el, message):
        issues.append(("error", el, message))

    def warning(el, message):
        issues.append(("warning", el, message))

    in_lane = {ref.text.strip() for ref in root.iter(_q(BPMN, "flowNodeRef")) if ref.text}
    _translate_timers(root, error)
    _translate_conditions(root, error)
    _check_scripts(root, error)
    for task in root.iter(_q(BPMN, "userTask")):
        _translate_assignment(task, roles, in_lane, error, warning)
        _translate_form_key(task, forms, warning)
    _translate_services(root, operators, error)
    return etree.ElementTree(root), issues


def _translate_timers(root, error) -> None:
    for kind in ("timeDuration", "timeDate", "timeCycle"):
        for node in root.iter(_q(BPMN, kind)):
            event = node.getparent().getparent()
            text = (node.text or "").strip()
            if not text:
                continue
            if is_iso_literal(text):
                node.text = f'"{text}"'
            elif looks_foreign(text):
                try:
                    node.text = translate_expression(text)
                except Untranslatable as exc:
                    error(event, f"定时器表达式 {text} 无法转换({exc}) / timer expression cannot be translated")


def _translate_conditions(root, error) -> None:
    for cond in root.iter(_q(BPMN, "conditionExpression"), _q(BPMN, "condition")):
        text = (cond.text or "").strip()
        owner = cond.getparent()
        if etree.QName(owner).localname == "conditionalEventDefinition":
            owner = owner.getparent()
        language = (cond.get("language") or "").lower()
        feel = "feel" in language
        if not text or not (looks_foreign(text) or feel or "juel" in language):
            continue
        try:
            cond.text = translate_expression(text, feel=feel)
            cond.attrib.pop("language", None)
        except Untranslatable as exc:
            error(owner, f"条件表达式 {text} 无法转换为本平台的表达式({exc}):元素 {owner.get('id')} / "
                         f"condition '{text}' of '{owner.get('id')}' cannot be translated")


def _check_scripts(root, error) -> None:
    for script_task in root.iter(_q(BPMN, "scriptTask")):
        fmt = (script_task.get("scriptFormat") or "python").strip().lower()
        if fmt not in ("python", "py", "text/x-python", "python3"):
            error(script_task, f"脚本任务 {script_task.get('id')} 使用 {fmt} 脚本,本平台只运行 Python / only Python "
                               f"scripts run (scriptFormat '{fmt}')")


def _translate_assignment(task, roles: set[str], in_lane: set[str], error, warning) -> None:
    tid = task.get("id")
    zassign = task.find("bpmn:extensionElements/zeebe:assignmentDefinition", NS)
    groups = _attr(task, CAMUNDA, "candidateGroups") or (zassign is not None and _attr(zassign, ZEEBE, "candidateGroups")) \
        or (zassign is not None and (zassign.get("candidateGroups") or "").strip()) or None
    assignee = _attr(task, CAMUNDA, "assignee") or \
        (zassign is not None and ((zassign.get("assignee") or "").strip() or None)) or None
    users = _attr(task, CAMUNDA, "candidateUsers") or \
        (zassign is not None and ((zassign.get("candidateUsers") or "").strip() or None)) or None
    if groups:
        _map_groups(task, tid, groups, roles, in_lane, error, warning)
    if assignee:
        if looks_foreign(assignee):
            warning(task, f"用户任务 {tid} 的办理人 {assignee} 是表达式,未映射;任务按泳道角色分配 / dynamic "
                          "assignee ignored")
        else:
            _set_property(task, "assignee", assignee)
    if users:
        warning(task, f"用户任务 {tid} 的候选用户 {users} 无法映射,请改用候选组(角色键) / candidate users are "
                      "not mapped; use candidate groups that are role keys")


def _map_groups(task, tid: str, groups: str, roles: set[str], in_lane: set[str], error, warning) -> None:
    if looks_foreign(groups):
        error(task, f"用户任务 {tid} 的候选组 {groups} 是表达式,无法映射到角色 / dynamic candidate groups "
                    "are not supported")
    else:
        names = [g.strip() for g in groups.strip("[]").replace('"', "").split(",") if g.strip()]
        unknown = [g for g in names if g not in roles]
        if unknown:
            error(task, f"用户任务 {tid} 的候选组 {', '.join(unknown)} 不是已知角色;候选组名必须是角色键"
                        f"(如 zsw_office、ndrc) / candidate group(s) {', '.join(unknown)} name no known role")
        elif tid in in_lane:
            warning(task, f"用户任务 {tid} 已在泳道中,候选组 {groups} 未使用(泳道优先) / the task's lane wins "
                          "over its candidate groups")
        else:
            process = process_of(task)
            if process is not None:
                lane = _lane_for(process, names[0])
                etree.SubElement(lane, _q(BPMN, "flowNodeRef")).text = tid
                in_lane.add(tid)
            if len(names) > 1:
                warning(task, f"用户任务 {tid} 有多个候选组 {groups},只使用第一个 {names[0]} / only the first "
                              "candidate group is used")


def _translate_form_key(task, forms: set[str], warning) -> None:
    tid = task.get("id")
    form_key = _attr(task, CAMUNDA, "formKey") or _attr(task, CAMUNDA, "formRef")
    zform = task.find("bpmn:extensionElements/zeebe:formDefinition", NS)
    if not form_key and zform is not None:
        form_key = (zform.get("formKey") or zform.get("formId") or "").strip() or None
    if form_key and not _has_property(task, "formJsonSchemaFilename"):
        name = PurePosixPath(form_key.split(":")[-1]).name
        candidates = [name, f"{name}.json", f"{PurePosixPath(name).stem}.json"]
        found = next((c for c in candidates if c in forms and not c.endswith("-uischema.json")), None)
        if found:
            _set_property(task, "formJsonSchemaFilename", found)
            ui = f"{PurePosixPath(found).stem}-uischema.json"
            if ui in forms:
                _set_property(task, "formUiSchemaFilename", ui)
        else:
            _set_property(task, "noForm", "true")
            warning(task, f"用户任务 {tid} 的表单 {form_key} 没有对应的 JSON Schema 文件,办理时只显示“确认办理”"
                          f"按钮;请上传 {PurePosixPath(name).stem}.json / form key '{form_key}' has no JSON Schema: "
                          "the task completes with a plain confirmation")


def _translate_services(root, operators: set[str], error) -> None:
    for task in root.iter(_q(BPMN, "serviceTask")):
        if task.find("bpmn:extensionElements/spiffworkflow:serviceTaskOperator", NS) is not None:
            continue
        ztype = task.find("bpmn:extensionElements/zeebe:taskDefinition", NS)
        topic = _attr(task, CAMUNDA, "topic") or (ztype is not None and (ztype.get("type") or "").strip()) or None
        other = _attr(task, CAMUNDA, "class") or _attr(task, CAMUNDA, "delegateExpression") or \
            _attr(task, CAMUNDA, "expression")
        if topic and topic in operators:
            etree.SubElement(_ext(task), _q(SPIFF, "serviceTaskOperator"), id=topic)
        elif topic or other:
            error(task, f"服务任务 {task.get('id')} 的 Camunda 实现 {topic or other} 不是已注册的处理器 / "
                        f"implementation '{topic or other}' is not a registered operator")
