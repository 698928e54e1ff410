"""Job outputs: V2 primitive results in IBM's formats, generic results, logs.

Sampler and estimator jobs are answered in the format their params ask for
(``support_qiskit``; see ``_formats.py``). With the ``sim`` extra installed (qiskit and
qiskit-aer) the numbers come from simulating the circuits (``_simulate.py``) in a worker
thread; without it they are plausible numbers drawn from a PRNG seeded with the job, in the
same formats, and the result metadata says which (``qruntime_emulator.results``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import json
import math
import random
from collections.abc import Callable, Mapping
from typing import Any

from ._errors import ApiError
from ._formats import (
    EstimatorPubData,
    PrimitiveData,
    RegisterSamples,
    SamplerPubData,
    pack_samples,
    plain_result,
    qiskit_result,
)
from ._pubs import (
    DEFAULT_ESTIMATOR_PRECISION,
    DEFAULT_SAMPLER_SHOTS,
    InvalidPub,
    Pub,
    broadcast_to,
    read_pubs,
    seed_option,
)
from ._qasm import classical_registers

__all__ = [
    "DEFAULT_ESTIMATOR_PRECISION",
    "DEFAULT_NUM_BITS",
    "DEFAULT_SAMPLER_SHOTS",
    "INVALID_INPUT_CODE",
    "MARKER",
    "ResultEngine",
    "generic_result",
    "job_logs",
    "pub_count",
    "total_shots",
]

#: Width of the one ``meas`` register assumed for a circuit the emulator cannot read.
DEFAULT_NUM_BITS = 2
#: ``state.reason_code`` of a job whose pubs cannot be run (IBM: invalid input, observed).
INVALID_INPUT_CODE = 1517
#: The one result-metadata member the emulator adds: how the numbers were made.
MARKER = "qruntime_emulator"
_PRIMITIVES = frozenset({"sampler", "estimator"})


def _rng(*parts: Any) -> random.Random:
    material = json.dumps(parts, sort_keys=True, default=repr, separators=(",", ":"))
    seed = int.from_bytes(hashlib.sha256(material.encode()).digest()[:8], "big")
    return random.Random(seed)  # noqa: S311 - plausible fake data, not security


def job_seed(job_id: str, index: int, params: Mapping[str, Any] | None) -> int:
    """The seed of pub ``index``: ``options.simulator.seed_simulator`` + index, else the job id."""
    option = seed_option(params)
    if option is not None:
        return option + index
    digest = hashlib.sha256(f"{job_id}/{index}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def pub_count(params: Mapping[str, Any] | None) -> int:
    """How many pubs the params carry (0 when none or not a primitive)."""
    pubs = (params or {}).get("pubs")
    return len(pubs) if isinstance(pubs, list) else 0


def total_shots(program_id: str, params: Mapping[str, Any] | None) -> int:
    """Shots a sampler job executes over all its pubs (0 for other programs)."""
    if program_id != "sampler" or not params:
        return 0
    try:
        return sum(pub.shots * math.prod(pub.shape) for pub in read_pubs(program_id, params))
    except InvalidPub:
        return 0


def wants_qiskit(params: Mapping[str, Any] | None) -> bool:
    """``support_qiskit`` is true (absent or anything else: plain JSON, see docs/emulator.md)."""
    return (params or {}).get("support_qiskit") is True


# ------------------------------------------------------------------- plausible numbers


def _register_layout(pub: Pub) -> list[tuple[str, int]]:
    if pub.circuit.kind == "qasm":
        found = classical_registers(pub.circuit.text)
        if found:
            return found
    return [("meas", DEFAULT_NUM_BITS)]


def _outcomes(rng: random.Random, num_bits: int, shots: int) -> list[int]:
    """A skewed distribution: a few dominant outcomes plus some low-probability noise."""
    if shots == 0:
        return []
    space = 2**num_bits
    dominant = rng.sample(range(space), k=min(space, 2 if num_bits > 1 else 1))
    weights: dict[int, float] = {value: rng.uniform(0.8, 1.2) for value in dominant}
    for _ in range(min(space - len(dominant), 3)):
        weights.setdefault(rng.randrange(space), rng.uniform(0.005, 0.03))
    values = list(weights)
    return rng.choices(values, weights=[weights[v] for v in values], k=shots)


def plausible_sampler(job_id: str, index: int, pub: Pub) -> SamplerPubData:
    """Made-up samples in the pub's registers and shape."""
    rng = _rng("sampler", job_id, index)
    points = math.prod(pub.shape)
    registers = []
    for name, num_bits in _register_layout(pub):
        values: list[int] = []
        for _ in range(points):
            values.extend(_outcomes(rng, num_bits, pub.shots))
        registers.append(
            RegisterSamples(
                name=name,
                num_bits=num_bits,
                shape=pub.shape,
                num_shots=pub.shots,
                data=pack_samples(values, num_bits),
            )
        )
    return SamplerPubData(
        shape=pub.shape,
        num_shots=pub.shots,
        registers=tuple(registers),
        metadata={"circuit_metadata": {}},
    )


