"""Criterion Objects: ``condition``, ``context`` and ``type`` (simple, regex, jsonpath)."""

from __future__ import annotations

import re
from typing import Any

from .._criteria import parse_condition
from .._errors import ExpressionError
from .._expressions import parse_expression, parse_template
from .._model import Criterion
from ._context import Part, kind_of


class CriterionValidator(Part):
    """Checks and builds Criterion Objects."""

    def criterion(self, raw: Any, path: str) -> Criterion | None:
        obj = self.checked_object(raw, path, ("condition", "context", "type"), ("condition",))
        if obj is None:
            return None
        condition = self.string(obj, "condition", path, required=True)
        context = self.string(obj, "context", path, required=True)
        kind: str = "simple"
        version: str | None = None
        if "type" in obj:
            raw_type = obj["type"]
            if isinstance(raw_type, dict):
                self.fields(raw_type, f"{path}.type", ("type", "version"), ("type", "version"))
                declared = raw_type.get("type")
                kind = declared if isinstance(declared, str) else ""
                version = (
                    raw_type.get("version") if isinstance(raw_type.get("version"), str) else None
                )
                if kind not in ("jsonpath", "xpath"):
                    self.problem(f"{path}.type.type", "must be 'jsonpath' or 'xpath'")
                    return None
            elif isinstance(raw_type, str):
                kind = raw_type
            else:
                self.problem(
                    f"{path}.type", f"must be a string or an object, not {kind_of(raw_type)}"
                )
                return None
            if kind not in ("simple", "regex", "jsonpath", "xpath"):
                self.problem(
                    f"{path}.type", f"must be simple, regex, jsonpath or xpath, not {kind!r}"
                )
                return None
            if context is None:
                self.problem(f"{path}.context", f"is required when type is given ({kind})")
        if kind == "xpath":
            self.problem(f"{path}.type", "xpath criteria are not supported by this executor")
        if kind == "jsonpath" and version is not None:
            self.problem(
                f"{path}.type.version",
                f"JSONPath version {version!r} is not supported; only RFC 9535 (omit the version)",
            )
        if condition is None:
            return None
        if context is not None:
            try:
                parse_expression(context)
            except ExpressionError as exc:
                self.problem(f"{path}.context", f"must be a runtime expression: {exc}")
        if kind == "simple":
            try:
                parsed = parse_condition(condition)
            except ExpressionError as exc:
                self.warnings.append(f"{path}.condition: {exc} (the criterion will always fail)")
            else:
                if parsed.braced:
                    self.warnings.append(
                        f"{path}.condition: written in braces {{…}}; evaluated without them"
                    )
        elif kind == "regex":
            try:
                re.compile(condition)
            except re.error as exc:
                self.warnings.append(
                    f"{path}.condition: invalid regular expression ({exc}); the criterion will "
                    "always fail"
                )
        elif kind == "jsonpath":
            try:
                parse_template(condition, bare=False)
            except ExpressionError as exc:
                self.problem(f"{path}.condition", str(exc))
        return Criterion(
            condition=condition,
            context=context,
            type=kind,  # type: ignore[arg-type]
            version=version,
            where=path,
        )
