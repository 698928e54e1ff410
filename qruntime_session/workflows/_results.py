"""The typed results of a workflow run: ``StepResult`` and ``WorkflowResult``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs

from ._errors import OpenResource, WorkflowFailedError
from ._trace import AttemptTrace

__all__ = ["StepResult", "WorkflowResult"]


@attrs.frozen(kw_only=True)
class StepResult:
    """One execution of one step (a step entered twice through ``goto`` has two results)."""

    workflow_id: str
    """The workflow of the step."""
    step_id: str
    """The step executed."""
    status: Literal["succeeded", "failed"]
    """``"succeeded"`` or ``"failed"``."""
    status_code: int | None
    """The last HTTP status, or ``None`` for a workflow step or when no response came."""
    outputs: Mapping[str, Any] = attrs.field(repr=False)
    """The step's outputs by name (on failure: those that could be computed)."""
    attempts: int
    """How many times the step ran in this execution (retries included)."""
    action: str
    """What followed: ``next``, ``end``, ``goto:<id>``, ``break`` (a failure no action
    matched), or ``return`` for a step run before a retry. A ``retry`` whose budget ran out
    leads to the action after it.
    """
    error: str | None = None
    """Why the step failed (masked), or ``None``."""

    @property
    def ok(self) -> bool:
        """Whether the status is ``succeeded``."""
        return self.status == "succeeded"


@attrs.frozen(kw_only=True)
class WorkflowResult:
    """The outcome of running one workflow (with everything it ran: dependencies, children).

    ``left_open`` lists the resources the run created and did not visibly release (see the
    guide's [The seed's gap: no "finally"][the-seeds-gap-no-finally]).

    Step failures are returned, not raised:
    [`raise_for_status`][qruntime_session.workflows.WorkflowResult.raise_for_status] raises
    ``error`` when you want an exception.
    """

    workflow_id: str
    """The workflow run."""
    status: Literal["succeeded", "failed"]
    """``"succeeded"`` or ``"failed"``."""
    outputs: Mapping[str, Any] = attrs.field(repr=False)
    """The workflow's outputs by name (as far as they could be computed)."""
    steps: tuple[StepResult, ...] = attrs.field(repr=False)
    """Every step execution, in order, of every workflow the run executed."""
    trace: tuple[AttemptTrace, ...] = attrs.field(repr=False)
    """Every attempt, in order, secrets masked."""
    step_outputs: Mapping[str, Mapping[str, Any]] = attrs.field(repr=False)
    """The outputs gathered per step id of the top-level workflow, ``{stepId: {name: value}}``."""
    workflow_outputs: Mapping[str, Mapping[str, Any]] = attrs.field(repr=False)
    """The outputs of every workflow the run executed, ``{workflowId: {name: value}}``."""
    left_open: tuple[OpenResource, ...] = ()
    """Resources created and not visibly released."""
    failed_step: str | None = None
    """The step that made the workflow fail, or ``None``."""
    status_code: int | None = None
    """The failing step's last HTTP status, or ``None``."""
    ended_by_action: bool = False
    """Whether an ``end`` action stopped the run after a failed step."""
    error: WorkflowFailedError | None = attrs.field(default=None, repr=False)
    """The error describing a failure
    ([`StepFailedError`][qruntime_session.workflows.StepFailedError] or
    [`StepLimitError`][qruntime_session.workflows.StepLimitError]), or ``None``.
    """
    diagnostics: tuple[str, ...] = attrs.field(default=(), repr=False)
    """Workflow outputs that could not be resolved, and why."""

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
        """The last execution of a step.

        Args:
            step_id: The step's ``stepId``.

        Returns:
            Its last [`StepResult`][qruntime_session.workflows.StepResult].

        Raises:
            KeyError: The step never ran.
        """
        for result in reversed(self.steps):
            if result.step_id == step_id:
                return result
        raise KeyError(step_id)

    def raise_for_status(self) -> WorkflowResult:
        """Raise ``error`` when the workflow failed; return ``self`` otherwise.

        Returns:
            ``self``, when the workflow succeeded (for chaining).

        Raises:
            WorkflowFailedError: The workflow failed: ``error`` (a
                [`StepFailedError`][qruntime_session.workflows.StepFailedError] or
                [`StepLimitError`][qruntime_session.workflows.StepLimitError]).
        """
        if self.error is not None:
            raise self.error
        return self

    def trace_json(self) -> list[dict[str, Any]]:
        """The per-attempt trace as JSON-compatible data (already masked).

        Returns:
            One dict per attempt, as
            [`AttemptTrace.as_json`][qruntime_session.workflows.AttemptTrace.as_json] makes it.
        """
        return [attempt.as_json() for attempt in self.trace]
