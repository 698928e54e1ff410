"""The one exception tree of ``qruntime_session``.

Every error the package raises derives from
[`QRuntimeError`][qruntime_session.errors.QRuntimeError]. The branches are split by what the
caller can do next:

```text
QRuntimeError
├── TransportError                 no usable HTTP response
│   ├── ConnectError               the request provably never reached the service
│   ├── RequestTimeoutError        (also TimeoutError) no answer in time
│   ├── ConnectionLostError        the connection broke after the request was sent
│   ├── ResponseTooLargeError      an answer was larger than ``max_response_bytes``
│   └── SubmissionUnknownError     a job POST failed ambiguously and the client cannot tell
│                                  whether the job exists
├── APIStatusError                 the service answered with a status the step does not accept
│   ├── BadRequestError            400
│   ├── AuthenticationError        401
│   ├── PermissionDeniedError      403
│   ├── NotFoundError              404
│   ├── ConflictError              409
│   ├── RateLimitError             429 (``retry_after`` in seconds, when the service said)
│   ├── ServerError                5xx
│   └── UnexpectedStatusError      any other status (e.g. 201 where the spec says 200)
├── UsageError                     the program asked for something that cannot be done
│   ├── ConfigurationError         (also ValueError) settings are missing or malformed
│   ├── InvalidInputError          (also ValueError and TypeError) an argument was rejected
│   │                              before sending
│   ├── SessionStateError          the session is not open (not entered, or already closed)
│   └── ExtraNotInstalledError     (also ImportError) install ``qruntime-session[<extra>]``
├── JobError                       a job reached an outcome other than success
│   ├── JobFailedError             the job ended ``Failed``
│   ├── JobCancelledError          the job ended ``Cancelled`` (``ran_too_long`` for 1305)
│   ├── JobResultUnavailableError  ``GET …/results`` answered 204: no final result
│   └── JobTimeoutError            (also TimeoutError) ``wait(timeout=…)`` ran out
├── ResultDecodeError              (also ValueError) a result body is malformed for its program
└── WorkflowError                  the Arazzo executor (``qruntime_session.workflows``)
    ├── DocumentError              (also ValueError) the document is invalid; nothing sent
    ├── ExpressionError            (also ValueError) an expression breaks the grammar
    ├── WorkflowInputError         (also InvalidInputError) inputs fail their schema
    ├── MissingExtraError          (also ImportError) install ``qruntime-session[workflows]``
    └── WorkflowFailedError        the workflow ran and failed (names sessions left open)
        ├── StepFailedError        a step failed and no action recovered it
        └── StepLimitError         more steps ran than ``max_steps`` allows
```

Every error carries the same structured fields (``None`` where they do not apply):
``status``, ``codes`` (IBM error codes, as strings), ``errors`` (the IBM error items),
``trace_id``, ``method``, ``url``, ``session_id`` and ``job_id`` (the ids already created
when the error happened, so nothing that exists is lost). Errors raised because of another
exception chain from it (``raise … from exc``). Messages never contain credentials.

aiohttp exception types never escape the package: they are translated in one place, the
private transport module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

__all__ = [
    "APIStatusError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "ConnectError",
    "ConnectionLostError",
    "ErrorDetail",
    "ExtraNotInstalledError",
    "InvalidInputError",
    "JobCancelledError",
    "JobError",
    "JobFailedError",
    "JobResultUnavailableError",
    "JobTimeoutError",
    "NotFoundError",
    "PermissionDeniedError",
    "QRuntimeError",
    "RateLimitError",
    "RequestTimeoutError",
    "ResponseTooLargeError",
    "ResultDecodeError",
    "ServerError",
    "SessionStateError",
    "SubmissionUnknownError",
    "TransportError",
    "UnexpectedStatusError",
    "UsageError",
    "status_error_class",
]


@attrs.frozen(kw_only=True)
class ErrorDetail:
    """One item of IBM's error body ``{"trace": …, "errors": [{"code", "message", "more_info"}]}``.

    ``code`` is kept as a string even when the service sent a JSON number (it has sent 1352).
    ``solution`` is an undocumented field the service adds to some items.
    """

    code: str | None = None
    """IBM's error code (for example ``"1217"``), as a string."""
    message: str | None = None
    """IBM's message for this item."""
    more_info: str | None = None
    """A link to IBM's documentation of the code."""
    solution: str | None = None
    """What to do about it, when the service says."""


