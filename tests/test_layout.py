"""The package map holds: no import cycle, no layer importing a higher one, pure readers.

Every import counts, those inside functions and under ``TYPE_CHECKING`` too: a cycle
hidden in a function is still one a newcomer trips over.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "phasectl"

# Lowest first. A module may import its own layer and those below it, never above.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"errors", "patterns", "quoting", "fileio", "config"}),  # the frame
    frozenset({"model"}),
    frozenset({"repo"}),  # the one package that runs git
    frozenset({"readers"}),  # pure: a file in, model objects out
    frozenset({"runners"}),  # everything that starts a process
    frozenset({"store"}),
    frozenset({"collectors"}),  # orchestration only
    frozenset({"report"}),
    frozenset({"workflow", "ci"}),
    frozenset({"context", "commands", "cli", "__main__", "__init__"}),
)
READERS_MAY_IMPORT = frozenset({"errors", "model", "readers"})
MAX_MODULES = 12
MAX_LINES = 450


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts)] = path
    return found


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {
        name: {d for d in _imports(path) if d in modules and d != name}
        for name, path in modules.items()
    }


def _area(module: str) -> str:
    """``phasectl.repo.diff`` -> ``repo``; ``phasectl.config`` -> ``config``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _layer(module: str) -> int:
    area = _area(module)
    for number, members in enumerate(LAYERS):
        if area in members:
            return number
    raise AssertionError(f"{module}: its package {area!r} has no layer in tests/test_layout.py")


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_no_import_cycle() -> None:
    assert _cycles(_graph()) == []


def test_no_layer_imports_a_higher_one() -> None:
    wrong = [
        f"{module} imports {other}"
        for module, imports in _graph().items()
        for other in imports
        if _layer(other) > _layer(module)
    ]
    assert wrong == []


def test_readers_are_pure() -> None:
    """A reader never starts a process or reads git: it imports no runner, no repo, no
    subprocess."""
    wrong = []
    for module, path in _modules().items():
        if _area(module) != "readers":
            continue
        for name in _imports(path):
            if name.startswith("phasectl.") and _area(name) not in READERS_MAY_IMPORT:
                wrong.append(f"{module} imports {name}")
            if name.split(".")[0] in {"subprocess", "multiprocessing", "git"}:
                wrong.append(f"{module} imports {name}")
    assert wrong == []


@pytest.mark.parametrize(
    "package", sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())
)
def test_package_size(package: str) -> None:
    modules = [p for p in (PACKAGE / package).glob("*.py") if p.name != "__init__.py"]
    assert len(modules) <= MAX_MODULES, sorted(p.name for p in modules)


def test_module_size() -> None:
    long = {
        str(path.relative_to(PACKAGE)): lines
        for path in PACKAGE.rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