def _observable_norm(observable: Any) -> float:
    """Sum of |coefficients| of a ``{pauli: coeff}`` observable; 1 for a bare Pauli string."""
    if isinstance(observable, Mapping) and observable:
        norm = 0.0
        for coefficient in observable.values():
            if isinstance(coefficient, int | float) and not isinstance(coefficient, bool):
                norm += abs(float(coefficient))
            else:
                norm += 1.0
        return norm or 1.0
    return 1.0


def plausible_estimator(job_id: str, index: int, pub: Pub) -> EstimatorPubData:
    """Made-up expectation values within each observable's range, shaped like the pub."""
    rng = _rng("estimator", job_id, index)
    evs: list[float] = []
    stds: list[float] = []
    for observable in broadcast_to(pub.observables, pub.shape):
        norm = _observable_norm(observable)
        evs.append(round(rng.uniform(-1.0, 1.0) * norm, 6))
        stds.append(round(pub.precision * rng.uniform(0.8, 1.2) * norm, 6))
    return EstimatorPubData.estimated(
        shape=pub.shape,
        shots=pub.shots,
        precision=pub.precision,
        evs=evs,
        stds=stds,
        circuit_metadata={},
    )


# --------------------------------------------------------------------------- the engine


Pubs = tuple[SamplerPubData | EstimatorPubData, ...]


def _compute(
    job_id: str, program_id: str, params: Mapping[str, Any] | None, simulate: bool, max_qubits: int
) -> tuple[Pubs, str]:
    """Every pub's data, and how it was made (``simulated`` or ``plausible``). Thread-safe."""
    pubs = read_pubs(program_id, params)
    if simulate:
        from ._simulate import prepare, simulate_estimator, simulate_sampler

        out: list[SamplerPubData | EstimatorPubData] = []
        for index, pub in enumerate(pubs):
            prepared = prepare(pub, max_qubits)
            seed = job_seed(job_id, index, params)
            if program_id == "estimator":
                out.append(simulate_estimator(pub, prepared, seed))
            else:
                out.append(simulate_sampler(pub, prepared, seed))
        return tuple(out), "simulated"
    made = [
        plausible_estimator(job_id, index, pub)
        if program_id == "estimator"
        else plausible_sampler(job_id, index, pub)
        for index, pub in enumerate(pubs)
    ]
    return tuple(made), "plausible"


