"""Emulated devices: their list entry, configuration, properties and status.

Shapes follow IBM's backends description (0.45.3: ``BackendsResponse``,
``BackendConfigurationResponse``, ``BackendPropertiesResponse``, ``BackendStatusResponse``)
and what qiskit-ibm-runtime reads to build a ``Target``. Everything is generated here:
the coupling map is a heavy-hex lattice (rows of 16 qubits joined by 4 bridge qubits,
alternating columns, so 8 rows give 156 qubits like a Heron r2 chip), and calibration data is
drawn from a PRNG seeded with the backend name, so every emulator answers the same values.
"""

from __future__ import annotations

import datetime
import hashlib
import random
from collections.abc import Sequence
from typing import Any

import attrs

__all__ = [
    "DEFAULT_DEVICES",
    "BackendSpec",
    "calibration_id",
    "configuration_json",
    "device_json",
    "heavy_hex",
    "mock_of",
    "properties_json",
    "status_json",
]

_ROW = 16
_BRIDGES = ((3, 7, 11, 15), (1, 5, 9, 13))
_SINGLE = ("id", "rz", "sx", "x")
_INSTRUCTIONS = ("delay", "measure", "reset", "if_else", "for_loop", "switch_case", "while_loop")
_GATE_PARAMETERS = {"rz": ["theta"], "rx": ["theta"], "rzz": ["theta"]}
#: Heron's fractional gates (``use_fractional_gates`` in the official client).
_FRACTIONAL = ("rx", "rzz")
_QASM_DEFS = {
    "id": "gate id q { U(0, 0, 0) q; }",
    "rz": "gate rz(theta) q { U(0, 0, theta) q; }",
    "sx": "gate sx q { U(pi/2, 3*pi/2, pi/2) q; }",
    "x": "gate x q { U(pi, 0, pi) q; }",
    "cz": "gate cz q0, q1 { U(pi/2, 0, pi) q1; CX q0, q1; U(pi/2, 0, pi) q1; }",
    "ecr": "gate ecr q0, q1 { U(pi/2, 0, pi) q0; CX q0, q1; U(pi/2, 0, pi) q0; }",
    "rx": "gate rx(theta) q { U(theta, -pi/2, pi/2) q; }",
    "rzz": "gate rzz(theta) q0, q1 { CX q0, q1; U(0, 0, theta) q1; CX q0, q1; }",
}


@attrs.frozen(kw_only=True)
class BackendSpec:
    """One emulated device. Only ``name`` is required; the rest has Heron r2 defaults.

    Args:
        name: The backend name (``ibm_fez``).
        num_qubits: How many qubits; the coupling map is a heavy-hex lattice cut to this size.
        processor_family: ``processor_type.family`` (``Heron``).
        processor_revision: ``processor_type.revision`` (``2.0``).
        two_qubit_gate: The native two-qubit gate: ``cz`` or ``ecr``.
        backend_version: The configuration's and properties' ``backend_version``.
        status: ``status.name`` in the list: ``online``, ``paused`` or ``offline``.
        queue_length: Jobs waiting on the device (``queue_length`` / ``length_queue``).
        max_shots: The configuration's ``max_shots``.
        online_date: The configuration's ``online_date`` (ISO 8601).
        mock: A mock device (``class: mock``), listed only with ``include_mocks=true``: the
            official client's ``dry_run`` runs on ``mock_<x>`` in place of ``<prefix>_<x>``.
        fractional_gates: The device also offers the fractional gates ``rx`` and ``rzz``
            (``rzz`` on its coupling map); the official client keeps them only with
            ``use_fractional_gates``.

    Raises:
        ValueError: ``num_qubits`` below 1, or an unknown ``status`` or ``two_qubit_gate``.
    """

    name: str
    num_qubits: int = 156
    processor_family: str = "Heron"
    processor_revision: str = "2.0"
    two_qubit_gate: str = "cz"
    backend_version: str = "1.0.0"
    status: str = "online"
    queue_length: int = 0
    max_shots: int = 100_000
    online_date: str = "2024-06-01T00:00:00.000Z"
    mock: bool = False
    fractional_gates: bool = False

    def __attrs_post_init__(self) -> None:
        if self.num_qubits < 1:
            raise ValueError("num_qubits must be >= 1")
        if self.status not in ("online", "paused", "offline"):
            raise ValueError("status must be online, paused or offline")
        if self.two_qubit_gate not in ("cz", "ecr"):
            raise ValueError("two_qubit_gate must be cz or ecr")

    @property
    def basis_gates(self) -> list[str]:
        """Sorted basis gate names."""
        fractional = _FRACTIONAL if self.fractional_gates else ()
        return sorted((*_SINGLE, self.two_qubit_gate, *fractional))


