"""Typed values of the Runtime API: enums for closed vocabularies, frozen records for responses.

Parsing from JSON lives in ``_wire``; these classes only hold data.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

__all__ = [
    "JobInfo",
    "JobMetrics",
    "JobState",
    "JobStatus",
    "SessionDetails",
    "SessionMode",
    "SessionState",
]


class SessionMode(enum.StrEnum):
    """Execution mode of a session."""

    BATCH = "batch"
    """Jobs run in parallel where the backend allows; for independent jobs."""
    DEDICATED = "dedicated"
    """The backend runs the session's jobs one after another; for iterative work."""


class SessionState(enum.StrEnum):
    """State of a session. ``UNKNOWN`` stands for a value the service added after this SDK."""

    OPEN = "open"
    """Created; accepting jobs, none has started yet."""
    ACTIVE = "active"
    """Running jobs; the active TTL counts."""
    INACTIVE = "inactive"
    """Open but idle (no job ran within the interactive TTL); jobs are still accepted."""
    CLOSED = "closed"
    """Ended: no new jobs (queued ones may still run after a close, not after a cancel)."""
    # Seen from the service by the official client although not in the published enum.
    PENDING_INACTIVE = "pending_inactive"
    """Becoming inactive (a value the service sends outside its published enum)."""
    PENDING_CLOSED = "pending_closed"
    """Closing (a value the service sends outside its published enum)."""
    UNKNOWN = "unknown"
    """A value this SDK does not know (the service added it later)."""

    @classmethod
    def parse(cls, value: object) -> SessionState:
        """The state for a value the service sent, case-insensitively.

        Args:
            value: The ``state`` field as received.

        Returns:
            The matching state, or ``UNKNOWN`` for anything else.
        """
        try:
            return cls(str(value).lower())
        except ValueError:
            return cls.UNKNOWN


class JobStatus(enum.StrEnum):
    """Status of a job, as the service's top-level ``status`` field spells it.

    ``CANCELLED_RAN_TOO_LONG`` is the top-level spelling of a job cancelled with reason code
    1305; it stays distinguishable from a plain ``CANCELLED``.
    """

    QUEUED = "Queued"
    """Waiting for the backend."""
    RUNNING = "Running"
    """Running on the backend."""
    COMPLETED = "Completed"
    """Finished with a result (final)."""
    FAILED = "Failed"
    """Finished without a result; the job's ``state.reason`` says why (final)."""
    CANCELLED = "Cancelled"
    """Cancelled by a user or by a session's cancel (final)."""
    CANCELLED_RAN_TOO_LONG = "Cancelled - Ran too long"
    """Cancelled by the service for running past its limit, reason code 1305 (final)."""
    UNKNOWN = "Unknown"
    """A status this SDK does not know (the service added it later)."""

    @property
    def is_final(self) -> bool:
        """Whether the job will not change any more."""
        return self in _FINAL

    @property
    def is_pending(self) -> bool:
        """Whether the job is queued or running (the API's ``pending=true``)."""
        return self in (JobStatus.QUEUED, JobStatus.RUNNING)

    @classmethod
    def parse(cls, value: object) -> JobStatus:
        """The status for a value the service sent, case-insensitively.

        Args:
            value: The ``status`` field as received.

        Returns:
            The matching status, or ``UNKNOWN`` for anything else.
        """
        text = str(value).strip()
        for member in cls:
            if member.value.lower() == text.lower():
                return member
        return cls.UNKNOWN


_FINAL = frozenset(
    {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.CANCELLED_RAN_TOO_LONG}
)


@attrs.frozen(kw_only=True)
class JobState:
    """The job's ``state`` object: status plus the failure reason when there is one.

    Args:
        status: The job's status.
        reason: Why the job failed or was cancelled, as the service says; else ``None``.
        reason_code: The service's code for that reason (1305: ran too long), or ``None``.
        reason_solution: What the service suggests doing about it, or ``None``.
    """

    status: JobStatus
    reason: str | None = None
    reason_code: int | None = None
    reason_solution: str | None = None