class ResultEngine:
    """Computes primitive results off the event loop, once per job, and formats them.

    ``admit`` (at job creation) checks the pubs cheaply and starts the computation in a
    worker thread; ``body`` (at ``GET .../results``) awaits it and formats the answer.
    """

    def __init__(self, *, simulate: bool, max_qubits: int) -> None:
        self.simulate = simulate
        self.max_qubits = max_qubits
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._pending: dict[str, asyncio.Future[tuple[Pubs, str]]] = {}

    def _pool(self) -> concurrent.futures.ThreadPoolExecutor:
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="qruntime-emulator-sim"
            )
        return self._executor

    def close(self) -> None:
        """Stop the worker thread (pending computations are dropped)."""
        for future in self._pending.values():
            future.cancel()
        self._pending.clear()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def admit(
        self,
        job_id: str,
        program_id: str,
        params: Mapping[str, Any] | None,
        on_failure: Callable[[str], None],
    ) -> str | None:
        """Check a new job's pubs; ``None`` if it can run, else the reason it will fail.

        A runnable primitive job starts computing in the worker thread now; if that fails
        later, ``on_failure(reason)`` is called on the event loop.
        """
        if program_id not in _PRIMITIVES:
            return None
        try:
            pubs = read_pubs(program_id, params)
            if self.simulate:
                from ._simulate import prepare

                for index, pub in enumerate(pubs):
                    try:
                        prepare(pub, self.max_qubits)
                    except InvalidPub as exc:
                        raise InvalidPub(f"pub {index}: {exc}") from exc
        except InvalidPub as exc:
            return f"Invalid input: {exc}."
        if not pubs:
            return None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return None
        future = loop.run_in_executor(
            self._pool(), _compute, job_id, program_id, params, self.simulate, self.max_qubits
        )

        def done(finished: asyncio.Future[tuple[Pubs, str]]) -> None:
            if finished.cancelled():
                return
            error = finished.exception()
            if error is not None:
                on_failure(f"The job failed while running: {error}")

        future.add_done_callback(done)
        self._pending[job_id] = future
        return None

    async def body(
        self,
        *,
        job_id: str,
        program_id: str,
        backend: str,
        params: Mapping[str, Any] | None,
        started: str,
        finished: str,
    ) -> dict[str, Any]:
        """The final result body of a completed job."""
        if program_id not in _PRIMITIVES:
            return generic_result(job_id, program_id, backend, params)
        future = self._pending.get(job_id)
        if future is None:
            loop = asyncio.get_running_loop()
            future = loop.run_in_executor(
                self._pool(), _compute, job_id, program_id, params, self.simulate, self.max_qubits
            )
            self._pending[job_id] = future
        try:
            pubs, how = await asyncio.shield(future)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise ApiError(500, "1000", f"API Internal error: the result failed: {exc}") from exc
        data = PrimitiveData(
            pubs=pubs, start=started, stop=finished, metadata={MARKER: {"results": how}}
        )
        return qiskit_result(data) if wants_qiskit(params) else plain_result(data)

    def forget(self, job_id: str) -> None:
        """Drop a job's computation (the job will never have a result)."""
        future = self._pending.pop(job_id, None)
        if future is not None:
            future.cancel()


def generic_result(
    job_id: str, program_id: str, backend: str, params: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Result of any program other than ``sampler``/``estimator``."""
    material = json.dumps(params or {}, sort_keys=True, default=repr).encode()
    return {
        "program_id": program_id,
        "job_id": job_id,
        "backend": backend,
        "params_sha256": hashlib.sha256(material).hexdigest(),
        "message": "Result generated by the qruntime_session emulator.",
    }


def job_logs(
    *,
    job_id: str,
    program_id: str,
    backend: str,
    session_id: str | None,
    params: Mapping[str, Any] | None,
    created: str,
    started: str | None,
    finished: str | None,
    status: str,
    reason: str | None,
) -> str:
    """A few plausible log lines for the stages the job has reached."""
    lines = [f"{created} INFO qiskit_runtime: job {job_id} accepted: program {program_id}."]
    if started is not None:
        where = f" in session {session_id}" if session_id else ""
        lines.append(f"{started} INFO qiskit_runtime: running on {backend}{where}.")
        pubs = pub_count(params)
        if pubs:
            lines.append(f"{started} INFO qiskit_runtime: executing {pubs} pub(s).")
    if finished is not None:
        tail = f": {reason}" if reason else "."
        level = "ERROR" if status == "Failed" else "INFO"
        lines.append(f"{finished} {level} qiskit_runtime: job finished as {status}{tail}")
    return "\n".join(lines) + "\n"
