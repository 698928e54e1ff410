"""How a job ends: ``JobOutcome`` (Completed, Failed with a reason, Cancelled…)."""

from __future__ import annotations

from typing import Literal

import attrs

__all__ = ["PENDING", "RAN_TOO_LONG_CODE", "TERMINAL", "FinalStatus", "JobOutcome", "JobStatus"]

JobStatus = Literal[
    "Queued", "Running", "Completed", "Failed", "Cancelled", "Cancelled - Ran too long"
]
FinalStatus = Literal["Completed", "Failed", "Cancelled", "Cancelled - Ran too long"]
PENDING = frozenset({"Queued", "Running"})
TERMINAL = frozenset({"Completed", "Failed", "Cancelled", "Cancelled - Ran too long"})

RAN_TOO_LONG_CODE = 1305


@attrs.frozen(kw_only=True)
class JobOutcome:
    """How a job ends. Build one with the class methods.

    Args:
        status: The final status: ``"Completed"``, ``"Failed"``, ``"Cancelled"`` or
            ``"Cancelled - Ran too long"``.
        reason: The job's ``state.reason`` text, if any.
        reason_code: The job's ``state.reason_code`` (1000 to 9999), if any.
        reason_solution: The job's ``state.reason_solution`` text, if any.

    Raises:
        ValueError: ``status`` is not a final status, or ``reason_code`` is out of range.
    """

    status: FinalStatus = "Completed"
    reason: str | None = None
    reason_code: int | None = None
    reason_solution: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.status not in TERMINAL:
            raise ValueError(f"an outcome must be a final status, not {self.status!r}")
        if self.reason_code is not None and not 1000 <= self.reason_code <= 9999:
            raise ValueError("reason_code must be within 1000..9999")

    @classmethod
    def completed(cls) -> JobOutcome:
        """The job ends ``Completed`` and has a result.

        Returns:
            The outcome.
        """
        return cls()

    @classmethod
    def failed(
        cls,
        reason: str = "The job failed while running on the backend.",
        *,
        reason_code: int | None = 1517,
        reason_solution: str | None = "Check the job's input and try again.",
    ) -> JobOutcome:
        """The job ends ``Failed`` with this reason (``GET …/results`` answers 204).

        Args:
            reason: The failure's ``state.reason``.
            reason_code: Its ``state.reason_code`` (1000 to 9999; 1517 by default).
            reason_solution: Its ``state.reason_solution``.

        Returns:
            The outcome.
        """
        return cls(
            status="Failed",
            reason=reason,
            reason_code=reason_code,
            reason_solution=reason_solution,
        )

    @classmethod
    def cancelled(cls, reason: str | None = "The job was cancelled.") -> JobOutcome:
        """The job ends ``Cancelled`` (no result).

        Args:
            reason: The cancellation's ``state.reason``.

        Returns:
            The outcome.
        """
        return cls(status="Cancelled", reason=reason)

    @classmethod
    def ran_too_long(cls) -> JobOutcome:
        """``Cancelled - Ran too long``: ``state.status`` Cancelled, ``reason_code`` 1305.

        Returns:
            The outcome, with IBM's reason and solution texts for a job over its time limit.
        """
        return cls(
            status="Cancelled - Ran too long",
            reason="The job was cancelled because it ran longer than its maximum execution time.",
            reason_code=RAN_TOO_LONG_CODE,
            reason_solution="Raise the job's maximum execution time or split the work.",
        )
