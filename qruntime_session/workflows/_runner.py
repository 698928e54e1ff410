"""Running Arazzo workflows: the executor, its run state and its typed results.

Flow rules (docs/workflows.md has the full list):

* steps run in document order; after a success, the first ``onSuccess`` action whose
  criteria all pass is taken (none: next step); after a failure, the first ``onFailure``
  action whose criteria pass (a ``retry`` only while its budget lasts); none: break and
  return failure;
* workflow-level ``successActions``/``failureActions`` are merged *by name* after the step's
  own: a step action replaces a workflow action with the same name, the others are still
  considered, after the step's;
* ``retry`` waits (an HTTP ``Retry-After`` header wins over ``retryAfter``), runs its
  ``stepId``/``workflowId`` if any, then runs the step again. Each retry action has its own
  budget (``retryLimit``, default 1), reset whenever the step is entered anew;
* every request goes through the project's transport with ``retry="none"``,
  ``expected=None`` and ``authenticate=False``: only the document decides about retries and
  headers, so the requests sent are exactly the ones the document describes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import aiohttp
import attrs

from qruntime_session import errors
from qruntime_session._retry import parse_retry_after
from qruntime_session._timeouts import Timeouts
from qruntime_session._transport import Response as HTTPResponse
from qruntime_session._transport import Transport

from ._criteria import CriterionOutcome, evaluate_criterion, jsonpath_module
from ._errors import (
    ExpressionError,
    OpenResource,
    StepFailedError,
    StepLimitError,
    WorkflowError,
    WorkflowFailedError,
    WorkflowInputError,
)
from ._expressions import (
    MISSING,
    Expr,
    Template,
    Unresolved,
    parse_template,
    render,
    resolve_value,
)
from ._inputs import compile_schema, prepare_inputs
from ._model import Action, ArazzoDocument, Criterion, Operation, Step, Workflow, merged_parameters
from ._request import (
    PlaceholderText,
    PreparedRequest,
    apply_replacements,
    build_request,
    choose_content_type,
)
from ._trace import (
    AttemptTrace,
    Masker,
    PlannedRequest,
    RequestRecord,
    is_secret_name,
    secret_inputs,
)
from ._validate import split_qualified

__all__ = ["StepResult", "WorkflowExecutor", "WorkflowResult"]

log = logging.getLogger("qruntime_session.workflows")

Sleep = Callable[[float], Awaitable[None]]
DefaultSuccess = Literal["2xx", "any"]
_MAX_DEPTH = 32
_RESOURCE_SUFFIXES = ("sessionid",)
_UNCHECKED: Any = object()


# -- results ---------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class StepResult:
    """One execution of one step (a step entered twice through ``goto`` has two results).

    ``status`` is ``"succeeded"`` or ``"failed"``; ``status_code`` the last HTTP status
    (``None`` for a workflow step or when no response came); ``outputs`` the step's outputs
    (on failure: those that could be computed); ``attempts`` how many times it ran;
    ``action`` what followed: ``next``, ``end``, ``goto:<id>``, ``retry`` exhausted into
    another action, or ``break`` (failure with no matching action).
    """

    workflow_id: str
    step_id: str
    status: Literal["succeeded", "failed"]
    status_code: int | None
    outputs: Mapping[str, Any] = attrs.field(repr=False)
    attempts: int
    action: str
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the status is ``succeeded``."""
        return self.status == "succeeded"


@attrs.frozen(kw_only=True)
class WorkflowResult:
    """The outcome of running one workflow (with everything it ran: dependencies, children).

    ``status`` is ``"succeeded"`` or ``"failed"``; ``outputs`` the workflow's outputs
    (computed as far as possible when it failed; the expressions that could not be resolved
    are listed in ``diagnostics``); ``steps`` every step execution in order; ``trace`` every
    attempt, secrets masked; ``step_outputs`` the outputs gathered per step id (of the
    top-level workflow); ``left_open`` resources created and not visibly released (see
    docs/workflows.md: "Resources left open"); ``error`` the :class:`WorkflowFailedError`
    describing a failure; ``ended_by_action`` is true when an ``end`` action stopped a failed
    step.
    """

    workflow_id: str
    status: Literal["succeeded", "failed"]
    outputs: Mapping[str, Any] = attrs.field(repr=False)
    steps: tuple[StepResult, ...] = attrs.field(repr=False)
    trace: tuple[AttemptTrace, ...] = attrs.field(repr=False)
    step_outputs: Mapping[str, Mapping[str, Any]] = attrs.field(repr=False)
    workflow_outputs: Mapping[str, Mapping[str, Any]] = attrs.field(repr=False)
    left_open: tuple[OpenResource, ...] = ()
    failed_step: str | None = None
    status_code: int | None = None
    ended_by_action: bool = False
    error: WorkflowFailedError | None = attrs.field(default=None, repr=False)
    diagnostics: tuple[str, ...] = attrs.field(default=(), repr=False)

    @property
    def ok(self) -> bool:
        """Whether the status is ``succeeded``."""
        return self.status == "succeeded"

    @property
    def handled_failures(self) -> tuple[StepResult, ...]:
        """Step executions that failed but whose failure an action took care of (goto, end…).

        A workflow whose failing step jumps to a cleanup step *succeeds* by Arazzo's rules;
        this says which steps failed on the way.
        """
        return tuple(s for s in self.steps if not s.ok and s.action not in ("break", "return"))

    def step(self, step_id: str) -> StepResult:
        """The last execution of ``step_id``."""
        for result in reversed(self.steps):
            if result.step_id == step_id:
                return result
        raise KeyError(step_id)

    def raise_for_status(self) -> WorkflowResult:
        """Raise :attr:`error` when the workflow failed; return ``self`` otherwise."""
        if self.error is not None:
            raise self.error
        return self

    def trace_json(self) -> list[dict[str, Any]]:
        """The per-attempt trace as JSON-compatible data (already masked)."""
        return [attempt.as_json() for attempt in self.trace]


