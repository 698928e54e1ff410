"""Reading the pubs of a V2 primitive job's params, in pure Python.

A sampler pub is ``[circuit, parameter_values?, shots?]``, an estimator pub ``[circuit,
observables, parameter_values?, precision?]``. A circuit is OpenQASM text, base64 QPY, or the
official client's ``{"__type__": "QuantumCircuit", "__value__": base64(zlib(qpy))}``; parameter
values are nested lists (last axis: the circuit's parameters) or an ``ndarray`` envelope;
observables are Pauli strings or ``{pauli: coefficient}`` objects nested to the pub's shape.
"""

from __future__ import annotations

import base64
import binascii
import math
import zlib
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs

from ._limits import JobRejected, Limits, inflate
from ._npy import TooManyRows, decode_ndarray
from ._qasm import is_qasm

__all__ = [
    "DEFAULT_ESTIMATOR_PRECISION",
    "DEFAULT_SAMPLER_SHOTS",
    "CircuitSource",
    "InvalidPub",
    "Pub",
    "broadcast",
    "broadcast_to",
    "flat",
    "read_circuit",
    "read_pubs",
    "rows_of",
    "seed_option",
    "shape_of",
]

#: SamplerV2's default shots when neither the pub, ``shots`` nor ``options.default_shots`` say.
DEFAULT_SAMPLER_SHOTS = 4096
#: EstimatorV2's default precision when neither the pub, ``precision`` nor the options say.
DEFAULT_ESTIMATOR_PRECISION = 0.015625


class InvalidPub(ValueError):
    """A pub the service could not run (the job ends ``Failed`` with this message)."""


@attrs.frozen
class CircuitSource:
    """A pub's circuit: OpenQASM text, QPY bytes, or something unreadable (``None``)."""

    kind: Literal["qasm", "qpy", "unknown"]
    text: str = ""
    qpy: bytes = b""


@attrs.frozen
class Pub:
    """One pub, read from the params."""

    circuit: CircuitSource
    parameter_values: Any
    #: The pub's shape from its parameter values (sampler) or broadcast with observables.
    shape: tuple[int, ...]
    shots: int
    observables: Any = None
    precision: float = DEFAULT_ESTIMATOR_PRECISION


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _options(params: Mapping[str, Any]) -> Mapping[str, Any]:
    options = params.get("options")
    return options if isinstance(options, Mapping) else {}


def _inflate_qpy(raw: bytes, limits: Limits) -> CircuitSource:
    try:
        inflated = inflate(raw, limits.max_inflated_bytes, "a circuit")
    except ValueError:
        return CircuitSource("unknown")
    return (
        CircuitSource("qpy", qpy=inflated)
        if inflated.startswith(b"QISKIT")
        else (CircuitSource("unknown"))
    )


def _check_chars(text: str, limits: Limits, what: str) -> None:
    if len(text) > limits.max_circuit_chars:
        raise JobRejected(
            f"Invalid input: {what} is {len(text):,} characters long; the emulator reads at "
            f"most {limits.max_circuit_chars:,} (EmulatorConfig.max_circuit_chars)."
        )


def read_circuit(value: Any, limits: Limits | None = None) -> CircuitSource:
    """Recognise a pub's circuit encoding and inflate it, within ``limits``."""
    limits = limits or Limits()
    if isinstance(value, Mapping) and value.get("__type__") == "QuantumCircuit":
        encoded = value.get("__value__")
        if isinstance(encoded, str):
            _check_chars(encoded, limits, "a circuit")
            try:
                raw = base64.b64decode(encoded)
            except (binascii.Error, ValueError):
                return CircuitSource("unknown")
            return _inflate_qpy(raw, limits)
        return CircuitSource("unknown")
    if isinstance(value, str):
        _check_chars(value, limits, "a circuit")
        if is_qasm(value):
            return CircuitSource("qasm", text=value)
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return CircuitSource("unknown")
        if raw.startswith(b"QISKIT"):
            return CircuitSource("qpy", qpy=raw)
        return _inflate_qpy(raw, limits)
    return CircuitSource("unknown")


def _decode_values(value: Any, limits: Limits | None = None) -> Any:
    """Parameter values as nested lists (``ndarray`` envelopes decoded, within ``limits``)."""
    limits = limits or Limits()
    if isinstance(value, Mapping) and value.get("__type__") == "ndarray":
        encoded = value.get("__value__")
        if isinstance(encoded, str):
            _check_chars(encoded, limits, "a parameter-value array")
        try:
            return decode_ndarray(
                encoded, max_bytes=limits.max_inflated_bytes, max_rows=limits.max_sweep_points
            )
        except TooManyRows as exc:
            raise JobRejected(
                f"Invalid input: {exc}: more than {limits.max_sweep_points:,} parameter-value "
                "points (EmulatorConfig.max_sweep_points)."
            ) from exc
        except (ValueError, binascii.Error, zlib.error, SyntaxError, MemoryError) as exc:
            raise InvalidPub(f"unreadable parameter values: {exc}") from exc
    if isinstance(value, Mapping) and value.get("__type__") == "BindingsArray":
        raise InvalidPub("BindingsArray parameter values are not supported by the emulator")
    return value


