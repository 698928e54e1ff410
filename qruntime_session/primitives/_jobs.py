"""Job handles returned by ``Session.run_sampler`` / ``run_estimator``: typed ``result()``."""

from __future__ import annotations

from typing import Any, cast

from .._job import Job
from ._containers import PrimitiveResult, PubResult, SamplerPubResult

__all__ = ["EstimatorJob", "SamplerJob"]


class SamplerJob(Job):
    """A ``sampler`` job: `result` is a ``PrimitiveResult`` of ``SamplerPubResult``."""

    async def result(self, timeout: float | None = None) -> PrimitiveResult[SamplerPubResult]:
        decoded: Any = await super().result(timeout)
        return cast("PrimitiveResult[SamplerPubResult]", decoded)


class EstimatorJob(Job):
    """An ``estimator`` job: `result` is a ``PrimitiveResult`` of ``PubResult``."""

    async def result(self, timeout: float | None = None) -> PrimitiveResult[PubResult]:
        decoded: Any = await super().result(timeout)
        return cast("PrimitiveResult[PubResult]", decoded)
