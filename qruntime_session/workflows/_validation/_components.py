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
        obj = self.mapping(raw, "components")
        if obj is None:
            return Components()
        self.fields(obj, "components", ("inputs", "parameters", "successActions", "failureActions"))
        sections: dict[str, dict[str, Any]] = {}
        for section in ("inputs", "parameters", "successActions", "failureActions"):
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
        success: dict[str, Action] = {}
        for key, value in sections["successActions"].items():
            action = self.actions.action_object(
                value, f"components.successActions.{key}", failure=False
            )
            if action is not None:
                success[key] = action
        failure: dict[str, Action] = {}
        for key, value in sections["failureActions"].items():
            action = self.actions.action_object(
                value, f"components.failureActions.{key}", failure=True
            )
            if action is not None:
                failure[key] = action
        return Components(
            inputs=inputs,
            parameters=parameters,
            success_actions=success,
            failure_actions=failure,
            raw=obj,
        )
