"""The dependency rule: imports flow one way between emulpickle's packages.

cli -> scanner / unpickler -> registry / emulators -> machine -> errors,
limits; ``formats`` sits below all. Read from each module's source (its AST),
so a violation fails here even if it happens to import fine.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

import emulpickle

ROOT = Path(emulpickle.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = ["emulpickle", *path.relative_to(ROOT).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


#: Every module of the package, by name, and its source file.
MODULES = {_module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def _layer(module: str) -> str:
    """The concern a module belongs to (its package, or what it re-exports)."""
    parts = module.split(".")
    name = parts[1] if len(parts) > 1 else ""
    if name in ("machine", "emulators", "scanner", "cli", "formats"):
        return name
    if name in ("stdlib", "defaults"):
        return "emulators"  # a re-export of emulators/, and where they meet
    if name == "scan" or name.startswith("_scan_"):
        return "scanner"
    if name == "__main__" or name.startswith("_cli_"):
        return "cli"
    return name


def _imports(module: str, node: ast.AST, *, nested: bool) -> Iterator[tuple[str, bool]]:
    """``(imported module, at module level)`` for each import below ``node``.

    Module level includes ``if TYPE_CHECKING:`` blocks (a cycle there is a
    cycle for the type checker and mypyc) and class bodies; function bodies
    are not module level.
    """
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import):
            for alias in child.names:
                yield alias.name, not nested
        elif isinstance(child, ast.ImportFrom):
            base = child.module or ""
            if child.level:
                parts = package.split(".")
                parts = parts[: len(parts) - child.level + 1]
                base = ".".join([*parts, base] if base else parts)
            for alias in child.names:
                name = f"{base}.{alias.name}"
                yield (name if name in MODULES else base), not nested
        else:
            inner = nested or isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
            )
            yield from _imports(module, child, nested=inner)


def imports_of(module: str) -> list[tuple[str, bool]]:
    """The emulpickle modules ``module`` imports (and whether at module level)."""
    tree = ast.parse(MODULES[module].read_text("utf-8"))
    return [
        (target, top)
        for target, top in _imports(module, tree, nested=False)
        if target.split(".")[0] == "emulpickle" and target != module
    ]


#: What each layer may not import, at module level or inside a function.
FORBIDDEN = {
    "machine": {"emulators", "registry", "unpickler", "scanner", "cli", "guard"},
    "emulators": {"unpickler", "scanner", "cli", "guard"},
    "registry": {"unpickler", "scanner", "cli", "guard"},
    # The guard sits above the loaders it routes to: nothing below imports it.
    "unpickler": {"guard"},
    "scanner": {"guard"},
    "files": {"guard"},
}


@pytest.mark.parametrize("module", sorted(set(MODULES) - {"emulpickle.__main__"}))
def test_every_module_imports(module: str) -> None:
    importlib.import_module(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_flow_one_way(module: str) -> None:
    layer = _layer(module)
    targets = {target for target, _ in imports_of(module)}
    if layer == "formats":
        outside = {t for t in targets if _layer(t) != "formats"}
        assert not outside, f"formats must import nothing else of emulpickle: {outside}"
    banned = FORBIDDEN.get(layer, set())
    wrong = sorted(t for t in targets if _layer(t) in banned)
    assert not wrong, f"{module} ({layer}) imports {wrong}"


def _graph() -> dict[str, set[str]]:
    """Module-level imports; importing ``a.b.c`` from outside ``a.b`` also
    runs ``a/b/__init__`` (but not the root package's, which re-exports all)."""
    graph: dict[str, set[str]] = {}
    for module in MODULES:
        edges = graph.setdefault(module, set())
        for target, top in imports_of(module):
            if not top:
                continue
            edges.add(target)
            parts = target.split(".")
            for i in range(2, len(parts)):
                parent = ".".join(parts[:i])
                inside = module == parent or module.startswith(parent + ".")
                if parent in MODULES and not inside:
                    edges.add(parent)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle in ``graph`` (as a path back to its start), or None."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(node: str) -> list[str] | None:
        path.append(node)
        on_path.add(node)
        for target in sorted(graph.get(node, ())):
            if target in on_path:
                return [*path[path.index(target) :], target]
            if target not in done:
                found = visit(target)
                if found is not None:
                    return found
        path.pop()
        on_path.discard(node)
        done.add(node)
        return None

    for start in sorted(graph):
        if start not in done:
            found = visit(start)
            if found is not None:
                return found
    return None


def test_no_import_cycles() -> None:
    cycle = find_cycle(_graph())
    assert cycle is None, " -> ".join(cycle or [])


def test_the_checks_can_fail() -> None:
    """The helpers see a cycle and a layer violation when there is one."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    assert _layer("emulpickle.machine.vm") == "machine"
    assert "registry" in FORBIDDEN["machine"]
