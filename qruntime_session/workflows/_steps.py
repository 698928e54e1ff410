"""Step execution: one attempt of one step — build the request, send it, judge the answer.

An operation step's request is built from the document (parameters, request body), sent
exactly once through the project's transport with ``retry="none"``, ``expected=None`` and
``authenticate=False`` (only the document decides about retries and headers), and judged by
its ``successCriteria`` (none: a 2xx status, or any response with ``default_success="any"``).
A step that targets a workflow runs it through the ``call_workflow`` the caller passes in
(flow control owns nested runs). What happens after an attempt is ``_flow``'s business.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

import attrs

from qruntime_session import errors
from qruntime_session._transport import Response as HTTPResponse
from qruntime_session._transport import Transport

from ._criteria import CriterionOutcome, evaluate_criterion
from ._errors import ExpressionError, WorkflowError
from ._expressions import Expr, Template, Unresolved, parse_template, resolve_value
from ._model import ArazzoDocument, Criterion, Operation, Step, Workflow, merged_parameters
from ._request import PreparedRequest, apply_replacements, build_request, choose_content_type
from ._state import AttemptResult, Run, Scope, Sent, WorkflowState, find_workflow
from ._trace import secret_strings

__all__ = ["CallWorkflow", "DefaultSuccess", "StepExecutor", "renew_inputs"]

DefaultSuccess = Literal["2xx", "any"]

CallWorkflow = Callable[
    [Run, ArazzoDocument, Workflow, Mapping[str, Any], int], Awaitable[WorkflowState]
]
"""Runs a nested workflow (inputs validated) and returns its final state."""


@attrs.frozen(kw_only=True)
class StepExecutor:
    """Runs one attempt of a step and evaluates criteria (see the module docstring).

    ``server_url`` is the executor's override (one URL, or a mapping per source name).
    """

    server_url: str | Mapping[str, str] | None = None
    default_success: DefaultSuccess = "2xx"
    jsonpath_root_fallback: bool = True

    # -- one attempt -------------------------------------------------------------------------

    async def attempt(
        self, run: Run, state: WorkflowState, step: Step, depth: int, call: CallWorkflow
    ) -> AttemptResult:
        if step.workflow_id is not None:
            return await self._workflow_attempt(run, state, step, depth, call)
        result = AttemptResult()
        problem = await renew_inputs(run)
        if problem is not None:
            result.error = f"{problem}; nothing was sent"
            result.error_type = "input"
            return result
        try:
            prepared = self.prepare(run, state, step)
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
        scope = self.scope(run, state, result)
        result.criteria = [self.criterion(c, scope) for c in step.success_criteria]
        if step.success_criteria:
            result.success = all(c.passed for c in result.criteria)
            if not result.success:
                failed = [c.condition for c in result.criteria if not c.passed]
                result.error = "successCriteria not met: " + "; ".join(failed)
        else:
            result.success = self.default_success == "any" or 200 <= response.status < 300
            if not result.success:
                result.error = f"no successCriteria and status {response.status} is not 2xx"
        run.sent.append(Sent(prepared.method, response.url, prepared.body_value, result.success))
        return result

    async def _workflow_attempt(
        self, run: Run, state: WorkflowState, step: Step, depth: int, call: CallWorkflow
    ) -> AttemptResult:
        result = AttemptResult()
        assert step.workflow_id is not None
        target_document, target = find_workflow(state.document, step.workflow_id)
        scope = Scope(run, state)
        inputs: dict[str, Any] = {}
        try:
            for parameter in merged_parameters(state.workflow, step):
                inputs[parameter.name] = resolve_value(parameter.value, scope)
        except (Unresolved, ExpressionError) as exc:
            result.error = _unresolved_message(exc)
            result.error_type = "expression"
            return result
        child = await call(run, target_document, target, inputs, depth)
        result.child_outputs = dict(child.outputs)
        result.notes.append(f"workflow {target.workflow_id!r}: {child.status}")
        if child.status != "succeeded":
            result.error = f"workflow {target.workflow_id!r} failed: {child.error_message}"
            result.error_type = "workflow"
            return result
        result.criteria = [
            self.criterion(c, self.scope(run, state, result)) for c in step.success_criteria
        ]
        result.success = all(c.passed for c in result.criteria)
        if not result.success:
            result.error = "successCriteria not met: " + "; ".join(
                c.condition for c in result.criteria if not c.passed
            )
        return result

    # -- criteria and scopes -----------------------------------------------------------------

    def criterion(self, criterion: Criterion, scope: Scope) -> CriterionOutcome:
        return evaluate_criterion(
            criterion, scope, jsonpath_root_fallback=self.jsonpath_root_fallback
        )

    @staticmethod
    def scope(run: Run, state: WorkflowState, result: AttemptResult) -> Scope:
        return Scope(run, state, result.exchange, child_outputs=result.child_outputs)

    # -- the request -------------------------------------------------------------------------

    def server_for(self, operation: Operation) -> str:
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

    def prepare(
        self,
        run: Run,
        state: WorkflowState,
        step: Step,
        *,
        fallback: Callable[[Expr, Unresolved], Any] | None = None,
    ) -> PreparedRequest:
        operation = state.document.operation(state.workflow.workflow_id, step.step_id)
        scope = Scope(run, state)
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
        return build_request(operation, self.server_for(operation), parameters, body=body)


async def renew_inputs(run: Run) -> str | None:
    """Ask every input provider for its current value; put a changed one in every workflow.

    A value that changed (a renewed token) replaces the previous one wherever a workflow of
    the run holds it as an input, whatever the input's name there (a nested workflow may
    receive it under another), and is masked from then on. Returns what went wrong when a
    provider raised one of the package's errors (``None`` when all gave a value).
    """
    for name, provider in run.providers.items():
        try:
            value = await provider()
        except errors.QRuntimeError as exc:
            return f"input {name!r} could not be renewed: {type(exc).__name__}: {exc.message}"
        previous = run.provided.get(name)
        if value == previous:
            continue
        run.provided[name] = value
        run.masker.add(secret_strings(value))
        for workflow_state in run.states.values():
            inputs = workflow_state.inputs
            for key in [k for k, v in inputs.items() if v == previous]:
                inputs[key] = value
    return None


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
