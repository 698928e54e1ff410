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
import contextlib
import functools
import hashlib
import importlib
import json
import math
import random
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ._backends import BackendSpec
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
from ._limits import (
    ISA_CODE,
    ISA_MESSAGE,
    VALIDATION_CODE,
    JobRejected,
    Limits,
    check_deadline,
    set_deadline,
)
from ._pubs import (
    DEFAULT_ESTIMATOR_PRECISION,
    DEFAULT_SAMPLER_SHOTS,
    InvalidPub,
    Pub,
    broadcast_to,
    flat,
    read_pubs,
    seed_option,
)
from ._qasm import classical_registers
from ._run_settings import RunSettings

__all__ = [
    "DEFAULT_ESTIMATOR_PRECISION",
    "DEFAULT_NUM_BITS",
    "DEFAULT_SAMPLER_SHOTS",
    "INVALID_INPUT_CODE",
    "MARKER",
    "Computed",
    "Refusal",
    "ResultEngine",
    "RunSettings",
    "compute",
    "generic_result",
    "job_logs",
    "pub_count",
]

#: Width of the one ``meas`` register assumed for a circuit the emulator cannot read.
DEFAULT_NUM_BITS = 2
#: ``state.reason_code`` of a job whose pubs cannot be run (IBM: invalid input, observed).
INVALID_INPUT_CODE = 1517
#: IBM's registry: "Error returned at backend level." (the emulator's own failures).
BACKEND_ERROR_CODE = 1010
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


@attrs.frozen
class Computed:
    """A job's judged and computed result: its pubs' data and how they were made."""

    pubs: Pubs
    how: str

    @property
    def shots(self) -> int:
        """Shots the job executed over all its pubs and points."""
        return sum(pub.num_shots * math.prod(pub.shape) for pub in self.pubs)


@attrs.frozen
class Refusal:
    """Why a job ends ``Failed`` instead (reason, reason code, solution)."""

    reason: str
    code: int
    solution: str


def _judge_qpy(index: int, qpy: bytes, settings: RunSettings) -> None:
    from ._isa import qpy_header

    limits = settings.limits
    try:
        _, qubits, clbits, operations = qpy_header(qpy)
    except ValueError as exc:
        raise InvalidPub(f"pub {index}: the circuit could not be read: {exc}") from exc
    if operations > limits.max_operations or clbits > limits.max_operations:
        raise JobRejected(
            f"Invalid input: pub {index}'s circuit declares {operations:,} instructions and "
            f"{clbits:,} clbits; the emulator reads at most {limits.max_operations:,} "
            "(EmulatorConfig.max_operations)."
        )
    if settings.judge and limits.num_qubits is not None and qubits > limits.num_qubits:
        raise JobRejected.isa(
            f"pub {index}: the circuit has {qubits} qubits; the device has {limits.num_qubits}."
        )
    if qubits > max(limits.num_qubits or 0, settings.max_qubits, 10_000):
        raise JobRejected(f"Invalid input: pub {index}'s circuit declares {qubits:,} qubits.")


def _is_qasm2(text: str) -> bool:
    return "OPENQASM 2" in text.split(";", 1)[0]


def _judge_qasm(index: int, text: str, settings: RunSettings) -> None:
    from ._isa import check_qasm_text

    limits = settings.limits
    if text.count(";") > limits.max_operations:
        raise JobRejected(
            f"Invalid input: pub {index}'s circuit has more than {limits.max_operations:,} "
            "statements (EmulatorConfig.max_operations)."
        )
    if text.count(";") > limits.max_qasm3_statements and not _is_qasm2(text):
        raise JobRejected(
            f"Invalid input: pub {index}'s OpenQASM 3 circuit has more than "
            f"{limits.max_qasm3_statements:,} statements (EmulatorConfig.max_qasm3_statements)."
        )
    if settings.judge and not settings.simulate and limits.num_qubits is not None:
        # Without qiskit, what the text shows (with it, the loaded circuit is judged).
        try:
            check_qasm_text(text, limits)
        except JobRejected as exc:
            raise JobRejected.isa(f"pub {index}: {exc.reason[len(ISA_MESSAGE) + 1 :]}") from exc


def _judge_circuits(pubs: list[Pub], settings: RunSettings) -> None:
    """Size and ISA checks that need no qiskit (QPY header counts, OpenQASM text)."""
    for index, pub in enumerate(pubs):
        if pub.circuit.kind == "qpy":
            _judge_qpy(index, pub.circuit.qpy, settings)
        elif pub.circuit.kind == "qasm":
            _judge_qasm(index, pub.circuit.text, settings)


