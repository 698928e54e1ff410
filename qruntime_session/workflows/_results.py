"""The typed results of a workflow run: :class:`StepResult` and :class:`WorkflowResult`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs

from ._errors import OpenResource, WorkflowFailedError
from ._trace import AttemptTrace

__all__ = ["StepResult", "WorkflowResult"]


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
