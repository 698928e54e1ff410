"""The state of one run: per-workflow state, the current exchange, the expression scope.

Shared by the executor's parts (``_steps`` runs one attempt, ``_flow`` decides what
follows, ``_outputs`` computes outputs and records the trace). Nothing here sends a
request or decides anything.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

import attrs

from qruntime_session._transport import Response as HTTPResponse
from qruntime_session._transport import Transport

from ._criteria import CriterionOutcome
from ._expressions import MISSING, Expr, Unresolved
from ._model import ArazzoDocument, Workflow
from ._request import PreparedRequest
from ._results import StepResult
from ._trace import AttemptTrace, Masker, PlannedRequest, secret_inputs
from ._validation import split_qualified

__all__ = [
    "AttemptResult",
    "Exchange",
    "InputProvider",
    "Outcome",
    "Run",
    "Scope",
    "Sent",
    "StepLimitReached",
    "WorkflowState",
    "find_workflow",
    "inputs_for",
]


InputProvider = Callable[[], Awaitable[Any]]
"""Gives an input's current value (a bearer token renewed as it expires); awaited before
every request."""


class StepLimitReached(Exception):
    def __init__(self, workflow_id: str, step_id: str, message: str) -> None:
        self.workflow_id = workflow_id
        self.step_id = step_id
        self.message = message
        super().__init__(message)


@attrs.define
class WorkflowState:
    document: ArazzoDocument
    workflow: Workflow
    inputs: dict[str, Any]
    step_outputs: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    outputs: dict[str, Any] = attrs.field(factory=dict)
    status: Literal["running", "succeeded", "failed"] = "running"
    failed_step: str | None = None
    status_code: int | None = None
    error_message: str | None = None
    ended_by_action: bool = False
    diagnostics: list[str] = attrs.field(factory=list)


@attrs.define
class Sent:
    """An unmasked record of a request that was answered, for the left-open rule."""

    method: str
    url: str
    body: Any
    step_succeeded: bool


@attrs.define
class Exchange:
    """The current attempt's request and response, as ``$request``/``$response`` see them."""

    request: PreparedRequest | None = None
    response: HTTPResponse | None = None
    url: str | None = None
    # The response body, parsed once (criteria, outputs and the trace all read it).
    _parsed: tuple[HTTPResponse, Any] | None = None

    def body(self) -> Any:
        response = self.response
        if response is None:
            return MISSING
        if self._parsed is not None and self._parsed[0] is response:
            return self._parsed[1]
        try:
            value = response.json()
        except ValueError:
            value = response.text
        self._parsed = (response, value)
        return value


@attrs.define
class Run:
    transport: Transport | None
    masker: Masker
    steps_executed: int = 0
    states: dict[tuple[int, str], WorkflowState] = attrs.field(factory=dict)
    tasks: dict[tuple[int, str], asyncio.Task[WorkflowState]] = attrs.field(factory=dict)
    trace: list[AttemptTrace] = attrs.field(factory=list)
    step_results: list[StepResult] = attrs.field(factory=list)
    sent: list[Sent] = attrs.field(factory=list)
    planned: list[PlannedRequest] = attrs.field(factory=list)
    # The executor's input providers, and the value each gave last (see _steps.renew_inputs).
    providers: Mapping[str, InputProvider] = attrs.field(factory=dict)
    provided: dict[str, Any] = attrs.field(factory=dict)

    def enter(
        self, document: ArazzoDocument, workflow: Workflow, inputs: dict[str, Any]
    ) -> WorkflowState:
        """The state of a workflow starting in this run; its secret inputs are masked."""
        state = WorkflowState(document=document, workflow=workflow, inputs=inputs)
        self.states[(id(document), workflow.workflow_id)] = state
        self.masker.add(secret_inputs(workflow.inputs, inputs))
        return state


