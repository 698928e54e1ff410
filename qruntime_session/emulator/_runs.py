"""From the emulator's settings to one job's run settings, and from its judgement to its end.

Kept apart from the store so the store only schedules: what a job may declare (the limits
of ``EmulatorConfig`` and the device it runs on) and how a judged job ends.
"""

from __future__ import annotations

import functools

from ._backends import BackendSpec, heavy_hex
from ._config import EmulatorConfig
from ._limits import Limits
from ._outcome import JobOutcome
from ._results import Computed, Refusal, RunSettings

__all__ = ["judged", "run_settings"]


@functools.lru_cache(maxsize=64)
def _coupling(num_qubits: int) -> frozenset[tuple[int, int]]:
    _, edges = heavy_hex(num_qubits)
    return frozenset((min(a, b), max(a, b)) for a, b in edges)


def run_settings(
    config: EmulatorConfig, simulate: bool, device: BackendSpec | None, created: float
) -> RunSettings:
    """What the worker judges a job on ``device`` against (``None``: no device checks)."""
    limits = Limits(
        max_pubs=config.max_pubs,
        max_sweep_points=config.max_sweep_points,
        max_shots=config.max_shots,
        max_executions=config.max_executions,
        max_estimator_shots=config.max_estimator_shots,
        max_circuit_chars=config.max_circuit_chars,
        max_inflated_bytes=config.max_inflated_bytes,
        max_operations=config.max_operations,
        max_qasm3_statements=config.max_qasm3_statements,
        max_observable_terms=config.max_observable_terms,
        max_nesting=config.max_nesting,
        num_qubits=None if device is None else device.num_qubits,
        basis_gates=frozenset(() if device is None else device.basis_gates),
        coupling=frozenset() if device is None else _coupling(device.num_qubits),
        two_qubit_gate="cz" if device is None else device.two_qubit_gate,
    )
    return RunSettings(
        simulate=simulate,
        max_qubits=config.max_simulated_qubits,
        limits=limits,
        judge=config.judge_jobs,
        noisy_device=device if config.noise and device is not None else None,
        properties_at=created,
        time_limit=config.job_time_limit,
    )


def judged(outcome: Computed | Refusal | None, planned: JobOutcome | None) -> JobOutcome:
    """How a job ends once judged: a refusal fails it, else its planned outcome or Completed."""
    if isinstance(outcome, Refusal):
        return JobOutcome.failed(
            outcome.reason, reason_code=outcome.code, reason_solution=outcome.solution
        )
    return planned or JobOutcome.completed()
