"""Results of the ``noise-learner`` program (the official client's ``NoiseLearner``, v2 inputs).

Input (``params``): ``circuits`` (QPY, Qiskit-encoded as ``{"__type__": "QuantumCircuit"}``)
and ``options`` holding only the options the user set. The result is the Qiskit-encoded JSON
the client's noise-learner decoder reads::

    {"data": [[{"circuit": <QuantumCircuit>, "qubits": [...]},
               {"generators": <PauliList>, "rates": <ndarray>}], ...],
     "metadata": {"backend": <name>, "input_options": {<every learner option>}}}

What is learned: for every circuit, its distinct layers of two-qubit gates (a layer is the
two-qubit gates of one DAG layer, on the qubits they touch), at most ``max_layers_to_learn``
in all (default 4). Each layer's error is a Pauli-Lindblad model with one- and two-body
generators (every non-identity Pauli on each layer qubit, and every two-qubit Pauli on each
gate's pair). The rates come from the calibration data the emulator serves for that device:
a gate pair's two-body rates share its two-qubit ``gate_error`` (``/ 15``), a qubit's one-body
rates its ``sx`` ``gate_error`` (``/ 3``). This needs qiskit (the ``sim`` extra).

The defaults filled into ``input_options`` are those IBM documents for ``NoiseLearnerOptions``.
"""

from __future__ import annotations

import base64
import io
import zlib
from collections.abc import Mapping
from typing import Any

from ._backends import BackendSpec, properties_json

__all__ = ["DEFAULT_OPTIONS", "PROGRAM_ID", "input_options", "noise_learner_result"]

PROGRAM_ID = "noise-learner"

#: IBM's documented ``NoiseLearnerOptions`` defaults (what ``input_options`` reports).
DEFAULT_OPTIONS: dict[str, Any] = {
    "max_execution_time": None,
    "max_layers_to_learn": 4,
    "shots_per_randomization": 128,
    "num_randomizations": 32,
    "layer_pair_depths": [0, 1, 2, 4, 16, 32],
    "twirling_strategy": "active-accum",
}

_ONE_BODY = ("X", "Y", "Z")


def input_options(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Every learner option: the request's, over IBM's defaults."""
    given = (params or {}).get("options")
    given = given if isinstance(given, Mapping) else {}
    return {name: given.get(name, default) for name, default in DEFAULT_OPTIONS.items()}


def _encode_circuit(circuit: Any) -> dict[str, Any]:
    from qiskit import qpy

    buffer = io.BytesIO()
    qpy.dump(circuit, buffer)
    value = base64.b64encode(zlib.compress(buffer.getvalue())).decode("ascii")
    return {"__type__": "QuantumCircuit", "__value__": value}


def _decode_circuit(value: Any) -> Any:
    from qiskit import qpy

    if not isinstance(value, Mapping) or value.get("__type__") != "QuantumCircuit":
        raise ValueError("every circuit must be a Qiskit-encoded QuantumCircuit")
    raw = zlib.decompress(base64.b64decode(str(value.get("__value__"))))
    return qpy.load(io.BytesIO(raw))[0]


def _layers(circuit: Any) -> list[tuple[tuple[str, tuple[int, int]], ...]]:
    """The circuit's distinct two-qubit-gate layers, in order: ``((gate, (a, b)), ...)``."""
    from qiskit.converters import circuit_to_dag

    dag = circuit_to_dag(circuit)
    seen: list[tuple[tuple[str, tuple[int, int]], ...]] = []
    for layer in dag.layers():
        gates = []
        for node in layer["graph"].op_nodes():
            if len(node.qargs) == 2 and node.op.name not in ("barrier", "measure"):
                a, b = (circuit.find_bit(qubit).index for qubit in node.qargs)
                gates.append((node.op.name, (a, b)))
        key = tuple(sorted(gates))
        if key and key not in seen:
            seen.append(key)
    return seen


def _errors(spec: BackendSpec, now: float) -> tuple[dict[int, float], dict[tuple[int, int], float]]:
    """Per qubit its ``sx`` error, per ordered pair its two-qubit gate error (served data)."""
    single: dict[int, float] = {}
    pairs: dict[tuple[int, int], float] = {}
    for gate in properties_json(spec, now)["gates"]:
        error = next(p["value"] for p in gate["parameters"] if p["name"] == "gate_error")
        if gate["gate"] == "sx":
            single[gate["qubits"][0]] = error
        elif len(gate["qubits"]) == 2:
            pairs[(gate["qubits"][0], gate["qubits"][1])] = error
    return single, pairs


def _layer_error(
    layer: tuple[tuple[str, tuple[int, int]], ...],
    single: Mapping[int, float],
    pairs: Mapping[tuple[int, int], float],
) -> list[dict[str, Any]]:
    from qiskit import QuantumCircuit

    qubits = sorted({q for _, pair in layer for q in pair})
    local = {q: i for i, q in enumerate(qubits)}
    width = len(qubits)
    circuit = QuantumCircuit(width)
    for name, (a, b) in layer:
        circuit.append(_gate(name), [local[a], local[b]])
    labels: list[str] = []
    rates: list[float] = []

    def label(paulis: Mapping[int, str]) -> str:
        # Qiskit labels are little-endian: qubit 0 is the rightmost character.
        return "".join(paulis.get(i, "I") for i in reversed(range(width)))

    for q in qubits:
        for pauli in _ONE_BODY:
            labels.append(label({local[q]: pauli}))
            rates.append(single.get(q, 0.0) / 3)
    for _, (a, b) in layer:
        error = pairs.get((a, b), pairs.get((b, a), 0.0))
        for pa in _ONE_BODY:
            for pb in _ONE_BODY:
                labels.append(label({local[a]: pa, local[b]: pb}))
                rates.append(error / 15)
        # The 6 weight-one terms of the pair share the rest of its gate error.
        for q in (a, b):
            for pauli in _ONE_BODY:
                index = labels.index(label({local[q]: pauli}))
                rates[index] += error / 15
    return [
        {"circuit": _encode_circuit(circuit), "qubits": qubits},
        {
            "generators": {
                "__type__": "settings",
                "__module__": "qiskit.quantum_info.operators.symplectic.pauli_list",
                "__class__": "PauliList",
                "__value__": {"data": labels},
            },
            "rates": {"__type__": "ndarray", "__value__": [round(r, 10) for r in rates]},
        },
    ]


def _gate(name: str) -> Any:
    from qiskit.circuit.library import get_standard_gate_name_mapping

    gate = get_standard_gate_name_mapping().get(name)
    if gate is None:
        raise ValueError(f"unknown two-qubit gate {name}")
    return gate


def noise_learner_result(
    params: Mapping[str, Any] | None, spec: BackendSpec, now: float
) -> dict[str, Any]:
    """The ``noise-learner`` result body for ``params`` on ``spec`` (needs qiskit)."""
    options = input_options(params)
    limit = options["max_layers_to_learn"]
    raw = (params or {}).get("circuits")
    circuits = raw if isinstance(raw, list) else []
    single, pairs = _errors(spec, now)
    data: list[list[dict[str, Any]]] = []
    for value in circuits:
        for layer in _layers(_decode_circuit(value)):
            if isinstance(limit, int) and len(data) >= limit:
                break
            data.append(_layer_error(layer, single, pairs))
    return {"data": data, "metadata": {"backend": spec.name, "input_options": options}}
