"""The package's import graph: no circles, and stages import only what they may.

The graph is read from the source (ast), so an import inside a function counts as much as one at the
top of a module: hiding an import in a function does not break a circle, it only delays it."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "rft"


def _modules() -> dict[str, Path]:
    mods = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        mods[".".join(parts)] = path
    return mods


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:k]) for k in range(1, len(parts))]


def import_graph() -> dict[str, set[str]]:
    """module -> the rft modules it imports. Importing `a.b.c` also runs the packages `a.b` and `a`
    first: those count too, except the importer's own packages (already running when it runs)."""
    mods = _modules()

    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        own = set(_ancestors(mod)) | {mod}
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                names = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            else:
                continue
            for name in names:
                target = resolve(name) if name.split(".")[0] == "rft" else None
                if target is None or target == mod:
                    continue
                graph[mod].add(target)
                graph[mod].update(a for a in _ancestors(target) if a not in own)
    return graph


def test_the_graph_sees_function_level_imports():
    graph = import_graph()
    assert "rft.store.hf" in graph["rft.store.store"]  # imported inside Store.export only
    assert "rft.store" in graph["rft.problems.loader"]  # the package rft.store runs first


def test_no_import_circles():
    try:
        TopologicalSorter(import_graph()).prepare()
    except CycleError as exc:
        pytest.fail("import circle: " + " -> ".join(exc.args[1]))


def test_generate_imports_nothing_from_validate():
    graph = import_graph()
    wrong = sorted(
        f"{m} -> {t}"
        for m, targets in graph.items()
        if m == "rft.generate" or m.startswith("rft.generate.")
        for t in targets
        if t == "rft.validate" or t.startswith("rft.validate.")
    )
    assert not wrong, wrong
