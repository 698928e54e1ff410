"""Result containers shaped like qiskit's (``qiskit.primitives.containers``), in pure Python.

``PrimitiveResult`` → one ``SamplerPubResult``/``PubResult`` per pub → ``.data`` (a
``DataBin``) whose fields are ``BitArray`` registers (sampler) or ``NDArray`` values
(estimator: ``evs``, ``stds``, ``ensemble_standard_error``).
"""

from __future__ import annotations

import math
from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, Sequence, ValuesView
from typing import Any, Generic, SupportsIndex, TypeVar, overload

from .._display import ResultDisplay
from ._arrays import axis_index

__all__ = [
    "BitArray",
    "DataBin",
    "PrimitiveResult",
    "PubResult",
    "SamplerPubResult",
]

Loc = SupportsIndex | tuple[SupportsIndex, ...]


class BitArray:
    """The measured values of one classical register: ``num_shots`` integers per point of the
    pub's ``shape`` (``()`` without a parameter sweep), each ``num_bits`` wide.

    Bit 0 of each value is the register's clbit 0; bit strings are printed most significant
    bit first, as qiskit prints them (``'01'`` means clbit 0 is 1).
    """

    __slots__ = ("_num_bits", "_num_shots", "_shape", "_values")

    def __init__(
        self,
        values: Sequence[int],
        *,
        num_bits: int,
        num_shots: int | None = None,
        shape: Sequence[int] = (),
    ) -> None:
        shape_t = tuple(int(n) for n in shape)
        points = math.prod(shape_t)
        if num_bits < 0:
            raise ValueError("num_bits must not be negative")
        if num_shots is None:
            num_shots = len(values) // points if points else 0
        if points * num_shots != len(values):
            raise ValueError(
                f"{len(values)} values do not fill shape {shape_t} with {num_shots} shots"
            )
        limit = 1 << num_bits
        for value in values:
            if not 0 <= value < limit:
                raise ValueError(f"value {value} does not fit in {num_bits} bits")
        self._values: tuple[int, ...] = tuple(values)
        self._num_bits = num_bits
        self._num_shots = num_shots
        self._shape = shape_t

    @classmethod
    def from_samples(cls, samples: Iterable[str | int], num_bits: int | None = None) -> BitArray:
        """A BitArray (shape ``()``) from bit strings (``'01'``), hex (``'0x1'``) or ints."""
        values: list[int] = []
        widest = 0
        for sample in samples:
            if isinstance(sample, str):
                text = sample.strip()
                if text.lower().startswith("0x"):
                    value = int(text, 16)
                else:
                    value = int(text, 2)
                    widest = max(widest, len(text))
            else:
                value = int(sample)
            values.append(value)
        if num_bits is None:
            num_bits = max([widest, *(v.bit_length() for v in values)], default=0)
        return cls(values, num_bits=num_bits)

    # -- shape -------------------------------------------------------------------------

    @property
    def num_bits(self) -> int:
        return self._num_bits

    @property
    def num_shots(self) -> int:
        return self._num_shots

    @property
    def shape(self) -> tuple[int, ...]:
        """The pub's shape (the parameter sweep's), without the shots."""
        return self._shape

    @property
    def ndim(self) -> int:
        return len(self._shape)

    @property
    def size(self) -> int:
        return math.prod(self._shape)

    # -- reading -----------------------------------------------------------------------

    def _select(self, loc: Loc | None) -> Sequence[int]:
        if loc is None:
            return self._values
        index = loc if isinstance(loc, tuple) else (loc,)
        if len(index) != self.ndim:
            raise IndexError(
                f"loc must index every axis of shape {self._shape} (got {len(index)} indices)"
            )
        point = 0
        for axis, raw in enumerate(index):
            size = self._shape[axis]
            point = point * size + axis_index(raw, axis, size)
        start = point * self._num_shots
        return self._values[start : start + self._num_shots]

    def get_int_counts(self, loc: Loc | None = None) -> dict[int, int]:
        """How often each value was measured; ``loc`` selects one sweep point, ``None`` all."""
        counts: dict[int, int] = {}
        for value in self._select(loc):
            counts[value] = counts.get(value, 0) + 1
        return counts

    def get_counts(self, loc: Loc | None = None) -> dict[str, int]:
        """Counts keyed by bit string (most significant bit first), like qiskit's."""
        width = self._num_bits
        return {
            format(value, f"0{width}b") if width else "": n
            for value, n in self.get_int_counts(loc).items()
        }

    def get_bitstrings(self, loc: Loc | None = None) -> list[str]:
        """One bit string per shot (most significant bit first), in measurement order."""
        width = self._num_bits
        return [format(v, f"0{width}b") if width else "" for v in self._select(loc)]

    def get_ints(self, loc: Loc | None = None) -> list[int]:
        """One integer per shot, in measurement order."""
        return list(self._select(loc))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BitArray):
            return NotImplemented
        return (
            self._num_bits == other._num_bits
            and self._num_shots == other._num_shots
            and self._shape == other._shape
            and self._values == other._values
        )

    def __hash__(self) -> int:
        return hash((self._num_bits, self._num_shots, self._shape, self._values))

    def __repr__(self) -> str:
        return (
            f"BitArray(<shape={self._shape}, num_shots={self._num_shots}, "
            f"num_bits={self._num_bits}>)"
        )

    @staticmethod
    def concatenate_bits(arrays: Sequence[BitArray]) -> BitArray:
        """Join registers bit-wise: the first array's bits become the least significant."""
        if not arrays:
            raise ValueError("need at least one BitArray")
        first = arrays[0]
        for other in arrays[1:]:
            if other._shape != first._shape or other._num_shots != first._num_shots:
                raise ValueError("BitArrays to join must have the same shape and num_shots")
        values = list(first._values)
        shift = first._num_bits
        for other in arrays[1:]:
            values = [v | (w << shift) for v, w in zip(values, other._values, strict=True)]
            shift += other._num_bits
        return BitArray(values, num_bits=shift, num_shots=first._num_shots, shape=first._shape)

    def to_qiskit(self) -> Any:
        """qiskit's ``BitArray`` with the same bits (needs the ``qiskit`` extra)."""
        from ._qiskit import bit_array_to_qiskit

        return bit_array_to_qiskit(self)