class Scope:
    """The expression context for one evaluation (implements ``_expressions.Context``)."""

    def __init__(
        self,
        run: Run,
        state: WorkflowState,
        exchange: Exchange | None = None,
        *,
        child_outputs: Mapping[str, Any] | None = None,
        own_outputs: bool = False,
    ) -> None:
        self.run = run
        self.state = state
        self.exchange = exchange
        self.child_outputs = child_outputs
        self.own_outputs = own_outputs

    def _missing(self, expr: Expr, reason: str) -> Unresolved:
        return Unresolved(expr.text, reason)

    def scalar(self, name: str, expr: Expr) -> Any:
        exchange = self.exchange
        if exchange is None or exchange.request is None:
            raise self._missing(expr, "no request in this context")
        if name == "method":
            return exchange.request.method
        if name == "url":
            return exchange.url or exchange.request.full_url
        if exchange.response is None:
            raise self._missing(expr, "no response was received")
        return exchange.response.status

    def request(self, source: str, name: str | None, expr: Expr) -> Any:
        if self.exchange is None or self.exchange.request is None:
            raise self._missing(expr, "no request in this context")
        request = self.exchange.request
        value: Any
        if source == "body":
            if request.body is None:
                raise self._missing(expr, "the request has no body")
            return request.body_value
        assert name is not None
        if source == "header":
            value = request.header(name)
        elif source == "query":
            value = request.query_value(name)
        else:
            value = request.path_values.get(name)
        if value is None:
            raise self._missing(expr, f"the request has no {source} parameter {name!r}")
        return value

    def response(self, source: str, name: str | None, expr: Expr) -> Any:
        if self.exchange is None or self.exchange.response is None:
            raise self._missing(expr, "no response was received")
        if source == "body":
            return self.exchange.body()
        assert name is not None
        headers = self.exchange.response.headers
        getall = getattr(headers, "getall", None)
        values = (
            list(getall(name, []))
            if getall is not None
            else [v for k, v in headers.items() if k.lower() == name.lower()]
        )
        if not values:
            raise self._missing(expr, f"the response has no header {name!r}")
        return ", ".join(values)

    def input(self, name: str, expr: Expr) -> Any:
        if name not in self.state.inputs:
            raise self._missing(expr, f"no input {name!r} was given")
        return self.state.inputs[name]

    def output(self, name: str, expr: Expr) -> Any:
        table = (
            self.child_outputs
            if self.child_outputs is not None
            else (self.state.outputs if self.own_outputs else None)
        )
        if table is None:
            raise self._missing(expr, "$outputs is not defined here")
        if name not in table:
            raise self._missing(expr, f"no output {name!r}")
        return table[name]

    def step_output(self, step_id: str, name: str, expr: Expr) -> Any:
        outputs = self.state.step_outputs.get(step_id)
        if outputs is None:
            raise self._missing(expr, f"step {step_id!r} has not succeeded (yet)")
        if name not in outputs:
            raise self._missing(expr, f"step {step_id!r} has no output {name!r}")
        return outputs[name]

    def workflow_value(self, workflow_id: str, field: str, name: str, expr: Expr) -> Any:
        state = self.run.states.get((id(self.state.document), workflow_id))
        if state is None:
            raise self._missing(expr, f"workflow {workflow_id!r} has not run in this run")
        table = state.outputs if field == "outputs" else state.inputs
        if name not in table:
            raise self._missing(expr, f"workflow {workflow_id!r} has no {field[:-1]} {name!r}")
        return table[name]

    def source_value(self, source: str, member: str, expr: Expr) -> Any:
        document = self.state.document
        try:
            description = document.source(source)
        except KeyError:
            raise self._missing(expr, f"no source description {source!r}") from None
        if member in ("url", "name", "type"):
            return getattr(description, member)
        openapi = document.openapi_sources.get(source)
        operation = openapi.by_id(member) if openapi is not None else None
        if operation is not None:
            return dict(operation.raw)
        child = document.arazzo_sources.get(source)
        if child is not None and child.has_workflow(member):
            return child.raw["workflows"][[w.workflow_id for w in child.workflows].index(member)]
        raise self._missing(expr, f"source {source!r} has no {member!r}")

    def component(self, kind: str, key: str, expr: Expr) -> Any:
        raw = self.state.document.components.raw
        section = raw.get(kind)
        if not isinstance(section, Mapping) or key not in section:
            raise self._missing(expr, f"no component {kind}.{key}")
        return section[key]


@attrs.define
class AttemptResult:
    exchange: Exchange = attrs.field(factory=Exchange)
    success: bool = False
    error: str | None = None
    error_type: str | None = None
    criteria: list[CriterionOutcome] = attrs.field(factory=list)
    action_criteria: list[CriterionOutcome] = attrs.field(factory=list)
    outputs: dict[str, Any] = attrs.field(factory=dict)
    child_outputs: dict[str, Any] | None = None
    notes: list[str] = attrs.field(factory=list)


@attrs.frozen
class Outcome:
    kind: Literal["next", "end", "goto-step", "goto-workflow", "break"]
    target: str | None = None
    status_code: int | None = None
    error: str | None = None
    step_ok: bool = False


def find_workflow(document: ArazzoDocument, reference: str) -> tuple[ArazzoDocument, Workflow]:
    qualified = split_qualified(reference)
    if qualified is not None:
        child = document.arazzo_sources[qualified[0]]
        return child, child.workflow(qualified[1])
    return document, document.workflow(reference)


def inputs_for(workflow: Workflow, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The caller's inputs a dependency or goto target receives: those it declares."""
    schema = workflow.inputs
    if schema is None:
        return {}
    properties = schema.get("properties")
    if isinstance(properties, Mapping):
        return {k: v for k, v in inputs.items() if k in properties}
    return dict(inputs)