def shape_of(value: Any) -> tuple[int, ...]:
    """The shape of a nested list (a non-list is a scalar, shape ``()``)."""
    if not isinstance(value, list):
        return ()
    if not value:
        return (0,)
    inner = [shape_of(item) for item in value]
    if any(item != inner[0] for item in inner):
        raise InvalidPub("ragged nested list")
    return (len(value), *inner[0])


def broadcast(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    """NumPy broadcasting of shapes."""
    ndim = max((len(shape) for shape in shapes), default=0)
    result: list[int] = []
    for axis in range(ndim):
        sizes = {
            shape[axis - ndim + len(shape)] for shape in shapes if axis - ndim + len(shape) >= 0
        }
        sizes.discard(1)
        if len(sizes) > 1:
            raise InvalidPub(f"shapes {list(shapes)} cannot be broadcast")
        result.append(sizes.pop() if sizes else 1)
    return tuple(result)


def _values_shape(values: Any) -> tuple[int, ...]:
    """A pub's shape from its parameter values: every axis but the last (the parameters)."""
    if values is None:
        return ()
    if isinstance(values, Mapping):
        shapes = [shape_of(_decode_values(item))[:-1] for item in values.values()]
        return broadcast(*shapes) if shapes else ()
    shape = shape_of(values)
    return shape[:-1] if shape else ()


def _observable_shape(observables: Any) -> tuple[int, ...]:
    if isinstance(observables, list):
        return shape_of([_leafify(item) for item in observables])
    return ()


def _leafify(value: Any) -> Any:
    return [_leafify(item) for item in value] if isinstance(value, list) else 0


def _sampler_shots(pub: list[Any], params: Mapping[str, Any]) -> int:
    candidate: Any
    for candidate in (
        pub[2] if len(pub) >= 3 else None,
        params.get("shots"),
        _options(params).get("default_shots"),
    ):
        if _is_int(candidate):
            return max(int(candidate), 0)
    return DEFAULT_SAMPLER_SHOTS


def _precision(pub: list[Any], params: Mapping[str, Any]) -> float:
    candidate: Any
    for candidate in (
        pub[3] if len(pub) >= 4 else None,
        params.get("precision"),
        _options(params).get("default_precision"),
    ):
        if _is_number(candidate) and candidate > 0:
            return float(candidate)
    return DEFAULT_ESTIMATOR_PRECISION


def twirled_shots(program_id: str, shots: int, params: Mapping[str, Any]) -> int:
    """The shots a pub runs with twirling: ``num_randomizations * shots_per_randomization``.

    IBM's ``TwirlingOptions``: with twirling on (``enable_gates`` or ``enable_measure``; the
    estimator measures twirled unless told not to), a pub runs ``num_randomizations``
    randomizations of ``shots_per_randomization`` shots each; an ``"auto"`` (or absent) count
    is derived from the pub's shots (``shots_per_randomization = max(64, ceil(shots / 32))``
    when both are automatic, else ``ceil(shots / other)``). Without a ``twirling`` option in
    the request, the pub's shots stand.
    """
    twirling = _options(params).get("twirling")
    if not isinstance(twirling, Mapping) or shots <= 0:
        return shots
    enabled = (
        twirling.get("enable_gates") is True
        or twirling.get("enable_measure", program_id == "estimator") is True
    )
    if not enabled:
        return shots
    raw_count: Any = twirling.get("num_randomizations")
    raw_each: Any = twirling.get("shots_per_randomization")
    count = int(raw_count) if _is_int(raw_count) and raw_count > 0 else None
    each = int(raw_each) if _is_int(raw_each) and raw_each > 0 else None
    if count is None and each is None:
        each = max(64, math.ceil(shots / 32))
    if count is None:
        assert each is not None
        count = math.ceil(shots / each)
    if each is None:
        each = math.ceil(shots / count)
    return count * each


def _observables(pub: list[Any]) -> Any:
    observables = pub[1] if len(pub) >= 2 else None
    if observables is None:
        raise InvalidPub("an estimator pub needs observables")
    return observables


def read_pubs(
    program_id: str, params: Mapping[str, Any] | None, limits: Limits | None = None
) -> list[Pub]:
    """The pubs of a ``sampler`` or ``estimator`` job.

    ``InvalidPub`` if one is malformed, ``JobRejected`` past one of ``limits``.
    """
    limits = limits or Limits()
    raw = (params or {}).get("pubs")
    if not isinstance(raw, list):
        return []
    if len(raw) > limits.max_pubs:
        raise JobRejected(
            f"Invalid input: the job has {len(raw):,} pubs; the emulator runs at most "
            f"{limits.max_pubs:,} (EmulatorConfig.max_pubs)."
        )
    params = params or {}
    pubs: list[Pub] = []
    points = executions = 0
    for index, item in enumerate(raw):
        pub = list(item) if isinstance(item, list) else [item]
        try:
            circuit = read_circuit(pub[0] if pub else None, limits)
            if program_id == "estimator":
                observables = _observables(pub)
                if isinstance(observables, Mapping) and "__type__" in observables:
                    observables = observables.get("__value__")
                values = _decode_values(pub[2], limits) if len(pub) >= 3 else None
                shape = broadcast(_observable_shape(observables), _values_shape(values))
                precision = _precision(pub, params)
                if precision < 1.0 / math.sqrt(limits.max_estimator_shots):
                    raise JobRejected(
                        f"Invalid input: pub {index}: precision {precision:g} needs more than "
                        f"{limits.max_estimator_shots:,} shots "
                        "(EmulatorConfig.max_estimator_shots)."
                    )
                shots = twirled_shots(program_id, math.ceil(1.0 / precision**2), params)
                new = Pub(circuit, values, shape, shots, observables, precision)
            else:
                values = _decode_values(pub[1], limits) if len(pub) >= 2 else None
                shots = twirled_shots(program_id, _sampler_shots(pub, params), params)
                if shots > limits.max_shots:
                    raise JobRejected(
                        f"Invalid input: pub {index} asks for {shots:,} shots; the device "
                        f"runs at most {limits.max_shots:,} (EmulatorConfig.max_shots)."
                    )
                new = Pub(circuit, values, _values_shape(values), shots)
        except InvalidPub as exc:
            raise InvalidPub(f"pub {index}: {exc}") from exc
        points += math.prod(new.shape)
        if points > limits.max_sweep_points:
            raise JobRejected(
                f"Invalid input: the job's pubs hold more than {limits.max_sweep_points:,} "
                "parameter-value points (EmulatorConfig.max_sweep_points)."
            )
        if program_id == "sampler":
            executions += math.prod(new.shape) * new.shots
            if executions > limits.max_executions:
                raise JobRejected(
                    f"Invalid input: the job asks for more than {limits.max_executions:,} "
                    "shots over all its pubs and points (EmulatorConfig.max_executions)."
                )
        pubs.append(new)
    return pubs


def seed_option(params: Mapping[str, Any] | None) -> int | None:
    """``options.simulator.seed_simulator`` when it is an integer."""
    simulator = _options(params or {}).get("simulator")
    if isinstance(simulator, Mapping) and _is_int(simulator.get("seed_simulator")):
        return int(simulator["seed_simulator"])
    return None


def flat(value: Any) -> list[Any]:
    """A nested list flattened in C order (a scalar gives one item)."""
    if isinstance(value, list):
        out: list[Any] = []
        for item in value:
            out.extend(flat(item))
        return out
    return [value]


def broadcast_to(value: Any, shape: Sequence[int]) -> list[Any]:
    """The leaves of nested-list ``value`` broadcast to ``shape``, flat in C order."""
    own = _observable_shape(value) if isinstance(value, list) else ()
    leaves = flat(value)
    target = tuple(shape)
    if own == target:
        return leaves
    padded = (1,) * (len(target) - len(own)) + own
    out: list[Any] = []
    for position in range(math.prod(target)):
        index = 0
        rest = position
        strides = [math.prod(padded[axis + 1 :]) for axis in range(len(padded))]
        coords = []
        for axis in reversed(range(len(target))):
            coords.append(rest % target[axis])
            rest //= target[axis]
        coords.reverse()
        for axis, coord in enumerate(coords):
            index += (0 if padded[axis] == 1 else coord) * strides[axis]
        out.append(leaves[index])
    return out


def rows_of(values: Any) -> Any:
    """Parameter values with each innermost row (one point's values) turned into a tuple."""
    if values is None:
        return ()
    if isinstance(values, list) and values and not isinstance(values[0], list):
        return tuple(values)
    if isinstance(values, list):
        if not values:
            return ()
        return [rows_of(item) for item in values]
    return (values,)
