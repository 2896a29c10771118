"""The structure rules of AGENTS.md that a reader cannot keep in their head.

- No module in `apps/` over 450 lines (migrations and demo data aside).
- No import cycle inside an app. Every import counts, also one inside a function (a lazy import hides a
  cycle from Python, not from a reader), except those under `if TYPE_CHECKING:`. An import names the most
  specific module it can: `from apps.x.services import audit` is `apps.x.services.audit` when that module
  exists, else the package `apps.x.services`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ROOT / "apps"
MAX_LINES = 450


def _is_exempt(path: Path) -> bool:
    parts = path.relative_to(APPS).parts
    return "migrations" in parts or "demo" in parts or path.stem == "demo"


def _modules() -> dict[str, Path]:
    modules = {}
    for path in sorted(APPS.rglob("*.py")):
        if "migrations" in path.relative_to(APPS).parts:
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


def _imported_names(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[str, list[str]]]:
    """(module named, names imported from it) for every import outside `if TYPE_CHECKING:`."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, base] if base else package)
            yield base, [alias.name for alias in node.names]
        stack.extend(ast.iter_child_nodes(node))


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of the same app it imports."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        app = ".".join(name.split(".")[:2])
        edges: set[str] = set()
        for base, names in _imported_names(ast.parse(path.read_text()), name, path.stem == "__init__"):
            targets = [f"{base}.{n}" for n in names if f"{base}.{n}" in modules] or [base]
            edges.update(t for t in targets if t in modules and t != name and (t == app or t.startswith(app + ".")))
        graph[name] = edges
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(cycles)


def test_no_module_in_apps_is_over_450_lines():
    # when
    too_long = {
        str(path.relative_to(ROOT)): n
        for path in APPS.rglob("*.py")
        if not _is_exempt(path) and (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    # then
    assert too_long == {}


def test_no_import_cycle_inside_an_app():
    assert import_cycles(import_graph()) == []


def test_the_cycle_finder_sees_a_lazy_import_cycle():
    # given services -> audit at the top, and tasks <-> services through an import inside a function
    graph = {"apps.x.services": {"apps.x.audit"}, "apps.x.audit": set(), "apps.x.tasks": {"apps.x.services"}}
    tree = ast.parse("def enqueue():\n    from apps.x.tasks import run\n")
    graph["apps.x.services"] |= {base for base, _ in _imported_names(tree, "apps.x.services", False)}
    # when
    cycles = import_cycles(graph)
    # then
    assert cycles == [["apps.x.services", "apps.x.tasks"]]
