"""Flow control: which step runs next, and when a workflow stops.

Steps run in document order. After each attempt the first matching ``onSuccess`` /
``onFailure`` action (the step's, then the workflow's not overridden by name) decides:
``end``, ``goto`` a step or a workflow, ``retry`` (wait, optionally run a step or workflow
first, then the step again, within the action's ``retryLimit``), or none (next step, or break
on failure). Dependencies (``dependsOn``) run first, concurrently, once per run; nested and
goto workflows are entered here too, bounded in depth; ``max_steps`` bounds a run's step
executions. One attempt is ``_steps.StepExecutor``'s job; outputs and the trace are
``_outputs.RunRecorder``'s.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

import attrs

from qruntime_session._retry import parse_retry_after
from qruntime_session._transport import Response as HTTPResponse

from ._errors import WorkflowInputError
from ._model import Action, ArazzoDocument, Step, Workflow
from ._outputs import RunRecorder
from ._state import (
    AttemptResult,
    Outcome,
    Run,
    StepLimitReached,
    WorkflowState,
    find_workflow,
    inputs_for,
)
from ._steps import StepExecutor

__all__ = ["MAX_DEPTH", "FlowController", "Sleep"]

log = logging.getLogger("qruntime_session.workflows")

Sleep = Callable[[float], Awaitable[None]]
MAX_DEPTH = 32
"""How deep workflows may nest (a workflow calling itself stops here)."""


@attrs.frozen(kw_only=True)
class FlowController:
    """Runs workflows step by step, following actions (see the module docstring).

    ``prepare_inputs`` validates a nested, dependency or goto workflow's inputs (raising
    ``WorkflowInputError``); ``sleep``, ``clock`` and ``now`` are the executor's.
    """

    steps: StepExecutor
    recorder: RunRecorder
    prepare_inputs: Callable[[Workflow, Mapping[str, Any]], dict[str, Any]]
    sleep: Sleep
    clock: Callable[[], float]
    now: Callable[[], datetime]
    max_steps: int

    # -- workflows ---------------------------------------------------------------------------

    async def workflow(
        self,
        run: Run,
        document: ArazzoDocument,
        workflow: Workflow,
        inputs: dict[str, Any],
        *,
        depth: int,
    ) -> WorkflowState:
        """Run one workflow (its dependencies first) to its end; its final state."""
        if depth > MAX_DEPTH:
            raise StepLimitReached(
                workflow.workflow_id,
                workflow.steps[0].step_id,
                f"workflows nested more than {MAX_DEPTH} deep (at workflow "
                f"{workflow.workflow_id!r}); "
                "a workflow calling itself?",
            )
        state = run.enter(document, workflow, inputs)
        log.debug("workflow %s: started", workflow.workflow_id)
        failed_dependency = await self._dependencies(run, document, workflow, inputs, depth)
        if failed_dependency is not None:
            state.status = "failed"
            state.error_message = (
                f"dependency {failed_dependency!r} of workflow {workflow.workflow_id!r} failed; "
                "none of its steps ran"
            )
            self.recorder.finish_outputs(run, state)
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
                target_document, target = find_workflow(document, outcome.target)
                child = await self.call_workflow(
                    run, target_document, target, inputs_for(target, inputs), depth
                )
                state.status = child.status if child.status != "running" else "failed"
                if child.status != "succeeded":
                    state.failed_step = step.step_id
                    state.error_message = (
                        f"workflow {target.workflow_id!r} (goto from step {step.step_id!r}) "
                        f"failed: {child.error_message}"
                    )
                self.recorder.finish_outputs(run, state)
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
                self.recorder.finish_outputs(run, state)
                return state
            # break
            state.status = "failed"
            state.failed_step = step.step_id
            state.status_code = outcome.status_code
            state.error_message = (
                f"step {step.step_id!r} failed{_code(outcome.status_code)}: {outcome.error}"
            )
            self.recorder.finish_outputs(run, state)
            return state
        state.status = "succeeded"
        self.recorder.finish_outputs(run, state)
        log.debug("workflow %s: %s", workflow.workflow_id, state.status)
        return state

    async def _dependencies(
        self,
        run: Run,
        document: ArazzoDocument,
        workflow: Workflow,
        inputs: Mapping[str, Any],
        depth: int,
    ) -> str | None:
        if not workflow.depends_on:
            return None
        tasks: list[tuple[str, asyncio.Task[WorkflowState]]] = []
        for dependency in workflow.depends_on:
            target_document, target = find_workflow(document, dependency)
            key = (id(target_document), target.workflow_id)
            task = run.tasks.get(key)
            if task is None:
                coroutine = self.call_workflow(
                    run, target_document, target, inputs_for(target, inputs), depth
                )
                task = asyncio.ensure_future(coroutine)
                run.tasks[key] = task
            tasks.append((dependency, task))
        states = await asyncio.gather(*(task for _, task in tasks))
        for (dependency, _), state in zip(tasks, states, strict=True):
            if state.status != "succeeded":
                return dependency
        return None

    async def call_workflow(
        self,
        run: Run,
        document: ArazzoDocument,
        workflow: Workflow,
        inputs: Mapping[str, Any],
        depth: int,
    ) -> WorkflowState:
        """Run a dependency, a nested workflow or a goto target (inputs validated here)."""
        try:
            prepared = self.prepare_inputs(workflow, inputs)
        except WorkflowInputError as exc:
            state = run.enter(document, workflow, dict(inputs))
            state.status = "failed"
            state.error_message = str(exc)
            return state
        return await self.workflow(run, document, workflow, prepared, depth=depth + 1)

    # -- steps -------------------------------------------------------------------------------

    async def _step(self, run: Run, state: WorkflowState, step: Step, depth: int) -> Outcome:
        workflow = state.workflow
        recorder = self.recorder
        retries: dict[str, int] = {}
        attempt = 0
        while True:
            self._count_step(run, workflow, step)
            attempt += 1
            started = self.clock()
            result = await self.steps.attempt(run, state, step, depth, self.call_workflow)
            elapsed = self.clock() - started
            if result.success:
                outputs, problems = recorder.step_outputs(run, state, step, result)
                if problems:
                    result.success = False
                    result.error = "; ".join(problems)
                    result.error_type = "expression"
                else:
                    recorder.keep_step_outputs(run, state, step, outputs)
                result.outputs = outputs
            else:
                result.outputs, _ = recorder.step_outputs(run, state, step, result)
            action, note = self._choose_action(run, state, step, result, retries)
            sleep: float | None = None
            if action is not None and action.type == "retry":
                sleep = self._retry_delay(action, result.exchange.response)
            kind_text = (
                action.describe() if action is not None else ("next" if result.success else "break")
            )
            recorder.record_attempt(
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
                    recorder.record_step(run, state, step, result, attempt, "break", side_error)
                    return Outcome("break", status_code=status_code, error=side_error)
                continue
            if action is None:
                kind: Literal["next", "break"] = "next" if result.success else "break"
                recorder.record_step(run, state, step, result, attempt, kind, result.error)
                return Outcome(
                    kind,
                    status_code=status_code,
                    error=result.error or "no successCriteria matched",
                    step_ok=result.success,
                )
            recorder.record_step(run, state, step, result, attempt, action.describe(), result.error)
            if action.type == "end":
                return Outcome(
                    "end", status_code=status_code, error=result.error, step_ok=result.success
                )
            if action.step_id is not None:
                return Outcome(
                    "goto-step",
                    target=action.step_id,
                    status_code=status_code,
                    step_ok=result.success,
                )
            return Outcome(
                "goto-workflow",
                target=action.workflow_id,
                status_code=status_code,
                step_ok=result.success,
            )

    def _count_step(self, run: Run, workflow: Workflow, step: Step) -> None:
        """The loop guard: at most ``max_steps`` step executions per run."""
        run.steps_executed += 1
        if run.steps_executed > self.max_steps:
            raise StepLimitReached(
                workflow.workflow_id,
                step.step_id,
                f"the run executed more than {self.max_steps} steps (max_steps); stopped before "
                f"step {step.step_id!r} of workflow {workflow.workflow_id!r} — a goto loop?",
            )

    # -- actions -----------------------------------------------------------------------------

    async def _retry_target(
        self, run: Run, state: WorkflowState, action: Action, depth: int
    ) -> str | None:
        """Run a retry action's stepId/workflowId before the retry; an error text if it failed."""
        recorder = self.recorder
        if action.step_id is not None:
            side = state.workflow.step(action.step_id)
            self._count_step(run, state.workflow, side)
            started = self.clock()
            result = await self.steps.attempt(run, state, side, depth, self.call_workflow)
            elapsed = self.clock() - started
            outputs, problems = (
                recorder.step_outputs(run, state, side, result) if result.success else ({}, [])
            )
            if result.success and not problems:
                recorder.keep_step_outputs(run, state, side, outputs)
            ok = result.success and not problems
            result.outputs = outputs
            recorder.record_attempt(
                run, state, side, 1, started, elapsed, result, "return", None, "run before a retry"
            )
            recorder.record_step(
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
            target_document, target = find_workflow(state.document, action.workflow_id)
            child = await self.call_workflow(
                run, target_document, target, inputs_for(target, state.inputs), depth
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
        run: Run,
        state: WorkflowState,
        step: Step,
        result: AttemptResult,
        retries: Mapping[str, int],
    ) -> tuple[Action | None, str | None]:
        workflow = state.workflow
        if result.success:
            actions = _merge_actions(step.on_success, workflow.success_actions)
        else:
            actions = _merge_actions(step.on_failure, workflow.failure_actions)
        scope = self.steps.scope(run, state, result)
        notes: list[str] = []
        for action in actions:
            outcomes = [self.steps.criterion(c, scope) for c in action.criteria]
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


def _code(status: int | None) -> str:
    return f" (status {status})" if status is not None else ""


def _merge_actions(
    step_actions: Sequence[Action], workflow_actions: Sequence[Action]
) -> list[Action]:
    names = {a.name for a in step_actions}
    return [*step_actions, *(a for a in workflow_actions if a.name not in names)]
