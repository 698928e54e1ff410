"""Results of the ``noise-learner`` program with v3 inputs (the official ``NoiseLearnerV3``).

Input (schema ``v0.3``): ``instructions``, one QPY circuit (``{"circuit_b64",
"qpy_version"}``) holding the box instructions to learn, and ``options``
(``layer_pair_depths``, ``num_randomizations``, ...).
Output (schema ``v0.3``), one entry per instruction::

    {"generators_sparse": [[[pauli, [qubit, ...]]], ...], "num_qubits": n,
     "rates": <f64 tensor>, "rates_std": <f64 tensor>, "metadata": {...}}

A box that measures is learned with the ``trex`` protocol (one ``X`` generator per qubit,
its rate the device's mean readout error); any other box with ``lindblad`` (every one-body
Pauli on each qubit at the device's mean ``sx`` error / 3, every two-body Pauli on each
two-qubit gate's pair at the mean two-qubit gate error / 15). The encoded instructions do not
carry their physical qubits, hence the device means. Post-selection keeps every shot.
"""

from __future__ import annotations

import base64
import io
import zlib
from collections.abc import Mapping
from statistics import fmean
from typing import Any

from ._backends import BackendSpec, properties_json

__all__ = ["SCHEMA_VERSION", "is_v3", "noise_learner_v3_result"]

SCHEMA_VERSION = "v0.3"
_PAULIS = ("X", "Y", "Z")


def is_v3(params: Mapping[str, Any] | None) -> bool:
    """Whether a ``noise-learner`` job carries v3 inputs."""
    return isinstance(params, Mapping) and "instructions" in params


def _tensor(values: list[float]) -> dict[str, Any]:
    import numpy as np

    data = base64.b64encode(np.asarray(values, dtype="<f8").tobytes()).decode("ascii")
    return {"data": data, "shape": [len(values)], "dtype": "f64"}


def _means(spec: BackendSpec, now: float) -> tuple[float, float, float]:
    """The device's mean ``sx`` error, two-qubit gate error and readout error."""
    properties = properties_json(spec, now)
    singles: list[float] = []
    pairs: list[float] = []
    for gate in properties["gates"]:
        error = next(p["value"] for p in gate["parameters"] if p["name"] == "gate_error")
        if gate["gate"] == "sx":
            singles.append(error)
        elif len(gate["qubits"]) == 2:
            pairs.append(error)
    readout = [
        next(item["value"] for item in qubit if item["name"] == "readout_error")
        for qubit in properties["qubits"]
    ]
    return fmean(singles or [0.0]), fmean(pairs or [0.0]), fmean(readout or [0.0])


def _learn(
    instruction: Any, means: tuple[float, float, float], depths: list[int]
) -> dict[str, Any]:
    single, pair, readout = means
    body = (
        instruction.operation.blocks[0] if getattr(instruction.operation, "blocks", None) else None
    )
    width = len(instruction.qubits)
    operations = list(body.data) if body is not None else []
    if any(op.operation.name == "measure" for op in operations):
        generators = [[["X", [qubit]]] for qubit in range(width)]
        rates = [readout] * width
        metadata: dict[str, Any] = {
            "learning_protocol": "trex",
            "post_selection": {
                "fraction_kept": 1.0,
                "success_rates": {str(q): 1.0 for q in range(width)},
            },
        }
    else:
        generators = [[[p, [qubit]]] for qubit in range(width) for p in _PAULIS]
        rates = [single / 3] * len(generators)
        seen: set[tuple[int, int]] = set()
        for op in operations:
            if len(op.qubits) != 2:
                continue
            a, b = sorted(body.find_bit(q).index for q in op.qubits)  # type: ignore[union-attr]
            if (a, b) in seen:
                continue
            seen.add((a, b))
            for pa in _PAULIS:
                for pb in _PAULIS:
                    generators.append([[pa + pb, [a, b]]])
                    rates.append(pair / 15)
        metadata = {
            "learning_protocol": "lindblad",
            "post_selection": {
                "fraction_kept": {str(d): 1.0 for d in depths},
                "success_rates": {str(d): {str(q): 1.0 for q in range(width)} for d in depths},
            },
        }
    return {
        "generators_sparse": generators,
        "num_qubits": width,
        "rates": _tensor(rates),
        "rates_std": _tensor([rate / 10 for rate in rates]),
        "metadata": metadata,
    }


def noise_learner_v3_result(
    params: Mapping[str, Any], spec: BackendSpec, now: float
) -> dict[str, Any]:
    """The v3 ``noise-learner`` result body (needs qiskit)."""
    from qiskit import qpy

    encoded = params.get("instructions")
    if isinstance(encoded, Mapping) and isinstance(encoded.get("circuit_b64"), str):
        raw = base64.b64decode(encoded["circuit_b64"])  # IBM's QPY model: plain QPY
    elif isinstance(encoded, Mapping) and isinstance(encoded.get("__value__"), str):
        raw = zlib.decompress(base64.b64decode(encoded["__value__"]))  # Qiskit-encoded
    else:
        raise ValueError("params.instructions must hold a QPY circuit")
    try:  # the boxes carry samplomatic annotations; IBM's schema package reads them
        from ibm_quantum_schemas.common.annotation_serializer import AnnotationSerializer
    except ImportError as exc:
        raise ValueError("reading boxed instructions needs ibm-quantum-schemas") from exc
    circuit = qpy.load(io.BytesIO(raw), annotation_factories={"samplomatic": AnnotationSerializer})[
        0
    ]
    options = params.get("options")
    depths = options.get("layer_pair_depths") if isinstance(options, Mapping) else None
    depths = depths if isinstance(depths, list) else [0, 1, 2, 4, 16, 32]
    means = _means(spec, now)
    return {
        "schema_version": SCHEMA_VERSION,
        "data": [_learn(instruction, means, depths) for instruction in circuit.data],
    }