class QRuntimeError(Exception):
    """Root of every error raised by ``qruntime_session``.

    Every field is keyword-only except the message, and ``None`` (or empty) where it does not
    apply; the package fills in what it knows when it raises.

    Args:
        message: What went wrong, for people (never holds a credential).
        status: The HTTP status of the response, when there was one.
        errors: The items of IBM's error body, in order.
        trace_id: IBM's trace id of the response (quote it when asking IBM for help).
        method: The HTTP method of the request.
        url: The URL of the request.
        session_id: The session the error concerns, if one exists.
        job_id: The job the error concerns, if one exists.
        body: The response body as received, when it matters (a malformed result).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        errors: Sequence[ErrorDetail] = (),
        trace_id: str | None = None,
        method: str | None = None,
        url: str | None = None,
        session_id: str | None = None,
        job_id: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        """What went wrong, without the structured facts ``str()`` appends."""
        self.status = status
        """The HTTP status of the response, or ``None`` when there was none."""
        self.errors: tuple[ErrorDetail, ...] = tuple(errors)
        """The items of IBM's error body (empty when there were none)."""
        self.trace_id = trace_id
        """IBM's trace id of the response, or ``None``."""
        self.method = method
        """The HTTP method of the request, or ``None``."""
        self.url = url
        """The URL of the request, or ``None``."""
        self.session_id = session_id
        """The id of the session concerned, or ``None``."""
        self.job_id = job_id
        """The id of the job concerned, or ``None``."""
        self.body = body
        """The response body as received, when the error keeps it (else ``None``)."""

    @property
    def codes(self) -> tuple[str, ...]:
        """IBM error codes of the response, in order (empty when there were none)."""
        return tuple(e.code for e in self.errors if e.code is not None)

    @property
    def code(self) -> str | None:
        """The first IBM error code, or ``None``."""
        codes = self.codes
        return codes[0] if codes else None

    def __str__(self) -> str:
        parts = [self.message]
        facts = []
        if self.method and self.url:
            facts.append(f"{self.method} {self.url}")
        if self.status is not None:
            facts.append(f"status {self.status}")
        if self.codes:
            facts.append("code " + ",".join(self.codes))
        if self.trace_id:
            facts.append(f"trace {self.trace_id}")
        if self.session_id:
            facts.append(f"session {self.session_id}")
        if self.job_id:
            facts.append(f"job {self.job_id}")
        if facts:
            parts.append("(" + "; ".join(facts) + ")")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def as_dict(self) -> dict[str, Any]:
        """The structured fields as a JSON-compatible dict (for logs and CLIs).

        Returns:
            ``type``, ``message``, ``status``, ``codes``, ``errors`` (as dicts), ``trace_id``,
            ``method``, ``url``, ``session_id`` and ``job_id``; never ``body``.
        """
        return {
            "type": type(self).__name__,
            "message": self.message,
            "status": self.status,
            "codes": list(self.codes),
            "errors": [attrs.asdict(e) for e in self.errors],
            "trace_id": self.trace_id,
            "method": self.method,
            "url": self.url,
            "session_id": self.session_id,
            "job_id": self.job_id,
        }

    def _attach_ids(self, *, session_id: str | None = None, job_id: str | None = None) -> None:
        """Record ids that exist when this error passes through (never overwrites one)."""
        if session_id is not None and self.session_id is None:
            self.session_id = session_id
        if job_id is not None and self.job_id is None:
            self.job_id = job_id


# -- no usable response -------------------------------------------------------------------


