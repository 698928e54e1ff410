"""The Components Object: reusable inputs, parameters and actions."""

from __future__ import annotations

from typing import Any

from .._model import Action, Components, Parameter
from ._actions import ActionValidator
from ._context import KEY, Context, Part
from ._parameters import ParameterValidator


class ComponentsValidator(Part):
    """Checks and builds the Components Object (its keys, and each component)."""

    def __init__(
        self, ctx: Context, parameters: ParameterValidator, actions: ActionValidator
    ) -> None:
        super().__init__(ctx)
        self.parameters = parameters
        self.actions = actions

    def components(self, raw: Any) -> Components:
        names = ("inputs", "parameters", "successActions", "failureActions")
        obj = self.checked_object(raw, "components", names)
        if obj is None:
            return Components()
        sections: dict[str, dict[str, Any]] = {}
        for section in names:
            if section not in obj:
                sections[section] = {}
                continue
            value = self.mapping(obj[section], f"components.{section}")
            sections[section] = value or {}
            for key in sections[section]:
                if not KEY.fullmatch(key):
                    self.problem(
                        f"components.{section}.{key}",
                        "component keys must match ^[a-zA-Z0-9.\\-_]+$",
                    )
        inputs: dict[str, Any] = {}
        for key, schema in sections["inputs"].items():
            path = f"components.inputs.{key}"
            if self.mapping(schema, path) is not None:
                inputs[key] = schema
        parameters: dict[str, Parameter] = {}
        for key, value in sections["parameters"].items():
            parameter = self.parameters.parameter_object(
                value, f"components.parameters.{key}", allow_reference=False
            )
            if parameter is not None:
                parameters[key] = parameter
        success = self._actions(sections, "successActions", failure=False)
        failure = self._actions(sections, "failureActions", failure=True)
        return Components(
            inputs=inputs,
            parameters=parameters,
            success_actions=success,
            failure_actions=failure,
            raw=obj,
        )

    def _actions(
        self, sections: dict[str, dict[str, Any]], section: str, *, failure: bool
    ) -> dict[str, Action]:
        """The valid actions of ``components.successActions`` or ``.failureActions``."""
        actions: dict[str, Action] = {}
        for key, value in sections[section].items():
            action = self.actions.action_object(
                value, f"components.{section}.{key}", failure=failure
            )
            if action is not None:
                actions[key] = action
        return actions
