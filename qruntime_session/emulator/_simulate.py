"""Real simulation of sampler and estimator pubs (the ``sim`` extra: qiskit + qiskit-aer).

Everything here runs in a worker thread (see ``_results.py``), never on the event loop.

- Circuits are read from OpenQASM 2/3 text (``qiskit.qasm2``/``qiskit.qasm3``) or QPY.
- Only the qubits the circuit uses are simulated: a circuit laid out on a 156-qubit device
  with 2 qubits in use is a 2-qubit simulation. Idle qubits stay in ``|0>``.
- Sampler: qiskit-aer's ``SamplerV2`` (its automatic method picks the stabilizer simulator for
  Clifford circuits, so large Clifford circuits run too), seeded per pub.
- Estimator: exact expectation values of every Pauli term (statevector, or stabilizer for
  large Clifford circuits), then shot noise drawn for ``ceil(1 / precision**2)`` shots with a
  seeded generator: a term whose every shot agrees (``<ZZ>`` of a Bell pair) is exact.
"""

from __future__ import annotations

import importlib.util
import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

from ._formats import EstimatorPubData, RegisterSamples, SamplerPubData
from ._limits import JobRejected, check_deadline
from ._pubs import CircuitSource, InvalidPub, Pub, broadcast_to, rows_of
from ._qasm import check_includes
from ._run_settings import RunSettings

__all__ = ["SIMULATION_AVAILABLE", "Prepared", "prepare", "simulate_estimator", "simulate_sampler"]

SIMULATION_AVAILABLE = all(
    importlib.util.find_spec(name) is not None
    for name in ("qiskit", "qiskit_aer", "qiskit_qasm3_import", "numpy")
)

_IGNORED = frozenset({"barrier", "delay"})
_CLIFFORD_GATES = frozenset(
    {
        "id", "x", "y", "z", "h", "s", "sdg", "sx", "sxdg", "cx", "cy", "cz", "swap", "ecr",
        "iswap", "dcx", "measure", "reset", "barrier", "delay",
    }
)  # fmt: skip
_CLIFFORD_ROTATIONS = frozenset({"rz", "rx", "ry", "p", "u1"})
# Above this many active qubits a Clifford circuit runs on the stabilizer simulator.
_STATEVECTOR_QUBITS = 20


class Prepared:
    """A pub's circuit read and reduced to its active qubits (and what that left out)."""

    def __init__(self, circuit: Any, active: list[int], num_qubits: int, clifford: bool) -> None:
        self.circuit = circuit
        self.active = active
        self.num_qubits = num_qubits
        self.clifford = clifford


