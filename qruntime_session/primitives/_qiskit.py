"""Everything that needs qiskit: circuits and operators going in.

Imports of qiskit happen inside functions, so the package works without it; a missing one
raises [`ExtraNotInstalledError`][qruntime_session.errors.ExtraNotInstalledError] naming
``qruntime-session[qiskit]``. This module imports nothing else from the package's
``primitives`` (it is a leaf of the import graph).
"""

from __future__ import annotations

import base64
import io
import zlib
from typing import Any

from ..errors import ExtraNotInstalledError

__all__ = [
    "QPY_MAX_VERSION",
    "encode_quantum_circuit",
    "is_quantum_circuit",
    "is_sparse_pauli_op",
    "require_qiskit",
    "sparse_pauli_op_terms",
]

EXTRA = "qiskit"

#: The highest QPY version the service reads (what qiskit-ibm-runtime 0.51.0 caps it at).
QPY_MAX_VERSION = 17


def require_qiskit(what: str) -> Any:
    try:
        import qiskit
    except ImportError as exc:
        raise ExtraNotInstalledError(f"{what} needs qiskit", extra=EXTRA) from exc
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
    client sends, with the QPY version capped at `QPY_MAX_VERSION`."""
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
