"""What a job may declare, and the bounded readers that enforce it.

Everything here runs when a job runs, in the worker thread (see ``_results.py``): the limits
are copied out of ``EmulatorConfig`` into a small frozen value the thread can read. A job past
a limit raises :class:`JobRejected` and ends ``Failed`` with the reason; nothing here
allocates more than a limit allows before checking it (inflating stops at the limit).
"""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = [
    "ISA_CODE",
    "ISA_MESSAGE",
    "VALIDATION_CODE",
    "JobRejected",
    "Limits",
    "check_deadline",
    "inflate",
    "nesting_depth",
    "set_deadline",
]

#: IBM's reason code for circuits that do not match the backend's target (non-ISA).
ISA_CODE = 1517
#: IBM's text for it (as shown to users since 2024).
ISA_MESSAGE = "Circuits do not match the target definition (non-ISA circuits)."
ISA_SOLUTION = (
    "Transpile your circuits for the target before submitting a primitive query. For example, "
    "you can use the following code block given an IBMBackend object `backend` and circuits of "
    "type `List[QuantumCircuit]`: from qiskit.transpiler import generate_preset_pass_manager; "
    "pm = generate_preset_pass_manager(optimization_level=1, target=backend.target); "
    "isa_circuits = pm.run(circuits). Then pass `isa_circuits` to the Sampler or Estimator "
    "primitive. See https://quantum.cloud.ibm.com/docs/errors#1517 for more information."
)
#: IBM's registry: "Error in the validation process of the job." (params, limits).
VALIDATION_CODE = 1002
VALIDATION_SOLUTION = "Check the Job, it is not valid to run on this backend."


class JobRejected(Exception):
    """The job cannot run: it ends ``Failed`` with this reason, code and solution."""

    def __init__(
        self,
        reason: str,
        *,
        code: int = VALIDATION_CODE,
        solution: str = VALIDATION_SOLUTION,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.solution = solution

    @classmethod
    def isa(cls, detail: str) -> JobRejected:
        """A non-ISA circuit (code 1517, IBM's message, then what the emulator found)."""
        return cls(f"{ISA_MESSAGE} {detail}", code=ISA_CODE, solution=ISA_SOLUTION)


@attrs.frozen(kw_only=True)
class Limits:
    """The sizes a job may declare (see ``EmulatorConfig``) and the device it runs on."""

    max_pubs: int = 1000
    max_sweep_points: int = 100_000
    max_shots: int = 100_000
    max_executions: int = 5_000_000
    max_estimator_shots: int = 10**9
    max_circuit_chars: int = 4_000_000
    max_inflated_bytes: int = 32_000_000
    max_operations: int = 200_000
    max_qasm3_statements: int = 20_000
    max_observable_terms: int = 200_000
    max_nesting: int = 64
    #: The device: width, basis gate names and undirected coupling pairs (``None``: unknown).
    num_qubits: int | None = None
    basis_gates: frozenset[str] = frozenset()
    coupling: frozenset[tuple[int, int]] = frozenset()
    two_qubit_gate: str = "cz"


def inflate(raw: bytes, limit: int, what: str) -> bytes:
    """``zlib``-inflate ``raw``, refusing (without allocating more) past ``limit`` bytes."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise ValueError(f"{what} is not valid zlib data: {exc}") from exc
    if len(out) > limit or inflater.unconsumed_tail:
        raise JobRejected(
            f"Invalid input: {what} inflates to more than {limit:,} bytes "
            "(EmulatorConfig.max_inflated_bytes)."
        )
    return out


def nesting_depth(value: Any, limit: int) -> int:
    """How deeply ``value`` nests (lists and objects), counting no further than ``limit + 1``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, list | Mapping):
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            children = item.values() if isinstance(item, Mapping) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


_DEADLINE = threading.local()


def set_deadline(seconds: float | None) -> None:
    """Give the current (worker) thread's job ``seconds`` from now (``None``: no deadline)."""
    _DEADLINE.at = None if seconds is None else time.monotonic() + seconds
    _DEADLINE.seconds = seconds


def check_deadline() -> None:
    """``JobRejected`` once the current thread's job is past its time (checked between steps).

    A thread cannot be stopped from outside; the long loops (pubs, points, terms) call this so
    a job past ``job_time_limit`` frees the worker soon after its job has failed.
    """
    at = getattr(_DEADLINE, "at", None)
    if at is not None and time.monotonic() > at:
        raise JobRejected(
            f"The emulator stopped this job after {_DEADLINE.seconds:g} s "
            "(EmulatorConfig.job_time_limit).",
            code=1010,
            solution="Split the work into smaller jobs.",
        )