DEFAULT_DEVICES: tuple[BackendSpec, ...] = (
    BackendSpec(name="ibm_fez"),
    BackendSpec(name="ibm_kingston", queue_length=3),
    BackendSpec(name="ibm_marrakesh", queue_length=1),
    BackendSpec(name="ibm_torino", num_qubits=133, processor_revision="1.0", queue_length=5),
)
"""The devices an emulator knows unless configured otherwise (names the docs use)."""


def heavy_hex(num_qubits: int) -> tuple[list[list[int]], list[list[int]]]:
    """``(coords, edges)`` of a heavy-hex lattice cut to ``num_qubits`` (edges undirected).

    Qubits are numbered row by row: 16 row qubits, then the 4 bridge qubits to the next row.
    A cut that would leave a qubit unconnected links it to the previous qubit.
    """
    coords: list[list[int]] = []
    edges: list[list[int]] = []
    index_of: dict[tuple[int, int], int] = {}
    row = 0
    while len(coords) < num_qubits:
        for column in range(_ROW):
            if len(coords) == num_qubits:
                break
            index_of[(2 * row, column)] = len(coords)
            coords.append([2 * row, column])
            if column:
                edges.append([index_of[(2 * row, column - 1)], index_of[(2 * row, column)]])
            above = index_of.get((2 * row - 1, column))
            if above is not None:
                edges.append([above, index_of[(2 * row, column)]])
        for column in _BRIDGES[row % 2]:
            if len(coords) == num_qubits:
                break
            index_of[(2 * row + 1, column)] = len(coords)
            coords.append([2 * row + 1, column])
            below = index_of.get((2 * row, column))
            if below is not None:
                edges.append([below, index_of[(2 * row + 1, column)]])
        row += 1
    # Link any part the cut left apart to the qubit just before it.
    component = list(range(num_qubits))

    def root(qubit: int) -> int:
        while component[qubit] != qubit:
            component[qubit] = component[component[qubit]]
            qubit = component[qubit]
        return qubit

    for a, b in edges:
        component[root(a)] = root(b)
    for qubit in range(1, num_qubits):
        if root(qubit) != root(0):
            edges.append([qubit - 1, qubit])
            component[root(qubit)] = root(0)
    edges.sort()
    return coords, edges


def _directed(edges: Sequence[Sequence[int]]) -> list[list[int]]:
    return sorted([[a, b] for a, b in edges] + [[b, a] for a, b in edges])


def device_json(spec: BackendSpec) -> dict[str, Any]:
    """One ``devices`` entry of ``GET /v1/backends``."""
    return {
        "name": spec.name,
        "status": {"name": spec.status},
        "is_simulator": False,
        "qubits": spec.num_qubits,
        "processor_type": {
            "family": spec.processor_family,
            "revision": spec.processor_revision,
        },
        "queue_length": spec.queue_length,
        "physical_qubits": spec.num_qubits,
        **({"class": "mock"} if spec.mock else {}),
    }


def mock_of(spec: BackendSpec) -> BackendSpec:
    """The mock twin of a device: ``ibm_fez`` -> ``mock_fez`` (the prefix replaced)."""
    _, _, rest = spec.name.partition("_")
    return attrs.evolve(spec, name=f"mock_{rest or spec.name}", mock=True)


def calibration_id(spec: BackendSpec, now: float) -> str:
    """The id of the calibration the served properties describe (one per device and day)."""
    day = datetime.datetime.fromtimestamp(now, tz=datetime.UTC).date().isoformat()
    return hashlib.sha256(f"{spec.name}/{day}".encode()).hexdigest()[:24]


