"""Building the params of a V2 sampler or estimator job from pubs, checked before sending.

The params are in the canonical form IBM's own models (``ibm-quantum-schemas``
``sampler``/``estimator`` ``version_0_1`` ``ParamsModel``) accept: every sampler pub is
``[circuit, parameter values, shots]`` and every estimator pub ``[circuit, observables,
parameter values, precision]``, parameter values an ``ndarray`` envelope (shape ``(*sweep,
num_parameters)``, ``(0,)`` without parameters), observables ``{pauli: coefficient}`` objects
(one, or a flat list: the model takes no deeper nesting); job-wide ``shots``/``precision``
are folded into each pub (shots default to ``options["default_shots"]``, else 4096, as
qiskit-ibm-runtime's sampler does).

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

import base64
import io
import re
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._checks import as_finite_float, check_qpy_text, check_shots, short_repr
from .._wire import check_json_params
from ..errors import InvalidInputError
from ._qasm import QasmError, read_qasm
from ._qiskit import (
    encode_quantum_circuit,
    is_quantum_circuit,
    is_sparse_pauli_op,
    sparse_pauli_op_terms,
)

__all__ = ["estimator_params", "sampler_params"]

MAX_NESTING = 32
#: Shots per sampler pub when neither the pub, ``shots=`` nor ``options["default_shots"]``
#: says (qiskit-ibm-runtime's ``SamplerV2`` default).
DEFAULT_SHOTS = 4096
_PAULI = re.compile(r"^[IXYZ]+$")


class _Circuit:
    """A pub's circuit, encoded for the wire, with what can be known about it."""

    def __init__(
        self, wire: Any, num_parameters: int | None, num_qubits: int | None, min_qubits: int = 0
    ) -> None:
        self.wire = wire
        self.num_parameters = num_parameters
        self.num_qubits = num_qubits
        self.min_qubits = min_qubits


def ndarray_envelope(array: np.ndarray) -> dict[str, str]:
    """``{"__type__": "ndarray", "__value__": base64(zlib(.npy))}``, as the official client
    sends arrays."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    packed = zlib.compress(buffer.getvalue())
    return {"__type__": "ndarray", "__value__": base64.standard_b64encode(packed).decode()}


def _circuit(value: object, where: str) -> _Circuit:
    if isinstance(value, str):
        if not value.strip():
            raise InvalidInputError(f"{where}: the circuit is an empty string")
        if "OPENQASM" not in value[:4096].upper():
            # Base64 QPY is also accepted by the service: only its header can be checked.
            check_qpy_text(value, where)
            return _Circuit(value, None, None)
        try:
            facts = read_qasm(value)
        except QasmError as exc:
            raise InvalidInputError(f"{where}: {exc}") from exc
        return _Circuit(value, facts.num_parameters, facts.num_qubits, facts.min_qubits)
    if is_quantum_circuit(value):
        circuit: Any = value
        return _Circuit(
            encode_quantum_circuit(circuit), int(circuit.num_parameters), int(circuit.num_qubits)
        )
    raise InvalidInputError(
        f"{where}: a circuit is OpenQASM text or a qiskit QuantumCircuit, "
        f"not {type(value).__name__}"
    )


def _parameter_values(value: object, circuit: _Circuit, where: str) -> tuple[Any, tuple[int, ...]]:
    """The ``ndarray`` envelope and sweep shape of a pub's parameter values."""
    if value is None:
        if circuit.num_parameters:
            raise InvalidInputError(
                f"{where}: the circuit has {circuit.num_parameters} parameter(s) "
                "but no parameter values were given"
            )
        return ndarray_envelope(np.zeros((0,), dtype=np.float64)), ()
    if isinstance(value, bool | str | bytes | Mapping):
        raise InvalidInputError(f"{where}: parameter values must be a list of numbers")
    _check_depth(value, f"{where} parameter values")
    try:
        array = np.asarray(value, dtype=np.float64)
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidInputError(
            f"{where}: parameter values are ragged or not real numbers ({exc})"
        ) from exc
    if array.ndim == 0:
        array = array.reshape(1)
    if not np.isfinite(array).all():
        raise InvalidInputError(f"{where}: parameter values hold a value JSON cannot represent")
    if array.shape == (0,):
        if circuit.num_parameters:
            raise InvalidInputError(
                f"{where}: the circuit has {circuit.num_parameters} parameter(s) "
                "but the parameter values are empty"
            )
        return ndarray_envelope(array), ()
    width = array.shape[-1]
    if circuit.num_parameters is not None and width != circuit.num_parameters:
        raise InvalidInputError(
            f"{where}: the last axis of the parameter values has {width} value(s) but the "
            f"circuit has {circuit.num_parameters} parameter(s)"
        )
    return ndarray_envelope(np.ascontiguousarray(array)), tuple(array.shape[:-1])


