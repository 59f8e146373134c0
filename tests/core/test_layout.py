"""The layout rules hold (docs: app/services/__init__.py, ARCHITECTURE-NOTES): a newcomer's map stays true."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(p for base in ("app", "handlers") for p in (ROOT / base).rglob("*.py")
                 if "migrations" not in p.parts)
# a group may import its own group and groups of a lower rank; siblings of one rank do not import each other
RANK = {"definitions": 0, "runtime": 1, "tasks": 2, "jobs": 2, "domain": 2, "reports": 3}
# documented call-time imports: deploy reads the registered call names, runtime loads the domain
# operators it dispatches to, the mail job hands over to domain.notifications
ALLOWED_CALL_TIME = {("definitions", "runtime"), ("runtime", "domain"), ("jobs", "domain")}


def _module(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    out = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


def test_no_module_is_longer_than_450_lines():
    long = {str(p.relative_to(ROOT)): n for p in SOURCES if (n := len(p.read_text().splitlines())) > 450}
    assert long == {}


def test_app_services_has_at_most_12_modules():
    entries = [p.name for p in (ROOT / "app" / "services").iterdir() if p.name != "__pycache__"]
    assert len(entries) <= 12, entries


def test_only_the_engine_imports_spiffworkflow():
    offenders = [str(p.relative_to(ROOT)) for p in SOURCES if "engine" not in p.parts
                 and any(i.split(".")[0] == "SpiffWorkflow" for i in _imports(p, top_level_only=False))]
    assert offenders == []


def test_views_do_not_import_models():
    offenders = [str(p.relative_to(ROOT)) for p in SOURCES if p.parts[-2] in ("web", "api")
                 and any(i.startswith("app.models") for i in _imports(p, top_level_only=False))]
    assert offenders == []


def test_service_groups_import_downward_only():
    wrong = []
    for p in SOURCES:
        parts = p.relative_to(ROOT).parts
        if parts[:2] != ("app", "services") or len(parts) < 4 or parts[2] not in RANK:
            continue
        group = parts[2]
        for name in _imports(p, top_level_only=False):
            bits = name.split(".")
            if bits[:2] != ["app", "services"] or len(bits) < 3 or bits[2] not in RANK or bits[2] == group:
                continue
            target = bits[2]
            if RANK[target] >= RANK[group] and (group, target) not in ALLOWED_CALL_TIME:
                wrong.append(f"{'/'.join(parts)} imports {name}")
    assert wrong == []


def test_no_module_level_import_cycle():
    modules = {_module(p): p for p in SOURCES}
    graph = {m: {i for i in _imports(p, top_level_only=True) if i in modules and i != m} for m, p in modules.items()}
    cycles, state = [], {}

    def visit(node, stack):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])
    # package __init__ files re-export their submodules; a cycle that passes through one is the
    # package being imported from inside, which Python resolves. Cycles of plain modules are real.
    real = [c for c in cycles if not any(modules[m].name == "__init__.py" for m in c)]
    assert real == []
