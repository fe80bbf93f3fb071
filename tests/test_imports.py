"""No import cycles in the project: every project-internal import, type-only ones included.

The graph is read from the source (AST), not from ``sys.modules``, so imports under
``if TYPE_CHECKING:`` and imports inside functions count as edges too: a cycle hidden in either
still ties the modules together for a reader and for a type checker. An edge goes to the module
named; ``from pkg import name`` goes to ``pkg.name`` when that is a module, else to ``pkg``
(as import-linter's grimp reads it: a package's ``__init__`` is not an implicit parent of every
import below it). ``importlib.import_module("literal")`` counts as an import.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("resnet_core", "webui")  # webui/: where present


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    """Module name -> file for resnet_core, webui, pages/ and the top-level modules (app.py, ui.py, ...)."""
    files = [p for pkg in PACKAGES if (ROOT / pkg).is_dir() for p in (ROOT / pkg).rglob("*.py")]
    files += sorted((ROOT / "pages").glob("*.py")) + sorted(ROOT.glob("*.py"))
    return {_module_name(p): p for p in files}


def _resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module an ``from ... import`` names, relative levels resolved."""
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Project modules that ``name`` imports anywhere in its source."""
    found: set[str] = set()

    def add(target: str) -> None:
        # ``import a.b.c`` of a module we have, or the nearest enclosing one we have
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(name, path.name == "__init__.py", node)
            for alias in node.names:
                sub = f"{base}.{alias.name}" if base else alias.name
                add(sub if sub in modules else base)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            add(node.args[0].value)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def tangles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan): each holds a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return components


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per tangle, as a path a -> ... -> a."""
    return [_cycle_in(graph, component) for component in tangles(graph)]


def _cycle_in(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest path from the component's first module back to itself, inside the component."""
    start = min(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & component):
                if w == start:
                    return paths[v] + [start]
                if w not in paths:
                    paths[w] = paths[v] + [w]
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"no cycle through {start} in {component}")  # a component always has one


def test_the_graph_sees_every_kind_of_import() -> None:
    graph = import_graph()
    assert "resnet_core.models" in graph["resnet_core"]  # under TYPE_CHECKING and via import_module
    assert "resnet_core.cli.main" in graph["resnet_core.__main__"]
    assert "resnet_core.train" in graph["resnet_core.cli.train"]  # inside a function
    assert "resnet_core.cli.common" in graph["resnet_core.cli.insight"]  # inside a function
    assert "webui.shell" in graph["app"] and "resnet_core.classify" in graph["pages.4_Classify"]  # the app is in the graph


def test_find_cycles_reports_a_path_round_each_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}, "f": {"g"}, "g": {"f"}}
    assert find_cycles(graph) == [["a", "b", "c", "a"], ["f", "g", "f"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles() -> None:
    graph = import_graph()
    found = [f"{' -> '.join(_cycle_in(graph, t))}  (tangled: {', '.join(sorted(t))})" for t in tangles(graph)]
    assert not found, "import cycles:\n" + "\n".join(found)