def configuration_json(spec: BackendSpec) -> dict[str, Any]:
    """``GET /v1/backends/{name}/configuration``: a QasmBackendConfiguration document."""
    coords, edges = heavy_hex(spec.num_qubits)
    coupling = _directed(edges)
    singles = [[q] for q in range(spec.num_qubits)]
    gates = [
        {
            "name": name,
            "parameters": _GATE_PARAMETERS.get(name, []),
            "qasm_def": _QASM_DEFS[name],
            "coupling_map": coupling if name in (spec.two_qubit_gate, "rzz") else singles,
        }
        for name in spec.basis_gates
    ]
    return {
        "backend_name": spec.name,
        "backend_version": spec.backend_version,
        "n_qubits": spec.num_qubits,
        "basis_gates": spec.basis_gates,
        "gates": gates,
        "supported_instructions": sorted({*spec.basis_gates, *_INSTRUCTIONS}),
        "coupling_map": coupling,
        "coords": coords,
        "local": False,
        "simulator": False,
        "conditional": True,
        "open_pulse": False,
        "memory": True,
        "max_shots": spec.max_shots,
        "max_experiments": 300,
        "online_date": spec.online_date,
        "processor_type": {
            "family": spec.processor_family,
            "revision": spec.processor_revision,
        },
        "timing_constraints": {
            "granularity": 16,
            "min_length": 64,
            "pulse_alignment": 16,
            "acquire_alignment": 16,
        },
        "u_channel_lo": [],
        "supported_features": ["qasm3"],
    }


def _rng(spec: BackendSpec) -> random.Random:
    seed = int.from_bytes(hashlib.sha256(spec.name.encode()).digest()[:8], "big")
    return random.Random(seed)  # noqa: S311 - plausible calibration data, not security


def _nduv(date: str, name: str, unit: str, value: float) -> dict[str, Any]:
    return {"date": date, "name": name, "unit": unit, "value": value}


def properties_json(spec: BackendSpec, now: float) -> dict[str, Any]:
    """``GET /v1/backends/{name}/properties``: calibration data, dated today at 00:00 UTC."""
    day = datetime.datetime.fromtimestamp(now, tz=datetime.UTC).date()
    stamp = f"{day.isoformat()}T00:00:00"
    date = stamp + ".000Z"
    rng = _rng(spec)
    qubits: list[list[dict[str, Any]]] = []
    for _ in range(spec.num_qubits):
        t1 = rng.uniform(80.0, 320.0)
        t2 = min(rng.uniform(40.0, 300.0), 2 * t1)
        readout = rng.uniform(0.004, 0.03) if rng.random() > 0.03 else rng.uniform(0.08, 0.2)
        bias = rng.uniform(0.35, 0.65)
        qubits.append(
            [
                _nduv(date, "T1", "us", round(t1, 3)),
                _nduv(date, "T2", "us", round(t2, 3)),
                _nduv(date, "frequency", "GHz", round(rng.uniform(4.55, 5.25), 6)),
                _nduv(date, "anharmonicity", "GHz", round(rng.uniform(-0.32, -0.29), 6)),
                _nduv(date, "readout_error", "", round(readout, 6)),
                _nduv(date, "prob_meas0_prep1", "", round(readout * 2 * bias, 6)),
                _nduv(date, "prob_meas1_prep0", "", round(readout * 2 * (1 - bias), 6)),
                _nduv(date, "readout_length", "ns", 1560.0),
            ]
        )
    gates: list[dict[str, Any]] = []
    lengths = {"id": 32.0, "sx": 32.0, "x": 32.0, "rz": 0.0}
    for name in ("id", "rz", "sx", "x"):
        for qubit in range(spec.num_qubits):
            error = 0.0 if name == "rz" else rng.uniform(1.2e-4, 6e-4)
            gates.append(
                {
                    "gate": name,
                    "qubits": [qubit],
                    "parameters": [
                        _nduv(date, "gate_error", "", round(error, 8)),
                        _nduv(date, "gate_length", "ns", lengths[name]),
                    ],
                }
            )
    _, edges = heavy_hex(spec.num_qubits)
    for pair in _directed(edges):
        gates.append(
            {
                "gate": spec.two_qubit_gate,
                "qubits": pair,
                "parameters": [
                    _nduv(date, "gate_error", "", round(rng.uniform(1.5e-3, 7e-3), 8)),
                    _nduv(date, "gate_length", "ns", 68.0),
                ],
            }
        )
    return {
        "backend_name": spec.name,
        "backend_version": spec.backend_version,
        "last_update_date": stamp + "Z",
        "qubits": qubits,
        "gates": gates,
        "general": [],
    }


def status_json(spec: BackendSpec) -> dict[str, Any]:
    """``GET /v1/backends/{name}/status``."""
    state = spec.status == "online"
    return {
        "state": state,
        "status": "active" if state else "maintenance" if spec.status == "paused" else "offline",
        "message": "available" if state else f"the backend is {spec.status}",
        "length_queue": spec.queue_length,
        "backend_version": spec.backend_version,
    }
