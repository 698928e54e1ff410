"""Building the params of a V2 sampler or estimator job from pubs, checked before sending.

A sampler pub is ``circuit``, ``(circuit,)``, ``(circuit, parameter_values)`` or
``(circuit, parameter_values, shots)``; an estimator pub is ``(circuit, observables)``,
``(circuit, observables, parameter_values)`` or ``(circuit, observables, parameter_values,
precision)`` — the shapes qiskit's ``SamplerV2.run`` / ``EstimatorV2.run`` take.

- A circuit is OpenQASM text (sent as is) or, with the ``qiskit`` extra, a
  ``qiskit.QuantumCircuit`` (sent as QPY in the Qiskit JSON envelope the official client
  uses, QPY version capped at 17).
- Parameter values are nested lists (or anything with ``tolist()``, like a numpy array) whose
  last axis has one value per circuit parameter; the other axes are the sweep's shape.
- Observables are Pauli strings (``"ZZ"``), ``{pauli: coefficient}`` dicts, ``SparsePauliOp``
  (qiskit extra), or nested lists of those (the observables' shape).
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .._checks import as_finite_float, check_qpy_text, check_shots, short_repr
from .._wire import check_json_params
from ..errors import InvalidInputError
from ._qiskit import (
    encode_quantum_circuit,
    is_quantum_circuit,
    is_sparse_pauli_op,
    sparse_pauli_op_terms,
)

__all__ = ["estimator_params", "sampler_params"]

MAX_NESTING = 32
_PAULI = re.compile(r"^[IXYZ]+$")
_INPUT = re.compile(r"^\s*input\s+[^;]*?\b([A-Za-z_][A-Za-z0-9_]*)\s*;", re.MULTILINE)
_QUBIT_DECL = re.compile(
    r"^\s*(?:qubit\s*(?:\[\s*(\d+)\s*\])?\s+[A-Za-z_]\w*|qreg\s+[A-Za-z_]\w*\s*\[\s*(\d+)\s*\])\s*;",
    re.MULTILINE,
)


class _Circuit:
    """A pub's circuit, encoded for the wire, with what can be known about it."""

    def __init__(self, wire: Any, num_parameters: int | None, num_qubits: int | None) -> None:
        self.wire = wire
        self.num_parameters = num_parameters
        self.num_qubits = num_qubits


def _circuit(value: object, where: str) -> _Circuit:
    if isinstance(value, str):
        if not value.strip():
            raise InvalidInputError(f"{where}: the circuit is an empty string")
        if "OPENQASM" not in value[:4096].upper():
            # Base64 QPY is also accepted by the service: only its header can be checked.
            check_qpy_text(value, where)
            return _Circuit(value, None, None)
        params = len(set(_INPUT.findall(value)))
        qubits: int | None = None
        for match in _QUBIT_DECL.finditer(value):
            size = match.group(1) or match.group(2)
            qubits = (qubits or 0) + (int(size) if size else 1)
        return _Circuit(value, params, qubits)
    if is_quantum_circuit(value):
        circuit: Any = value
        return _Circuit(
            encode_quantum_circuit(circuit), int(circuit.num_parameters), int(circuit.num_qubits)
        )
    raise InvalidInputError(
        f"{where}: a circuit is OpenQASM text or a qiskit QuantumCircuit, "
        f"not {type(value).__name__}"
    )


def _plain(value: object) -> object:
    tolist = getattr(value, "tolist", None)
    if callable(tolist) and not isinstance(value, list | tuple | str):
        return tolist()
    return value


def _shape_of(value: object, where: str, depth: int = 0) -> tuple[int, ...]:
    """The shape of a rectangular nest of lists of numbers; InvalidInputError otherwise."""
    if depth > MAX_NESTING:
        raise InvalidInputError(f"{where} is nested more than {MAX_NESTING} levels deep")
    if isinstance(value, list | tuple):
        shapes = {_shape_of(item, where, depth + 1) for item in value}
        if len(shapes) > 1:
            raise InvalidInputError(f"{where} is ragged: its lists differ in length")
        inner = shapes.pop() if shapes else ()
        return (len(value), *inner)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidInputError(f"{where} holds {value!r}, which is not a real number")
    if as_finite_float(value) is None:  # NaN, ±inf, or too large for a float (10**400)
        raise InvalidInputError(f"{where} holds {short_repr(value)}, which JSON cannot represent")
    return ()


def _to_lists(value: object) -> Any:
    if isinstance(value, list | tuple):
        return [_to_lists(v) for v in value]
    return float(value) if isinstance(value, numbers.Real) else value


