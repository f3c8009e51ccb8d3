"""The package's layers, read from its source: every import (function-level ones included)
is walked, and the test fails on an import cycle, between modules or between the top-level
units (``mcirl.results`` and the ``mcirl.sweep`` package, say), or on a math module importing
orchestration. docs/development.md draws the map these rules keep."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

import mcirl

PACKAGE = Path(mcirl.__file__).parent

#: Pure functions of arrays: they may import each other and the base, nothing else.
MATH = ("kernels", "mdp", "solve", "learn", "ladder", "bounds", "stats", "sample", "estimate")
#: What every layer may use: errors, number formats and atomic files, the array backend, the
#: cached-kernel decorator, the version.
BASE = ("errors", "output", "backend", "jit", "_version")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path) -> dict[str, set[str]]:
    """module -> the package modules it imports anywhere in its source (functions included).
    ``from pkg import name`` counts as importing ``pkg.name`` where that is a module."""
    files = {module_name(p, root): p for p in root.rglob("*.py")}
    graph = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                target = ".".join(base + ([node.module] if node.module else []))
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    deps.add(sub if sub in files else target)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
        graph[name] = {d for d in deps if d in files and d != name}
    return graph


def unit(module: str) -> str:
    """The top-level unit a module belongs to: 'mcirl.sweep' for mcirl.sweep.plan."""
    return ".".join(module.split(".")[:2])


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan's algorithm)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def unit_graph(graph):
    """The graph between top-level units; the package root (whose names load lazily) is left
    out, as is a unit's use of itself."""
    out = {}
    for module, deps in graph.items():
        for dep in deps:
            if unit(dep) != unit(module) and unit(dep) != "mcirl":
                out.setdefault(unit(module), set()).add(unit(dep))
    return out


def layer_violations(graph) -> list[str]:
    """'math -> other' for every import by a math module of anything but math and the base."""
    allowed = {f"mcirl.{name}" for name in MATH + BASE} | {"mcirl"}
    return sorted(f"{module} -> {dep}" for module, deps in graph.items()
                  if unit(module) in {f"mcirl.{m}" for m in MATH}
                  for dep in deps if unit(dep) not in allowed)


def problems(root: Path) -> dict:
    graph = import_graph(root)
    return {"module cycles": cycles(graph), "unit cycles": cycles(unit_graph(graph)),
            "math importing orchestration": layer_violations(graph)}


def test_the_package_has_no_import_cycle_and_math_imports_no_orchestration():
    assert problems(PACKAGE) == {"module cycles": [], "unit cycles": [],
                                 "math importing orchestration": []}


def test_the_walk_sees_every_module():
    graph = import_graph(PACKAGE)
    assert {"mcirl.store.merge", "mcirl.sweep.runner", "mcirl.results", "mcirl.cli.sweep"} <= set(graph)
    assert "mcirl.store" in graph["mcirl.results"]  # a top-level import
    assert "mcirl.sweep.tasks" in graph["mcirl.sweep.runner"]  # one inside a function


@pytest.mark.parametrize("planted, found", [
    # results reading plan inside a function: the cycle results <-> sweep the issue found
    ("results.py", "unit cycles"),
    # the plan asking the runner, which imports the plan: a cycle inside one unit
    ("sweep/plan.py", "module cycles"),
    # a learner writing to the store
    ("learn/projection.py", "math importing orchestration"),
])
def test_planted_imports_are_caught(tmp_path, planted, found):
    copy = tmp_path / "mcirl"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / planted
    line = {"results.py": "    from .sweep.plan import cells\n",
            "sweep/plan.py": "    from .runner import drive_sweep\n",
            "learn/projection.py": "    from ..store import Store\n"}[planted]
    target.write_text(target.read_text() + f"\n\ndef _planted():\n{line}    return None\n")
    assert problems(copy)[found]
