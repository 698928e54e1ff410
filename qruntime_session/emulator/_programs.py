"""Results of the programs other than the primitives: ``noise-learner`` and ``executor``.

Both are computed when the result is read, with qiskit (the ``sim`` extra), on the result
engine's worker thread; without that extra the job's result stays the generic one.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
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

__all__ = ["PROGRAMS", "program_result"]

#: The programs whose results this module computes.
PROGRAMS = frozenset({NOISE_LEARNER, EXECUTOR})


async def program_result(
    config: EmulatorConfig,
    job: JobRecord,
    now: float,
    in_worker: Callable[..., Awaitable[dict[str, Any]]],
) -> dict[str, Any]:
    """The result of a ``noise-learner`` or ``executor`` job (see ``PROGRAMS``), computed by
    ``in_worker`` (the result engine's worker thread: qiskit is used from one thread)."""
    started = job.started if job.started is not None else now
    finished = job.finished if job.finished is not None else started
    spec = config.device(job.backend)
    if job.program_id == NOISE_LEARNER:
        if spec is None:
            raise ApiError(500, "1000", f"API Internal error: no device {job.backend}.")
        if job.params is not None and is_v3(job.params):
            try:
                return await in_worker(noise_learner_v3_result, job.params, spec, started)
            except ValueError as exc:
                raise ApiError(
                    500, "1000", f"API Internal error: the result failed: {exc}"
                ) from exc
        return await in_worker(noise_learner_result, job.params, spec, started)
    seed = int.from_bytes(job.id.encode()[-6:], "big")
    try:
        return await in_worker(
            functools.partial(
                executor_result,
                seed=seed,
                started=isoformat(started),
                finished=isoformat(finished),
            ),
            job.params,
        )
    except ExecutorInputError as exc:
        raise ApiError(500, "1000", f"API Internal error: the result failed: {exc}") from exc
