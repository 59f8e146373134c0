"""Restricted script environment and the app's script engine (rule 9).

Scripts, gateway conditions, timer expressions and service-task parameters are Python evaluated
over task data. They are compiled with RestrictedPython (no imports, no dunder/underscore attribute
access, guarded item access and writes) and run under a wall-clock budget enforced by a trace
function, so ``while True: pass`` ends with a clear error instead of hanging a worker.

A trace function only runs between Python lines, so C-level work is bounded by what a script may
build (bounded builtins, ``BoundedPolicy``): ``range`` and sequence repetition at most ``MAX_ITEMS``
elements, integers at most ``MAX_INT_BITS`` bits (``*``, ``**``, ``pow``, ``<<``), string padding and
format widths at most ``MAX_ITEMS``, ``join`` results at most ``MAX_ITEMS`` characters; the budget also
watches the process's resident memory (``MEMORY_BUDGET_BYTES`` growth) every few hundred lines.
Measured in docs/ARCHITECTURE-NOTES.md "Script budget".
"""

from __future__ import annotations

import ast
import datetime as dt
import decimal
import json
import math
import operator
import os
import re
import sys
import time
from functools import lru_cache

from RestrictedPython import (
    RestrictingNodeTransformer,
    compile_restricted_eval,
    compile_restricted_exec,
    limited_builtins,
    safe_builtins,
)
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

from app import clock


class ScriptTimeout(Exception):
    pass


class ScriptRejected(Exception):
    """Code refused by the restricted compiler (imports, dunder access, syntax)."""


class ScriptTooBig(Exception):
    """A script tried to build something beyond the bounds (a huge range, string, list or integer)."""


MAX_ITEMS = 1_000_000  # elements of a range / repeated sequence, characters of a padded or joined string
MAX_INT_BITS = 100_000  # about 30,000 decimal digits
MEMORY_BUDGET_BYTES = 256 * 1024 * 1024  # resident-memory growth allowed during one script
_SEQUENCES = (str, bytes, list, tuple)


def _too_big(what: str) -> ScriptTooBig:
    return ScriptTooBig(f"脚本试图构造过大的{what}(上限 {MAX_ITEMS:,} 个元素 / {MAX_INT_BITS:,} 位)/ script tried "
                        f"to build a {what} beyond the limits")


def _bits(x) -> int:
    return x.bit_length() if isinstance(x, int) else 0


def _mul(a, b):
    ta, tb = type(a), type(b)
    if ta is int and tb is int:  # the common case first
        if a.bit_length() + b.bit_length() > MAX_INT_BITS:
            raise _too_big("整数 / integer")
        return a * b
    if ta is float or tb is float:
        return a * b
    for seq, n in ((a, b), (b, a)):
        if isinstance(seq, _SEQUENCES) and isinstance(n, int) and len(seq) * max(n, 0) > MAX_ITEMS:
            raise _too_big("序列 / sequence")
    if isinstance(a, int) and isinstance(b, int) and _bits(a) + _bits(b) > MAX_INT_BITS:
        raise _too_big("整数 / integer")
    return a * b


def _pow(a, b, mod=None):
    if mod is None and isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1 \
            and _bits(a) * b > MAX_INT_BITS:
        raise _too_big("整数 / integer")
    return pow(a, b) if mod is None else pow(a, b, mod)


def _lshift(a, b):
    if isinstance(a, int) and isinstance(b, int) and a and _bits(a) + b > MAX_INT_BITS:
        raise _too_big("整数 / integer")
    return a << b


_WIDTH = re.compile(r"\d{7,}|\*")


def _mod(a, b):
    if isinstance(a, str | bytes) and _WIDTH.search(a if isinstance(a, str) else a.decode("latin-1")):
        raise _too_big("字符串 / string")
    return a % b


def _range(*args):
    r = range(*args)
    if len(r) > MAX_ITEMS:
        raise _too_big("范围 / range")
    return r


_BINOPS = {ast.Mult: "_mul_", ast.Pow: "_pow_", ast.LShift: "_lshift_", ast.Mod: "_mod_"}


class BoundedPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy, with ``*``, ``**``, ``<<`` and ``%`` routed through bounded functions and
    format specs in f-strings limited to literal widths below ``MAX_ITEMS``."""

    def visit_BinOp(self, node):
        node = self.node_contents_visit(node)
        name = _BINOPS.get(type(node.op))
        if name is None:
            return node
        call = ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=[node.left, node.right], keywords=[])
        return ast.fix_missing_locations(ast.copy_location(call, node))

    def visit_FormattedValue(self, node):
        spec = node.format_spec
        if spec is not None:
            parts = spec.values if isinstance(spec, ast.JoinedStr) else [spec]
            for part in parts:
                if not (isinstance(part, ast.Constant) and isinstance(part.value, str)) or _WIDTH.search(part.value):
                    self.error(node, "格式宽度必须是小于 1000000 的常量 / format widths must be small constants")
        return self.node_contents_visit(node)


_INPLACE = {"+=": operator.add, "-=": operator.sub, "*=": _mul, "/=": operator.truediv,
            "//=": operator.floordiv, "%=": _mod, "**=": _pow, "|=": operator.or_, "&=": operator.and_,
            "<<=": _lshift}


def _inplacevar(op, x, y):
    fn = _INPLACE.get(op)
    if fn is None:
        raise ScriptRejected(f"不支持的运算 / unsupported operator {op}")
    return fn(x, y)


_PADDING = {"ljust", "rjust", "center", "zfill", "expandtabs"}


def _bounded_pad(obj, method):
    def pad(width=8, *args):
        if isinstance(width, int) and width > MAX_ITEMS:
            raise _too_big("字符串 / string")
        return method(width, *args)
    return pad


def _bounded_join(obj, method):
    def join(items):
        items = list(_iter_bounded(items))
        if sum(len(i) if isinstance(i, str | bytes) else 0 for i in items) + len(obj) * len(items) > MAX_ITEMS:
            raise _too_big("字符串 / string")
        return method(items)
    return join


def _bounded_replace(obj, method):
    def replace(old, new, count=-1):
        hits = obj.count(old) if old else len(obj) + 1
        if count >= 0:
            hits = min(hits, count)
        if len(obj) + hits * max(0, len(new) - len(old)) > MAX_ITEMS:
            raise _too_big("字符串 / string")
        return method(old, new, count)
    return replace


def _bounded_format(obj, method):
    if _WIDTH.search(obj if isinstance(obj, str) else ""):
        raise _too_big("字符串 / string")
    return method


_BOUNDED = {"join": _bounded_join, "replace": _bounded_replace, "format": _bounded_format,
            "format_map": _bounded_format}


def _bounded_str_method(obj, name, method):
    wrap = _bounded_pad if name in _PADDING else _BOUNDED.get(name)
    return wrap(obj, method) if wrap else method


def _iter_bounded(items):
    for n, item in enumerate(items):
        if n >= MAX_ITEMS:
            raise _too_big("序列 / sequence")
        yield item


def _getattr(obj, name, default=None):
    value = safer_getattr(obj, name, default)
    if isinstance(obj, str | bytes) and callable(value):
        return _bounded_str_method(obj, name, value)
    return value


def _app_now():
    return clock.now()


def _today():
    return clock.now().astimezone(dt.timezone(dt.timedelta(hours=8))).date()


def _add_days(date_text: str, days: int) -> str:
    return (dt.date.fromisoformat(str(date_text)[:10]) + dt.timedelta(days=int(days))).isoformat()


SAFE_HELPERS = {
    "now": _app_now,
    "today": _today,
    "add_days": _add_days,
    "json_dumps": json.dumps,
    "json_loads": json.loads,
    "Decimal": decimal.Decimal,
    "floor": math.floor,
    "ceil": math.ceil,
    "datetime": dt.datetime,
    "date": dt.date,
    "timedelta": dt.timedelta,
}


def _builtins() -> dict:
    b = dict(safe_builtins)
    b.update(limited_builtins)
    for name in ("sum", "min", "max", "sorted", "any", "all", "enumerate", "map", "filter", "reversed",
                 "dict", "list", "set", "tuple", "abs", "round", "len", "zip", "str", "int",
                 "float", "bool", "isinstance"):
        b[name] = __builtins__[name] if isinstance(__builtins__, dict) else getattr(__builtins__, name)
    b["range"] = _range
    b["pow"] = _pow
    return b


BUILTINS = _builtins()


def restricted_globals() -> dict:
    return {
        "__builtins__": BUILTINS,
        "_getattr_": _getattr,
        "_mul_": _mul,
        "_pow_": _pow,
        "_lshift_": _lshift,
        "_mod_": _mod,
        "_getitem_": default_guarded_getitem,
        "_getiter_": default_guarded_getiter,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence,
        "_write_": full_write_guard,
        "_inplacevar_": _inplacevar,
        "_print_": None,
    }


_GUARD_NAMES = set(restricted_globals())


def _refuse_imports(source: str, mode: str) -> None:
    tree = ast.parse(source, mode=mode)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            raise ScriptRejected(f"第 {node.lineno} 行:脚本中不允许 import,请使用平台提供的函数 / line {node.lineno}: "
                                 "import is not allowed in scripts")
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("__"):
            raise ScriptRejected(f"第 {node.lineno} 行:不允许访问双下划线名称 / line {node.lineno}: dunder names are "
                                 "not allowed")


@lru_cache(maxsize=8192)
def _compile(source: str, mode: str):
    _refuse_imports(source, mode)
    if mode == "eval":
        result = compile_restricted_eval(source, "<expression>", policy=BoundedPolicy)
    else:
        result = compile_restricted_exec(source, "<string>", policy=BoundedPolicy)
    if result.errors:
        raise ScriptRejected("; ".join(result.errors))
    return result.code


def compile_expression(expression: str):
    return _compile(expression, "eval")


def compile_script(script: str):
    return _compile(script, "exec")


def check_code(text: str, mode: str) -> str | None:
    """Return a human error message when ``text`` would be refused, else None (deploy-time check)."""
    try:
        _compile(text, mode)
    except ScriptRejected as exc:
        return str(exc)
    except SyntaxError as exc:
        return f"语法错误 / syntax error: {exc.msg} (line {exc.lineno})"
    return None


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _resident_bytes() -> int:
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


class _Budget:
    """Wall-clock budget enforced with a trace function (per thread); every 256 trace events it also
    checks that resident memory has not grown by more than ``MEMORY_BUDGET_BYTES``."""

    def __init__(self, seconds: float):
        self.deadline = time.monotonic() + seconds

    def __enter__(self):
        self.previous = sys.gettrace()
        start = _resident_bytes()
        limit = start + MEMORY_BUDGET_BYTES if start else 0
        events = [0]

        def tracer(frame, event, arg):
            if event == "call" and frame.f_code.co_filename == __file__:
                return None  # our bounded helpers: checked at their call, not line by line
            if time.monotonic() > self.deadline:
                raise ScriptTimeout("脚本运行超时 / script exceeded its time limit")
            events[0] += 1
            if limit and not events[0] & 255 and _resident_bytes() > limit:
                raise ScriptTooBig(f"脚本占用内存超过 {MEMORY_BUDGET_BYTES // 2**20} MB / script exceeded its "
                                   "memory budget")
            return tracer

        sys.settrace(tracer)
        return self

    def __exit__(self, *exc):
        sys.settrace(self.previous)
        return False


class RestrictedEnvironment(TaskDataEnvironment):
    """TaskDataEnvironment with restricted compilation and a time budget."""

    def __init__(self, helpers: dict | None = None, timeout: float = 2.0, services=None):
        super().__init__({**SAFE_HELPERS, **(helpers or {})})
        self.timeout = timeout
        self.services = services  # callable(operation_name, params, task_data) -> JSON-able
        self.current_element: str | None = None

    def evaluate(self, expression, context, external_context=None):
        code = compile_expression(expression)
        scope = restricted_globals()
        scope.update(self.globals)
        scope.update(external_context or {})
        scope.update(context)
        with _Budget(self.timeout):
            return eval(code, scope)

    def execute(self, script, context, external_context=None):
        self.check_for_overwrite(context, external_context or {})
        code = compile_script(script)
        scope = restricted_globals()
        scope.update(self.globals)
        scope.update(external_context or {})
        context.update(scope)
        try:
            with _Budget(self.timeout):
                exec(code, context)
        finally:
            for key in list(context):
                if key in _GUARD_NAMES or key == "__builtins__" or key in self.globals or callable(context[key]) \
                        or (external_context and key in external_context):
                    context.pop(key, None)
        return True

    def call_service(self, context, operation_name=None, operation_params=None, **kwargs):
        params = {k: v["value"] for k, v in (operation_params or {}).items()}
        result = self.services(operation_name, params, context)
        return json.dumps(result, default=str, ensure_ascii=False)


class AppScriptEngine(PythonScriptEngine):
    """Surfaces handler exceptions as themselves (3.2.0 masks them as NameError 'script')."""

    def call_service(self, task, **kwargs):
        self.environment.current_element = task.task_spec.bpmn_id
        try:
            return self.environment.call_service(task.data, **kwargs)
        except Exception as exc:
            name = kwargs.get("operation_name")
            err = WorkflowTaskException(f"服务 {name} 执行失败 / service '{name}' failed: {exc}", task=task, exception=exc)
            err.original = exc
            raise err from exc
