"""Structural and reference validation of an Arazzo 1.0.x document, building the typed model.

Everything is checked before anything is sent, and every problem names its path
(``workflows[0].steps[2].operationId``). All problems are collected and reported together in
one ``DocumentError``. What is checked is listed in docs/workflows.md ("What is checked");
operation targets are resolved afterwards by ``_openapi``, which needs the source files.

One validator per kind of object, sharing one ``_context.Context``:
``_document`` (the root, and the order of everything), ``_sources``,
``_components``, ``_workflows``, ``_steps``, ``_parameters``,
``_actions``, ``_criteria``, and ``_references`` (expressions and ``dependsOn``).
"""

from __future__ import annotations

from ._context import qualified_reference, split_qualified
from ._document import build_document

__all__ = ["build_document", "qualified_reference", "split_qualified"]
