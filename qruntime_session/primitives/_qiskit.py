"""Everything that needs qiskit (or numpy): conversions to qiskit's containers, and circuits.

Imports of qiskit and numpy happen inside functions, so the package works without them; a
missing one raises :class:`ExtraNotInstalledError` naming ``qruntime-session[qiskit]``.
"""

from __future__ import annotations

import base64
import io
import math
import zlib
from typing import TYPE_CHECKING, Any

from ..errors import ExtraNotInstalledError
from ._arrays import NDArray

if TYPE_CHECKING:
    from ._containers import BitArray, PrimitiveResult

__all__ = [
    "QPY_MAX_VERSION",
    "bit_array_to_qiskit",
    "encode_quantum_circuit",
    "is_quantum_circuit",
    "is_sparse_pauli_op",
    "primitive_result_to_qiskit",
    "require_numpy",
    "require_qiskit",
    "sparse_pauli_op_terms",
]

EXTRA = "qiskit"
INSTALL = 'pip install "qruntime-session[qiskit]"'

#: The highest QPY version the service reads (what qiskit-ibm-runtime 0.51.0 caps it at).
QPY_MAX_VERSION = 17


def require_numpy(what: str) -> Any:
    try:
        import numpy
    except ImportError as exc:
        raise ExtraNotInstalledError(f"{what} needs numpy: {INSTALL}", extra=EXTRA) from exc
    return numpy


def require_qiskit(what: str) -> Any:
    try:
        import qiskit
    except ImportError as exc:
        raise ExtraNotInstalledError(f"{what} needs qiskit: {INSTALL}", extra=EXTRA) from exc
    return qiskit


def _is_instance_of(value: object, module: str, name: str) -> bool:
    """Whether ``value`` is an instance of ``module.name``, without importing the module."""
    for cls in type(value).__mro__:
        if cls.__name__ == name and cls.__module__.startswith(module):
            return True
    return False


def is_quantum_circuit(value: object) -> bool:
    return _is_instance_of(value, "qiskit.", "QuantumCircuit")


def is_sparse_pauli_op(value: object) -> bool:
    return _is_instance_of(value, "qiskit.", "SparsePauliOp")


def encode_quantum_circuit(circuit: Any) -> dict[str, Any]:
    """``{"__type__": "QuantumCircuit", "__value__": base64(zlib(QPY))}``, as the official
    client sends, with the QPY version capped at :data:`QPY_MAX_VERSION`."""
    require_qiskit("a QuantumCircuit pub")
    from qiskit import qpy

    version = min(QPY_MAX_VERSION, qpy.QPY_VERSION)
    buffer = io.BytesIO()
    qpy.dump(circuit, buffer, version=version)
    packed = zlib.compress(buffer.getvalue())
    return {"__type__": "QuantumCircuit", "__value__": base64.standard_b64encode(packed).decode()}


def sparse_pauli_op_terms(op: Any) -> dict[str, float]:
    """A ``SparsePauliOp`` as ``{pauli: coefficient}`` (real coefficients only)."""
    terms: dict[str, float] = {}
    for label, coeff in op.to_list():
        value = complex(coeff)
        if value.imag != 0:
            raise ValueError(f"observable term {label} has a complex coefficient {value}")
        terms[str(label)] = terms.get(str(label), 0.0) + value.real
    return terms


def _to_numpy(value: Any) -> Any:
    if isinstance(value, NDArray):
        return value.to_numpy()
    if isinstance(value, dict):
        return {k: _to_numpy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_numpy(v) for v in value]
    return value


def bit_array_to_qiskit(bits: BitArray) -> Any:
    require_qiskit("BitArray.to_qiskit()")
    np = require_numpy("BitArray.to_qiskit()")
    from qiskit.primitives.containers import BitArray as QiskitBitArray

    width = math.ceil(bits.num_bits / 8)
    raw = b"".join(v.to_bytes(width, "big") for v in bits.get_ints())
    array = np.frombuffer(raw, dtype=np.uint8).reshape((*bits.shape, bits.num_shots, width))
    return QiskitBitArray(array.copy(), bits.num_bits)


def primitive_result_to_qiskit(result: PrimitiveResult[Any]) -> Any:
    require_qiskit("PrimitiveResult.to_qiskit()")
    from qiskit.primitives.containers import (
        DataBin as QiskitDataBin,
    )
    from qiskit.primitives.containers import (
        PrimitiveResult as QiskitPrimitiveResult,
    )
    from qiskit.primitives.containers import (
        PubResult as QiskitPubResult,
    )
    from qiskit.primitives.containers import (
        SamplerPubResult as QiskitSamplerPubResult,
    )

    from ._containers import BitArray, SamplerPubResult

    pubs = []
    for pub in result:
        fields: dict[str, Any] = {}
        for name, value in pub.data.items():
            fields[name] = (
                bit_array_to_qiskit(value) if isinstance(value, BitArray) else _to_numpy(value)
            )
        data = QiskitDataBin(**fields, shape=pub.data.shape)
        cls = QiskitSamplerPubResult if isinstance(pub, SamplerPubResult) else QiskitPubResult
        pubs.append(cls(data, metadata=_to_numpy(pub.metadata)))
    return QiskitPrimitiveResult(pubs, metadata=_to_numpy(result.metadata))
