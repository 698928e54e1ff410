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
    DEDICATED = "dedicated"


class SessionState(enum.StrEnum):
    """State of a session. ``UNKNOWN`` stands for a value the service added after this SDK."""

    OPEN = "open"
    ACTIVE = "active"
    INACTIVE = "inactive"
    CLOSED = "closed"
    # Seen from the service by the official client although not in the published enum.
    PENDING_INACTIVE = "pending_inactive"
    PENDING_CLOSED = "pending_closed"
    UNKNOWN = "unknown"

    @classmethod
    def parse(cls, value: object) -> SessionState:
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
    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    CANCELLED_RAN_TOO_LONG = "Cancelled - Ran too long"
    UNKNOWN = "Unknown"

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
    """The job's ``state`` object: status plus the failure reason when there is one."""

    status: JobStatus
    reason: str | None = None
    reason_code: int | None = None
    reason_solution: str | None = None


@attrs.frozen(kw_only=True)
class JobInfo:
    """``GET /v1/jobs/{id}`` and each item of ``GET /v1/jobs``.

    Unknown fields are kept in ``raw``.
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
    """``GET /v1/jobs/{id}/metrics`` (2026-04-15 shape). Unknown fields are kept in ``raw``."""

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
    """``GET /v1/sessions/{id}``. Unknown fields are kept in ``raw``."""

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
