"""Workflow Objects: ids, inputs schema (local ``$ref``s inlined), dependencies, steps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._expressions import unescape_token
from .._model import Action, Step, Workflow
from ._actions import ActionValidator
from ._context import ID, Context, Part, kind_of, split_qualified
from ._parameters import ParameterValidator
from ._steps import StepValidator


class WorkflowValidator(Part):
    """Checks and builds one Workflow Object and the targets its steps and actions name."""

    def __init__(
        self,
        ctx: Context,
        steps: StepValidator,
        parameters: ParameterValidator,
        actions: ActionValidator,
    ) -> None:
        super().__init__(ctx)
        self.steps = steps
        self.parameters = parameters
        self.actions = actions

    def workflow(self, raw: Any, path: str) -> Workflow | None:
        obj = self.checked_object(
            raw,
            path,
            (
                "workflowId",
                "summary",
                "description",
                "inputs",
                "dependsOn",
                "steps",
                "successActions",
                "failureActions",
                "outputs",
                "parameters",
            ),
            ("workflowId", "steps"),
        )
        if obj is None:
            return None
        workflow_id = self.string(obj, "workflowId", path, required=True)
        if workflow_id is not None and workflow_id and not ID.fullmatch(workflow_id):
            self.warnings.append(f"{path}.workflowId: should match [A-Za-z0-9_-]+")
        inputs = self._inputs_schema(obj["inputs"], f"{path}.inputs") if "inputs" in obj else None
        depends_on: list[str] = []
        for index, dep in enumerate(self.listing(obj, "dependsOn", path)):
            if isinstance(dep, str):
                if dep in depends_on:
                    self.problem(f"{path}.dependsOn[{index}]", f"duplicate dependency {dep!r}")
                depends_on.append(dep)
            else:
                self.problem(f"{path}.dependsOn[{index}]", f"must be a string, not {kind_of(dep)}")
        success_actions = self.actions.actions(obj, "successActions", path, failure=False)
        failure_actions = self.actions.actions(obj, "failureActions", path, failure=True)
        parameters = self.parameters.parameters(obj, path)
        outputs = self.outputs(obj, path)
        steps: list[Step] = []
        seen: set[str] = set()
        for index, raw_step in enumerate(self.listing(obj, "steps", path, non_empty=True)):
            step = self.steps.step(raw_step, f"{path}.steps[{index}]")
            if step is None:
                continue
            if step.step_id in seen:
                self.problem(f"{path}.steps[{index}].stepId", f"duplicate stepId {step.step_id!r}")
                continue
            seen.add(step.step_id)
            steps.append(step)
        if workflow_id is None:
            return None
        workflow = Workflow(
            workflow_id=workflow_id,
            summary=self.string(obj, "summary", path),
            description=self.string(obj, "description", path),
            inputs=inputs,
            depends_on=tuple(depends_on),
            steps=tuple(steps),
            success_actions=success_actions,
            failure_actions=failure_actions,
            outputs=outputs,
            parameters=parameters,
            where=path,
        )
        self._check_targets(workflow)
        operation_steps = [s.step_id for s in steps if s.workflow_id is None]
        for parameter in parameters:
            if parameter.location is None and operation_steps:
                self.problem(
                    f"{parameter.where}.in",
                    f"is required: step {operation_steps[0]!r} targets an operation",
                )
        return workflow

    def _inputs_schema(self, raw: Any, path: str) -> Mapping[str, Any] | None:
        schema = self.mapping(raw, path)
        if schema is None:
            return None
        resolved = self._dereference(schema, path, ())
        if isinstance(resolved, dict) and resolved.get("type", "object") != "object":
            self.problem(path, "a workflow's inputs schema must describe an object")
        return resolved if isinstance(resolved, dict) else None

    def _dereference(self, value: Any, path: str, active: tuple[str, ...]) -> Any:
        """Inline local ``$ref``s (``#/components/inputs/x``) so the schema stands alone."""
        if isinstance(value, list):
            return [self._dereference(item, f"{path}[{i}]", active) for i, item in enumerate(value)]
        if not isinstance(value, dict):
            return value
        if "$ref" in value and isinstance(value["$ref"], str):
            ref = value["$ref"]
            if not ref.startswith("#/"):
                self.problem(
                    f"{path}.$ref",
                    f"only references inside this document are supported, not {ref!r}",
                )
                return {}
            if ref in active:
                self.problem(f"{path}.$ref", f"recursive reference {ref!r} is not supported")
                return {}
            target: Any = self.ctx.data
            for token in ref[2:].split("/"):
                token = unescape_token(token)
                if isinstance(target, dict) and token in target:
                    target = target[token]
                else:
                    self.problem(f"{path}.$ref", f"{ref!r} does not resolve")
                    return {}
            resolved = self._dereference(target, path, (*active, ref))
            extra = {k: v for k, v in value.items() if k != "$ref"}
            if extra and isinstance(resolved, dict):
                return {**resolved, **self._dereference(extra, path, active)}
            return resolved
        return {
            key: self._dereference(item, f"{path}.{key}", active) for key, item in value.items()
        }

    def _check_targets(self, workflow: Workflow) -> None:
        step_ids = {step.step_id for step in workflow.steps}
        for step in workflow.steps:
            if step.workflow_id is not None:
                self.check_workflow_target(step.workflow_id, f"{step.where}.workflowId")
                if step.workflow_id == workflow.workflow_id:
                    self.warnings.append(f"{step.where}.workflowId: the workflow calls itself")
            if step.operation_id is not None and step.operation_id.startswith("$"):
                qualified = split_qualified(step.operation_id)
                if qualified is None:
                    self.problem(
                        f"{step.where}.operationId",
                        "a qualified operationId is $sourceDescriptions.<name>.<operationId>",
                    )
                elif qualified[0] not in self.ctx.source_names:
                    self.problem(
                        f"{step.where}.operationId", f"unknown source description {qualified[0]!r}"
                    )
        actions: list[Action] = [*workflow.success_actions, *workflow.failure_actions]
        for step in workflow.steps:
            actions.extend(step.on_success)
            actions.extend(step.on_failure)
        for action in actions:
            if action.step_id is not None and action.step_id not in step_ids:
                self.problem(
                    f"{action.where}.stepId",
                    f"unknown stepId {action.step_id!r} in workflow {workflow.workflow_id!r}",
                )
            if action.workflow_id is not None:
                self.check_workflow_target(action.workflow_id, f"{action.where}.workflowId")