def _load(source: CircuitSource) -> Any:
    from qiskit import qasm2, qasm3, qpy

    if source.kind == "qasm":
        text = source.text
        check_includes(text)  # before any parser: no file is opened for a circuit (issue 15)
        if "OPENQASM 2" in text.split(";", 1)[0]:
            return qasm2.loads(text, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
        return qasm3.loads(text)
    if source.kind == "qpy":
        circuits = qpy.load(io.BytesIO(source.qpy))
        if not circuits:
            raise InvalidPub("the QPY payload holds no circuit")
        return circuits[0]
    raise InvalidPub("the circuit is neither OpenQASM text nor QPY")


def _is_clifford(circuit: Any) -> bool:
    for instruction in circuit.data:
        operation = instruction.operation
        name = operation.name
        if name in _CLIFFORD_GATES:
            continue
        if name in _CLIFFORD_ROTATIONS and len(operation.params) == 1:
            angle = operation.params[0]
            try:
                ratio = float(angle) / (math.pi / 2)
            except TypeError:
                return False
            if abs(ratio - round(ratio)) < 1e-9:
                continue
        return False
    return True


def _compact(circuit: Any) -> tuple[Any, list[int]]:
    """The circuit on its active qubits only (barriers and delays do not count as use)."""
    from qiskit import QuantumCircuit, QuantumRegister

    used: set[int] = set()
    for instruction in circuit.data:
        if instruction.operation.name in _IGNORED:
            continue
        used.update(circuit.find_bit(qubit).index for qubit in instruction.qubits)
    active = sorted(used)
    if len(active) == circuit.num_qubits:
        return circuit, active
    position = {index: new for new, index in enumerate(active)}
    compact = QuantumCircuit(QuantumRegister(len(active), "q"), *circuit.cregs)
    loose = [bit for bit in circuit.clbits if bit not in set(compact.clbits)]
    if loose:
        compact.add_bits(loose)
    compact.global_phase = circuit.global_phase
    compact.metadata = circuit.metadata
    for instruction in circuit.data:
        if instruction.operation.name in _IGNORED:
            continue
        qubits = [compact.qubits[position[circuit.find_bit(q).index]] for q in instruction.qubits]
        compact.append(instruction.operation, qubits, list(instruction.clbits), copy=False)
    return compact, active


def prepare(pub: Pub, settings: RunSettings) -> Prepared:
    """Read the circuit, judge it against the device (ISA), check it can be simulated.

    ``JobRejected`` (ISA, code 1517; or a limit) or ``InvalidPub`` otherwise.
    """
    from ._isa import check_circuit

    try:
        circuit = _load(pub.circuit)
    except InvalidPub:
        raise
    except Exception as exc:
        raise InvalidPub(f"the circuit could not be read: {exc}") from exc
    limits = settings.limits
    if len(circuit.data) > limits.max_operations:
        raise JobRejected(
            f"Invalid input: the circuit has {len(circuit.data):,} instructions; the emulator "
            f"reads at most {limits.max_operations:,} (EmulatorConfig.max_operations)."
        )
    if settings.judge and limits.num_qubits is not None:
        check_circuit(circuit, limits)
    if any(getattr(instruction.operation, "blocks", None) for instruction in circuit.data):
        compact, active = circuit, list(range(circuit.num_qubits))
    else:
        compact, active = _compact(circuit)
    clifford = _is_clifford(compact)
    if len(active) > settings.max_qubits and not clifford:
        raise InvalidPub(
            f"the circuit uses {len(active)} qubits in non-Clifford operations; the emulator "
            f"simulates at most {settings.max_qubits}"
        )
    return Prepared(compact, active, circuit.num_qubits, clifford)


def _circuit_metadata(prepared: Prepared) -> dict[str, Any]:
    metadata = prepared.circuit.metadata
    return dict(metadata) if isinstance(metadata, Mapping) else {}


def _bindings(prepared: Prepared, pub: Pub) -> Any:
    """Parameter values as an array of shape ``(*pub.shape, num_parameters)`` (or ``None``)."""
    import numpy as np

    count = prepared.circuit.num_parameters
    if count == 0:
        return None
    rows = broadcast_to(rows_of(pub.parameter_values), pub.shape)
    if any(len(row) != count for row in rows):
        raise InvalidPub(f"the circuit has {count} parameters; the values do not match")
    return np.array(rows, dtype=float).reshape((*pub.shape, count))


def simulate_sampler(
    pub: Pub, prepared: Prepared, seed: int, noisy: tuple[Any, float] | None = None
) -> SamplerPubData:
    """Sample the pub: one ``BitArray``-shaped register per classical register.

    With ``noisy`` (a device and an instant), a noise model built from that device's
    ``/properties`` acts on the circuit's device qubits (see ``_noise.py``).
    """
    from qiskit_aer.primitives import SamplerV2 as AerSampler

    values = _bindings(prepared, pub)
    if values is None and pub.shape:
        import numpy as np

        # Values of shape (N, 0) still give the pub shape (N,): N runs of the same circuit.
        values = np.zeros((*pub.shape, 0))
    if not prepared.circuit.cregs:
        return SamplerPubData(
            shape=pub.shape,
            num_shots=pub.shots,
            registers=(),
            metadata={"circuit_metadata": _circuit_metadata(prepared)},
        )
    large = prepared.clifford and len(prepared.active) > _STATEVECTOR_QUBITS
    backend_options: dict[str, Any] = {"method": "stabilizer"} if large else {}
    if noisy is not None and not large:
        from ._noise import GATE_NOISE_QUBITS, device_noise_model

        device, at = noisy
        day = at - at % 86400  # the properties are dated per day
        backend_options["noise_model"] = device_noise_model(device, day, tuple(prepared.active))
        if len(prepared.active) <= GATE_NOISE_QUBITS:
            # One noisy density-matrix run, then sampling: not one trajectory per shot.
            backend_options["method"] = "density_matrix"
    options = {"backend_options": backend_options} if backend_options else None
    sampler = AerSampler(seed=seed, options=options)
    data = sampler.run([(prepared.circuit, values, pub.shots)]).result()[0].data
    registers: list[RegisterSamples] = []
    for register in prepared.circuit.cregs:
        bits = getattr(data, register.name)
        array = bits.array.reshape((*pub.shape, pub.shots, bits.array.shape[-1]))
        registers.append(
            RegisterSamples(
                name=register.name,
                num_bits=int(bits.num_bits),
                shape=pub.shape,
                num_shots=pub.shots,
                data=array.astype("uint8").tobytes(),
            )
        )
    return SamplerPubData(
        shape=pub.shape,
        num_shots=pub.shots,
        registers=tuple(registers),
        metadata={"circuit_metadata": _circuit_metadata(prepared)},
    )


def _terms(observable: Any) -> list[tuple[str, complex]]:
    if isinstance(observable, str):
        return [(observable, 1.0)]
    if isinstance(observable, Mapping):
        terms: list[tuple[str, complex]] = []
        for label, coefficient in observable.items():
            if isinstance(coefficient, Sequence) and len(coefficient) == 2:
                value = complex(float(coefficient[0]), float(coefficient[1]))
            elif isinstance(coefficient, int | float) and not isinstance(coefficient, bool):
                value = complex(coefficient)
            else:
                raise InvalidPub(f"observable coefficient {coefficient!r} is not a number")
            terms.append((str(label), value))
        return terms
    raise InvalidPub(f"observable {observable!r} is not a Pauli string or {{pauli: coeff}}")


def _reduce(label: str, prepared: Prepared) -> str | None:
    """The Pauli label on the active qubits; ``None`` when X/Y on an idle qubit zero it.

    A label longer than the circuit covers device qubits the circuit never names (OpenQASM 3
    physical qubits ``$n`` declare only up to the highest one used): those are idle too.
    """
    if len(label) < prepared.num_qubits or any(ch not in "IXYZ" for ch in label):
        raise InvalidPub(
            f"observable {label!r} does not act on the circuit's {prepared.num_qubits} qubits"
        )
    active = set(prepared.active)
    for index in range(len(label)):
        if index not in active and label[-1 - index] in "XY":
            return None
    return "".join(label[-1 - index] for index in reversed(prepared.active))


def _noisy_state(bound: Any, prepared: Prepared, noisy: tuple[Any, float]) -> Any:
    """The density matrix the device's gate noise leaves (readout is mitigated, as the
    estimator's default ``resilience_level`` 1 does)."""
    from qiskit_aer import AerSimulator

    from ._noise import device_noise_model

    device, at = noisy
    day = at - at % 86400
    model = device_noise_model(device, day, tuple(prepared.active), False)
    circuit = bound.copy()
    circuit.save_density_matrix()
    result = AerSimulator(method="density_matrix", noise_model=model).run(circuit).result()
    return result.data(0)["density_matrix"]


def simulate_estimator(
    pub: Pub, prepared: Prepared, seed: int, noisy: tuple[Any, float] | None = None
) -> EstimatorPubData:
    """Estimate every observable of the pub with shot noise for ``pub.shots`` shots.

    With ``noisy`` (a device and an instant) and at most ``GATE_NOISE_QUBITS`` active qubits,
    the state is the density matrix the device's gate noise leaves.
    """
    import numpy as np
    from qiskit.quantum_info import StabilizerState, Statevector

    from ._noise import GATE_NOISE_QUBITS

    rng = np.random.default_rng(seed)
    values = _bindings(prepared, pub)
    circuit = prepared.circuit.remove_final_measurements(inplace=False)
    observables = broadcast_to(pub.observables, pub.shape)
    flat_values = None if values is None else values.reshape(-1, values.shape[-1])
    point_count = math.prod(pub.shape)
    param_rows = (
        [0] * point_count
        if values is None
        else broadcast_to(_index_grid(tuple(values.shape[:-1])), pub.shape)
    )
    evs: list[float] = [0.0] * point_count
    stds: list[float] = [0.0] * point_count
    # Points grouped by parameter row: one state is alive at a time, not one per point.
    by_row: dict[int, list[int]] = {}
    for point in range(point_count):
        by_row.setdefault(int(param_rows[point]), []).append(point)
    for row, points in by_row.items():
        check_deadline()
        bound = circuit if flat_values is None else circuit.assign_parameters(flat_values[row])
        large = prepared.clifford and bound.num_qubits > _STATEVECTOR_QUBITS
        if noisy is not None and len(prepared.active) <= GATE_NOISE_QUBITS:
            state = _noisy_state(bound, prepared, noisy)
        else:
            state = StabilizerState(bound) if large else Statevector(bound)
        for point in points:
            evs[point], stds[point] = _estimate(observables[point], prepared, state, pub.shots, rng)
        del state
    return EstimatorPubData.estimated(
        shape=pub.shape,
        shots=pub.shots,
        precision=pub.precision,
        evs=evs,
        stds=stds,
        circuit_metadata=_circuit_metadata(prepared),
    )


def _estimate(
    observable: Any, prepared: Prepared, state: Any, shots: int, rng: Any
) -> tuple[float, float]:
    """One observable's estimate and standard error on ``state`` with ``shots`` shot noise."""
    import numpy as np
    from qiskit.quantum_info import Pauli

    mean = 0.0
    variance = 0.0
    for label, coefficient in _terms(observable):
        check_deadline()
        reduced = _reduce(label, prepared)
        if reduced is None:
            exact = 0.0
        elif set(reduced) <= {"I"}:
            mean += coefficient.real
            continue
        else:
            exact = float(np.real(state.expectation_value(Pauli(reduced))))
        p_plus = min(max((1.0 + exact) / 2.0, 0.0), 1.0)
        plus = int(rng.binomial(shots, p_plus))
        estimate = 2.0 * plus / shots - 1.0
        mean += coefficient.real * estimate
        variance += abs(coefficient) ** 2 * max(1.0 - estimate**2, 0.0) / shots
    return mean, math.sqrt(variance)


def _index_grid(shape: tuple[int, ...]) -> Any:
    """A nested list of shape ``shape`` whose leaves are their own flat C-order index."""
    size = math.prod(shape)
    from ._npy import nested

    return nested(list(range(size)), shape) if shape else 0
