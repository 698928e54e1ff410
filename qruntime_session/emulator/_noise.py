"""A qiskit-aer noise model built from the calibration data the emulator serves.

The same recipe as qiskit's fake backends (``NoiseModel.from_backend``), written against the
``GET /v1/backends/{name}/properties`` document (``_backends.properties_json``) so a
simulation and the served numbers agree:

- readout: per qubit, the 2x2 assignment matrix from ``prob_meas1_prep0`` and
  ``prob_meas0_prep1``;
- gates: per gate and qubits, thermal relaxation over the ``gate_length`` (T1, T2) composed
  with a depolarizing error whose size makes the gate's total average error ``gate_error``
  (gates with zero length and zero error, ``rz``, stay ideal).

Only the qubits a circuit uses are modelled; ``active[i]`` is the device qubit that simulated
qubit ``i`` stands for. Above ``GATE_NOISE_QUBITS`` active qubits only readout errors are
modelled (gate noise would make aer simulate shot by shot). Runs in the worker thread.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from ._backends import BackendSpec, properties_json

__all__ = ["GATE_NOISE_QUBITS", "device_noise_model", "noise_model", "qubit_properties"]


def _values(items: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    return {str(item["name"]): float(item["value"]) for item in items}


def qubit_properties(properties: Mapping[str, Any], qubit: int) -> dict[str, float]:
    """``{name: value}`` of one qubit's entry (T1 and T2 in µs, errors as probabilities)."""
    return _values(properties["qubits"][qubit])


def _relaxation_fidelity(t1_ns: float, t2_ns: float, length_ns: float) -> float:
    """Average gate fidelity of single-qubit thermal relaxation (ground-state population 1)."""
    import math

    if length_ns <= 0:
        return 1.0
    p1 = 1.0 - math.exp(-length_ns / t1_ns)  # amplitude damping
    coherence = math.exp(-length_ns / t2_ns)
    # Process fidelity of the channel, then the average gate fidelity (d = 2).
    process = (1.0 + (1.0 - p1) + 2.0 * coherence) / 4.0
    return (2.0 * process + 1.0) / 3.0


#: Above this many simulated qubits only readout errors are modelled: gate noise makes aer
#: simulate shot by shot (trajectories), which grows with the width times the shots.
GATE_NOISE_QUBITS = 8


def noise_model(
    properties: Mapping[str, Any], active: Sequence[int], *, readout: bool = True
) -> Any:
    """The aer ``NoiseModel`` of device qubits ``active`` (simulated as ``0..len-1``).

    Readout errors always; gate errors when at most ``GATE_NOISE_QUBITS`` qubits are active.
    """
    from qiskit_aer.noise import (
        NoiseModel,
        ReadoutError,
        depolarizing_error,
        thermal_relaxation_error,
    )

    position = {qubit: index for index, qubit in enumerate(active)}
    model = NoiseModel(basis_gates=["id", "rz", "sx", "x", "cz", "ecr", "measure"])
    timing: dict[int, tuple[float, float]] = {}
    for qubit, index in position.items():
        values = qubit_properties(properties, qubit)
        t1 = values["T1"] * 1000.0
        t2 = min(values["T2"] * 1000.0, 2.0 * t1)
        timing[qubit] = (t1, t2)
        p10 = values.get("prob_meas1_prep0", values.get("readout_error", 0.0))
        p01 = values.get("prob_meas0_prep1", values.get("readout_error", 0.0))
        if readout and (p10 or p01):
            matrix = [[1.0 - p10, p10], [p01, 1.0 - p01]]
            model.add_readout_error(ReadoutError(matrix), [index])
    gates = properties["gates"] if len(active) <= GATE_NOISE_QUBITS else ()
    for gate in gates:
        qubits = [int(q) for q in gate["qubits"]]
        if any(q not in position for q in qubits):
            continue
        values = _values(gate["parameters"])
        error = values.get("gate_error", 0.0)
        length = values.get("gate_length", 0.0)
        if error <= 0 and length <= 0:
            continue
        dim = 2 ** len(qubits)
        relaxation = None
        fidelity = 1.0
        for q in qubits:
            t1, t2 = timing[q]
            single = thermal_relaxation_error(t1, t2, length)
            fidelity *= _relaxation_fidelity(t1, t2, length)
            relaxation = single if relaxation is None else relaxation.expand(single)
        # The depolarizing part makes up what relaxation does not explain of gate_error.
        remaining = max(error - (1.0 - fidelity), 0.0)
        parameter = min(remaining * dim / (dim - 1), 1.0)
        channel = depolarizing_error(parameter, len(qubits))
        if relaxation is not None and length > 0:
            channel = channel.compose(relaxation)
        model.add_quantum_error(channel, str(gate["gate"]), [position[q] for q in qubits])
    return model


@functools.lru_cache(maxsize=32)
def device_noise_model(
    device: BackendSpec, at: float, active: tuple[int, ...], readout: bool = True
) -> Any:
    """:func:`noise_model` of the device's ``/properties`` at ``at`` (cached: the properties
    change once a day, and building the model's channels takes a fraction of a second)."""
    return noise_model(properties_json(device, at), active, readout=readout)
