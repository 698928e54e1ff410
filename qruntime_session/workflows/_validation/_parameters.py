"""Parameter Objects, inline or ``$components.parameters`` references."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .._model import Parameter
from ._context import LOCATIONS, UNSET, Part, component_key, strings_in


class ParameterValidator(Part):
    """Checks and builds parameter lists (unique by name and location) and parameters."""

    def parameters(
        self, obj: Mapping[str, Any], path: str, *, workflow_step: bool | None = None
    ) -> tuple[Parameter, ...]:
        result: list[Parameter] = []
        seen: dict[tuple[str, str | None], str] = {}
        for index, raw in enumerate(self.listing(obj, "parameters", path)):
            where = f"{path}.parameters[{index}]"
            parameter = self.parameter_object(raw, where, allow_reference=True)
            if parameter is None:
                continue
            if workflow_step is False and parameter.location is None:
                self.problem(f"{where}.in", "is required on a step that targets an operation")
                continue
            identity = parameter.identity
            if identity in seen:
                self.problem(
                    where,
                    f"duplicate parameter {parameter.name!r} in {parameter.location} (also "
                    f"{seen[identity]})",
                )
                continue
            seen[identity] = where
            result.append(parameter)
        return tuple(result)

    def parameter_object(self, raw: Any, path: str, *, allow_reference: bool) -> Parameter | None:
        obj = self.mapping(raw, path)
        if obj is None:
            return None
        if "reference" in obj and allow_reference:
            reference = self.string(obj, "reference", path, required=True)
            if reference is None:
                return None
            key = component_key(reference, "parameters")
            if key is None:
                self.problem(f"{path}.reference", "must be $components.parameters.<key>")
                return None
            component = self.ctx.components.parameters.get(key)
            if component is None:
                self.problem(f"{path}.reference", f"unknown component parameter {key!r}")
                return None
            value = obj.get("value", UNSET)
            if value is not UNSET and isinstance(value, str):
                self.parse_string(value, f"{path}.value")
            return attrs.evolve(
                component,
                value=component.value if value is UNSET else value,
                where=f"{path} (via {reference})",
            )
        self.fields(obj, path, ("name", "in", "value"), ("name", "value"))
        name = self.string(obj, "name", path, required=True)
        location = self.string(obj, "in", path)
        if location is not None and location not in LOCATIONS:
            hint = (
                " ('body' was removed in Arazzo 1.0.1; use requestBody)"
                if location == "body"
                else ""
            )
            self.problem(f"{path}.in", f"must be one of path, query, header, cookie{hint}")
            return None
        if "value" not in obj or name is None:
            return None
        value = obj["value"]
        for where, text in strings_in(value, f"{path}.value"):
            self.parse_string(text, where)
        return Parameter(name=name, location=location, value=value, where=path)  # type: ignore[arg-type]
