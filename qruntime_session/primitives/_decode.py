"""Decoding a sampler or estimator job's result body, in both formats the service sends.

- Plain JSON (jobs submitted with ``"support_qiskit": false``)::

      {"results": [{"data": {"meas": {"samples": ["0x0", "0x3"], "num_bits": 2}},
                    "metadata": {…}}],
       "metadata": {…}}

  ``samples`` is one hex string per shot (nested in lists for a parameter sweep);
  estimator ``data`` has ``evs``, ``stds``, ``ensemble_standard_error`` as numbers or nested
  lists.
- Qiskit-encoded JSON (``"support_qiskit": true``): ``{"__type__": T, "__value__": V}``
  envelopes of ``PrimitiveResult``, ``SamplerPubResult``/``PubResult``, ``DataBin``,
  ``BitArray`` and ``ndarray`` (base64 of zlib-compressed ``.npy`` bytes, or a plain list),
  plus ``complex``, ``datetime`` and ``set``.

Anything else the body holds (unknown envelopes such as ``ExecutionSpans``, unknown fields) is
kept as received. A body that is not one of the two shapes raises
[`ResultDecodeError`][qruntime_session.errors.ResultDecodeError].
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from itertools import chain
from typing import Any

import numpy as np

from ..errors import ResultDecodeError
from ._bitarray import BitArray
from ._bitops import min_num_bytes
from ._containers import DataBin, PrimitiveResult, PubResult, SamplerPubResult
from ._wirearrays import (
    Budget,
    DecodeLimits,
    WireArrayError,
    get_decode_limits,
    hex_samples,
    read_ndarray,
)

__all__ = ["MAX_DEPTH", "decode_primitive_result"]

#: No result body nests deeper than this; deeper (or cyclic) input is rejected.
MAX_DEPTH = 64

SAMPLER = "sampler"
ESTIMATOR = "estimator"
_ESTIMATOR_FIELDS = ("evs", "stds", "ensemble_standard_error")


class _Malformed(Exception):
    """Internal: the body is malformed; turned into ResultDecodeError with the job's ids."""


def decode_primitive_result(
    body: object,
    *,
    program_id: str | None = None,
    job_id: str | None = None,
    session_id: str | None = None,
    limits: DecodeLimits | None = None,
) -> PrimitiveResult[Any]:
    """Decode a sampler or estimator result body (either format).

    Args:
        body: The result body as JSON (``GET /v1/jobs/{id}/results``), plain or
            Qiskit-encoded.
        program_id: ``"sampler"`` or ``"estimator"``: decides the pub result class when the
            body does not say.
        job_id: The job's id, carried by the error a malformed body raises.
        session_id: The job's session id, carried by that error too.
        limits: What the body may make the decoder allocate (default:
            [`get_decode_limits`][qruntime_session.primitives.get_decode_limits]); a body over
            them is malformed.

    Returns:
        The decoded result.

    Raises:
        ResultDecodeError: The body is malformed, over ``limits``, or nests too deeply.
    """
    budget = Budget(limits if limits is not None else get_decode_limits())
    try:
        return _decode_body(body, program_id, budget)
    except (_Malformed, WireArrayError) as exc:
        what = f"the result of {program_id} job" if program_id else "the result of job"
        raise ResultDecodeError(
            f"{what} {job_id or '?'} is malformed: {exc}",
            job_id=job_id,
            session_id=session_id,
            body=body,
        ) from exc
    except RecursionError as exc:  # defensive: MAX_DEPTH keeps the decoder far from it
        raise ResultDecodeError(
            f"the result of job {job_id or '?'} nests too deeply to decode",
            job_id=job_id,
            session_id=session_id,
        ) from exc


def _decode_body(body: object, program_id: str | None, budget: Budget) -> PrimitiveResult[Any]:
    if isinstance(body, Mapping) and "__type__" in body:
        decoded = _Qiskit(program_id, budget).value(body, 0)
        if not isinstance(decoded, PrimitiveResult):
            raise _Malformed(f"expected a PrimitiveResult envelope, got {body.get('__type__')!r}")
        return decoded
    if isinstance(body, Mapping) and isinstance(body.get("results"), list):
        return _plain(body, program_id, budget)
    raise _Malformed(
        "a sampler/estimator result is a JSON object with a 'results' list (plain JSON) or "
        f"a PrimitiveResult envelope (Qiskit-encoded); got {_describe(body)}"
    )


