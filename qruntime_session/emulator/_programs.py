"""Results of the programs other than the primitives: ``noise-learner`` and ``executor``.

Both are computed when the result is read, with qiskit (the ``sim`` extra), off the event
loop; without that extra the job's result stays the generic one.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ._clock import isoformat
from ._config import EmulatorConfig
from ._errors import ApiError
from ._executor import PROGRAM_ID as EXECUTOR
from ._executor import ExecutorInputError, executor_result
from ._noise_learner import PROGRAM_ID as NOISE_LEARNER
from ._noise_learner import noise_learner_result
from ._noise_learner_v3 import is_v3, noise_learner_v3_result
from ._state import JobRecord

__all__ = ["program_result"]


async def program_result(
    config: EmulatorConfig, job: JobRecord, generic: dict[str, Any], now: float
) -> dict[str, Any]:
    """The job's result: the program's own for ``noise-learner``/``executor``, else ``generic``."""
    started = job.started if job.started is not None else now
    finished = job.finished if job.finished is not None else started
    spec = config.device(job.backend)
    if job.program_id == NOISE_LEARNER and spec is not None:
        if job.params is not None and is_v3(job.params):
            try:
                return await asyncio.to_thread(noise_learner_v3_result, job.params, spec, started)
            except ValueError as exc:
                raise ApiError(
                    500, "1000", f"API Internal error: the result failed: {exc}"
                ) from exc
        return await asyncio.to_thread(noise_learner_result, job.params, spec, started)
    if job.program_id == EXECUTOR:
        seed = int.from_bytes(job.id.encode()[-6:], "big")
        try:
            return await asyncio.to_thread(
                executor_result,
                job.params,
                seed=seed,
                started=isoformat(started),
                finished=isoformat(finished),
            )
        except ExecutorInputError as exc:
            raise ApiError(500, "1000", f"API Internal error: the result failed: {exc}") from exc
    return generic
