"""The executor never evaluates document text as code: no eval/exec anywhere (AST scan)."""

from __future__ import annotations

import ast
from pathlib import Path

import qruntime_session.workflows

FORBIDDEN = {"eval", "exec", "compile", "__import__"}
PACKAGE = Path(qruntime_session.workflows.__file__).parent


def forbidden_calls(source: str) -> list[str]:
    """Calls to eval/exec/compile/__import__ (as names or builtins.<name>)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in FORBIDDEN:
            found.append(f"{func.id}() at line {node.lineno}")
        if (
            isinstance(func, ast.Attribute)
            and func.attr in FORBIDDEN
            and isinstance(func.value, ast.Name)
            and func.value.id == "builtins"
        ):
            found.append(f"builtins.{func.attr}() at line {node.lineno}")
    return found


def test_scanner_detects_eval() -> None:
    """The scan itself finds eval, exec and builtins.eval (so the real check can fail)."""
    sample = "import builtins\neval('1')\nexec('x=1')\nbuiltins.eval('2')\nre.compile('x')\n"
    assert forbidden_calls(sample) == [
        "eval() at line 2",
        "exec() at line 3",
        "builtins.eval() at line 4",
    ]


def test_no_eval_or_exec_in_the_package() -> None:
    """No module of qruntime_session.workflows calls eval, exec, compile or __import__."""
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) >= 10
    offenders = {
        path.name: calls
        for path in modules
        if (calls := forbidden_calls(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}