def _count_terms(pubs: list[Pub], limits: Limits) -> None:
    terms = 0
    for pub in pubs:
        for observable in flat(pub.observables):
            terms += len(observable) if isinstance(observable, Mapping) else 1
    if terms > limits.max_observable_terms:
        raise JobRejected(
            f"Invalid input: the job's observables hold more than "
            f"{limits.max_observable_terms:,} Pauli terms (EmulatorConfig.max_observable_terms)."
        )


def compute(
    job_id: str, program_id: str, params: Mapping[str, Any] | None, settings: RunSettings
) -> Computed:
    """Judge, read and compute a primitive job (``JobRejected``/``InvalidPub``: it fails).

    Runs in the worker thread: everything a job declares is checked against the limits
    before anything of that size is allocated.
    """

    set_deadline(settings.time_limit)
    try:
        return _compute(job_id, program_id, params, settings)
    finally:
        set_deadline(None)


def _compute(
    job_id: str, program_id: str, params: Mapping[str, Any] | None, settings: RunSettings
) -> Computed:
    from ._judge import judge_params, validate_with_models

    if settings.judge:
        judge_params(program_id, params, settings.limits)
    else:
        from ._limits import nesting_depth

        if nesting_depth(params, settings.limits.max_nesting) > settings.limits.max_nesting:
            raise JobRejected("Invalid input: the params nest too deeply.")
    pubs = read_pubs(program_id, params, settings.limits)
    if program_id == "estimator":
        _count_terms(pubs, settings.limits)
    _judge_circuits(pubs, settings)
    if settings.judge and params is not None:
        validate_with_models(program_id, params)
    if settings.simulate:
        from ._simulate import prepare, simulate_estimator, simulate_sampler

        out: list[SamplerPubData | EstimatorPubData] = []
        for index, pub in enumerate(pubs):
            check_deadline()
            try:
                prepared = prepare(pub, settings)
            except JobRejected as exc:
                if exc.code == ISA_CODE:
                    detail = exc.reason[len(ISA_MESSAGE) + 1 :]
                    raise JobRejected.isa(f"pub {index}: {detail}") from exc
                raise
            except InvalidPub as exc:
                raise InvalidPub(f"pub {index}: {exc}") from exc
            seed = job_seed(job_id, index, params)
            if program_id == "estimator":
                out.append(simulate_estimator(pub, prepared, seed, _noisy(settings)))
            else:
                out.append(simulate_sampler(pub, prepared, seed, _noisy(settings)))
        return Computed(tuple(out), "simulated")
    made = [
        plausible_estimator(job_id, index, pub)
        if program_id == "estimator"
        else plausible_sampler(job_id, index, pub)
        for index, pub in enumerate(pubs)
    ]
    return Computed(tuple(made), "plausible")


def _noisy(settings: RunSettings) -> tuple[BackendSpec, float] | None:
    if settings.noisy_device is None:
        return None
    return settings.noisy_device, settings.properties_at


def judge_outcome(error: BaseException) -> Refusal:
    """How a failed computation ends the job (never an HTTP 500)."""
    if isinstance(error, JobRejected):
        return Refusal(error.reason, error.code, error.solution)
    if isinstance(error, InvalidPub):
        return Refusal(
            f"Invalid input: {error}.", INVALID_INPUT_CODE, "Check the job's input and try again."
        )
    if isinstance(error, MemoryError | RecursionError | OverflowError):
        return Refusal(
            f"The job is too large for the emulator ({type(error).__name__}).",
            VALIDATION_CODE,
            "Split the work into smaller jobs.",
        )
    return Refusal(
        f"The job failed while running: {error}",
        BACKEND_ERROR_CODE,
        "Check the job's input and try again.",
    )


def _warm(simulate: bool) -> None:
    """The imports of a first job, done early (best effort: a failure shows in that job)."""
    from ._judge import SCHEMAS_AVAILABLE

    with contextlib.suppress(Exception):
        if SCHEMAS_AVAILABLE:
            importlib.import_module("ibm_quantum_schemas.sampler.version_0_1.params")
        if simulate:
            import qiskit.qasm3  # noqa: F401
            import qiskit_aer.primitives  # noqa: F401


def _format(
    computed: Computed, params: Mapping[str, Any] | None, started: str, finished: str
) -> bytes:
    data = PrimitiveData(
        pubs=computed.pubs,
        start=started,
        stop=finished,
        metadata={MARKER: {"results": computed.how}},
    )
    body = qiskit_result(data) if wants_qiskit(params) else plain_result(data)
    return json.dumps(body, separators=(",", ":")).encode()


