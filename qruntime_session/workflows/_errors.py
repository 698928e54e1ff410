"""Errors of the Arazzo executor, grafted onto the package's one exception tree.

::

    QRuntimeError
    └── WorkflowError                  something about an Arazzo workflow went wrong
        ├── DocumentError              (also ValueError) invalid document; ``path`` says where
        ├── ExpressionError            (also ValueError) a runtime expression cannot be parsed
        ├── WorkflowInputError         (also InvalidInputError) inputs rejected by the input schema
        ├── MissingExtraError          (also ImportError) an optional library is not installed
        └── WorkflowFailedError        the workflow ran and failed (returned in a result, raised
            │                          by ``WorkflowResult.raise_for_status()``)
            ├── StepFailedError        a step failed and no action recovered it
            └── StepLimitError         the loop guard stopped the run (``max_steps``)

Messages never contain input values, header values or bodies, so no secret can reach them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from qruntime_session import errors

__all__ = [
    "LEFT_OPEN",
    "DocumentError",
    "ExpressionError",
    "MissingExtraError",
    "OpenResource",
    "Problem",
    "StepFailedError",
    "StepLimitError",
    "WorkflowError",
    "WorkflowFailedError",
    "WorkflowInputError",
]

LEFT_OPEN = "; resources possibly left open: "
"""What a failure message says before the resources a failed run left open."""


@attrs.frozen
class Problem:
    """One finding of the validator: where (``workflows[0].steps[2].operationId``) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@attrs.frozen(kw_only=True)
class OpenResource:
    """A remote resource the run created and did not visibly release (see docs/workflows.md)."""

    workflow_id: str
    step_id: str
    output: str
    value: str


class WorkflowError(errors.QRuntimeError):
    """Root of the Arazzo executor's errors."""


class DocumentError(WorkflowError, ValueError):
    """The Arazzo document (or one of its source descriptions) is invalid; nothing was sent.

    ``path`` locates the first problem (``workflows[0].steps[2].operationId``); ``problems``
    lists every problem found, in document order.
    """

    def __init__(self, problems: Sequence[Problem], *, source: str | None = None) -> None:
        self.problems = tuple(problems)
        self.source = source
        first = self.problems[0] if self.problems else Problem("", "invalid document")
        self.path = first.path
        message = str(first)
        if len(self.problems) > 1:
            message += f" (and {len(self.problems) - 1} more problem(s))"
        if source:
            message = f"{source}: {message}"
        super().__init__(message)

    @classmethod
    def single(cls, path: str, message: str, *, source: str | None = None) -> DocumentError:
        """A ``DocumentError`` with one problem at ``path``."""
        return cls([Problem(path, message)], source=source)


class ExpressionError(WorkflowError, ValueError):
    """A runtime expression or a simple condition does not follow the grammar.

    ``expression`` is the text that failed and ``position`` the offset of the problem.
    """

    def __init__(self, message: str, *, expression: str = "", position: int = 0) -> None:
        self.expression = expression
        self.position = position
        super().__init__(message)


class WorkflowInputError(WorkflowError, errors.InvalidInputError):
    """The workflow's inputs do not satisfy its input schema; nothing was sent.

    ``path`` is the JSON path of the offending input (``$.params.shots``), ``workflow_id``
    the workflow. The message names the rule that failed, never the rejected value.
    """

    def __init__(self, message: str, *, workflow_id: str, path: str = "$") -> None:
        self.workflow_id = workflow_id
        self.path = path
        super().__init__(message)


class MissingExtraError(WorkflowError, ImportError):
    """An optional library this document needs is missing.

    Install the extra: ``pip install 'qruntime-session[workflows]'``.
    """

    def __init__(self, library: str, needed_for: str) -> None:
        self.library = library
        self.needed_for = needed_for
        super().__init__(
            f"{needed_for} needs the {library!r} library; install the optional extra: "
            "pip install 'qruntime-session[workflows]'"
        )


class WorkflowFailedError(WorkflowError):
    """The workflow ran and failed.

    ``workflow_id`` and ``step_id`` say where, ``status`` is the failing step's last HTTP
    status (``None`` when no response was received), ``step_outputs`` holds every step output
    gathered so far (``{stepId: {name: value}}``) and ``left_open`` the resources the run
    created and did not release (e.g. a session still open). ``session_id`` is set to the first
    session left open.
    """

    def __init__(
        self,
        message: str,
        *,
        workflow_id: str,
        step_id: str | None = None,
        status: int | None = None,
        step_outputs: Mapping[str, Mapping[str, Any]] | None = None,
        left_open: Sequence[OpenResource] = (),
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        self.workflow_id = workflow_id
        self.step_id = step_id
        self.step_outputs: Mapping[str, Mapping[str, Any]] = dict(step_outputs or {})
        self.left_open = tuple(left_open)
        sessions = [r.value for r in self.left_open]
        if sessions:
            message += LEFT_OPEN + ", ".join(
                f"{r.output}={r.value} (from step {r.step_id})" for r in self.left_open
            )
        super().__init__(
            message,
            status=status,
            method=method,
            url=url,
            session_id=sessions[0] if sessions else None,
        )

    def __str__(self) -> str:
        # The message already names the step, its status and the resources left open.
        return self.message


class StepFailedError(WorkflowFailedError):
    """A step failed and no action recovered it.

    Criteria not met, a value that could not be resolved, or a transport error.
    """


class StepLimitError(WorkflowFailedError):
    """The run executed more steps than ``max_steps`` allows (a ``goto`` loop, most likely)."""
