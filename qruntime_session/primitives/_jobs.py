"""Job handles returned by ``Session.run_sampler`` / ``run_estimator``: typed ``result()``."""

from __future__ import annotations

from typing import Any, cast

from .._job import Job
from ._containers import PrimitiveResult, PubResult, SamplerPubResult

__all__ = ["EstimatorJob", "SamplerJob"]


class SamplerJob(Job):
    """A ``sampler`` job: [`result`][qruntime_session.primitives.SamplerJob.result] is a
    [`PrimitiveResult`][qruntime_session.primitives.PrimitiveResult] of
    [`SamplerPubResult`][qruntime_session.primitives.SamplerPubResult]."""

    async def result(self, timeout: float | None = None) -> PrimitiveResult[SamplerPubResult]:
        """Wait for the job, then return its decoded result.

        Args:
            timeout: Seconds the wait may take (``None``: no bound).

        Returns:
            The result, one [`SamplerPubResult`][qruntime_session.primitives.SamplerPubResult] per
            pub.

        Raises:
            ResultDecodeError: The result's body is malformed.
            JobFailedError: The job failed.
            JobCancelledError: The job was cancelled.
            JobResultUnavailableError: The service has no result for the job (204).
            JobTimeoutError: ``timeout`` (or the testing deadline) passed first.
        """
        decoded: Any = await super().result(timeout)
        return cast("PrimitiveResult[SamplerPubResult]", decoded)


class EstimatorJob(Job):
    """An ``estimator`` job: [`result`][qruntime_session.primitives.EstimatorJob.result] is a
    [`PrimitiveResult`][qruntime_session.primitives.PrimitiveResult] of
    [`PubResult`][qruntime_session.primitives.PubResult]."""

    async def result(self, timeout: float | None = None) -> PrimitiveResult[PubResult]:
        """Wait for the job, then return its decoded result.

        Args:
            timeout: Seconds the wait may take (``None``: no bound).

        Returns:
            The result, one [`PubResult`][qruntime_session.primitives.PubResult] per pub.

        Raises:
            ResultDecodeError: The result's body is malformed.
            JobFailedError: The job failed.
            JobCancelledError: The job was cancelled.
            JobResultUnavailableError: The service has no result for the job (204).
            JobTimeoutError: ``timeout`` (or the testing deadline) passed first.
        """
        decoded: Any = await super().result(timeout)
        return cast("PrimitiveResult[PubResult]", decoded)
