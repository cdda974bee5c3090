"""The house's shape, checked: the engine stands alone, no import loops, no reaching into privates.

These are the layout rules of ``docs/architecture.md``: ``inflamed.stats`` is the statistics engine
and imports nothing from the rest of :mod:`inflamed`; no module imports a sibling's private
(underscore) name; the module import graph has no cycles (function-local imports included, since
they hide loops rather than remove them).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "inflamed"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[str, list[str], int]]:
    """Every ``inflamed`` import in a module: (module, imported names, line), anywhere in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "inflamed" or node.module.startswith("inflamed."):
                found.append((node.module, [a.name for a in node.names], node.lineno))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("inflamed"):
                    found.append((alias.name, [], node.lineno))
    return found


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("inflamed.stats")))
def test_engine_imports_nothing_outside_the_engine(name):
    outside = [
        f"line {line}: {module}"
        for module, _, line in _imports(MODULES[name])
        if not (module == "inflamed.stats" or module.startswith("inflamed.stats."))
    ]
    assert not outside, f"{name} imports from outside inflamed.stats: {outside}"


def test_no_module_imports_a_private_name_of_another_module():
    offences = []
    for name, path in MODULES.items():
        for module, names, line in _imports(path):
            if module == name:
                continue
            offences += [
                f"{name}:{line} imports {module}.{n}"
                for n in names
                if n.startswith("_") and not n.endswith("__")  # dunders (__version__) are public
            ]
    assert not offences, offences


def _resolve(module: str, names: list[str]) -> set[str]:
    """Modules an import statement loads (``from pkg import submodule`` loads the submodule)."""
    targets = {module} if module in MODULES else set()
    targets |= {f"{module}.{n}" for n in names if f"{module}.{n}" in MODULES}
    return targets


def test_the_module_import_graph_has_no_cycles():
    graph = {
        name: {t for m, names, _ in _imports(path) for t in _resolve(m, names) if t != name}
        for name, path in MODULES.items()
    }
    # A package's __init__ re-exporting its submodules is not a loop: drop package -> child edges.
    for name in graph:
        graph[name] = {t for t in graph[name] if not t.startswith(name + ".")}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            pytest.fail("import cycle: " + " -> ".join(cycle))
