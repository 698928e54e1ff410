"""The package's shape, read from its source: no import cycle, no oversized class.

Imports are read from the AST of every module, wherever they stand: at module level, under
``if TYPE_CHECKING:``, inside a function. Importing ``a.b.c`` runs ``a/__init__`` and
``a/b/__init__`` first, so an import also depends on each package on the way down that does not
already contain the importing module (the top package is always being imported already).

The other one-way rules are checked where they were first written:
``tests/test_public_api.py::test_aiohttp_client_errors_are_caught_in_one_place`` (only the
transport sees aiohttp's errors) and
``tests/emulator/test_emu_requests.py::test_emulator_imports_nothing_else_from_the_package``
(the emulator imports nothing from the SDK); the graph test below adds the same emulator rule
from the import graph, function-local imports included.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "qruntime_session"
TOP = "qruntime_session"

#: Cycles other work is removing (each a sorted tuple of module names). The list may only
#: shrink: a cycle not listed fails the test, and a listed one that is gone fails it too.
KNOWN_CYCLES: frozenset[tuple[str, ...]] = frozenset()

#: Classes over MAX_CLASS_LINES that are being split elsewhere (workflows/, emulator/).
#: The list may only shrink, as above.
KNOWN_LONG_CLASSES: frozenset[str] = frozenset()

MAX_CLASS_LINES = 400


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_package(name: str, modules: dict[str, Path]) -> bool:
    return modules[name].name == "__init__.py"


def _targets(name: str, modules: dict[str, Path]) -> set[str]:
    """The package's modules that importing ``name`` runs, seen from a module outside them."""
    out: set[str] = set()
    parts = name.split(".")
    for end in range(2, len(parts) + 1):  # qruntime_session itself is always under way
        prefix = ".".join(parts[:end])
        if prefix in modules:
            out.add(prefix)
    return out


def imports_of(name: str, source: str, modules: dict[str, Path]) -> set[str]:
    """Modules of the package that module ``name`` imports, anywhere in its source."""
    package = name if _is_package(name, modules) else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == TOP or alias.name.startswith(TOP + "."):
                    found |= _targets(alias.name, modules)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                if node.level > 1:
                    base = base[: -(node.level - 1)]
                base_name = ".".join(base)
                module = f"{base_name}.{node.module}" if node.module else base_name
            else:
                module = node.module or ""
            if module != TOP and not module.startswith(TOP + "."):
                continue
            found |= _targets(module, modules)
            for alias in node.names:  # ``from . import errors`` imports a module
                child = f"{module}.{alias.name}"
                if child in modules:
                    found |= _targets(child, modules)
    # A module's own packages are already being imported when it runs.
    ancestors = {".".join(name.split(".")[:end]) for end in range(1, name.count(".") + 1)}
    return found - ancestors - {name}


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {
        name: imports_of(name, path.read_text(encoding="utf-8"), modules)
        for name, path in modules.items()
    }


def cycles(graph: dict[str, set[str]]) -> set[tuple[str, ...]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[tuple[str, ...]] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.add(tuple(sorted(component)))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def long_classes() -> dict[str, int]:
    out: dict[str, int] = {}
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                assert node.end_lineno is not None
                length = node.end_lineno - node.lineno + 1
                if length > MAX_CLASS_LINES:
                    out[f"{name}.{node.name}"] = length
    return out


def test_no_import_cycle_in_the_package() -> None:
    """No import cycle, TYPE_CHECKING and function-local imports included, beyond the known list."""
    found = cycles(import_graph())
    assert found - KNOWN_CYCLES == set(), "new import cycle(s)"
    assert KNOWN_CYCLES - found == set(), "a known cycle is gone: remove it from KNOWN_CYCLES"


def test_the_sdk_modules_form_no_cycle() -> None:
    """The SDK's own rooms (outside primitives/, workflows/, emulator/) are in no cycle at all."""
    sub = (f"{TOP}.primitives", f"{TOP}.workflows", f"{TOP}.emulator")
    for cycle in cycles(import_graph()):
        outside = [m for m in cycle if not m.startswith(sub)]
        assert outside == [], cycle


def test_the_sdk_depends_on_the_api_room_not_on_the_facade() -> None:
    """Sessions, jobs, waiting, submission recovery and backends never import the client façade."""
    graph = import_graph()
    for room in ("_session", "_submission", "_job", "_waiting", "_backends", "_api"):
        assert f"{TOP}._client" not in graph[f"{TOP}.{room}"], room
    assert f"{TOP}._api" in graph[f"{TOP}._session"]
    assert f"{TOP}._api" in graph[f"{TOP}._job"]


def test_the_emulator_reaches_nothing_outside_itself() -> None:
    """From the import graph: every module the emulator imports is in the emulator."""
    graph = import_graph()
    for name, targets in graph.items():
        if name.startswith(f"{TOP}.emulator"):
            escaping = {t for t in targets if not t.startswith(f"{TOP}.emulator")}
            assert escaping == set(), name


def test_no_class_is_longer_than_a_screenful_of_concerns() -> None:
    """No class over MAX_CLASS_LINES lines, beyond the known list (which may only shrink)."""
    found = long_classes()
    assert set(found) - KNOWN_LONG_CLASSES == set(), found
    assert KNOWN_LONG_CLASSES - set(found) == set(), "a known long class was split: unlist it"


@pytest.mark.parametrize(
    ("name", "source", "expected"),
    [
        # a function-local import counts like any other
        ("qruntime_session._job", "def f():\n    from ._session import S\n", {"_session"}),
        # so does one under TYPE_CHECKING
        (
            "qruntime_session._job",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import _client\n",
            {"_client"},
        ),
        # a submodule of a subpackage runs the subpackage's __init__ first
        (
            "qruntime_session._job",
            "from .primitives._decode import decode_primitive_result\n",
            {"primitives", "primitives._decode"},
        ),
        # inside the subpackage, its own __init__ is already under way
        ("qruntime_session.primitives._jobs", "from .._job import Job\n", {"_job"}),
        (
            "qruntime_session.primitives._jobs",
            "from ._bitarray import X\n",
            {"primitives._bitarray"},
        ),
        ("qruntime_session.primitives", "from .. import errors\n", {"errors"}),
        ("qruntime_session._job", "import qruntime_session.errors\nimport aiohttp\n", {"errors"}),
    ],
)
def test_the_import_reader(name: str, source: str, expected: set[str]) -> None:
    """The AST reader resolves relative, absolute, local and TYPE_CHECKING imports."""
    found = imports_of(name, source, _modules())
    assert found == {f"{TOP}.{m}" for m in expected}


def test_the_cycle_finder() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}}
    assert cycles(graph) == {("a", "b", "c")}