class ResultEngine:
    """Judges and computes primitive jobs in worker threads, once per job, when they run.

    ``start`` (when a job starts running) submits the work; ``outcome`` says, once it is done,
    whether the job completes or fails and why; ``body`` (at ``GET …/results``) formats the
    result in a worker thread too. A computation past ``time_limit`` wall seconds fails its
    job (the thread's result is then dropped). One worker by default: qiskit's objects are
    not made to be built from several threads at once (concurrent use crashed the process).
    """

    def __init__(self, *, settings: RunSettings, time_limit: float, workers: int = 1) -> None:
        self.settings = settings
        self.time_limit = time_limit
        self._workers = workers
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._pending: dict[str, asyncio.Future[Computed]] = {}
        self._done: dict[str, Computed | Refusal] = {}

    def _pool(self) -> concurrent.futures.ThreadPoolExecutor:
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=self._workers, thread_name_prefix="qruntime-emulator-sim"
            )
        return self._executor

    async def in_worker(self, function: Callable[..., Any], *args: Any) -> Any:
        """Run ``function(*args)`` on the engine's worker thread: qiskit is used from one."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool(), functools.partial(function, *args))

    def warm(self) -> None:
        """Import what judging and simulating need before the first job (call before serving).

        On the calling thread: importing qiskit's extension modules for the first time from a
        worker thread while the main thread imports too has crashed the process.
        """
        _warm(self.settings.simulate)

    def close(self) -> None:
        """Stop the worker threads (pending computations are dropped)."""
        for future in self._pending.values():
            future.cancel()
        self._pending.clear()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def start(
        self,
        job_id: str,
        program_id: str,
        params: Mapping[str, Any] | None,
        settings: RunSettings,
        on_done: Callable[[], None],
    ) -> bool:
        """Start judging and computing a job in a worker thread (``False``: no event loop).

        ``on_done()`` is called on the event loop once the outcome is known.
        """
        if program_id not in _PRIMITIVES or job_id in self._pending or job_id in self._done:
            return True
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        future = loop.run_in_executor(self._pool(), compute, job_id, program_id, params, settings)
        self._pending[job_id] = future

        def finished(done: asyncio.Future[Computed]) -> None:
            timer.cancel()
            if self._pending.get(job_id) is not done:
                return
            del self._pending[job_id]
            if done.cancelled():
                return
            error = done.exception()
            self._done[job_id] = done.result() if error is None else judge_outcome(error)
            on_done()

        def expire() -> None:
            if self._pending.get(job_id) is future:
                del self._pending[job_id]
                future.cancel()
                self._done[job_id] = Refusal(
                    f"The emulator stopped this job after {self.time_limit:g} s "
                    "(EmulatorConfig.job_time_limit).",
                    BACKEND_ERROR_CODE,
                    "Split the work into smaller jobs.",
                )
                on_done()

        timer = loop.call_later(self.time_limit, expire)
        future.add_done_callback(finished)
        return True

    def run_now(
        self,
        job_id: str,
        program_id: str,
        params: Mapping[str, Any] | None,
        settings: RunSettings,
    ) -> None:
        """Judge and compute synchronously (no event loop: test controls, scripts)."""
        if program_id not in _PRIMITIVES or job_id in self._done:
            return
        try:
            self._done[job_id] = compute(job_id, program_id, params, settings)
        except Exception as exc:  # noqa: BLE001 - any failure ends the job, never a 500
            self._done[job_id] = judge_outcome(exc)

    def outcome(self, job_id: str) -> Computed | Refusal | None:
        """The job's judged outcome; ``None`` while it is computing (or never started)."""
        return self._done.get(job_id)

    def computing(self, job_id: str) -> asyncio.Future[Computed] | None:
        """The job's computation while it runs."""
        return self._pending.get(job_id)

    async def body(
        self,
        *,
        job_id: str,
        program_id: str,
        backend: str,
        params: Mapping[str, Any] | None,
        started: str,
        finished: str,
    ) -> bytes:
        """The final result body of a completed job, serialised (formatted off the loop)."""
        if program_id not in _PRIMITIVES:
            return json.dumps(generic_result(job_id, program_id, backend, params)).encode()
        loop = asyncio.get_running_loop()
        done = self._done.get(job_id)
        if done is None:
            pending = self._pending.get(job_id)
            if pending is None:
                pending = loop.run_in_executor(
                    self._pool(), compute, job_id, program_id, params, self.settings
                )
                self._pending[job_id] = pending
            try:
                done = await asyncio.shield(pending)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure ends the job, never a 500
                done = judge_outcome(exc)
            self._pending.pop(job_id, None)
            self._done[job_id] = done
        if isinstance(done, Refusal):
            raise ApiError(400, str(done.code), done.reason)
        return await loop.run_in_executor(self._pool(), _format, done, params, started, finished)

    def forget(self, job_id: str) -> None:
        """Drop a job's computation (the job will never have a result)."""
        self._done.pop(job_id, None)
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
