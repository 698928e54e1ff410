"""Every public name (what the API reference shows) has a docstring of its own."""

from __future__ import annotations

import enum
import importlib
import inspect
from typing import Any

import pytest

PUBLIC_MODULES = [
    "qruntime_session",
    "qruntime_session.errors",
    "qruntime_session.testing",
    "qruntime_session.emulator",
    "qruntime_session.workflows",
    "qruntime_session.pytest_plugin",
]


def _own_doc(obj: Any) -> str | None:
    if inspect.isclass(obj):
        doc = obj.__dict__.get("__doc__")
        return doc if isinstance(doc, str) else None
    return inspect.getdoc(obj)


def _members(cls: type) -> list[tuple[str, Any]]:
    """Public methods and properties defined by the class itself (not inherited)."""
    found = []
    for name, value in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(value, staticmethod | classmethod):
            value = value.__func__
        if isinstance(value, property) or inspect.isfunction(value):
            found.append((name, value))
    return found


def _undocumented(module_name: str) -> list[str]:
    module = importlib.import_module(module_name)
    missing = []
    if not inspect.getdoc(module):
        missing.append(module_name)
    for name in module.__all__:
        obj = getattr(module, name)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue  # constants and submodules: described in the module docstring or docs
        if not _own_doc(obj):
            missing.append(f"{module_name}.{name}")
        if inspect.isclass(obj) and not issubclass(obj, enum.Enum):
            for member, value in _members(obj):
                doc = value.__doc__ if not isinstance(value, property) else value.fget.__doc__
                if not doc:
                    missing.append(f"{module_name}.{name}.{member}")
    return missing


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_public_name_has_a_docstring(module_name: str) -> None:
    assert _undocumented(module_name) == []
