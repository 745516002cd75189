"""The architecture, checked: data flows one way, with no import cycle, lazy imports included.

Every `import` and `from ... import` in planner/, pricing/ and stacks/ counts, wherever it sits
(module level or inside a function), so a cycle hidden by a function-level import fails too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("planner", "pricing", "stacks")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The project module `name` refers to (the longest known prefix), or None outside the project."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (a `from pkg import sub` of a submodule counts as sub)."""
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = module.split(".") if is_package else module.split(".")[:-1]
                    anchor = anchor[:len(anchor) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{alias.name}" for alias in node.names]
            for target in targets:
                resolved = _resolve(target, modules)
                # a module importing its own package's names goes through the package's __init__,
                # which Python has already started loading: not an edge
                if resolved and resolved != module and not module.startswith(resolved + "."):
                    graph[module].add(resolved)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_architecture_finds_a_planted_cycle():
    """The checker itself: a two-module cycle through a lazy import is found."""
    graph = {"planner.a": {"planner.b"}, "planner.b": {"planner.a"}, "planner.c": {"planner.a"}}
    assert cycles(graph) == [["planner.a", "planner.b"]]


def test_architecture_has_no_import_cycle():
    assert cycles(import_graph()) == []


def test_architecture_pricing_does_not_need_the_planner():
    graph = import_graph()
    offenders = {m: sorted(t for t in targets if t.split(".")[0] != "pricing")
                 for m, targets in graph.items() if m.split(".")[0] == "pricing"}
    assert {m: t for m, t in offenders.items() if t} == {}


def test_architecture_stacks_import_only_the_provisioning_spec_from_the_planner():
    graph = import_graph()
    allowed = {"planner.provision", "planner.errors"}
    offenders = {m: sorted(t for t in targets if t.startswith("planner") and t not in allowed)
                 for m, targets in graph.items() if m.startswith("stacks")}
    assert {m: t for m, t in offenders.items() if t} == {}


@pytest.mark.parametrize("upstream,downstream", [
    ("planner.plan", "planner.demand"), ("planner.demand", "planner.fleet"), ("planner.perf", "planner.fleet"),
    ("planner.fleet", "planner.forecast"), ("planner.forecast", "planner.report"),
    ("planner.forecast", "planner.provision"),
])
def test_architecture_data_flows_one_way(upstream, downstream):
    """No module of an upstream stage imports a downstream one."""
    graph = import_graph()
    back = sorted((m, t) for m, targets in graph.items() if m == upstream or m.startswith(upstream + ".")
                  for t in targets if t == downstream or t.startswith(downstream + "."))
    assert back == []
