"""griffe extension: readable defaults for attrs fields in the API reference.

``griffe_fieldz`` turns an attrs class's fields into the rows of its Parameters table, and shows
each default as ``repr(default)``, calling a default factory to get one. For some fields that
is wrong or leaks: a random token of the emulator would be printed (a new one on each build),
``<function sleep at 0x…>`` carries a memory address, ``dict`` shows as ``<class 'dict'>``.
This extension runs after it (once the object tree is complete) and shows instead:

- ``Timeouts()`` for a factory that is a class;
- ``<computed>`` for a factory that takes the instance, ``<factory>`` for any other;
- ``asyncio.sleep`` for a function default (top-level package and qualified name).

``griffe_fieldz`` also takes a factory's own docstring as the description of a field described
nowhere else (``dict``'s "dict() -> new empty dictionary…" for ``attrs.field(factory=dict)``);
such a description is dropped, so the field reads as undescribed (and the docstring test says
so) rather than described by something else.
"""

from __future__ import annotations

import inspect
from typing import Any

import attrs
import griffe


def _shown(default: Any) -> str | None:
    factory = getattr(default, "factory", None)  # an attrs.Factory
    if factory is not None:
        if getattr(default, "takes_self", False):
            return "<computed>"
        if isinstance(factory, type):
            return f"{factory.__name__}()"
        return "<factory>"
    if callable(default) and hasattr(default, "__qualname__"):
        package = str(getattr(default, "__module__", "")).partition(".")[0]
        return f"{package}.{default.__qualname__}" if package else default.__qualname__
    return None


class AttrsDefaults(griffe.Extension):
    """Replace the Parameters-table defaults of attrs fields that ``repr`` shows badly."""

    def on_class(self, *, cls: griffe.Class, **kwargs: Any) -> None:
        """Rewrite the defaults of ``cls``'s Parameters rows when it is an attrs class.

        Args:
            cls: A class of the loaded package.
            **kwargs: Other event data (unused).
        """
        if cls.docstring is None:
            return
        try:
            runtime = griffe.dynamic_import(cls.path)
        except ImportError:
            return
        if not (isinstance(runtime, type) and attrs.has(runtime)):
            return
        fields = {field.alias: field for field in attrs.fields(runtime)}
        for section in cls.docstring.parsed:
            if not isinstance(section, griffe.DocstringSectionParameters):
                continue
            for parameter in section.value:
                field = fields.get(parameter.name)
                if field is None:
                    continue
                shown = _shown(field.default)
                if shown is not None:
                    parameter.value = shown
                factory_doc = getattr(getattr(field.default, "factory", None), "__doc__", None)
                if factory_doc and parameter.description == inspect.cleandoc(factory_doc):
                    parameter.description = ""
