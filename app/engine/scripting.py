"""Restricted script environment and the app's script engine (rule 9).

Scripts, gateway conditions, timer expressions and service-task parameters are Python evaluated
over task data. They are compiled with RestrictedPython (no imports, no dunder/underscore attribute
access, guarded item access and writes) and run under a wall-clock budget enforced by a trace
function, so ``while True: pass`` ends with a clear error instead of hanging a worker.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import sys
import time
from functools import lru_cache

from RestrictedPython import compile_restricted_eval, compile_restricted_exec, limited_builtins, safe_builtins
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


def _inplacevar(op, x, y):
    ops = {"+=": lambda a, b: a + b, "-=": lambda a, b: a - b, "*=": lambda a, b: a * b,
           "/=": lambda a, b: a / b, "//=": lambda a, b: a // b, "%=": lambda a, b: a % b,
           "**=": lambda a, b: a ** b, "|=": lambda a, b: a | b, "&=": lambda a, b: a & b}
    if op not in ops:
        raise ScriptRejected(f"不支持的运算 / unsupported operator {op}")
    return ops[op](x, y)


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
                 "dict", "list", "set", "tuple", "abs", "round", "len", "range", "zip", "str", "int",
                 "float", "bool", "isinstance"):
        b[name] = __builtins__[name] if isinstance(__builtins__, dict) else getattr(__builtins__, name)
    return b


BUILTINS = _builtins()


def restricted_globals() -> dict:
    return {
        "__builtins__": BUILTINS,
        "_getattr_": safer_getattr,
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
    import ast

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
        result = compile_restricted_eval(source, "<expression>")
    else:
        result = compile_restricted_exec(source, "<string>")
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


class _Budget:
    """Wall-clock budget enforced with a trace function (per thread)."""

    def __init__(self, seconds: float):
        self.deadline = time.monotonic() + seconds

    def __enter__(self):
        self.previous = sys.gettrace()

        def tracer(frame, event, arg):
            if time.monotonic() > self.deadline:
                raise ScriptTimeout("脚本运行超时 / script exceeded its time limit")
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
