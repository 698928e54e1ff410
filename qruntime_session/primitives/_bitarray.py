"""BitArray: a sampler register's shots, stored as qiskit stores them.

``array`` is ``uint8`` of shape ``(*shape, num_shots, ceil(num_bits / 8))`` with big-endian
bytes (the last byte holds the least significant bits), so
[`BitArray.to_qiskit`][qruntime_session.primitives.BitArray.to_qiskit] wraps the same array
without a copy. Every public method and property of qiskit's ``BitArray`` is
here, with the same results; counting sorts the shots once instead of stepping through them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import chain, repeat
from typing import Any, Literal, cast

import numpy as np

from ._bitops import (
    bitstrings,
    counts_dict,
    expectation,
    masked_rows,
    matching_rows,
    min_num_bytes,
    observable_grid,
    pack_bits,
    pack_ints,
    row_ints,
    unique_rows,
    unpack_bits,
)

__all__ = ["BitArray"]

Loc = int | tuple[int, ...] | None
_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def _shape_tuple(shape: Iterable[Any]) -> tuple[int, ...]:
    out: list[int] = []
    for item in shape:
        if isinstance(item, Iterable) and not isinstance(item, str | bytes):
            out.extend(_shape_tuple(item))
        else:
            out.append(int(item))
    return tuple(out)


class BitArray:
    """The measured values of one classical register: ``num_shots`` bit strings per point of
    the pub's ``shape`` (``()`` without a parameter sweep), each ``num_bits`` wide.

    Bit 0 is the register's clbit 0; bit strings print the most significant bit first, as
    qiskit prints them (``'01'`` means clbit 0 is 1). ``&``, ``|``, ``^``, ``~`` and indexing
    over the pub's axes work as in qiskit.
    """

    __slots__ = ("_array", "_num_bits", "_shape")

    def __init__(self, array: np.ndarray, num_bits: int) -> None:
        if not isinstance(array, np.ndarray):
            raise TypeError(f"Input must be a numpy.ndarray not {type(array)}")
        if array.dtype != np.uint8:
            raise TypeError(f"Input array must have dtype uint8, not {array.dtype}.")
        if array.ndim < 2:
            raise ValueError("The input array must have at least two axes.")
        if array.shape[-1] != (expected := min_num_bytes(num_bits)):
            raise ValueError(f"The input array is expected to have {expected} bytes per shot.")
        self._array = array
        self._num_bits = int(num_bits)
        self._shape: tuple[int, ...] = tuple(array.shape[:-2])

    # -- shape ---------------------------------------------------------------------------

    @property
    def array(self) -> np.ndarray:
        """The packed ``uint8`` data, shape ``(*shape, num_shots, bytes)``."""
        return self._array

    @property
    def num_bits(self) -> int:
        """The register's width in bits."""
        return self._num_bits

    @property
    def num_shots(self) -> int:
        """The number of shots at each point of `shape`."""
        return int(self._array.shape[-2])

    @property
    def shape(self) -> tuple[int, ...]:
        """The pub's shape (the parameter sweep's), without the shots."""
        return self._shape

    @property
    def ndim(self) -> int:
        """The number of dimensions of `shape`."""
        return len(self._shape)

    @property
    def size(self) -> int:
        """The number of points of `shape` (1 without a sweep)."""
        return math.prod(self._shape)

    # -- operators -----------------------------------------------------------------------

    def _broadcast(self, other: BitArray) -> tuple[np.ndarray, np.ndarray]:
        if self._num_bits != other.num_bits:
            raise ValueError(f"'num_bits' must match in {self} and {other}.")
        try:
            shape = np.broadcast_shapes(
                (*self._shape, self.num_shots), (*other.shape, other.num_shots)
            )
        except ValueError as exc:
            raise ValueError(f"{self} and {other} are not compatible for this operation.") from exc
        full = (*shape, self._array.shape[-1])
        return np.broadcast_to(self._array, full), np.broadcast_to(other.array, full)

    def __and__(self, other: BitArray) -> BitArray:
        return BitArray(np.bitwise_and(*self._broadcast(other)), self._num_bits)

    def __or__(self, other: BitArray) -> BitArray:
        return BitArray(np.bitwise_or(*self._broadcast(other)), self._num_bits)

    def __xor__(self, other: BitArray) -> BitArray:
        return BitArray(np.bitwise_xor(*self._broadcast(other)), self._num_bits)

    def __invert__(self) -> BitArray:
        return BitArray(np.bitwise_not(self._array), self._num_bits)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BitArray) and not _is_qiskit_bit_array(other):
            return NotImplemented
        num_bits: int = other.num_bits  # type: ignore[attr-defined]
        theirs: np.ndarray = other.array  # type: ignore[attr-defined]
        if num_bits != self._num_bits:
            return False
        ours = self._array
        if num_bits % 8:
            mask = np.array([0xFF >> (-num_bits % 8)] + [0xFF] * (num_bits // 8), np.uint8)
            ours, theirs = ours & mask, theirs & mask
        return bool(np.array_equal(ours, theirs))

    __hash__ = None  # type: ignore[assignment]

    def __getitem__(self, indices: Any) -> BitArray:
        if isinstance(indices, tuple):
            if len(indices) == self.ndim + 1:
                raise IndexError(
                    "BitArray cannot be sliced along the shots axis, use slice_shots() instead."
                )
            if len(indices) >= self.ndim + 2:
                raise IndexError(
                    "BitArray cannot be sliced along the bits axis, use slice_bits() instead."
                )
        return BitArray(self._array[indices], self._num_bits)

    def __repr__(self) -> str:
        try:
            desc = f"<shape={self.shape}, num_shots={self.num_shots}, num_bits={self.num_bits}>"
        except AttributeError:  # a half-built object still prints
            desc = "<incomplete>"
        return f"BitArray({desc})"

    # -- reading -------------------------------------------------------------------------

    def _rows(self, loc: Loc) -> np.ndarray:
        width = self._array.shape[-1]
        chosen = self._array if loc is None else self._array[loc]
        return masked_rows(chosen.reshape(-1, width), self._num_bits)

    def get_counts(self, loc: Loc = None) -> dict[str, int]:
        """Counts keyed by bit string (most significant bit first), like qiskit's; ``loc``
        selects one sweep point, ``None`` joins them all."""
        keys, counts = unique_rows(self._rows(loc))
        return counts_dict(keys, counts, self._num_bits)

    def get_int_counts(self, loc: Loc = None) -> dict[int, int]:
        """Counts keyed by the register's value as an integer."""
        keys, counts = unique_rows(self._rows(loc))
        return dict(zip(row_ints(keys), counts.tolist(), strict=True))

    def get_bitstrings(self, loc: Loc = None) -> list[str]:
        """One bit string per shot (most significant bit first), in measurement order."""
        return bitstrings(self._rows(loc), self._num_bits)

    def get_ints(self, loc: Loc = None) -> list[int]:
        """One integer per shot, in measurement order (this SDK's addition)."""
        return row_ints(self._rows(loc))

    def bitcount(self) -> np.ndarray:
        """The number of ones in each shot, ``uint64`` of shape ``(*shape, num_shots)``."""
        result = _POPCOUNT[self._array].sum(axis=-1, dtype=np.uint64)
        excess = self._num_bits % 8
        if excess and self._array.shape[-1]:
            result -= _POPCOUNT[self._array[..., 0] >> np.uint8(excess)].astype(np.uint64)
        out: np.ndarray = result
        return out

    def to_bool_array(self, order: Literal["big", "little"] = "big") -> np.ndarray:
        """The bits as booleans; ``order="big"`` puts the most significant bit at ``[..., 0]``."""
        if order not in ("big", "little"):
            raise ValueError(
                f"Invalid value for order: '{order}'. Valid values are 'big' and 'little'."
            )
        unpacked = np.unpackbits(self._array, axis=-1)
        bits = unpacked[..., unpacked.shape[-1] - self._num_bits :]
        if order == "little":
            bits = bits[..., ::-1]
        out: np.ndarray = bits.astype(np.bool_)
        return out

    def expectation_values(self, observables: Any) -> np.ndarray:
        """Expectation values of diagonal observables (``I``, ``Z``, ``0``, ``1`` labels, dicts
        of them, ``SparsePauliOp``), broadcast against this array's shape."""
        grid = observable_grid(observables)
        points = np.empty(self._shape, dtype=object)
        for index in np.ndindex(self._shape):
            points[index] = index
        where, terms = np.broadcast_arrays(points, grid)
        out = np.zeros(where.shape, dtype=np.float64)
        unpacked: dict[tuple[int, ...], np.ndarray] = {}
        for index in np.ndindex(where.shape):
            loc = cast("tuple[int, ...]", where[index])
            if loc not in unpacked:
                unpacked[loc] = unpack_bits(self._array[loc], self._num_bits)
            term = cast("dict[str, complex]", terms[index])
            out[index] = expectation(unpacked[loc], term.items())
        return out

    # -- reshaping and slicing -----------------------------------------------------------

    def reshape(self, *shape: Any) -> BitArray:
        """The same shots with another pub shape; shots join the reshape when the sizes say so
        (as in qiskit)."""
        new = _shape_tuple(shape)
        size = math.prod(new)
        if size == self.size:
            full = (*new, *self._array.shape[-2:])
        elif size == self.size * self.num_shots:
            full = (*new, self._array.shape[-1])
        else:
            raise ValueError("Cannot change the size of the array.")
        return BitArray(self._array.reshape(full), self._num_bits)

    def transpose(self, *axes: Any) -> BitArray:
        """The pub axes permuted, as ``numpy.ndarray.transpose``."""
        if not axes:
            axes = tuple(reversed(range(self.ndim)))
        if len(axes) == 1 and isinstance(axes[0], Sequence):
            axes = tuple(axes[0])
        if len(axes) != self.ndim:
            raise ValueError("axes don't match bit array")
        for i in axes:
            if i >= self.ndim or self.ndim + i < 0:
                raise ValueError(
                    f"axis {i} is out of bounds for bit array of dimension {self.ndim}."
                )
        order = (*(i if i >= 0 else self.ndim + i for i in axes), -2, -1)
        return BitArray(self._array.transpose(order), self._num_bits)

    def slice_bits(self, indices: int | Sequence[int]) -> BitArray:
        """The bits at ``indices`` (0 is the least significant), in that order."""
        chosen = (indices,) if isinstance(indices, int) else tuple(indices)
        for index in chosen:
            if index < 0 or index >= self._num_bits:
                raise IndexError(
                    f"index {index} is out of bounds for the number of bits {self._num_bits}."
                )
        bits = unpack_bits(self._array, self._num_bits)[..., list(chosen)]
        packed, num_bits = pack_bits(bits)
        return BitArray(packed, num_bits)

    def slice_shots(self, indices: int | Sequence[int]) -> BitArray:
        """The shots at ``indices``, in that order."""
        chosen = (indices,) if isinstance(indices, int) else tuple(indices)
        for index in chosen:
            if index < 0 or index >= self.num_shots:
                raise IndexError(
                    f"index {index} is out of bounds for the number of shots {self.num_shots}."
                )
        return BitArray(self._array[..., list(chosen), :], self._num_bits)

    def postselect(
        self, indices: Sequence[int] | int, selection: Sequence[bool | int] | bool | int
    ) -> BitArray:
        """The shots (all points flattened into one axis) whose bits at ``indices`` equal
        ``selection``; negative indices count from the most significant bit."""
        index_t = (indices,) if isinstance(indices, int) else tuple(indices)
        select_t = (selection,) if isinstance(selection, bool | int) else tuple(selection)
        if len(select_t) != len(index_t):
            raise ValueError("Lengths of indices and selection do not match.")
        positions = np.asarray(index_t, dtype=np.int64)
        wanted = np.asarray(select_t, dtype=bool)
        width = self._array.shape[-1]
        if positions.size:
            if positions.max() >= self._num_bits:
                raise IndexError(
                    f"index {int(positions.max())} out of bounds for the number of bits "
                    f"{self._num_bits}."
                )
            if positions.min() < -self._num_bits:
                raise IndexError(
                    f"index {int(positions.min())} out of bounds for the number of bits "
                    f"{self._num_bits}."
                )
        flattened = self.reshape(self.size * self.num_shots)  # qiskit's own flattening
        if not positions.size:
            return flattened
        flat = flattened.array.reshape(-1, width)
        positions %= self._num_bits
        if np.intersect1d(positions[wanted], positions[~wanted]).size:
            return BitArray(np.empty((0, width), dtype=np.uint8), self._num_bits)
        return BitArray(flat[matching_rows(flat, positions, wanted)], self._num_bits)

    # -- building ------------------------------------------------------------------------

    @staticmethod
    def from_bool_array(array: Any, order: Literal["big", "little"] = "big") -> BitArray:
        """A BitArray from booleans, bit strings along the last axis."""
        bools = np.asarray(array, dtype=bool)
        if bools.ndim < 2:
            raise ValueError("Expecting at least two dimensions.")
        if order == "little":
            bools = bools[..., ::-1]
        elif order != "big":
            raise ValueError(
                f"unknown value for order: '{order}'. Valid values are 'big' and 'little'."
            )
        num_bits = bools.shape[-1]
        if pad := -num_bits % 8:
            zeros = np.zeros((*bools.shape[:-1], pad), dtype=bool)
            bools = np.concatenate([zeros, bools], axis=-1)
        return BitArray(np.packbits(bools, axis=-1), num_bits)

    @staticmethod
    def from_counts(
        counts: Mapping[str | int, int] | Iterable[Mapping[str | int, int]],
        num_bits: int | None = None,
    ) -> BitArray:
        """A BitArray from one counts mapping (shape ``()``) or several (shape ``(N,)``)."""
        single = isinstance(counts, Mapping)
        mappings: list[Mapping[Any, int]] = (
            [counts] if isinstance(counts, Mapping) else list(counts)
        )
        if not mappings:
            raise ValueError("At least one counts mapping expected.")
        mappings = [m.int_outcomes() if hasattr(m, "int_outcomes") else m for m in mappings]
        samples = (k for m in mappings for k, n in m.items() for k in repeat(k, n))
        bits = BitArray.from_samples(samples, num_bits)
        if not single:
            if bits.num_shots % len(mappings):
                raise ValueError("All of your mappings need to have the same number of shots.")
            bits = bits.reshape(len(mappings), bits.num_shots // len(mappings))
        return bits

    @staticmethod
    def from_samples(
        samples: Iterable[str] | Iterable[int], num_bits: int | None = None
    ) -> BitArray:
        """A BitArray (shape ``()``) from bit strings, hex strings (``'0x…'``) or integers."""
        it = iter(samples)
        try:
            first = next(it)
        except StopIteration as exc:
            raise ValueError("At least one sample is required.") from exc
        ints: Iterable[int]
        rest: Iterator[Any] = it
        if isinstance(first, str):
            base = 16 if first.startswith("0x") else 2
            ints = (int(v, base) for v in chain([first], rest))
        else:
            ints = chain([cast("int", first)], rest)
        if num_bits is None:
            ints = list(ints)
            num_bits = max(map(int.bit_length, ints)) or 1
        return BitArray(pack_ints(ints, num_bits), num_bits)

    @staticmethod
    def concatenate(bit_arrays: Sequence[BitArray], axis: int = 0) -> BitArray:
        """Join along an existing pub axis (same bits, shots and number of axes)."""
        if not bit_arrays:
            raise ValueError("Need at least one bit array to concatenate")
        first = bit_arrays[0]
        if first.ndim == 0:
            raise ValueError("Zero-dimensional bit arrays cannot be concatenated")
        for i, other in enumerate(bit_arrays):
            for what, mine, theirs in (
                ("bits", first.num_bits, other.num_bits),
                ("shots", first.num_shots, other.num_shots),
                ("dimensions", first.ndim, other.ndim),
            ):
                if mine != theirs:
                    raise ValueError(
                        f"All bit arrays must have same number of {what}, but the bit array at "
                        f"index 0 has {mine} and the bit array at index {i} has {theirs}."
                    )
        if axis < 0 or axis >= first.ndim:
            raise ValueError(
                f"axis {axis} is out of bounds for bit array of dimension {first.ndim}."
            )
        return BitArray(np.concatenate([b.array for b in bit_arrays], axis=axis), first.num_bits)

    @staticmethod
    def concatenate_shots(bit_arrays: Sequence[BitArray]) -> BitArray:
        """Join along the shots axis (same bits and shape)."""
        if not bit_arrays:
            raise ValueError("Need at least one bit array to stack")
        first = bit_arrays[0]
        for i, other in enumerate(bit_arrays):
            if other.num_bits != first.num_bits or other.shape != first.shape:
                raise ValueError(
                    f"All bit arrays must have same number of bits and shape as the first; the "
                    f"bit array at index {i} does not."
                )
        return BitArray(np.concatenate([b.array for b in bit_arrays], axis=-2), first.num_bits)

    @staticmethod
    def concatenate_bits(bit_arrays: Sequence[BitArray]) -> BitArray:
        """Join bit strings shot by shot: the first array's bits become the least
        significant (qiskit's order)."""
        if not bit_arrays:
            raise ValueError("Need at least one bit array to stack")
        first = bit_arrays[0]
        for i, other in enumerate(bit_arrays):
            if other.num_shots != first.num_shots or other.shape != first.shape:
                raise ValueError(
                    f"All bit arrays must have same number of shots and shape as the first; "
                    f"the bit array at index {i} does not."
                )
        bits = np.concatenate([unpack_bits(b.array, b.num_bits) for b in bit_arrays], axis=-1)
        packed, num_bits = pack_bits(bits)
        return BitArray(packed, num_bits)

    # -- conversion ----------------------------------------------------------------------

    def to_qiskit(self) -> Any:
        """qiskit's ``BitArray`` over the same array, no copy (needs the ``qiskit`` extra)."""
        from ._qiskit import require_qiskit

        require_qiskit("BitArray.to_qiskit()")
        from qiskit.primitives.containers import BitArray as QiskitBitArray

        return QiskitBitArray(self._array, self._num_bits)


def _is_qiskit_bit_array(value: object) -> bool:
    cls = type(value)
    return cls.__name__ == "BitArray" and cls.__module__.startswith("qiskit.")
