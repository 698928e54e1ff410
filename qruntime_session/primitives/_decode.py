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
kept as received. A body that is not one of the two shapes raises :class:`ResultDecodeError`.
"""

from __future__ import annotations

import base64
import binascii
import math
import zlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..errors import ExtraNotInstalledError, ResultDecodeError
from ._arrays import NDArray, nested_shape
from ._containers import BitArray, DataBin, PrimitiveResult, PubResult, SamplerPubResult
from ._npy import NpyError, UnsupportedDtype, read_npy

__all__ = ["MAX_DEPTH", "decode_primitive_result"]

#: No result body nests deeper than this; deeper (or cyclic) input is rejected.
MAX_DEPTH = 64
#: An ndarray that inflates beyond this many bytes is rejected (a bound on decompression).
MAX_ARRAY_BYTES = 1 << 30

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
) -> PrimitiveResult[Any]:
    """A :class:`PrimitiveResult` from a sampler or estimator result body (either format).

    ``program_id`` (``"sampler"``/``"estimator"``) decides the pub result class when the body
    does not say; ``job_id`` and ``session_id`` are carried by the error a malformed body
    raises (:class:`ResultDecodeError`).
    """
    try:
        return _decode_body(body, program_id)
    except _Malformed as exc:
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


def _decode_body(body: object, program_id: str | None) -> PrimitiveResult[Any]:
    if isinstance(body, Mapping) and "__type__" in body:
        decoded = _Qiskit(program_id).value(body, 0)
        if not isinstance(decoded, PrimitiveResult):
            raise _Malformed(f"expected a PrimitiveResult envelope, got {body.get('__type__')!r}")
        return decoded
    if isinstance(body, Mapping) and isinstance(body.get("results"), list):
        return _plain(body, program_id)
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


def _plain(body: Mapping[str, Any], program_id: str | None) -> PrimitiveResult[Any]:
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
                fields[name] = _plain_bits(value, where)
            elif isinstance(value, list | int | float) and not isinstance(value, bool):
                fields[name] = _plain_numbers(value, where)
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


def _sample_value(sample: object, where: str) -> int:
    if isinstance(sample, str):
        text = sample.strip()
        if text[:2].lower() == "0x":
            try:
                return int(text, 16)
            except ValueError:
                pass
        raise _Malformed(f"{where}: sample {sample[:40]!r} is not a hex string like '0x3'")
    if isinstance(sample, int) and not isinstance(sample, bool) and sample >= 0:
        return sample
    raise _Malformed(f"{where}: sample {sample!r} is not a hex string")


def _plain_bits(value: Mapping[str, Any], where: str) -> BitArray:
    samples = value["samples"]
    if not isinstance(samples, list):
        raise _Malformed(f"{where}.samples is not a list")
    shape = nested_shape(samples, MAX_DEPTH)
    if shape is None:
        raise _Malformed(f"{where}.samples is ragged or nested too deeply")
    flat: list[int] = []
    _flat_samples(samples, flat, where, 0)
    num_bits = value.get("num_bits")
    widest = max((v.bit_length() for v in flat), default=0)
    if num_bits is None:
        num_bits = widest  # the service always sends num_bits; infer it when absent
    if not isinstance(num_bits, int) or isinstance(num_bits, bool) or num_bits < 0:
        raise _Malformed(f"{where}.num_bits is {num_bits!r}, not a non-negative integer")
    if widest > num_bits:
        raise _Malformed(f"{where}: a sample is wider than num_bits={num_bits}")
    num_shots = shape[-1]
    return BitArray(flat, num_bits=num_bits, num_shots=num_shots, shape=shape[:-1])


def _flat_samples(samples: list[Any], out: list[int], where: str, depth: int) -> None:
    _deep(depth)
    for sample in samples:
        if isinstance(sample, list):
            _flat_samples(sample, out, where, depth + 1)
        else:
            out.append(_sample_value(sample, where))


def _plain_numbers(value: object, where: str) -> Any:
    shape = nested_shape(value, MAX_DEPTH)
    if shape is None:
        return _json_copy(value, 3)  # ragged: kept as received
    array = NDArray.from_nested(value)
    if array.dtype == "object":
        return _json_copy(value, 3)
    return array


def _data_shape(fields: Mapping[str, Any]) -> tuple[int, ...]:
    for value in fields.values():
        if isinstance(value, BitArray):
            return value.shape
    evs = fields.get("evs")
    if isinstance(evs, NDArray):
        return evs.shape
    return ()


def _pub(
    fields: dict[str, Any],
    shape: tuple[int, ...],
    metadata: dict[str, Any],
    program_id: str | None,
) -> PubResult:
    data = DataBin(fields, shape=shape)
    if program_id == SAMPLER or (
        program_id != ESTIMATOR and any(isinstance(v, BitArray) for v in fields.values())
    ):
        return SamplerPubResult(data, metadata)
    return PubResult(data, metadata)


# -- Qiskit-encoded JSON ------------------------------------------------------------------


class _Qiskit:
    def __init__(self, program_id: str | None) -> None:
        self.program_id = program_id

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
                return complex(inner[0], inner[1])
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
        return DataBin(fields, shape=shape)

    def bit_array(self, inner: object, depth: int) -> BitArray:
        obj = self._object(inner, "BitArray")
        num_bits = obj.get("num_bits")
        if not isinstance(num_bits, int) or isinstance(num_bits, bool) or num_bits < 0:
            raise _Malformed(f"BitArray num_bits is {num_bits!r}, not a non-negative integer")
        array = self.value(obj.get("array"), depth + 1)
        if isinstance(array, list):
            try:
                array = NDArray.from_nested(array)
            except ValueError as exc:
                raise _Malformed(f"BitArray array: {exc}") from exc
        if not isinstance(array, NDArray) or array.ndim < 2:
            raise _Malformed("BitArray array is not an array of shape (..., shots, bytes)")
        width = array.shape[-1]
        if width < math.ceil(num_bits / 8):
            raise _Malformed(
                f"BitArray has {width} bytes per shot, too few for num_bits={num_bits}"
            )
        raw = array.flat
        if not all(isinstance(b, int) and 0 <= b <= 255 for b in raw):
            raise _Malformed("BitArray array holds values that are not bytes")
        limit = 1 << num_bits
        values: list[int] = []
        for start in range(0, len(raw), width or 1):
            if width == 0:
                break
            value = int.from_bytes(bytes(raw[start : start + width]), "big")
            if value >= limit:
                raise _Malformed(f"BitArray holds a value wider than num_bits={num_bits}")
            values.append(value)
        num_shots = array.shape[-2]
        if width == 0:
            values = [0] * (math.prod(array.shape[:-2]) * num_shots)
        return BitArray(values, num_bits=num_bits, num_shots=num_shots, shape=array.shape[:-2])

    def ndarray(self, inner: object, depth: int) -> Any:
        if isinstance(inner, list):
            decoded = self.value(inner, depth + 1)
            try:
                return NDArray.from_nested(decoded)
            except ValueError:
                return decoded  # ragged object array: kept as a list
        if not isinstance(inner, str):
            raise _Malformed(f"ndarray envelope holds {_describe(inner)}")
        try:
            packed = base64.b64decode(inner, validate=True)
            inflater = zlib.decompressobj()
            data = inflater.decompress(packed, MAX_ARRAY_BYTES)
        except (binascii.Error, ValueError, zlib.error) as exc:
            raise _Malformed(f"ndarray is not base64 of zlib-compressed bytes: {exc}") from exc
        if inflater.unconsumed_tail:
            raise _Malformed(f"ndarray inflates to more than {MAX_ARRAY_BYTES} bytes")
        try:
            npy = read_npy(data)
        except UnsupportedDtype as exc:
            raise ExtraNotInstalledError(
                f"a result array uses a dtype read only with numpy ({exc}); "
                'install it with pip install "qruntime-session[qiskit]"',
                extra="qiskit",
            ) from exc
        except NpyError as exc:
            raise _Malformed(f"ndarray: {exc}") from exc
        return NDArray(npy.values, npy.shape, npy.dtype)