def _describe(value: object) -> str:
    if isinstance(value, Mapping):
        keys = ", ".join(repr(k) for k in list(value)[:5])
        return f"an object with keys [{keys}]"
    return f"a JSON {type(value).__name__}"


def _deep(depth: int) -> None:
    if depth > MAX_DEPTH:
        raise _Malformed(f"nested deeper than {MAX_DEPTH} levels (or cyclic)")


def _json_copy(value: object, depth: int) -> Any:
    """A copy of plain JSON data, bounded in depth (so cyclic input cannot recurse forever)."""
    _deep(depth)
    if isinstance(value, Mapping):
        return {k: _json_copy(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_copy(v, depth + 1) for v in value]
    return value


# -- plain JSON ---------------------------------------------------------------------------


def _check_pubs(count: int, budget: Budget) -> None:
    if count > budget.limits.max_pubs:
        raise _Malformed(
            f"{count} pub results, over the limit of {budget.limits.max_pubs} "
            "(raise DecodeLimits.max_pubs to read it)"
        )


def _plain(body: Mapping[str, Any], program_id: str | None, budget: Budget) -> PrimitiveResult[Any]:
    _check_pubs(len(body["results"]), budget)
    pubs: list[PubResult] = []
    for index, entry in enumerate(body["results"]):
        if not isinstance(entry, Mapping):
            raise _Malformed(f"results[{index}] is {_describe(entry)}, not an object")
        data = entry.get("data", {})
        if not isinstance(data, Mapping):
            raise _Malformed(f"results[{index}].data is {_describe(data)}, not an object")
        fields: dict[str, Any] = {}
        for name, value in data.items():
            where = f"results[{index}].data.{name}"
            if isinstance(value, Mapping) and "samples" in value:
                fields[name] = _plain_bits(value, where, budget)
            elif isinstance(value, list | int | float) and not isinstance(value, bool):
                fields[name] = _plain_numbers(value, name in _ESTIMATOR_FIELDS)
            else:
                fields[name] = _json_copy(value, 3)
        metadata = _json_copy(entry.get("metadata") or {}, 2)
        if not isinstance(metadata, dict):
            raise _Malformed(f"results[{index}].metadata is not an object")
        pubs.append(_pub(fields, _data_shape(fields), metadata, program_id))
    metadata = _json_copy(body.get("metadata") or {}, 1)
    if not isinstance(metadata, dict):
        raise _Malformed("metadata is not an object")
    return PrimitiveResult(pubs, metadata)


def _nested(value: list[Any], where: str) -> tuple[tuple[int, ...], list[list[Any]]]:
    """The shape of a rectangular nest of lists and its innermost lists in C order (their
    items are checked by the reader of the items)."""
    shape: list[int] = []
    probe: Any = value
    while isinstance(probe, list):
        if len(shape) >= MAX_DEPTH:
            raise _Malformed(f"{where} is nested deeper than {MAX_DEPTH} levels")
        shape.append(len(probe))
        if not probe:
            break
        probe = probe[0]
    leaves: list[Any] = [value]
    for size in shape[1:]:
        leaves = list(chain.from_iterable(leaves))
        if not all(type(item) is list and len(item) == size for item in leaves):
            raise _Malformed(f"{where} is ragged (its lists differ in length)")
    return tuple(shape), leaves


def _plain_bits(value: Mapping[str, Any], where: str, budget: Budget) -> BitArray:
    samples = value["samples"]
    if not isinstance(samples, list):
        raise _Malformed(f"{where}.samples is not a list")
    shape, leaves = _nested(samples, f"{where}.samples")
    num_bits = value.get("num_bits")  # the service always sends it; inferred when absent
    if num_bits is not None and (
        not isinstance(num_bits, int) or isinstance(num_bits, bool) or num_bits < 0
    ):
        raise _Malformed(f"{where}.num_bits is {num_bits!r}, not a non-negative integer")
    if num_bits is not None and num_bits > budget.limits.max_num_bits:
        raise _Malformed(
            f"{where}.num_bits is {num_bits}, over the limit of {budget.limits.max_num_bits} "
            "(raise DecodeLimits.max_num_bits to read it)"
        )
    try:
        rows, width = hex_samples(leaves, math.prod(shape), num_bits, budget)
    except WireArrayError as exc:
        raise _Malformed(f"{where}: {exc}") from exc
    return BitArray(rows.reshape((*shape, rows.shape[-1])), width)


def _plain_numbers(value: object, estimator_field: bool) -> Any:
    """A number or rectangular nest of numbers as a numpy array; anything else as received."""
    try:
        array = np.array(value, dtype=np.float64 if estimator_field else None)
    except (ValueError, TypeError, OverflowError):
        return _json_copy(value, 3)
    if array.dtype.kind not in "iuf":
        return _json_copy(value, 3)
    return array


def _data_shape(fields: Mapping[str, Any]) -> tuple[int, ...]:
    for value in fields.values():
        if isinstance(value, BitArray):
            return value.shape
    evs = fields.get("evs")
    if isinstance(evs, np.ndarray):
        return tuple(evs.shape)
    return ()


def _pub(
    fields: dict[str, Any],
    shape: tuple[int, ...],
    metadata: dict[str, Any],
    program_id: str | None,
) -> PubResult:
    try:
        data = DataBin(fields, shape=shape)
    except ValueError as exc:
        raise _Malformed(str(exc)) from exc
    if program_id == SAMPLER or (
        program_id != ESTIMATOR and any(isinstance(v, BitArray) for v in fields.values())
    ):
        return SamplerPubResult(data, metadata)
    return PubResult(data, metadata)


# -- Qiskit-encoded JSON ------------------------------------------------------------------


class _Qiskit:
    def __init__(self, program_id: str | None, budget: Budget) -> None:
        self.program_id = program_id
        self.budget = budget

    def value(self, value: object, depth: int) -> Any:
        _deep(depth)
        if isinstance(value, Mapping):
            if "__type__" in value and "__value__" in value:
                return self.envelope(value, depth)
            return {k: self.value(v, depth + 1) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v, depth + 1) for v in value]
        return value

    def envelope(self, env: Mapping[str, Any], depth: int) -> Any:
        kind = env["__type__"]
        inner = env["__value__"]
        if kind == "PrimitiveResult":
            return self.primitive_result(inner, depth + 1)
        if kind in ("SamplerPubResult", "PubResult", "EstimatorPubResult"):
            return self.pub_result(kind, inner, depth + 1)
        if kind == "DataBin":
            return self.data_bin(inner, depth + 1)
        if kind == "BitArray":
            return self.bit_array(inner, depth + 1)
        if kind == "ndarray":
            return self.ndarray(inner, depth + 1)
        if kind == "complex":
            if (
                isinstance(inner, list)
                and len(inner) == 2
                and all(isinstance(x, int | float) and not isinstance(x, bool) for x in inner)
            ):
                try:
                    return complex(float(inner[0]), float(inner[1]))
                except OverflowError as exc:
                    raise _Malformed("complex envelope holds a number too large") from exc
            raise _Malformed(f"complex envelope holds {inner!r}, not [re, im]")
        if kind == "datetime" and isinstance(inner, str):
            try:
                return datetime.fromisoformat(inner)
            except ValueError:
                return inner
        if kind == "set" and isinstance(inner, list):
            items = self.value(inner, depth + 1)
            try:
                return set(items)
            except TypeError:
                return items
        return _json_copy(env, depth)  # an envelope this decoder does not know: kept as is

    @staticmethod
    def _object(value: object, what: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise _Malformed(f"{what} envelope holds {_describe(value)}, not an object")
        return value

    def _metadata(self, value: object, depth: int, what: str) -> dict[str, Any]:
        decoded = self.value(value if value is not None else {}, depth)
        if not isinstance(decoded, dict):
            raise _Malformed(f"{what} metadata is not an object")
        return decoded

    def primitive_result(self, inner: object, depth: int) -> PrimitiveResult[Any]:
        obj = self._object(inner, "PrimitiveResult")
        raw_pubs = obj.get("pub_results")
        if not isinstance(raw_pubs, list):
            raise _Malformed("PrimitiveResult has no 'pub_results' list")
        _check_pubs(len(raw_pubs), self.budget)
        pubs: list[PubResult] = []
        for index, raw in enumerate(raw_pubs):
            pub = self.value(raw, depth + 1)
            if not isinstance(pub, PubResult):
                raise _Malformed(f"pub_results[{index}] is not a pub result envelope")
            pubs.append(pub)
        return PrimitiveResult(pubs, self._metadata(obj.get("metadata"), depth + 1, "result"))

    def pub_result(self, kind: str, inner: object, depth: int) -> PubResult:
        obj = self._object(inner, kind)
        data = self.value(obj.get("data"), depth + 1)
        if not isinstance(data, DataBin):
            raise _Malformed(f"{kind} has no DataBin 'data'")
        metadata = self._metadata(obj.get("metadata"), depth + 1, kind)
        if kind == "SamplerPubResult":
            return SamplerPubResult(data, metadata)
        return PubResult(data, metadata)

    def data_bin(self, inner: object, depth: int) -> DataBin:
        obj = self._object(inner, "DataBin")
        raw_fields = obj.get("fields")
        if not isinstance(raw_fields, Mapping):
            raise _Malformed("DataBin has no 'fields' object")
        names = obj.get("field_names")
        order = (
            [n for n in names if isinstance(n, str) and n in raw_fields]
            if isinstance(names, list)
            else []
        )
        order += [n for n in raw_fields if n not in order]
        fields = {name: self.value(raw_fields[name], depth + 1) for name in order}
        shape = obj.get("shape", [])
        if not isinstance(shape, list) or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape
        ):
            raise _Malformed(f"DataBin shape {shape!r} is not a list of sizes")
        try:
            return DataBin(fields, shape=shape)
        except ValueError as exc:
            raise _Malformed(f"DataBin: {exc}") from exc

    def bit_array(self, inner: object, depth: int) -> BitArray:
        obj = self._object(inner, "BitArray")
        num_bits = obj.get("num_bits")
        if not isinstance(num_bits, int) or isinstance(num_bits, bool) or num_bits < 0:
            raise _Malformed(f"BitArray num_bits is {num_bits!r}, not a non-negative integer")
        if num_bits > self.budget.limits.max_num_bits:
            raise _Malformed(
                f"BitArray num_bits is {num_bits}, over the limit of "
                f"{self.budget.limits.max_num_bits} (raise DecodeLimits.max_num_bits to read it)"
            )
        array = self.value(obj.get("array"), depth + 1)
        if isinstance(array, list):
            array = _small_array(array)
        if not isinstance(array, np.ndarray) or array.ndim < 2 or array.dtype.kind not in "iu":
            raise _Malformed("BitArray array is not an integer array of shape (..., shots, bytes)")
        if array.dtype != np.uint8:
            if array.size and (array.min() < 0 or array.max() > 255):
                raise _Malformed("BitArray array holds values that are not bytes")
            array = array.astype(np.uint8)
        need = min_num_bytes(num_bits)
        width = array.shape[-1]
        if width < need:
            raise _Malformed(
                f"BitArray has {width} bytes per shot, too few for num_bits={num_bits}"
            )
        if width > need:
            if array[..., : width - need].any():
                raise _Malformed(f"BitArray holds a value wider than num_bits={num_bits}")
            array = array[..., width - need :]
        spare = -num_bits % 8
        if spare and need and array.size and (array[..., 0] >> np.uint8(8 - spare)).any():
            raise _Malformed(f"BitArray holds a value wider than num_bits={num_bits}")
        return BitArray(array, num_bits)

    def ndarray(self, inner: object, depth: int) -> Any:
        if isinstance(inner, list):
            decoded = self.value(inner, depth + 1)
            try:
                return _small_array(decoded)
            except _Malformed:
                return decoded  # ragged or not numbers: kept as a list
        if not isinstance(inner, str):
            raise _Malformed(f"ndarray envelope holds {_describe(inner)}")
        return read_ndarray(inner, self.budget)


def _small_array(value: list[Any]) -> np.ndarray:
    """A plain-list array (small arrays are sent so) as numpy, numbers only."""
    try:
        array = np.array(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise _Malformed(f"an array is ragged or not numbers: {exc}") from exc
    if array.dtype.kind not in "biufc":
        raise _Malformed("an array holds values that are not numbers")
    return array
