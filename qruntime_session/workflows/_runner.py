"""Running Arazzo workflows: the executor, the façade over its parts.

The executor owns the settings, the transport and the input validators; each run builds its
parts: ``_steps.StepExecutor`` (one attempt of one step), ``_flow.FlowController``
(actions, goto/retry/end, dependencies) and ``_outputs.RunRecorder`` (outputs, the trace,
the result).

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
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import aiohttp
import attrs

from qruntime_session import errors
from qruntime_session._timeouts import Timeouts
from qruntime_session._transport import Transport

from ._criteria import jsonpath_module
from ._flow import FlowController, Sleep
from ._inputs import compile_schema, prepare_inputs
from ._model import ArazzoDocument, Criterion, Workflow
from ._outputs import RunRecorder
from ._plan import DryRun
from ._results import StepResult, WorkflowResult
from ._state import InputProvider, Run, StepLimitReached, find_workflow, inputs_for
from ._steps import DefaultSuccess, StepExecutor
from ._trace import Masker, PlannedRequest, secret_strings

__all__ = ["StepResult", "WorkflowExecutor", "WorkflowResult"]

_RESOURCE_SUFFIXES = ("sessionid",)
_UNCHECKED: Any = object()


def _utc_now() -> datetime:
    return datetime.now(UTC)


@attrs.define(kw_only=True)
class WorkflowExecutor:
    """Runs the workflows of one loaded Arazzo document.

    Without ``transport``, the executor sends through one transport of its own, created at
    the first run and reused by every later one: over the aiohttp ``session`` if given (which
    it never closes), or over a connection pool it owns while used as ``async with
    executor:`` (closed on leaving the block, or by
    [`aclose`][qruntime_session.workflows.WorkflowExecutor.aclose]). An executor used outside
    ``async with`` and without ``session`` opens and closes a pool per run, so nothing is left
    open. The input schemas of the document are checked once, at the first run, and their
    validators kept. The executor holds no run state: concurrent runs are independent.

    ```python
    async with WorkflowExecutor(document=load_document(seed_path()), server_url=url) as ex:
        result = await ex.run(inputs)
    ```

    Args:
        document: The document, from
            [`load_document`][qruntime_session.workflows.load_document].
        server_url: Replaces the OpenAPI ``servers[0].url``: one URL for every source, or a
            mapping from source name to URL (sources not named keep their own).
        transport: The package's internal transport to send through (it is not closed);
            most callers leave it ``None`` and pass ``session`` or nothing.
        session: An aiohttp session to send through (the executor never closes it).
        timeouts: Per-request timeouts of the transport the executor creates
            ([`Timeouts`][qruntime_session.Timeouts]; default: the package's).
        sleep: Awaited to wait before a retry (injectable for tests).
        clock: Monotonic seconds, for the trace's ``started`` and ``elapsed``.
        now: The current UTC time, for ``Retry-After`` dates.
        max_steps: The most step executions one run may make (the loop guard; past it the
            run fails with [`StepLimitError`][qruntime_session.workflows.StepLimitError]).
        default_success: Decides a step without ``successCriteria``: ``"2xx"`` (a 2xx status)
            or ``"any"`` (any response).
        jsonpath_root_fallback: Whether a ``$[?…]`` JSONPath that matches nothing is tried
            again against the context wrapped in an array (the guide's ``jsonpath`` section).
        resource_suffixes: Step-output name endings (lower-cased, ``-``/``_`` removed) that
            mark a resource handle for ``left_open``.
        input_providers: Inputs whose value can change during a run (a bearer token that
            expires): input name to an async callable giving the current value. Each is
            awaited at the start of ``run`` (its value wins over a given one) and again before
            every request; a changed value replaces the previous one in every workflow of the
            run. Their values are masked like secret inputs. ``plan`` does not call them.
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
    input_providers: Mapping[str, InputProvider] = attrs.field(factory=dict)
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
        """The workflow a run with this ``workflow_id`` runs.

        Args:
            workflow_id: A ``workflowId`` of the document, or ``None`` for its first workflow.

        Returns:
            The workflow.

        Raises:
            InvalidInputError: The document has no workflow with that id (the message lists
                the ids it has).
        """
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
        """Run a workflow and return its result.

        Everything that can be checked is checked before the first request. A failing step
        is *returned* (``result.status == "failed"``, ``result.error``); use
        [`raise_for_status`][qruntime_session.workflows.WorkflowResult.raise_for_status] to
        raise it. Cancelling the run stops it at once (nothing more is sent).

        Args:
            inputs: The workflow's inputs (defaults from its input schema are applied);
                a dependency receives the ones its own schema declares.
            workflow_id: The workflow to run (default: the document's first).

        Returns:
            The [`WorkflowResult`][qruntime_session.workflows.WorkflowResult]: status,
            outputs, every step execution and the masked per-attempt trace.

        Raises:
            InvalidInputError: The document has no workflow ``workflow_id``.
            WorkflowInputError: The inputs of the workflow (or of a workflow it depends on)
                do not satisfy its input schema.
            DocumentError: An input schema of the document is not valid JSON Schema 2020-12.
            MissingExtraError: An optional library the document needs is not installed.
            ConfigurationError: An operation of the document has no absolute server URL
                and ``server_url`` does not supply one.
            QRuntimeError: An input provider failed at the start (whatever it raised; later,
                its failure fails the step about to be sent, ``error_type`` ``"input"``).
        """
        workflow = self.workflow_for(workflow_id)
        self._preflight()
        provided = {name: await provider() for name, provider in self.input_providers.items()}
        given = {**(inputs or {}), **provided}
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
        recorder = RunRecorder(resource_suffixes=self.resource_suffixes)
        flow = FlowController(
            steps=self._step_executor(),
            recorder=recorder,
            prepare_inputs=self._inputs,
            sleep=self.sleep,
            clock=self.clock,
            now=self.now,
            max_steps=self.max_steps,
        )
        run = Run(
            transport=transport,
            masker=Masker(),
            providers=self.input_providers,
            provided=provided,
        )
        run.masker.add(secret_strings(list(provided.values())))
        try:
            state = await flow.workflow(run, self.document, workflow, prepared, depth=0)
        except StepLimitReached as exc:
            state = run.states[(id(self.document), workflow.workflow_id)]
            state.status = "failed"
            state.failed_step = exc.step_id
            state.error_message = exc.message
            recorder.finish_outputs(run, state)
            return recorder.result(run, state, limit=True)
        finally:
            await _cancel_tasks(run)
            if owned:
                await transport.aclose()
        return recorder.result(run, state)

    async def plan(
        self, inputs: Mapping[str, Any] | None = None, *, workflow_id: str | None = None
    ) -> tuple[PlannedRequest, ...]:
        """A dry run: the requests the workflow would send, in document order, with nothing sent.

        Steps are assumed to succeed and follow each other (no actions). Values that only a
        response can provide appear as ``<$steps.…>`` placeholders; secrets are masked.

        Args:
            inputs: The workflow's inputs, as for
                [`run`][qruntime_session.workflows.WorkflowExecutor.run].
            workflow_id: The workflow to plan (default: the document's first).

        Returns:
            One [`PlannedRequest`][qruntime_session.workflows.PlannedRequest] per request, in
            the order a successful run would send them.

        Raises:
            InvalidInputError: The document has no workflow ``workflow_id``.
            WorkflowInputError: The inputs of the workflow (or of a workflow it depends on)
                do not satisfy its input schema.
            DocumentError: An input schema of the document is not valid JSON Schema 2020-12.
            MissingExtraError: An optional library the document needs is not installed.
            ConfigurationError: An operation of the document has no absolute server URL
                and ``server_url`` does not supply one.
        """
        workflow = self.workflow_for(workflow_id)
        self._preflight()
        prepared = self._prepare_all_inputs(workflow, dict(inputs or {}))
        run = Run(transport=None, masker=Masker())
        await DryRun(self._step_executor()).workflow(
            run, self.document, workflow, prepared, depth=0
        )
        return tuple(run.planned)

    # -- preparation -------------------------------------------------------------------------

    def _step_executor(self) -> StepExecutor:
        return StepExecutor(
            server_url=self.server_url,
            default_success=self.default_success,
            jsonpath_root_fallback=self.jsonpath_root_fallback,
        )

    def _preflight(self) -> None:
        """Import the optional libraries the document needs, check input schemas and servers.

        Done once per executor (again only if ``server_url`` was changed since).
        """
        if self._checked_for is self.server_url:
            return
        documents = [self.document, *self.document.arazzo_sources.values()]
        steps = self._step_executor()
        validators: dict[int, tuple[Workflow, Any]] = {}
        for document in documents:
            for operation in document.operations.values():
                steps.server_for(operation)
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
                target_document, target = find_workflow(document, dependency)
                key = (id(target_document), target.workflow_id)
                if key in seen:
                    continue
                seen.add(key)
                self._inputs(target, inputs_for(target, given))
                stack.append((target_document, target))
        return prepared


def _all_criteria(document: ArazzoDocument, workflow: Workflow) -> list[Criterion]:
    criteria: list[Criterion] = []
    for action in (*workflow.success_actions, *workflow.failure_actions):
        criteria.extend(action.criteria)
    for step in workflow.steps:
        criteria.extend(step.success_criteria)
        for action in (*step.on_success, *step.on_failure):
            criteria.extend(action.criteria)
    return criteria


async def _cancel_tasks(run: Run) -> None:
    """Cancel dependency runs still going (the run was cancelled or stopped) and reap all."""
    tasks = list(run.tasks.values())
    for task in tasks:
        if not task.done():
            task.cancel()
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)
