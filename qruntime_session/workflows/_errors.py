"""Errors of the Arazzo executor, grafted onto the package's one exception tree.

```text
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
```

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
    """One finding of the validator: where (``workflows[0].steps[2].operationId``) and what.

    ``str(problem)`` reads ``path: message`` (only the message when the path is empty).
    """

    path: str
    """Where the problem is, as a path into the document (``workflows[0].steps[2].operationId``);
    empty for the document as a whole.
    """
    message: str
    """What is wrong there."""

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@attrs.frozen(kw_only=True)
class OpenResource:
    """A remote resource the run created and did not visibly release.

    A step output whose name ends in ``sessionId`` (``session_id``…) is a resource handle;
    it counts as released when a later successful request of the run closes it (a
    ``DELETE`` or a ``…/close`` on a URL holding the value, or a ``PATCH`` setting
    ``accepting_jobs`` to ``false``). The full rule is in the guide's
    [The seed's gap: no "finally"][the-seeds-gap-no-finally].
    """

    workflow_id: str
    """The workflow whose step produced the handle."""
    step_id: str
    """The step that produced it."""
    output: str
    """The name of the step output holding it (``sessionId``)."""
    value: str
    """The handle itself (a session id)."""


class WorkflowError(errors.QRuntimeError):
    """Root of the Arazzo executor's errors.

    A subclass of [`QRuntimeError`][qruntime_session.errors.QRuntimeError]: ``except
    QRuntimeError`` catches these too.
    """


class DocumentError(WorkflowError, ValueError):
    """The Arazzo document (or one of its source descriptions) is invalid; nothing was sent.

    ``path`` locates the first problem (``workflows[0].steps[2].operationId``); ``problems``
    lists every problem found, in document order. The message is the first problem, with
    the number of others and the file's name when known. Also a ``ValueError``.

    Args:
        problems: Every problem found, in document order (the first one makes the message).
        source: The file the document came from, when it came from one.
    """

    def __init__(self, problems: Sequence[Problem], *, source: str | None = None) -> None:
        self.problems = tuple(problems)
        """Every [`Problem`][qruntime_session.workflows.Problem] found, in document order."""
        self.source = source
        """The file the document came from, or ``None``."""
        first = self.problems[0] if self.problems else Problem("", "invalid document")
        self.path = first.path
        """Where the first problem is (``workflows[0].steps[2].operationId``)."""
        message = str(first)
        if len(self.problems) > 1:
            message += f" (and {len(self.problems) - 1} more problem(s))"
        if source:
            message = f"{source}: {message}"
        super().__init__(message)

    @classmethod
    def single(cls, path: str, message: str, *, source: str | None = None) -> DocumentError:
        """A ``DocumentError`` with one problem at ``path``.

        Args:
            path: Where the problem is, as a path into the document.
            message: What is wrong there.
            source: The file the document came from, when it came from one.

        Returns:
            The error (not raised).
        """
        return cls([Problem(path, message)], source=source)


class ExpressionError(WorkflowError, ValueError):
    """A runtime expression or a simple condition does not follow the grammar.

    ``expression`` is the text that failed and ``position`` the offset of the problem.
    Also a ``ValueError``.

    Args:
        message: What is wrong with the expression.
        expression: The expression (or condition) that failed to parse.
        position: The offset in ``expression`` where parsing failed.
    """

    def __init__(self, message: str, *, expression: str = "", position: int = 0) -> None:
        self.expression = expression
        """The expression (or condition) that failed to parse."""
        self.position = position
        """The offset in ``expression`` where parsing failed."""
        super().__init__(message)


class WorkflowInputError(WorkflowError, errors.InvalidInputError):
    """The workflow's inputs do not satisfy its input schema; nothing was sent.

    ``path`` is the JSON path of the offending input (``$.params.shots``), ``workflow_id``
    the workflow. The message names the rule that failed, never the rejected value. Also an
    [`InvalidInputError`][qruntime_session.errors.InvalidInputError].

    Args:
        message: The rule that failed, without the rejected value.
        workflow_id: The workflow whose inputs were rejected.
        path: The JSON path of the offending input (``$.params.shots``); ``$`` for the
            inputs as a whole.
    """

    def __init__(self, message: str, *, workflow_id: str, path: str = "$") -> None:
        self.workflow_id = workflow_id
        """The workflow whose inputs were rejected."""
        self.path = path
        """The JSON path of the offending input (``$.params.shots``), or ``$``."""
        super().__init__(message)


class MissingExtraError(WorkflowError, ImportError):
    """An optional library this document needs is missing.

    Install the ``workflows`` extra: ``pip install -e ".[workflows]"`` in a clone of the
    repository, or ``pip install "qruntime-session[workflows] @
    git+https://github.com/qruntime-session/qruntime-session"``. Also an ``ImportError``.

    Args:
        library: The distribution that is missing (``jsonschema``, ``python-jsonpath``).
        needed_for: What needs it (``validating workflow inputs``, ``a jsonpath criterion``).
    """

    def __init__(self, library: str, needed_for: str) -> None:
        self.library = library
        """The distribution that is missing (``jsonschema``, ``python-jsonpath``)."""
        self.needed_for = needed_for
        """What needs it, in words (``a jsonpath criterion``)."""
        super().__init__(
            f"{needed_for} needs the {library!r} library; install the optional extra "
            "'workflows': pip install -e \".[workflows]\" in a clone of the repository, or "
            'pip install "qruntime-session[workflows] @ '
            'git+https://github.com/qruntime-session/qruntime-session"'
        )


class WorkflowFailedError(WorkflowError):
    """The workflow ran and failed.

    ``workflow_id`` and ``step_id`` say where, ``status`` is the failing step's last HTTP
    status (``None`` when no response was received), ``step_outputs`` holds every step output
    gathered so far (``{stepId: {name: value}}``) and ``left_open`` the resources the run
    created and did not release (e.g. a session still open). ``session_id`` is set to the first
    session left open.

    A failed run *returns* this error as the ``error`` of its
    [`WorkflowResult`][qruntime_session.workflows.WorkflowResult];
    [`raise_for_status`][qruntime_session.workflows.WorkflowResult.raise_for_status] raises it.

    Args:
        message: What failed (the step and its status); the resources left open are appended.
        workflow_id: The workflow that failed.
        step_id: The step that failed, when one did.
        status: The failing step's last HTTP status, or ``None`` when no response came.
        step_outputs: Every step output gathered so far, ``{stepId: {name: value}}``.
        left_open: The resources the run created and did not release.
        method: The HTTP method of the failing request, when the raiser knows it (the
            executor leaves it ``None``; each attempt's request is in the trace).
        url: The URL of the failing request, likewise; never one holding a secret.
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
        """The workflow that failed."""
        self.step_id = step_id
        """The step that failed, or ``None``."""
        self.step_outputs: Mapping[str, Mapping[str, Any]] = dict(step_outputs or {})
        """Every step output gathered so far, ``{stepId: {name: value}}``."""
        self.left_open = tuple(left_open)
        """The [`OpenResource`][qruntime_session.workflows.OpenResource]s not released."""
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