# -- internal run state ----------------------------------------------------------------------


class _StepLimitReached(Exception):
    def __init__(self, workflow_id: str, step_id: str, message: str) -> None:
        self.workflow_id = workflow_id
        self.step_id = step_id
        self.message = message
        super().__init__(message)


@attrs.define
class _WorkflowState:
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
class _Sent:
    """An unmasked record of a request that was answered, for the left-open rule."""

    method: str
    url: str
    body: Any
    step_succeeded: bool


@attrs.define
class _Exchange:
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
class _Run:
    executor: WorkflowExecutor
    transport: Transport | None
    masker: Masker
    steps_executed: int = 0
    states: dict[tuple[int, str], _WorkflowState] = attrs.field(factory=dict)
    tasks: dict[tuple[int, str], asyncio.Task[_WorkflowState]] = attrs.field(factory=dict)
    trace: list[AttemptTrace] = attrs.field(factory=list)
    step_results: list[StepResult] = attrs.field(factory=list)
    sent: list[_Sent] = attrs.field(factory=list)
    planned: list[PlannedRequest] = attrs.field(factory=list)


class _Scope:
    """The expression context for one evaluation (implements ``_expressions.Context``)."""

    def __init__(
        self,
        run: _Run,
        state: _WorkflowState,
        exchange: _Exchange | None = None,
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


# -- the executor ----------------------------------------------------------------------------


@attrs.define(kw_only=True)
class WorkflowExecutor:
    """Runs the workflows of one loaded Arazzo document.

    ``server_url`` replaces the OpenAPI ``servers[0].url``: one URL for every source, or a
    mapping from source name to URL (sources not named keep their own). ``transport`` is an
    existing :class:`~qruntime_session._transport.Transport` to send through (it is not closed).
    Otherwise the executor sends through one transport of its own, created at the first run
    and reused by every later one: over the aiohttp ``session`` if given (which it never
    closes), or over a connection pool it owns while used as ``async with executor:`` (closed
    on leaving the block, or by :meth:`aclose`). An executor used outside ``async with`` and
    without ``session`` opens and closes a pool per run, so nothing is left open. The input
    schemas of the document are checked once, at the first run, and their validators kept.

    ``sleep``, ``clock`` and ``now`` are injectable for tests. ``max_steps`` bounds
    the step executions of one run (the loop guard). ``default_success`` decides a step without
    ``successCriteria``: ``"2xx"`` (default) or ``"any"`` (any response). ``jsonpath_root_fallback``
    switches the root-filter compatibility rule. The executor holds no run state: concurrent
    runs are independent.
    """

    document: ArazzoDocument
    server_url: str | Mapping[str, str] | None = None
    transport: Transport | None = None
    session: aiohttp.ClientSession | None = None
    timeouts: Timeouts | None = None
    sleep: Sleep = asyncio.sleep
    clock: Callable[[], float] = time.monotonic
    now: Callable[[], datetime] = attrs.field(factory=lambda: _utc_now)
    max_steps: int = 1000
    default_success: DefaultSuccess = "2xx"
    jsonpath_root_fallback: bool = True
    resource_suffixes: tuple[str, ...] = _RESOURCE_SUFFIXES
    # Built at the first run: one input validator per workflow (by id), the checked server URL
    # setting, and the reusable transport (see the class docstring).
    _validators: dict[int, tuple[Workflow, Any]] = attrs.field(
        factory=dict, init=False, repr=False, eq=False
    )
    _checked_for: Any = attrs.field(default=_UNCHECKED, init=False, repr=False, eq=False)
    _shared: Transport | None = attrs.field(default=None, init=False, repr=False, eq=False)
    _in_context: bool = attrs.field(default=False, init=False, repr=False, eq=False)

    # -- public ------------------------------------------------------------------------------

    async def __aenter__(self) -> WorkflowExecutor:
        self._in_context = True
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the transport the executor opened for its runs (if any). Idempotent.

        A later run opens a new one (per run, unless inside ``async with`` again).
        """
        self._in_context = False
        shared, self._shared = self._shared, None
        if shared is not None:
            await shared.aclose()

    def workflow_for(self, workflow_id: str | None) -> Workflow:
        """The workflow ``workflow_id`` names, or the document's first when it is ``None``."""
        if workflow_id is None:
            return self.document.workflows[0]
        try:
            return self.document.workflow(workflow_id)
        except KeyError:
            known = ", ".join(w.workflow_id for w in self.document.workflows)
            raise errors.InvalidInputError(
                f"no workflow {workflow_id!r} in the document (known: {known})"
            ) from None

    async def run(
        self, inputs: Mapping[str, Any] | None = None, *, workflow_id: str | None = None
    ) -> WorkflowResult:
        """Run a workflow (default: the first) and return its :class:`WorkflowResult`.

        Raises :class:`WorkflowInputError` for inputs its schema rejects and
        :class:`MissingExtraError` when an optional library the document needs is missing —
        both before any request. A failing step is *returned* (``result.status == "failed"``,
        ``result.error``); use ``result.raise_for_status()`` to raise it.
        """
        workflow = self.workflow_for(workflow_id)
        self._preflight()
        given = dict(inputs or {})
        prepared = self._prepare_all_inputs(workflow, given)
        transport = self.transport
        owned = False
        if transport is None:
            if self.session is not None or self._in_context:
                if self._shared is None:
                    self._shared = Transport(timeouts=self.timeouts, session=self.session)
                transport = self._shared
            else:
                transport = Transport(timeouts=self.timeouts, session=self.session)
                owned = True
        run = _Run(executor=self, transport=transport, masker=Masker())
        try:
            state = await self._workflow(run, self.document, workflow, prepared, depth=0)
        except _StepLimitReached as exc:
            state = run.states[(id(self.document), workflow.workflow_id)]
            state.status = "failed"
            state.failed_step = exc.step_id
            state.error_message = exc.message
            self._finish_outputs(run, state)
            return self._result(run, state, limit=True)
        finally:
            await self._cancel_tasks(run)
            if owned:
                await transport.aclose()
        return self._result(run, state)

    async def plan(
        self, inputs: Mapping[str, Any] | None = None, *, workflow_id: str | None = None
    ) -> tuple[PlannedRequest, ...]:
        """A dry run: the requests the workflow would send, in document order, with nothing sent.

        Steps are assumed to succeed and follow each other (no actions). Values that only a
        response can provide appear as ``<$steps.…>`` placeholders; secrets are masked.
        """
        workflow = self.workflow_for(workflow_id)
        self._preflight()
        prepared = self._prepare_all_inputs(workflow, dict(inputs or {}))
        run = _Run(executor=self, transport=None, masker=Masker())
        await self._plan_workflow(run, self.document, workflow, prepared, depth=0)
        return tuple(run.planned)

    # -- preparation -------------------------------------------------------------------------

    def _preflight(self) -> None:
        """Import the optional libraries the document needs, check input schemas and servers.

        Done once per executor (again only if ``server_url`` was changed since).
        """
        if self._checked_for is self.server_url:
            return
        documents = [self.document, *self.document.arazzo_sources.values()]
        validators: dict[int, tuple[Workflow, Any]] = {}
        for document in documents:
            for operation in document.operations.values():
                self._server_for(operation)
            for workflow in document.workflows:
                if workflow.inputs is not None:
                    validator = compile_schema(workflow.inputs, f"{workflow.where}.inputs")
                    validators[id(workflow)] = (workflow, validator)
                if any(c.type == "jsonpath" for c in _all_criteria(document, workflow)):
                    jsonpath_module()
        self._validators = validators
        self._checked_for = self.server_url

    def _inputs(self, workflow: Workflow, given: Mapping[str, Any]) -> dict[str, Any]:
        """``prepare_inputs`` with the validator compiled at the first run."""
        entry = self._validators.get(id(workflow))
        validator = entry[1] if entry is not None and entry[0] is workflow else None
        return prepare_inputs(workflow.workflow_id, workflow.inputs, given, validator=validator)

    def _prepare_all_inputs(self, workflow: Workflow, given: Mapping[str, Any]) -> dict[str, Any]:
        """Validate the inputs of the workflow and of every workflow it depends on."""
        prepared = self._inputs(workflow, given)
        seen: set[tuple[int, str]] = set()
        stack = [(self.document, workflow)]
        while stack:
            document, current = stack.pop()
            for dependency in current.depends_on:
                target_document, target = _find_workflow(document, dependency)
                key = (id(target_document), target.workflow_id)
                if key in seen:
                    continue
                seen.add(key)
                self._inputs(target, _inputs_for(target, given))
                stack.append((target_document, target))
        return prepared

    # -- workflows ---------------------------------------------------------------------------

    async def _workflow(
        self,
        run: _Run,
        document: ArazzoDocument,
        workflow: Workflow,
        inputs: dict[str, Any],
        *,
        depth: int,
    ) -> _WorkflowState:
        if depth > _MAX_DEPTH:
            raise _StepLimitReached(
                workflow.workflow_id,
                workflow.steps[0].step_id,
                f"workflows nested more than {_MAX_DEPTH} deep (at workflow "
                f"{workflow.workflow_id!r}); "
                "a workflow calling itself?",
            )
        state = _WorkflowState(document=document, workflow=workflow, inputs=inputs)
        run.states[(id(document), workflow.workflow_id)] = state
        run.masker.add(secret_inputs(workflow.inputs, inputs))
        log.debug("workflow %s: started", workflow.workflow_id)
        failed_dependency = await self._dependencies(run, document, workflow, inputs, depth)
        if failed_dependency is not None:
            state.status = "failed"
            state.error_message = (
                f"dependency {failed_dependency!r} of workflow {workflow.workflow_id!r} failed; "
                "none of its steps ran"
            )
            self._finish_outputs(run, state)
            return state
        index = 0
        while index < len(workflow.steps):
            step = workflow.steps[index]
            outcome = await self._step(run, state, step, depth)
            if outcome.kind == "next":
                index += 1
                continue
            if outcome.kind == "goto-step":
                assert outcome.target is not None
                index = workflow.step_index(outcome.target)
                continue
            if outcome.kind == "goto-workflow":
                assert outcome.target is not None
                target_document, target = _find_workflow(document, outcome.target)
                child = await self._call_workflow(
                    run, target_document, target, _inputs_for(target, inputs), depth
                )
                state.status = child.status if child.status != "running" else "failed"
                if child.status != "succeeded":
                    state.failed_step = step.step_id
                    state.error_message = (
                        f"workflow {target.workflow_id!r} (goto from step {step.step_id!r}) "
                        f"failed: {child.error_message}"
                    )
                self._finish_outputs(run, state)
                return state
            if outcome.kind == "end":
                state.status = "succeeded" if outcome.step_ok else "failed"
                if not outcome.step_ok:
                    state.failed_step = step.step_id
                    state.status_code = outcome.status_code
                    state.ended_by_action = True
                    state.error_message = (
                        f"step {step.step_id!r} failed{_code(outcome.status_code)} and an end "
                        f"action stopped the workflow: {outcome.error}"
                    )
                self._finish_outputs(run, state)
                return state
            # break
            state.status = "failed"
            state.failed_step = step.step_id
            state.status_code = outcome.status_code
            state.error_message = (
                f"step {step.step_id!r} failed{_code(outcome.status_code)}: {outcome.error}"
            )
            self._finish_outputs(run, state)
            return state
        state.status = "succeeded"
        self._finish_outputs(run, state)
        log.debug("workflow %s: %s", workflow.workflow_id, state.status)
        return state

    async def _dependencies(
        self,
        run: _Run,
        document: ArazzoDocument,
        workflow: Workflow,
        inputs: Mapping[str, Any],
        depth: int,
    ) -> str | None:
        if not workflow.depends_on:
            return None
        tasks: list[tuple[str, asyncio.Task[_WorkflowState]]] = []
        for dependency in workflow.depends_on:
            target_document, target = _find_workflow(document, dependency)
            key = (id(target_document), target.workflow_id)
            task = run.tasks.get(key)
            if task is None:
                coroutine = self._call_workflow(
                    run, target_document, target, _inputs_for(target, inputs), depth
                )
                task = asyncio.ensure_future(coroutine)
                run.tasks[key] = task
            tasks.append((dependency, task))
        states = await asyncio.gather(*(task for _, task in tasks))
        for (dependency, _), state in zip(tasks, states, strict=True):
            if state.status != "succeeded":
                return dependency
        return None

    async def _call_workflow(
        self,
        run: _Run,
        document: ArazzoDocument,
        workflow: Workflow,
        inputs: Mapping[str, Any],
        depth: int,
    ) -> _WorkflowState:
        """Run a dependency, a nested workflow or a goto target (inputs validated here)."""
        try:
            prepared = self._inputs(workflow, inputs)
        except WorkflowInputError as exc:
            state = _WorkflowState(document=document, workflow=workflow, inputs=dict(inputs))
            state.status = "failed"
            state.error_message = str(exc)
            run.states[(id(document), workflow.workflow_id)] = state
            return state
        return await self._workflow(run, document, workflow, prepared, depth=depth + 1)

    def _finish_outputs(self, run: _Run, state: _WorkflowState) -> None:
        scope = _Scope(run, state, own_outputs=True)
        for name, text in state.workflow.outputs.items():
            try:
                state.outputs[name] = render(parse_template(text), scope)
            except Unresolved as exc:
                state.diagnostics.append(
                    f"output {name!r}: {exc.expression} is unresolved ({exc.reason})"
                )

    # -- steps -------------------------------------------------------------------------------

    async def _step(self, run: _Run, state: _WorkflowState, step: Step, depth: int) -> _Outcome:
        workflow = state.workflow
        retries: dict[str, int] = {}
        attempt = 0
        while True:
            self._count_step(run, workflow, step)
            attempt += 1
            started = self.clock()
            result = await self._attempt(run, state, step, depth)
            elapsed = self.clock() - started
            if result.success:
                outputs, problems = self._step_outputs(run, state, step, result)
                if problems:
                    result.success = False
                    result.error = "; ".join(problems)
                    result.error_type = "expression"
                else:
                    state.step_outputs[step.step_id] = outputs
                    run.masker.add(
                        str(v)
                        for k, v in outputs.items()
                        if is_secret_name(k) and isinstance(v, str)
                    )
                result.outputs = outputs
            else:
                result.outputs, _ = self._step_outputs(run, state, step, result)
            action, note = self._choose_action(run, state, step, result, retries)
            sleep: float | None = None
            if action is not None and action.type == "retry":
                sleep = self._retry_delay(action, result.exchange.response)
            kind_text = (
                action.describe() if action is not None else ("next" if result.success else "break")
            )
            self._record_attempt(
                run, state, step, attempt, started, elapsed, result, kind_text, sleep, note
            )
            status_code = (
                result.exchange.response.status if result.exchange.response is not None else None
            )
            log.debug(
                "step %s/%s attempt %d: %s%s -> %s",
                workflow.workflow_id,
                step.step_id,
                attempt,
                "succeeded" if result.success else "failed",
                _code(status_code),
                kind_text,
            )
            if action is not None and action.type == "retry":
                retries[action.name] = retries.get(action.name, 0) + 1
                assert sleep is not None
                if sleep > 0:
                    await self.sleep(sleep)
                side_error = await self._retry_target(run, state, action, depth)
                if side_error is not None:
                    self._record_step(run, state, step, result, attempt, "break", side_error)
                    return _Outcome("break", status_code=status_code, error=side_error)
                continue
            if action is None:
                kind: Literal["next", "break"] = "next" if result.success else "break"
                self._record_step(run, state, step, result, attempt, kind, result.error)
                return _Outcome(
                    kind,
                    status_code=status_code,
                    error=result.error or "no successCriteria matched",
                    step_ok=result.success,
                )
            self._record_step(run, state, step, result, attempt, action.describe(), result.error)
            if action.type == "end":
                return _Outcome(
                    "end", status_code=status_code, error=result.error, step_ok=result.success
                )
            if action.step_id is not None:
                return _Outcome(
                    "goto-step",
                    target=action.step_id,
                    status_code=status_code,
                    step_ok=result.success,
                )
            return _Outcome(
                "goto-workflow",
                target=action.workflow_id,
                status_code=status_code,
                step_ok=result.success,
            )

    def _count_step(self, run: _Run, workflow: Workflow, step: Step) -> None:
        """The loop guard: at most ``max_steps`` step executions per run."""
        run.steps_executed += 1
        if run.steps_executed > self.max_steps:
            raise _StepLimitReached(
                workflow.workflow_id,
                step.step_id,
                f"the run executed more than {self.max_steps} steps (max_steps); stopped before "
                f"step {step.step_id!r} of workflow {workflow.workflow_id!r} — a goto loop?",
            )

    async def _retry_target(
        self, run: _Run, state: _WorkflowState, action: Action, depth: int
    ) -> str | None:
        """Run a retry action's stepId/workflowId before the retry; an error text if it failed."""
        if action.step_id is not None:
            side = state.workflow.step(action.step_id)
            self._count_step(run, state.workflow, side)
            started = self.clock()
            result = await self._attempt(run, state, side, depth)
            elapsed = self.clock() - started
            outputs, problems = (
                self._step_outputs(run, state, side, result) if result.success else ({}, [])
            )
            if result.success and not problems:
                state.step_outputs[side.step_id] = outputs
                run.masker.add(
                    str(v) for k, v in outputs.items() if is_secret_name(k) and isinstance(v, str)
                )
            ok = result.success and not problems
            result.outputs = outputs
            self._record_attempt(
                run, state, side, 1, started, elapsed, result, "return", None, "run before a retry"
            )
            self._record_step(
                run,
                state,
                side,
                result,
                1,
                "return",
                None if ok else (result.error or "; ".join(problems)),
            )
            if not ok:
                reason = result.error or "; ".join(problems)
                return f"step {side.step_id!r}, run before the retry, failed: {reason}"
            return None
        if action.workflow_id is not None:
            target_document, target = _find_workflow(state.document, action.workflow_id)
            child = await self._call_workflow(
                run, target_document, target, _inputs_for(target, state.inputs), depth
            )
            if child.status != "succeeded":
                return (
                    f"workflow {target.workflow_id!r}, run before the retry, "
                    f"failed: {child.error_message}"
                )
        return None

    def _retry_delay(self, action: Action, response: HTTPResponse | None) -> float:
        if response is not None:
            header = response.headers.get("Retry-After")
            delay = parse_retry_after(header, now=self.now()) if header is not None else None
            if delay is not None:
                return delay
        return action.retry_after or 0.0

    def _choose_action(
        self,
        run: _Run,
        state: _WorkflowState,
        step: Step,
        result: _AttemptResult,
        retries: Mapping[str, int],
    ) -> tuple[Action | None, str | None]:
        workflow = state.workflow
        if result.success:
            actions = _merge_actions(step.on_success, workflow.success_actions)
        else:
            actions = _merge_actions(step.on_failure, workflow.failure_actions)
        scope = self._scope(run, state, result)
        notes: list[str] = []
        for action in actions:
            outcomes = [self._criterion(c, scope) for c in action.criteria]
            result.action_criteria.extend(outcomes)
            if not all(o.passed for o in outcomes):
                continue
            if action.type == "retry":
                used = retries.get(action.name, 0)
                if used >= action.effective_retry_limit:
                    notes.append(
                        f"retry action {action.name!r} exhausted "
                        f"({used}/{action.effective_retry_limit})"
                    )
                    continue
            return action, "; ".join(notes) or None
        return None, "; ".join(notes) or None

    def _criterion(self, criterion: Criterion, scope: _Scope) -> CriterionOutcome:
        return evaluate_criterion(
            criterion, scope, jsonpath_root_fallback=self.jsonpath_root_fallback
        )

    def _scope(self, run: _Run, state: _WorkflowState, result: _AttemptResult) -> _Scope:
        return _Scope(run, state, result.exchange, child_outputs=result.child_outputs)

    def _step_outputs(
        self, run: _Run, state: _WorkflowState, step: Step, result: _AttemptResult
    ) -> tuple[dict[str, Any], list[str]]:
        scope = self._scope(run, state, result)
        outputs: dict[str, Any] = {}
        problems: list[str] = []
        for name, text in step.outputs.items():
            try:
                outputs[name] = render(parse_template(text), scope)
            except Unresolved as exc:
                problems.append(f"output {name!r}: {exc.expression} is unresolved ({exc.reason})")
        return outputs, problems

    async def _attempt(
        self, run: _Run, state: _WorkflowState, step: Step, depth: int
    ) -> _AttemptResult:
        if step.workflow_id is not None:
            return await self._workflow_attempt(run, state, step, depth)
        result = _AttemptResult()
        try:
            prepared = self._prepare(run, state, step)
        except (Unresolved, ExpressionError, WorkflowError) as exc:
            result.error = _unresolved_message(exc)
            result.error_type = "expression"
            return result
        result.exchange.request = prepared
        result.exchange.url = prepared.full_url
        try:
            response = await _send(run.transport, prepared)
        except errors.TransportError as exc:
            result.error = f"{type(exc).__name__}: {exc.message}"
            result.error_type = _transport_kind(exc)
            return result
        result.exchange.response = response
        result.exchange.url = response.url
        scope = self._scope(run, state, result)
        result.criteria = [self._criterion(c, scope) for c in step.success_criteria]
        if step.success_criteria:
            result.success = all(c.passed for c in result.criteria)
            if not result.success:
                failed = [c.condition for c in result.criteria if not c.passed]
                result.error = "successCriteria not met: " + "; ".join(failed)
        else:
            result.success = self.default_success == "any" or 200 <= response.status < 300
            if not result.success:
                result.error = f"no successCriteria and status {response.status} is not 2xx"
        run.sent.append(_Sent(prepared.method, response.url, prepared.body_value, result.success))
        return result

    async def _workflow_attempt(
        self, run: _Run, state: _WorkflowState, step: Step, depth: int
    ) -> _AttemptResult:
        result = _AttemptResult()
        assert step.workflow_id is not None
        target_document, target = _find_workflow(state.document, step.workflow_id)
        scope = _Scope(run, state)
        inputs: dict[str, Any] = {}
        try:
            for parameter in merged_parameters(state.workflow, step):
                inputs[parameter.name] = resolve_value(parameter.value, scope)
        except (Unresolved, ExpressionError) as exc:
            result.error = _unresolved_message(exc)
            result.error_type = "expression"
            return result
        child = await self._call_workflow(run, target_document, target, inputs, depth)
        result.child_outputs = dict(child.outputs)
        result.notes.append(f"workflow {target.workflow_id!r}: {child.status}")
        if child.status != "succeeded":
            result.error = f"workflow {target.workflow_id!r} failed: {child.error_message}"
            result.error_type = "workflow"
            return result
        result.criteria = [
            self._criterion(c, self._scope(run, state, result)) for c in step.success_criteria
        ]
        result.success = all(c.passed for c in result.criteria)
        if not result.success:
            result.error = "successCriteria not met: " + "; ".join(
                c.condition for c in result.criteria if not c.passed
            )
        return result

    def _server_for(self, operation: Operation) -> str:
        override = self.server_url
        if isinstance(override, str):
            return override
        if isinstance(override, Mapping) and operation.source in override:
            return override[operation.source]
        server = operation.server_url
        if server is None or not server.startswith(("http://", "https://")):
            raise errors.ConfigurationError(
                f"source {operation.source!r} has no absolute server URL ({server!r}); pass "
                "server_url="
            )
        return server

    def _prepare(
        self,
        run: _Run,
        state: _WorkflowState,
        step: Step,
        *,
        fallback: Callable[[Expr, Unresolved], Any] | None = None,
    ) -> PreparedRequest:
        operation = state.document.operation(state.workflow.workflow_id, step.step_id)
        scope = _Scope(run, state)
        parameters = [
            (p.name, p.location or "query", resolve_value(p.value, scope, fallback=fallback))
            for p in merged_parameters(state.workflow, step)
        ]
        body: tuple[Any, str, bool] | None = None
        request_body = step.request_body
        if request_body is not None and request_body.has_payload:
            payload = request_body.payload
            template = isinstance(payload, str) and not _is_single_expression(payload)
            value = resolve_value(payload, scope, fallback=fallback)
            if request_body.replacements:
                pairs = [
                    (r.target, resolve_value(r.value, scope, fallback=fallback))
                    for r in request_body.replacements
                ]
                value = apply_replacements(_structured(value), pairs)
                template = False
            content_type = choose_content_type(
                request_body.content_type, operation, value, template=template
            )
            body = (value, content_type, template)
        return build_request(operation, self._server_for(operation), parameters, body=body)

    # -- bookkeeping -------------------------------------------------------------------------

    def _record_attempt(
        self,
        run: _Run,
        state: _WorkflowState,
        step: Step,
        attempt: int,
        started: float,
        elapsed: float,
        result: _AttemptResult,
        action: str,
        sleep: float | None,
        note: str | None,
    ) -> None:
        masker = run.masker
        request = result.exchange.request
        response = result.exchange.response
        record = None
        if request is not None:
            headers = list(request.headers)
            if request.content_type is not None:
                headers.append(("Content-Type", request.content_type))
            record = RequestRecord(
                method=request.method,
                url=masker.url(result.exchange.url or request.full_url),
                headers=masker.headers(headers),
                body=masker.json(_body_for_trace(request)),
            )
        notes = list(result.notes)
        if note:
            notes.append(note)
        run.trace.append(
            AttemptTrace(
                workflow_id=state.workflow.workflow_id,
                step_id=step.step_id,
                attempt=attempt,
                started=started,
                elapsed=elapsed,
                request=record,
                status=response.status if response is not None else None,
                response_headers=masker.headers(list(response.headers.items()))
                if response is not None
                else {},
                response_body=masker.json(_jsonish(result.exchange.body()))
                if response is not None
                else None,
                error=masker.text(result.error) if result.error else None,
                error_type=result.error_type,
                criteria=tuple(
                    c
                    if c.diagnostic is None
                    else attrs.evolve(
                        c, diagnostic=masker.text(c.diagnostic) if c.diagnostic else None
                    )
                    for c in (*result.criteria, *result.action_criteria)
                ),
                success=result.success,
                action=action,
                sleep=sleep,
                notes=tuple(masker.text(n) for n in notes),
            )
        )

    def _record_step(
        self,
        run: _Run,
        state: _WorkflowState,
        step: Step,
        result: _AttemptResult,
        attempts: int,
        action: str,
        error: str | None,
    ) -> None:
        response = result.exchange.response
        run.step_results.append(
            StepResult(
                workflow_id=state.workflow.workflow_id,
                step_id=step.step_id,
                status="succeeded" if result.success else "failed",
                status_code=response.status if response is not None else None,
                outputs=dict(result.outputs),
                attempts=attempts,
                action=action,
                error=run.masker.text(error) if error else None,
            )
        )

    def _left_open(self, run: _Run) -> tuple[OpenResource, ...]:
        found: list[OpenResource] = []
        for step_result in run.step_results:
            if not step_result.ok:
                continue
            for name, value in step_result.outputs.items():
                normal = name.lower().replace("_", "").replace("-", "")
                if (
                    not isinstance(value, str)
                    or not value
                    or not normal.endswith(self.resource_suffixes)
                ):
                    continue
                if any(r.value == value for r in found):
                    continue
                if _released(run.sent, value):
                    continue
                found.append(
                    OpenResource(
                        workflow_id=step_result.workflow_id,
                        step_id=step_result.step_id,
                        output=name,
                        value=value,
                    )
                )
        return tuple(found)

    def _result(self, run: _Run, state: _WorkflowState, *, limit: bool = False) -> WorkflowResult:
        left_open = self._left_open(run)
        error: WorkflowFailedError | None = None
        if state.status != "succeeded":
            cls = StepLimitError if limit else StepFailedError
            error = cls(
                state.error_message or f"workflow {state.workflow.workflow_id!r} failed",
                workflow_id=state.workflow.workflow_id,
                step_id=state.failed_step,
                status=state.status_code,
                step_outputs=state.step_outputs,
                left_open=left_open,
            )
        return WorkflowResult(
            workflow_id=state.workflow.workflow_id,
            status="succeeded" if state.status == "succeeded" else "failed",
            outputs=dict(state.outputs),
            steps=tuple(run.step_results),
            trace=tuple(run.trace),
            step_outputs={k: dict(v) for k, v in state.step_outputs.items()},
            workflow_outputs={wid: dict(s.outputs) for (_, wid), s in run.states.items()},
            left_open=left_open,
            failed_step=state.failed_step,
            status_code=state.status_code,
            ended_by_action=state.ended_by_action,
            error=error,
            diagnostics=tuple(d for s in run.states.values() for d in s.diagnostics),
        )

    @staticmethod
    async def _cancel_tasks(run: _Run) -> None:
        """Cancel dependency runs still going (the run was cancelled or stopped) and reap all."""
        tasks = list(run.tasks.values())
        for task in tasks:
            if not task.done():
                task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    # -- dry run -----------------------------------------------------------------------------

    async def _plan_workflow(
        self,
        run: _Run,
        document: ArazzoDocument,
        workflow: Workflow,
        inputs: dict[str, Any],
        *,
        depth: int,
    ) -> None:
        if depth > _MAX_DEPTH:
            return
        state = _WorkflowState(document=document, workflow=workflow, inputs=inputs)
        run.states[(id(document), workflow.workflow_id)] = state
        run.masker.add(secret_inputs(workflow.inputs, inputs))

        def placeholder(expr: Expr, _: Unresolved) -> Any:
            return PlaceholderText(f"<{expr.text}>")

        for dependency in workflow.depends_on:
            target_document, target = _find_workflow(document, dependency)
            await self._plan_workflow(
                run, target_document, target, _inputs_for(target, inputs), depth=depth + 1
            )
        for step in workflow.steps:
            if step.workflow_id is not None:
                target_document, target = _find_workflow(document, step.workflow_id)
                scope = _Scope(run, state)
                child_inputs = {
                    p.name: resolve_value(p.value, scope, fallback=placeholder)
                    for p in merged_parameters(workflow, step)
                }
                await self._plan_workflow(
                    run, target_document, target, child_inputs, depth=depth + 1
                )
                continue
            prepared = self._prepare(run, state, step, fallback=placeholder)
            headers = list(prepared.headers)
            if prepared.content_type is not None:
                headers.append(("Content-Type", prepared.content_type))
            run.planned.append(
                PlannedRequest(
                    workflow_id=workflow.workflow_id,
                    step_id=step.step_id,
                    operation_id=prepared.operation_id,
                    method=prepared.method,
                    url=run.masker.url(prepared.full_url),
                    headers=run.masker.headers(headers),
                    body=run.masker.json(_body_for_trace(prepared)),
                )
            )


# -- helpers ---------------------------------------------------------------------------------


@attrs.define
class _AttemptResult:
    exchange: _Exchange = attrs.field(factory=_Exchange)
    success: bool = False
    error: str | None = None
    error_type: str | None = None
    criteria: list[CriterionOutcome] = attrs.field(factory=list)
    action_criteria: list[CriterionOutcome] = attrs.field(factory=list)
    outputs: dict[str, Any] = attrs.field(factory=dict)
    child_outputs: dict[str, Any] | None = None
    notes: list[str] = attrs.field(factory=list)


@attrs.frozen
class _Outcome:
    kind: Literal["next", "end", "goto-step", "goto-workflow", "break"]
    target: str | None = None
    status_code: int | None = None
    error: str | None = None
    step_ok: bool = False


async def _send(transport: Transport | None, request: PreparedRequest) -> HTTPResponse:
    """The one place a step's request is sent: exactly one attempt, any status returned."""
    assert transport is not None
    return await transport.request(
        request.method,
        request.url,
        params=list(request.query) or None,
        data=request.body,
        content_type=request.content_type,
        headers=dict(request.headers),
        expected=None,
        retry="none",
        authenticate=False,
        operation=request.operation_id or "",
    )


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _code(status: int | None) -> str:
    return f" (status {status})" if status is not None else ""


def _transport_kind(exc: errors.TransportError) -> str:
    if isinstance(exc, errors.RequestTimeoutError):
        return "timeout"
    if isinstance(exc, errors.ConnectError):
        return "connect"
    if isinstance(exc, errors.ConnectionLostError):
        return "connection_lost"
    return "transport"


def _unresolved_message(exc: Exception) -> str:
    if isinstance(exc, Unresolved):
        return f"{exc.expression} is unresolved ({exc.reason}); nothing was sent"
    return f"{exc}; nothing was sent"


def _is_single_expression(text: str) -> bool:
    return not isinstance(parse_template(text), Template)


def _structured(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise Unresolved(
                "requestBody.replacements", "replacements need a JSON payload"
            ) from None
    return value


def _jsonish(value: Any) -> Any:
    return None if value is MISSING else value


def _body_for_trace(request: PreparedRequest) -> Any:
    if request.body is None:
        return None
    value = request.body_value
    if isinstance(value, dict | list | str | int | float | bool) or value is None:
        return value
    return request.body.decode("utf-8", errors="replace")


def _merge_actions(
    step_actions: Sequence[Action], workflow_actions: Sequence[Action]
) -> list[Action]:
    names = {a.name for a in step_actions}
    return [*step_actions, *(a for a in workflow_actions if a.name not in names)]


def _find_workflow(document: ArazzoDocument, reference: str) -> tuple[ArazzoDocument, Workflow]:
    qualified = split_qualified(reference)
    if qualified is not None:
        child = document.arazzo_sources[qualified[0]]
        return child, child.workflow(qualified[1])
    return document, document.workflow(reference)


def _inputs_for(workflow: Workflow, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The caller's inputs a dependency or goto target receives: those it declares."""
    schema = workflow.inputs
    if schema is None:
        return {}
    properties = schema.get("properties")
    if isinstance(properties, Mapping):
        return {k: v for k, v in inputs.items() if k in properties}
    return dict(inputs)


def _all_criteria(document: ArazzoDocument, workflow: Workflow) -> list[Criterion]:
    criteria: list[Criterion] = []
    for action in (*workflow.success_actions, *workflow.failure_actions):
        criteria.extend(action.criteria)
    for step in workflow.steps:
        criteria.extend(step.success_criteria)
        for action in (*step.on_success, *step.on_failure):
            criteria.extend(action.criteria)
    return criteria


def _released(sent: Sequence[_Sent], value: str) -> bool:
    """A later successful DELETE, ``…/close`` request, or ``accepting_jobs: false`` PATCH on it."""
    for record in sent:
        if not record.step_succeeded:
            continue
        path = record.url.split("?", 1)[0]
        if value not in path:
            continue
        if record.method == "DELETE" or path.rstrip("/").endswith("/close"):
            return True
        if (
            record.method == "PATCH"
            and isinstance(record.body, Mapping)
            and record.body.get("accepting_jobs") is False
        ):
            return True
    return False
