"""The two result formats IBM's service answers for V2 primitive jobs, in pure Python.

``support_qiskit: false`` (IBM's REST guides): plain JSON. Per pub ``{"data", "metadata"}``;
a sampler's ``data`` has one member per classical register, ``{"samples": ["0x3", ...],
"num_bits": n}`` (one hex string per shot, the register's value with bit 0 least
significant); an estimator's ``data`` has ``evs``, ``stds``, ``ensemble_standard_error``
shaped like the pub.

``support_qiskit: true`` (what qiskit-ibm-runtime sends): Qiskit-encoded JSON, every object an
envelope ``{"__type__": T, "__value__": V}`` with T in ``PrimitiveResult``,
``SamplerPubResult``, ``PubResult``, ``DataBin``, ``BitArray``, ``ndarray``, ``ExecutionSpans``,
``DoubleSliceSpan``, ``datetime`` — the types qiskit-ibm-runtime's ``RuntimeDecoder`` reads.

The inputs are the plain values below (:class:`RegisterSamples`, :class:`SamplerPubData`,
:class:`EstimatorPubData`), made by the simulator or by the plausible-data generator.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ._npy import encode_ndarray, float64_bytes, nested

__all__ = [
    "EstimatorPubData",
    "PrimitiveData",
    "RegisterSamples",
    "SamplerPubData",
    "pack_samples",
    "plain_result",
    "qiskit_result",
    "unpack_samples",
]


@attrs.frozen
class RegisterSamples:
    """One classical register's outcomes for one pub.

    ``data`` holds ``prod(shape) * num_shots`` outcomes in C order (pub shape first, shots
    last), each as ``ceil(num_bits / 8)`` big-endian bytes — exactly the buffer of qiskit's
    ``BitArray.array`` (``uint8``, shape ``(*shape, num_shots, num_bytes)``).
    """

    name: str
    num_bits: int
    shape: tuple[int, ...]
    num_shots: int
    data: bytes

    @property
    def num_bytes(self) -> int:
        """Bytes per outcome."""
        return max(1, math.ceil(self.num_bits / 8))

    def values(self) -> list[int]:
        """Every outcome as an integer, in C order."""
        return unpack_samples(self.data, self.num_bytes)


@attrs.frozen
class SamplerPubData:
    """A sampler pub's result: its registers (circuit order) and pub metadata."""

    shape: tuple[int, ...]
    num_shots: int
    registers: tuple[RegisterSamples, ...]
    metadata: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class EstimatorPubData:
    """An estimator pub's result: flat C-order values over ``shape`` and pub metadata."""

    shape: tuple[int, ...]
    evs: tuple[float, ...]
    stds: tuple[float, ...]
    ensemble_standard_error: tuple[float, ...]
    num_shots: int
    metadata: dict[str, Any] = attrs.field(factory=dict)

    @classmethod
    def estimated(
        cls,
        *,
        shape: tuple[int, ...],
        shots: int,
        precision: float,
        evs: Sequence[float],
        stds: Sequence[float],
        circuit_metadata: Mapping[str, Any],
    ) -> EstimatorPubData:
        """One pub's estimates; with a single ensemble its standard errors are the ensemble's."""
        return cls(
            shape=shape,
            evs=tuple(evs),
            stds=tuple(stds),
            ensemble_standard_error=tuple(stds),
            num_shots=shots,
            metadata={
                "target_precision": precision,
                "shots": shots,
                "circuit_metadata": dict(circuit_metadata),
            },
        )


@attrs.frozen
class PrimitiveData:
    """A whole job's result: its pubs, the execution span and result metadata."""

    pubs: tuple[SamplerPubData | EstimatorPubData, ...]
    start: str
    stop: str
    metadata: dict[str, Any] = attrs.field(factory=dict)


def pack_samples(values: Sequence[int], num_bits: int) -> bytes:
    """Outcomes (integers) as consecutive big-endian ``ceil(num_bits / 8)``-byte words."""
    width = max(1, math.ceil(num_bits / 8))
    mask = (1 << num_bits) - 1 if num_bits else 0
    return b"".join((value & mask).to_bytes(width, "big") for value in values)