class TransportError(QRuntimeError):
    """No usable HTTP response was received."""


class ConnectError(TransportError):
    """The connection could not be made: the request provably never reached the service."""


class RequestTimeoutError(TransportError, TimeoutError):
    """The service did not answer in time (the request may or may not have been processed)."""


class ConnectionLostError(TransportError):
    """The connection broke after the request was sent (it may have been processed)."""


class ResponseTooLargeError(TransportError):
    """An answer was larger than ``ClientConfig.max_response_bytes`` (as sent, or once
    inflated): reading stopped at the limit, and the request is not sent again."""


class SubmissionUnknownError(TransportError):
    """A job submission failed ambiguously and the client could not tell whether it exists.

    ``candidates`` lists ids of jobs in the session that might be the submission;
    ``submission_tag`` is the tag the submission carried (``None`` without submission tags):
    list the session's jobs with it later to find the job if it lands after all.

    Args:
        message: What went wrong.
        candidates: Ids of the session's jobs that might be the submission.
        submission_tag: The tag the submission carried, or ``None``.
        **kw: The structured fields of [`QRuntimeError`][qruntime_session.errors.QRuntimeError].
    """

    def __init__(
        self,
        message: str,
        *,
        candidates: Sequence[str] = (),
        submission_tag: str | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(message, **kw)
        self.candidates = tuple(candidates)
        """Ids of the session's jobs that might be the submission."""
        self.submission_tag = submission_tag
        """The tag the submission carried (list the session's jobs with it), or ``None``."""


# -- the service answered with an error status --------------------------------------------


class APIStatusError(QRuntimeError):
    """The service answered with a status the operation does not accept."""


class BadRequestError(APIStatusError):
    """400: the service rejected the request as invalid."""


class AuthenticationError(APIStatusError):
    """401: the bearer token is missing, wrong or expired (or IAM refused the API key)."""


class PermissionDeniedError(APIStatusError):
    """403: the credentials are valid but not allowed to do this."""


class NotFoundError(APIStatusError):
    """404: no such session or job in this instance (or a wrong region for the CRN)."""


class ConflictError(APIStatusError):
    """409: the resource is in a state that forbids this (e.g. cancelling a finished job)."""


class RateLimitError(APIStatusError):
    """429: too many requests. ``retry_after`` is the wait the service asked for, if any.

    Args:
        message: What went wrong.
        retry_after: Seconds the service asked to wait (its ``Retry-After``), or ``None``.
        **kw: The structured fields of [`QRuntimeError`][qruntime_session.errors.QRuntimeError].
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after
        """Seconds the service asked to wait before retrying, or ``None`` when it did not say."""


class ServerError(APIStatusError):
    """5xx: the service failed."""


class UnexpectedStatusError(APIStatusError):
    """A status that is not an error, but not the one the operation requires."""


_STATUS_CLASSES: Mapping[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def status_error_class(status: int) -> type[APIStatusError]:
    """The [`APIStatusError`][qruntime_session.errors.APIStatusError] subclass for a status.

    Args:
        status: An HTTP status code.

    Returns:
        The class raised for it: a specific subclass for 400, 401, 403, 404, 409 and 429,
        [`ServerError`][qruntime_session.errors.ServerError] for 5xx, ``APIStatusError`` for
        other 4xx and [`UnexpectedStatusError`][qruntime_session.errors.UnexpectedStatusError]
        for anything else.
    """
    if status in _STATUS_CLASSES:
        return _STATUS_CLASSES[status]
    if 500 <= status <= 599:
        return ServerError
    if 400 <= status <= 499:
        return APIStatusError
    return UnexpectedStatusError


# -- misuse and state ---------------------------------------------------------------------


class UsageError(QRuntimeError):
    """The program asked for something that cannot be done; nothing was sent."""


class ConfigurationError(UsageError, ValueError):
    """Settings are missing or malformed (no token, no CRN, a bad URL or API version)."""


class InvalidInputError(UsageError, ValueError, TypeError):
    """An argument was rejected before any request was sent.

    It is also a ``ValueError`` and a ``TypeError``, so code that guards a call with either
    builtin keeps working whether the value had the wrong type or a wrong value.
    """


class SessionStateError(UsageError):
    """The session is not open: it was not entered yet, or it has been closed."""


_REPOSITORY = "https://github.com/qruntime-session/qruntime-session"


class ExtraNotInstalledError(UsageError, ImportError):
    """A feature needs an optional dependency: ``extra`` names the package extra to install.

    The message ends with [`install`][qruntime_session.errors.ExtraNotInstalledError.install],
    the commands that install the extra (the package is installed from its repository).

    Args:
        message: What needs the dependency (``"result.to_qiskit() needs qiskit"``).
        extra: The package extra that provides it (``"qiskit"``).
        **kw: The structured fields of [`QRuntimeError`][qruntime_session.errors.QRuntimeError].
    """

    def __init__(self, message: str, *, extra: str, **kw: Any) -> None:
        self.extra = extra
        """The package extra to install, e.g. ``"sim"`` or ``"workflows"``."""
        self.install = (
            f'pip install "qruntime-session[{extra}] @ git+{_REPOSITORY}", or '
            f'pip install -e ".[{extra}]" in a clone of the repository'
        )
        """The commands that install the extra."""
        super().__init__(f"{message}: {self.install}", **kw)


# -- job outcomes -------------------------------------------------------------------------


class JobError(QRuntimeError):
    """A job reached an outcome other than success.

    ``reason``, ``reason_code`` and ``reason_solution`` are copied from the job's ``state``.

    Args:
        message: What happened to the job.
        reason: The job's ``state.reason``, or ``None``.
        reason_code: The job's ``state.reason_code`` (for example 1305), or ``None``.
        reason_solution: The job's ``state.reason_solution``, or ``None``.
        **kw: The structured fields of [`QRuntimeError`][qruntime_session.errors.QRuntimeError].
    """

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        reason_code: int | None = None,
        reason_solution: str | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(message, **kw)
        self.reason = reason
        """Why the job ended so, as the service said (``state.reason``), or ``None``."""
        self.reason_code = reason_code
        """The service's reason code (``state.reason_code``), or ``None``."""
        self.reason_solution = reason_solution
        """What the service suggests doing (``state.reason_solution``), or ``None``."""


class JobFailedError(JobError):
    """The job ended ``Failed``."""


class JobCancelledError(JobError):
    """The job ended ``Cancelled``; ``ran_too_long`` is true for reason code 1305."""

    @property
    def ran_too_long(self) -> bool:
        """Whether the job was cancelled for running longer than allowed (reason code 1305)."""
        return self.reason_code == 1305


class JobResultUnavailableError(JobError):
    """``GET /v1/jobs/{id}/results`` answered 204: the job has no final result."""


class JobTimeoutError(JobError, TimeoutError):
    """A wait ran out before the job(s) reached a final status; the jobs keep running.

    ``job_ids`` names every job that was not final yet (``job_id`` too, when it is one).

    Args:
        message: What timed out.
        job_ids: The jobs that were not final yet (defaults to ``job_id`` when that is set).
        **kw: The structured fields of [`QRuntimeError`][qruntime_session.errors.QRuntimeError].
    """

    def __init__(self, message: str, *, job_ids: Sequence[str] = (), **kw: Any) -> None:
        super().__init__(message, **kw)
        self.job_ids = tuple(job_ids) or ((self.job_id,) if self.job_id else ())
        """Every job that was not final when the wait ran out."""


# -- result bodies ------------------------------------------------------------------------


class ResultDecodeError(QRuntimeError, ValueError):
    """A job's result body is malformed for its program (e.g. a sampler result without
    ``results``, a hex sample wider than ``num_bits``, nesting deeper than any result needs).

    ``job_id`` and ``session_id`` name the job; ``body`` holds what was received, so nothing
    is lost (``Job.result_json()`` returns it too).
    """