class DataBin:
    """The data of one pub: named fields, read as attributes (``data.meas``) or items
    (``data["meas"]``); iterating gives the names, like qiskit's ``DataBin``."""

    __slots__ = ("_fields", "_shape")
    _fields: dict[str, Any]
    _shape: tuple[int, ...]

    def __init__(self, fields: Mapping[str, Any], *, shape: Sequence[int] = ()) -> None:
        object.__setattr__(self, "_fields", dict(fields))
        object.__setattr__(self, "_shape", tuple(int(n) for n in shape))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        fields: dict[str, Any] = object.__getattribute__(self, "_fields")
        try:
            return fields[name]
        except KeyError:
            raise AttributeError(
                f"this DataBin has no field {name!r}; its fields are {list(fields)}"
            ) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("DataBin is read-only")

    def __getitem__(self, name: str) -> Any:
        try:
            return self._fields[name]
        except KeyError:
            raise KeyError(
                f"this DataBin has no field {name!r}; its fields are {list(self._fields)}"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._fields

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def keys(self) -> KeysView[str]:
        return self._fields.keys()

    def values(self) -> ValuesView[Any]:
        return self._fields.values()

    def items(self) -> ItemsView[str, Any]:
        return self._fields.items()

    def get(self, name: str, default: Any = None) -> Any:
        return self._fields.get(name, default)

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def ndim(self) -> int:
        return len(self._shape)

    @property
    def size(self) -> int:
        return math.prod(self._shape)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DataBin):
            return NotImplemented
        return self._shape == other._shape and self._fields == other._fields

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        parts = [f"{k}={v!r}" for k, v in self._fields.items()]
        parts.append(f"shape={self._shape}")
        return f"DataBin({', '.join(parts)})"


class PubResult(ResultDisplay):
    """The result of one pub: ``data`` (a :class:`DataBin`) and ``metadata``.

    Estimator pubs give a plain ``PubResult`` (as in qiskit): ``data.evs``, ``data.stds`` and
    ``data.ensemble_standard_error`` are ``NDArray`` values shaped like the pub."""

    __slots__ = ("data", "metadata")

    def __init__(self, data: DataBin, metadata: Mapping[str, Any] | None = None) -> None:
        self.data = data
        self.metadata: dict[str, Any] = dict(metadata or {})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PubResult):
            return NotImplemented
        return (
            type(self) is type(other)
            and self.data == other.data
            and self.metadata == other.metadata
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(data={self.data!r}, metadata={self.metadata!r})"


class SamplerPubResult(PubResult):
    """The result of one sampler pub; ``data`` holds one :class:`BitArray` per register."""

    __slots__ = ()

    def join_data(self, names: Iterable[str] | None = None) -> BitArray:
        """The registers ``names`` (default: all, in order) joined into one BitArray; the first
        register's bits are the least significant, as in qiskit."""
        chosen = list(self.data) if names is None else list(names)
        if not chosen:
            raise ValueError("no registers to join")
        arrays: list[BitArray] = []
        for name in chosen:
            value = self.data[name]
            if not isinstance(value, BitArray):
                raise TypeError(f"field {name!r} is not a BitArray; only registers can be joined")
            arrays.append(value)
        if len(arrays) == 1:
            return arrays[0]
        return BitArray.concatenate_bits(arrays)


PubT = TypeVar("PubT", bound=PubResult, covariant=True)


class PrimitiveResult(Sequence[PubT], Generic[PubT], ResultDisplay):
    """A sampler or estimator job's result: one pub result per pub, plus ``metadata``.

    ``len(result)``, ``result[i]``, iteration, as qiskit's ``PrimitiveResult``.
    """

    __slots__ = ("_pub_results", "metadata")

    def __init__(
        self, pub_results: Iterable[PubT], metadata: Mapping[str, Any] | None = None
    ) -> None:
        self._pub_results: tuple[PubT, ...] = tuple(pub_results)
        self.metadata: dict[str, Any] = dict(metadata or {})

    @overload
    def __getitem__(self, index: int) -> PubT: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[PubT]: ...
    def __getitem__(self, index: int | slice) -> PubT | Sequence[PubT]:
        return self._pub_results[index]

    def __len__(self) -> int:
        return len(self._pub_results)

    def __iter__(self) -> Iterator[PubT]:
        return iter(self._pub_results)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PrimitiveResult):
            return NotImplemented
        return self._pub_results == other._pub_results and self.metadata == other.metadata

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"PrimitiveResult({list(self._pub_results)!r}, metadata={self.metadata!r})"

    def to_qiskit(self) -> Any:
        """qiskit's own ``PrimitiveResult`` (needs ``pip install "qruntime-session[qiskit]"``)."""
        from ._qiskit import primitive_result_to_qiskit

        return primitive_result_to_qiskit(self)