def _check_depth(value: object, where: str, depth: int = 0) -> None:
    if depth > MAX_NESTING:
        raise InvalidInputError(f"{where} is nested more than {MAX_NESTING} levels deep")
    if isinstance(value, list | tuple) and value:
        _check_depth(value[0], where, depth + 1)


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


def _default_shots(shots: int | None, options: Mapping[str, Any] | None) -> int:
    if shots is not None:
        return shots
    if options is not None and options.get("default_shots") is not None:
        return _positive_int(options["default_shots"], 'options["default_shots"]')
    return DEFAULT_SHOTS


def sampler_params(
    pubs: object,
    *,
    shots: int | None = None,
    options: Mapping[str, Any] | None = None,
    support_qiskit: bool = False,
) -> dict[str, Any]:
    """The params of a V2 sampler job, in IBM's canonical form, checked before sending.

    Args:
        pubs: The pubs: each ``circuit``, ``(circuit,)``, ``(circuit, parameter_values)`` or
            ``(circuit, parameter_values, shots)``. A circuit is OpenQASM text or, with the
            ``qiskit`` extra, a ``qiskit.QuantumCircuit``; parameter values are nested lists
            (or a numpy array) with one value per circuit parameter on the last axis.
        shots: The shots of pubs that name none (default: ``options["default_shots"]``,
            else 4096).
        options: The sampler's ``options``, sent as given once checked to be JSON.
        support_qiskit: Ask for the result in the Qiskit-encoded JSON format the official
            client asks for (``False``: plain JSON); ``job.result()`` reads both.

    Returns:
        The job's ``params``.

    Raises:
        InvalidInputError: A pub, ``shots``, ``options`` or ``support_qiskit`` is not valid.
    """
    if shots is not None:
        shots = _positive_int(shots, "shots")
    if not isinstance(support_qiskit, bool):
        raise InvalidInputError("support_qiskit must be True or False")
    clean = _options(options)
    default = _default_shots(shots, clean)
    wire_pubs: list[list[Any]] = []
    for index, pub in enumerate(_pub_list(pubs, "sampler")):
        where = f"pubs[{index}]"
        items = _pub_items(pub, where, 3)
        circuit = _circuit(items[0], where)
        values, _shape = _parameter_values(items[1] if len(items) > 1 else None, circuit, where)
        pub_shots = items[2] if len(items) > 2 else None
        count = default if pub_shots is None else _positive_int(pub_shots, f"{where} shots")
        wire_pubs.append([circuit.wire, values, count])
    params: dict[str, Any] = {"pubs": wire_pubs, "version": 2, "support_qiskit": support_qiskit}
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
        return {value: 1.0}
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
    if isinstance(value, np.ndarray):
        value = value.tolist()
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
    """The params of a V2 estimator job, in IBM's canonical form, checked before sending.

    Args:
        pubs: The pubs: each ``(circuit, observables)``,
            ``(circuit, observables, parameter_values)`` or
            ``(circuit, observables, parameter_values, precision)``. Observables are Pauli
            strings (``"ZZ"``), ``{pauli: coefficient}`` dicts, ``SparsePauliOp`` (the
            ``qiskit`` extra), or a flat list of those.
        precision: The precision of pubs that name none (``None``: the service's
            ``options["default_precision"]``).
        options: The estimator's ``options``, sent as given once checked to be JSON.
        support_qiskit: Ask for the result in the Qiskit-encoded JSON format the official
            client asks for (``False``: plain JSON); ``job.result()`` reads both.

    Returns:
        The job's ``params``.

    Raises:
        InvalidInputError: A pub, ``precision``, ``options`` or ``support_qiskit`` is not
            valid, or the observables do not fit the circuit or the parameter values.
    """
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
        if len(obs_shape) > 1:
            raise InvalidInputError(
                f"{where}: observables of shape {obs_shape}; IBM's estimator model takes one "
                "observable or a flat list of them (broadcast them against the parameter "
                "values' last sweep axis, or split the pub)"
            )
        if qubits and qubits[0] < circuit.min_qubits:
            raise InvalidInputError(
                f"{where}: the circuit uses physical qubit ${circuit.min_qubits - 1}, but the "
                f"Pauli strings act on {qubits[0]} qubits"
            )
        values, values_shape = _parameter_values(
            items[2] if len(items) > 2 else None, circuit, where
        )
        _broadcast(obs_shape, values_shape, where)
        pub_precision = items[3] if len(items) > 3 else None
        chosen = (
            precision
            if pub_precision is None
            else _positive_float(pub_precision, f"{where} precision")
        )
        wire_pubs.append([circuit.wire, observables, values, chosen])
    params: dict[str, Any] = {"pubs": wire_pubs, "version": 2, "support_qiskit": support_qiskit}
    clean = _options(options)
    if clean is not None:
        params["options"] = clean
    return params
