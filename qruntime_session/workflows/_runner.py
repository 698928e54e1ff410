"""Running Arazzo workflows: the executor, the façade over its parts.

The executor owns the settings, the transport and the input validators; each run builds its
parts: :class:`~._steps.StepExecutor` (one attempt of one step),
:class:`~._flow.FlowController` (actions, goto/retry/end, dependencies) and
:class:`~._outputs.RunRecorder` (outputs, the trace, the result).

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
from ._state import Run, StepLimitReached, find_workflow, inputs_for
from ._steps import DefaultSuccess, StepExecutor
from ._trace import Masker, PlannedRequest

__all__ = ["StepResult", "WorkflowExecutor", "WorkflowResult"]

_RESOURCE_SUFFIXES = ("sessionid",)
_UNCHECKED: Any = object()


def _utc_now() -> datetime:
    return datetime.now(UTC)


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
        run = Run(transport=transport, masker=Masker())
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
