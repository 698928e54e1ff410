"""Cross-references: runtime expressions against what they name, and ``dependsOn`` cycles."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import attrs

from .._criteria import parse_condition
from .._errors import ExpressionError
from .._expressions import (
    Component,
    Expr,
    Inputs,
    Outputs,
    Request,
    Response,
    Scalar,
    SourceRef,
    StepOutput,
    WorkflowRef,
    expressions_in,
    parse_expression,
)
from .._model import ArazzoDocument, Criterion, Step, Workflow
from ._context import Part, qualified_reference


@attrs.define
class _Usage:
    """Where an expression was found and what kind of field holds it."""

    path: str
    kind: str  # "parameter", "body", "criterion", "step-output", "workflow-output", "target"
    workflow_step: bool = False  # the field belongs to a step that targets a workflow


class ReferenceValidator(Part):
    """Checks every runtime expression of a built document, and its dependency graph."""

    def check_dependencies(self, document: ArazzoDocument) -> None:
        graph: dict[str, list[str]] = {}
        for workflow in document.workflows:
            graph[workflow.workflow_id] = []
            for index, dependency in enumerate(workflow.depends_on):
                path = f"{workflow.where}.dependsOn[{index}]"
                if dependency == workflow.workflow_id:
                    self.problem(path, "a workflow cannot depend on itself")
                    continue
                self.check_workflow_target(dependency, path)
                if not qualified_reference(dependency):
                    graph[workflow.workflow_id].append(dependency)
        state: dict[str, int] = {}

        def visit(node: str, trail: list[str]) -> None:
            state[node] = 1
            for nxt in graph.get(node, []):
                if state.get(nxt) == 1:
                    cycle = " -> ".join([*trail[trail.index(nxt) :], nxt]) if nxt in trail else nxt
                    where = document.workflow(node).where
                    self.problem(f"{where}.dependsOn", f"dependency cycle: {cycle}")
                elif nxt in graph and state.get(nxt) is None:
                    visit(nxt, [*trail, nxt])
            state[node] = 2

        for node in graph:
            if state.get(node) is None:
                visit(node, [node])

    def check_references(self, document: ArazzoDocument) -> None:
        for workflow in document.workflows:
            for expr, usage in self._expressions(document, workflow):
                self._check_expression(document, workflow, expr, usage)

    def _expressions(
        self, document: ArazzoDocument, workflow: Workflow
    ) -> Iterator[tuple[Expr, _Usage]]:
        def strings(value: Any, usage: _Usage) -> Iterator[tuple[Expr, _Usage]]:
            try:
                for expr in expressions_in(value):
                    yield expr, usage
            except ExpressionError:
                return  # reported when the field was built

        def criteria(
            items: Iterable[Criterion], workflow_step: bool
        ) -> Iterator[tuple[Expr, _Usage]]:
            for criterion in items:
                usage = _Usage(criterion.where, "criterion", workflow_step)
                if criterion.context is not None:
                    context = _parse_or_none(criterion.context)
                    if context is not None:
                        yield context, usage
                if criterion.type == "simple":
                    try:
                        parsed = parse_condition(criterion.condition)
                    except ExpressionError:
                        continue
                    for operand in parsed.operands():
                        yield operand.expr, usage
                elif criterion.type == "jsonpath":
                    yield from strings(criterion.condition, usage)

        for parameter in workflow.parameters:
            yield from strings(parameter.value, _Usage(parameter.where, "parameter"))
        for action in (*workflow.success_actions, *workflow.failure_actions):
            yield from criteria(action.criteria, False)
        for name, value in workflow.outputs.items():
            yield from strings(value, _Usage(f"{workflow.where}.outputs.{name}", "workflow-output"))
        for step in workflow.steps:
            calls_workflow = step.workflow_id is not None
            for parameter in step.parameters:
                yield from strings(
                    parameter.value, _Usage(parameter.where, "parameter", calls_workflow)
                )
            if step.request_body is not None:
                body = step.request_body
                yield from strings(body.payload, _Usage(f"{body.where}.payload", "body"))
                for replacement in body.replacements:
                    yield from strings(replacement.value, _Usage(replacement.where, "body"))
            yield from criteria(step.success_criteria, calls_workflow)
            for action in (*step.on_success, *step.on_failure):
                yield from criteria(action.criteria, calls_workflow)
            for name, value in step.outputs.items():
                yield from strings(
                    value, _Usage(f"{step.where}.outputs.{name}", "step-output", calls_workflow)
                )

    def _check_expression(
        self, document: ArazzoDocument, workflow: Workflow, expr: Expr, usage: _Usage
    ) -> None:
        path = usage.path
        if isinstance(expr, Scalar | Request | Response):
            if usage.kind in ("parameter", "body"):
                self.problem(path, f"{expr.text} is not available before the request is sent")
            return
        if isinstance(expr, StepOutput):
            try:
                step = workflow.step(expr.step_id)
            except KeyError:
                self.problem(
                    path,
                    f"{expr.text}: unknown stepId {expr.step_id!r} in workflow "
                    f"{workflow.workflow_id!r}",
                )
                return
            if expr.name not in step.outputs:
                self.problem(
                    path, f"{expr.text}: step {expr.step_id!r} has no output {expr.name!r}"
                )
            return
        if isinstance(expr, Inputs):
            names = _input_names(workflow.inputs)
            if workflow.inputs is None:
                self.problem(
                    path, f"{expr.text}: workflow {workflow.workflow_id!r} declares no inputs"
                )
            elif names is not None and expr.name not in names:
                self.problem(
                    path,
                    f"{expr.text}: workflow {workflow.workflow_id!r} has no input {expr.name!r}",
                )
            return
        if isinstance(expr, Outputs):
            if usage.kind == "workflow-output":
                if expr.name not in workflow.outputs:
                    self.problem(
                        path,
                        f"{expr.text}: workflow {workflow.workflow_id!r} has no output "
                        f"{expr.name!r}",
                    )
            elif usage.workflow_step and usage.kind in ("step-output", "criterion"):
                caller = _step_of(workflow, path)
                child = _local_workflow(document, caller.workflow_id) if caller else None
                if child is not None and expr.name not in child.outputs:
                    self.problem(
                        path,
                        f"{expr.text}: workflow {child.workflow_id!r} has no output {expr.name!r}",
                    )
            else:
                self.problem(
                    path,
                    f"{expr.text}: $outputs is only defined in workflow outputs and in steps "
                    "that call a workflow",
                )
            return
        if isinstance(expr, WorkflowRef):
            if qualified_reference(expr.workflow_id):
                return
            if not document.has_workflow(expr.workflow_id):
                self.problem(path, f"{expr.text}: unknown workflowId {expr.workflow_id!r}")
                return
            target = document.workflow(expr.workflow_id)
            if expr.field == "outputs" and expr.name not in target.outputs:
                self.problem(
                    path, f"{expr.text}: workflow {expr.workflow_id!r} has no output {expr.name!r}"
                )
            if expr.field == "inputs":
                names = _input_names(target.inputs)
                if names is not None and expr.name not in names:
                    self.problem(
                        path,
                        f"{expr.text}: workflow {expr.workflow_id!r} has no input {expr.name!r}",
                    )
            return
        if isinstance(expr, SourceRef):
            if expr.source not in self.ctx.source_names:
                self.problem(path, f"{expr.text}: unknown source description {expr.source!r}")
            elif expr.member not in ("url", "name", "type"):
                self.ctx.source_references.append((path, expr.source, expr.member))
            return
        if isinstance(expr, Component):
            table = {
                "inputs": self.ctx.components.inputs,
                "parameters": self.ctx.components.parameters,
                "successActions": self.ctx.components.success_actions,
                "failureActions": self.ctx.components.failure_actions,
            }[expr.kind]
            if expr.key not in table:
                self.problem(path, f"{expr.text}: unknown component {expr.kind}.{expr.key}")


def _parse_or_none(text: str) -> Expr | None:
    try:
        return parse_expression(text)
    except ExpressionError:
        return None


def _step_of(workflow: Workflow, path: str) -> Step | None:
    for step in workflow.steps:
        if path == step.where or path.startswith(step.where + "."):
            return step
    return None


def _local_workflow(document: ArazzoDocument, workflow_id: str | None) -> Workflow | None:
    if (
        workflow_id is None
        or qualified_reference(workflow_id)
        or not document.has_workflow(workflow_id)
    ):
        return None
    return document.workflow(workflow_id)


def _input_names(schema: Mapping[str, Any] | None) -> set[str] | None:
    """Declared input names, or ``None`` when the schema does not list its properties."""
    if schema is None:
        return set()
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return None
    if schema.get("additionalProperties", True) is not False and not properties:
        return None
    return set(properties)