@attrs.frozen(kw_only=True)
class JobInfo:
    """``GET /v1/jobs/{id}`` and each item of ``GET /v1/jobs``.

    Unknown fields are kept in ``raw``.

    Args:
        id: The job id.
        status: The top-level status.
        state: The ``state`` object (status, and the reason of a failure or cancellation).
        program_id: ``sampler`` or ``estimator``.
        backend: The backend the job runs on.
        session_id: The session the job belongs to, or ``None`` outside sessions.
        created: When the job was created.
        cost: The most execution seconds the job may use (its ``cost`` cap).
        tags: The job's tags (including the SDK's submission tag, when it sent one).
        params: The job's parameters, when the service returns them.
        user_id: The IBM Cloud user that submitted the job.
        usage: Usage figures (``qpu_charge_time_seconds``, ``status``), when reported.
        estimated_running_time_seconds: The service's estimate of the running time.
        raw: The response body as received, unknown fields included.
    """

    id: str
    status: JobStatus
    state: JobState
    program_id: str | None = None
    backend: str | None = None
    session_id: str | None = None
    created: datetime | None = None
    cost: int | None = None
    tags: tuple[str, ...] = ()
    params: Mapping[str, Any] | None = None
    user_id: str | None = None
    usage: Mapping[str, Any] | None = None
    estimated_running_time_seconds: float | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @property
    def is_final(self) -> bool:
        """Whether the job's status will not change any more."""
        return self.status.is_final


@attrs.frozen(kw_only=True)
class JobMetrics:
    """``GET /v1/jobs/{id}/metrics`` (2026-04-15 shape). Unknown fields are kept in ``raw``.

    Args:
        created: When the job was created.
        running: When it started running.
        finished: When it finished.
        qpu_charge_time_seconds: The QPU time charged, in seconds.
        usage_status: ``pending`` or ``complete`` (the charge is final when complete).
        circuits_execution_time_ns: Time spent executing circuits, in nanoseconds.
        qiskit_version: The qiskit version that ran the job.
        caller: The client that submitted the job (its ``X-Qx-Client-Application``).
        raw: The response body as received, unknown fields included.
    """

    created: datetime | None = None
    running: datetime | None = None
    finished: datetime | None = None
    qpu_charge_time_seconds: float | None = None
    usage_status: str | None = None
    circuits_execution_time_ns: float | None = None
    qiskit_version: str | None = None
    caller: str | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class SessionDetails:
    """``GET /v1/sessions/{id}``. Unknown fields are kept in ``raw``.

    Args:
        id: The session id.
        state: The session's state.
        accepting_jobs: Whether the session takes new jobs.
        mode: ``batch`` or ``dedicated``.
        backend_name: The backend the session runs on.
        state_reason: Why the session is in its state, when the service says.
        max_ttl: The session's maximum time to live, in seconds.
        active_ttl: Remaining active time while jobs run, in seconds.
        interactive_ttl: Idle time allowed between jobs before it goes inactive, in seconds.
        started_at: When the session started.
        activated_at: When it became active.
        closed_at: When it closed.
        last_job_started: When its last job started.
        last_job_completed: When its last job completed.
        elapsed_time: Usage of the session in seconds (may be ``None`` while it runs).
        user_id: The IBM Cloud user that created the session.
        raw: The response body as received, unknown fields included.
    """

    id: str
    state: SessionState
    accepting_jobs: bool | None = None
    mode: SessionMode | None = None
    backend_name: str | None = None
    state_reason: str | None = None
    max_ttl: int | None = None
    active_ttl: int | None = None
    interactive_ttl: int | None = None
    started_at: datetime | None = None
    activated_at: datetime | None = None
    closed_at: datetime | None = None
    last_job_started: datetime | None = None
    last_job_completed: datetime | None = None
    elapsed_time: float | None = None
    user_id: str | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)