def _parameter_values(value: object, circuit: _Circuit, where: str) -> tuple[Any, tuple[int, ...]]:
    """Wire form and sweep shape of a pub's parameter values."""
    if value is None:
        if circuit.num_parameters:
            raise InvalidInputError(
                f"{where}: the circuit has {circuit.num_parameters} parameter(s) "
                "but no parameter values were given"
            )
        return None, ()
    value = _plain(value)
    if not isinstance(value, bool) and isinstance(value, numbers.Real):
        value = [value]
    shape = _shape_of(value, f"{where} parameter values")
    if not shape:
        raise InvalidInputError(f"{where}: parameter values must be a list")
    if shape == (0,):
        if circuit.num_parameters:
            raise InvalidInputError(
                f"{where}: the circuit has {circuit.num_parameters} parameter(s) "
                "but the parameter values are empty"
            )
        return None, ()
    width = shape[-1]
    if circuit.num_parameters is not None and width != circuit.num_parameters:
        raise InvalidInputError(
            f"{where}: the last axis of the parameter values has {width} value(s) but the "
            f"circuit has {circuit.num_parameters} parameter(s)"
        )
    return _to_lists(value), shape[:-1]


def _positive_int(value: object, what: str) -> int:
    """A shot count (numpy integers too, at most MAX_SHOTS); InvalidInputError otherwise."""
    return check_shots(value, what)


def _positive_float(value: object, what: str) -> float:
    number = as_finite_float(value)  # None for 10**400 too (no OverflowError)
    if number is None or number <= 0:
        raise InvalidInputError(f"{what} must be a positive number, not {short_repr(value)}")
    return number


def _pub_items(pub: object, where: str, most: int) -> list[Any]:
    if isinstance(pub, str) or is_quantum_circuit(pub):
        return [pub]
    if isinstance(pub, list | tuple):
        if not 1 <= len(pub) <= most:
            raise InvalidInputError(f"{where} has {len(pub)} items; a pub has 1 to {most}")
        return list(pub)
    raise InvalidInputError(
        f"{where} is a {type(pub).__name__}; a pub is a circuit or a tuple starting with one"
    )


def _pub_list(pubs: object, kind: str) -> list[Any]:
    if isinstance(pubs, str) or is_quantum_circuit(pubs) or not isinstance(pubs, Sequence):
        raise InvalidInputError(
            f"pubs must be a list of {kind} pubs (e.g. [circuit] or [(circuit, …)]), "
            f"not {type(pubs).__name__}"
        )
    out = list(pubs)
    if not out:
        raise InvalidInputError("pubs must not be empty")
    return out


def _broadcast(a: tuple[int, ...], b: tuple[int, ...], where: str) -> tuple[int, ...]:
    out: list[int] = []
    for i in range(1, max(len(a), len(b)) + 1):
        x = a[-i] if i <= len(a) else 1
        y = b[-i] if i <= len(b) else 1
        if x != y and 1 not in (x, y):
            raise InvalidInputError(
                f"{where}: observables of shape {a} and parameter values of shape {b} "
                "do not broadcast"
            )
        out.append(max(x, y))
    return tuple(reversed(out))


