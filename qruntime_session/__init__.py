"""qruntime_session: an asyncio SDK for IBM Qiskit Runtime sessions.

``async with Session(backend, mode)`` opens a session, ``submit_job`` runs jobs in it, and the
session is closed on every exit path. See ``docs/`` for the guide.
"""

from __future__ import annotations

import logging as _logging
from collections.abc import AsyncIterator, Iterable

from . import errors, primitives
from ._backends import BackendConfiguration, BackendInfo, BackendStatus
from ._client import RuntimeClient, Session
from ._config import ClientConfig
from ._job import Job
from ._models import (
    JobInfo,
    JobMetrics,
    JobState,
    JobStatus,
    SessionDetails,
    SessionMode,
    SessionState,
)
from ._retry import PollPolicy, RetryPolicy
from ._timeouts import Timeouts
from ._version import version as _version
from ._waiting import Progress, WaitProgress
from ._waiting import as_completed as _as_completed
from ._warnings import QRuntimeWarning, QueuedJobsDroppedWarning
from .errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    ConnectError,
    ConnectionLostError,
    ExtraNotInstalledError,
    InvalidInputError,
    JobCancelledError,
    JobError,
    JobFailedError,
    JobResultUnavailableError,
    JobTimeoutError,
    NotFoundError,
    PermissionDeniedError,
    QRuntimeError,
    RateLimitError,
    RequestTimeoutError,
    ResponseTooLargeError,
    ResultDecodeError,
    ServerError,
    SessionStateError,
    SubmissionUnknownError,
    TransportError,
    UnexpectedStatusError,
    UsageError,
)

__version__ = _version()
"""The installed version of ``qruntime-session`` (PEP 440)."""

# A library never configures logging: without this handler, an unconfigured program would get
# WARNING records through logging's last-resort stderr handler.
_logging.getLogger(__name__).addHandler(_logging.NullHandler())


def as_completed(
    jobs: Iterable[Job],
    *,
    timeout: float | None = None,
    poll: PollPolicy | None = None,
    progress: Progress | bool | None = None,
) -> AsyncIterator[JobInfo]:
    """Yield each job's final [`JobInfo`][qruntime_session.JobInfo] as it finishes.

    Polls with one job list per session per interval (not one request per job). All jobs must
    share one client.

    Args:
        jobs: The jobs to watch (at least one), from one
            [`RuntimeClient`][qruntime_session.RuntimeClient].
        timeout: Seconds to wait for all of them; ``None`` waits as long as it takes.
        poll: How often to poll (default: the client's policy).
        progress: Called with a [`WaitProgress`][qruntime_session.WaitProgress] after every
            poll (jobs done, total, counts by status), or ``True`` for a progress display (a
            tqdm bar when tqdm is installed, else a text line on stderr).

    Returns:
        An async iterator of the jobs' final ``JobInfo``, in the order they finish.

    Raises:
        InvalidInputError: ``jobs`` is empty, or its jobs belong to different clients.
        JobTimeoutError: ``timeout`` ran out; ``job_ids`` names the jobs not final yet.
    """
    targets = list(jobs)
    if not targets:
        raise InvalidInputError("as_completed needs at least one job")
    client = targets[0]._client
    if any(job._client is not client for job in targets):
        raise InvalidInputError("as_completed: all jobs must belong to the same RuntimeClient")
    return _as_completed(client, targets, timeout=timeout, poll=poll, progress=progress)


__all__ = [
    "APIStatusError",
    "AuthenticationError",
    "BackendConfiguration",
    "BackendInfo",
    "BackendStatus",
    "BadRequestError",
    "ClientConfig",
    "ConfigurationError",
    "ConflictError",
    "ConnectError",
    "ConnectionLostError",
    "ExtraNotInstalledError",
    "InvalidInputError",
    "Job",
    "JobCancelledError",
    "JobError",
    "JobFailedError",
    "JobInfo",
    "JobMetrics",
    "JobResultUnavailableError",
    "JobState",
    "JobStatus",
    "JobTimeoutError",
    "NotFoundError",
    "PermissionDeniedError",
    "PollPolicy",
    "QRuntimeError",
    "QRuntimeWarning",
    "QueuedJobsDroppedWarning",
    "RateLimitError",
    "RequestTimeoutError",
    "ResponseTooLargeError",
    "ResultDecodeError",
    "RetryPolicy",
    "RuntimeClient",
    "ServerError",
    "Session",
    "SessionDetails",
    "SessionMode",
    "SessionState",
    "SessionStateError",
    "SubmissionUnknownError",
    "Timeouts",
    "TransportError",
    "UnexpectedStatusError",
    "UsageError",
    "WaitProgress",
    "__version__",
    "as_completed",
    "errors",
    "primitives",
]


# Exported classes read as ``qruntime_session.X`` in reprs, tracebacks and docs.
def _rename_exports() -> None:
    namespace = globals()
    for name in __all__:
        obj = namespace[name]
        if isinstance(obj, type) and obj.__module__.startswith("qruntime_session._"):
            obj.__module__ = __name__


_rename_exports()