def unpack_samples(data: bytes, num_bytes: int) -> list[int]:
    """The inverse of :func:`pack_samples`."""
    return [int.from_bytes(data[i : i + num_bytes], "big") for i in range(0, len(data), num_bytes)]


def _span_slices(pubs: Sequence[SamplerPubData | EstimatorPubData]) -> dict[str, list[Any]]:
    """``DoubleSliceSpan.data_slices``: pub index -> [shape + shots, arg0, arg1, shot0, shot1]."""
    slices: dict[str, list[Any]] = {}
    for index, pub in enumerate(pubs):
        points = math.prod(pub.shape)
        slices[str(index)] = [[*pub.shape, pub.num_shots], 0, points, 0, pub.num_shots]
    return slices


# ------------------------------------------------------------------------ plain JSON


def _plain_sampler(pub: SamplerPubData) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for register in pub.registers:
        samples = [hex(value) for value in register.values()]
        data[register.name] = {
            "samples": nested(samples, (*register.shape, register.num_shots)),
            "num_bits": register.num_bits,
        }
    return {"data": data, "metadata": dict(pub.metadata)}


def _plain_estimator(pub: EstimatorPubData) -> dict[str, Any]:
    return {
        "data": {
            "evs": nested(list(pub.evs), pub.shape),
            "stds": nested(list(pub.stds), pub.shape),
            "ensemble_standard_error": nested(list(pub.ensemble_standard_error), pub.shape),
        },
        "metadata": dict(pub.metadata),
    }


def plain_result(result: PrimitiveData) -> dict[str, Any]:
    """The ``support_qiskit: false`` body."""
    return {
        "results": [
            _plain_sampler(pub) if isinstance(pub, SamplerPubData) else _plain_estimator(pub)
            for pub in result.pubs
        ],
        "metadata": {
            "execution": {
                "execution_spans": [
                    {
                        "start": result.start,
                        "stop": result.stop,
                        "data_slices": _span_slices(result.pubs),
                    }
                ]
            },
            "version": 2,
            **result.metadata,
        },
    }


# -------------------------------------------------------------- Qiskit-encoded JSON


def _envelope(kind: str, value: Any) -> dict[str, Any]:
    return {"__type__": kind, "__value__": value}


def _data_bin(shape: tuple[int, ...], fields: dict[str, Any]) -> dict[str, Any]:
    return _envelope(
        "DataBin", {"field_names": list(fields), "shape": list(shape), "fields": fields}
    )


def _qiskit_sampler(pub: SamplerPubData) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for register in pub.registers:
        array = encode_ndarray(
            "|u1", (*register.shape, register.num_shots, register.num_bytes), register.data
        )
        fields[register.name] = _envelope(
            "BitArray", {"array": array, "num_bits": register.num_bits}
        )
    return _envelope(
        "SamplerPubResult",
        {"data": _data_bin(pub.shape, fields), "metadata": dict(pub.metadata)},
    )


def _qiskit_estimator(pub: EstimatorPubData) -> dict[str, Any]:
    fields = {
        name: encode_ndarray("<f8", pub.shape, float64_bytes(values))
        for name, values in (
            ("evs", pub.evs),
            ("stds", pub.stds),
            ("ensemble_standard_error", pub.ensemble_standard_error),
        )
    }
    return _envelope(
        "PubResult", {"data": _data_bin(pub.shape, fields), "metadata": dict(pub.metadata)}
    )


def qiskit_result(result: PrimitiveData) -> dict[str, Any]:
    """The ``support_qiskit: true`` body."""
    span = _envelope(
        "DoubleSliceSpan",
        {
            "start": _envelope("datetime", result.start),
            "stop": _envelope("datetime", result.stop),
            "data_slices": _span_slices(result.pubs),
        },
    )
    return _envelope(
        "PrimitiveResult",
        {
            "pub_results": [
                _qiskit_sampler(pub) if isinstance(pub, SamplerPubData) else _qiskit_estimator(pub)
                for pub in result.pubs
            ],
            "metadata": {
                "execution": {"execution_spans": _envelope("ExecutionSpans", {"spans": [span]})},
                "version": 2,
                **result.metadata,
            },
        },
    )