def _bounded(value: object, depth: int = 0) -> None:
    """Reject nesting deeper than any options need (and cycles) before the JSON check."""
    if depth > MAX_NESTING:
        raise InvalidInputError(f"options are nested more than {MAX_NESTING} levels deep")
    if isinstance(value, Mapping):
        for item in value.values():
            _bounded(item, depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            _bounded(item, depth + 1)


def _options(options: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if options is None:
        return None
    _bounded(options)
    return check_json_params(options)


def sampler_params(
    pubs: object,
    *,
    shots: int | None = None,
    options: Mapping[str, Any] | None = None,
    support_qiskit: bool = False,
) -> dict[str, Any]:
    """The params of a V2 sampler job; :class:`InvalidInputError` for any bad input."""
    if shots is not None:
        shots = _positive_int(shots, "shots")
    if not isinstance(support_qiskit, bool):
        raise InvalidInputError("support_qiskit must be True or False")
    wire_pubs: list[list[Any]] = []
    for index, pub in enumerate(_pub_list(pubs, "sampler")):
        where = f"pubs[{index}]"
        items = _pub_items(pub, where, 3)
        circuit = _circuit(items[0], where)
        values, _shape = _parameter_values(items[1] if len(items) > 1 else None, circuit, where)
        entry: list[Any] = [circuit.wire]
        pub_shots = items[2] if len(items) > 2 else None
        if pub_shots is not None:
            entry += [values, _positive_int(pub_shots, f"{where} shots")]
        elif values is not None:
            entry.append(values)
        wire_pubs.append(entry)
    params: dict[str, Any] = {"pubs": wire_pubs, "version": 2, "support_qiskit": support_qiskit}
    if shots is not None:
        params["shots"] = shots
    clean = _options(options)
    if clean is not None:
        params["options"] = clean
    return params


def _observable(value: object, where: str, qubits: list[int]) -> Any:
    """One observable in plain JSON: a Pauli string or a ``{pauli: coefficient}`` object."""
    if is_sparse_pauli_op(value):
        try:
            value = sparse_pauli_op_terms(value)
        except ValueError as exc:
            raise InvalidInputError(f"{where}: {exc}") from exc
    if isinstance(value, str):
        _pauli(value, where, qubits)
        return value
    if isinstance(value, Mapping):
        if not value:
            raise InvalidInputError(f"{where}: an observable needs at least one Pauli term")
        out: dict[str, float] = {}
        for label, coeff in value.items():
            if not isinstance(label, str):
                raise InvalidInputError(f"{where}: Pauli label {label!r} is not a string")
            _pauli(label, where, qubits)
            if isinstance(coeff, complex) and coeff.imag == 0:
                coeff = coeff.real
            number = as_finite_float(coeff)  # None for 10**400 too (no OverflowError)
            if number is None:
                raise InvalidInputError(
                    f"{where}: coefficient of {label} is {short_repr(coeff)}, not a real number"
                )
            out[label] = number
        return out
    raise InvalidInputError(
        f"{where}: an observable is a Pauli string, a {{pauli: coefficient}} dict or a "
        f"SparsePauliOp, not {type(value).__name__}"
    )


def _pauli(label: str, where: str, qubits: list[int]) -> None:
    if not _PAULI.match(label):
        raise InvalidInputError(
            f"{where}: Pauli string {label[:40]!r} may only use the letters I, X, Y and Z"
        )
    if qubits and len(label) != qubits[0]:
        raise InvalidInputError(
            f"{where}: Pauli string {label[:40]!r} has {len(label)} qubits, expected {qubits[0]}"
        )
    if not qubits:
        qubits.append(len(label))


def _observables(value: object, where: str, qubits: list[int], depth: int = 0) -> tuple[Any, Any]:
    """(wire form, shape) of a pub's observables."""
    if depth > MAX_NESTING:
        raise InvalidInputError(f"{where} observables are nested more than {MAX_NESTING} deep")
    value = _plain(value)
    if isinstance(value, list | tuple):
        if not value:
            raise InvalidInputError(f"{where}: the observables list is empty")
        parts = [_observables(v, where, qubits, depth + 1) for v in value]
        shapes = {shape for _, shape in parts}
        if len(shapes) > 1:
            raise InvalidInputError(f"{where}: the observables are ragged (lists differ)")
        return [wire for wire, _ in parts], (len(value), *shapes.pop())
    return _observable(value, where, qubits), ()


def estimator_params(
    pubs: object,
    *,
    precision: float | None = None,
    options: Mapping[str, Any] | None = None,
    support_qiskit: bool = False,
) -> dict[str, Any]:
    """The params of a V2 estimator job; :class:`InvalidInputError` for any bad input."""
    if precision is not None:
        precision = _positive_float(precision, "precision")
    if not isinstance(support_qiskit, bool):
        raise InvalidInputError("support_qiskit must be True or False")
    wire_pubs: list[list[Any]] = []
    for index, pub in enumerate(_pub_list(pubs, "estimator")):
        where = f"pubs[{index}]"
        items = _pub_items(pub, where, 4)
        if len(items) < 2:
            raise InvalidInputError(f"{where}: an estimator pub is (circuit, observables, …)")
        circuit = _circuit(items[0], where)
        qubits = [circuit.num_qubits] if circuit.num_qubits else []
        observables, obs_shape = _observables(items[1], where, qubits)
        values, values_shape = _parameter_values(
            items[2] if len(items) > 2 else None, circuit, where
        )
        _broadcast(obs_shape, values_shape, where)
        entry: list[Any] = [circuit.wire, observables]
        pub_precision = items[3] if len(items) > 3 else None
        if pub_precision is not None:
            entry += [values, _positive_float(pub_precision, f"{where} precision")]
        elif values is not None:
            entry.append(values)
        wire_pubs.append(entry)
    params: dict[str, Any] = {"pubs": wire_pubs, "version": 2, "support_qiskit": support_qiskit}
    if precision is not None:
        params["precision"] = float(precision)
    clean = _options(options)
    if clean is not None:
        params["options"] = clean
    return params
