"""BitArray: a sampler register's shots, stored as qiskit stores them.

``array`` is ``uint8`` of shape ``(*shape, num_shots, ceil(num_bits / 8))`` with big-endian
bytes (the last byte holds the least significant bits), so
[`BitArray.to_qiskit`][qruntime_session.primitives.BitArray.to_qiskit] wraps the same array
without a copy. Every public method and property of qiskit's ``BitArray`` is
here, with the same results; counting sorts the shots once instead of stepping through them.
The operations that make new arrays (reshaping, slicing, joining, bitwise operators,
expectation values) are inherited from ``_bitarray_ops.BitArrayOps``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from itertools import chain, repeat
from typing import Any, Literal, Self, cast

import numpy as np

from ._bitarray_ops import BitArrayOps
from ._bitops import (
    bitstrings,
    counts_dict,
    masked_rows,
    min_num_bytes,
    pack_ints,
    row_ints,
    unique_rows,
)
from ._shaped import PubShaped

__all__ = ["BitArray"]

Loc = int | tuple[int, ...] | None
_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


class BitArray(BitArrayOps, PubShaped):
    """The measured values of one classical register: ``num_shots`` bit strings per point of
    the pub's ``shape`` (``()`` without a parameter sweep), each ``num_bits`` wide.

    Bit 0 is the register's clbit 0; bit strings print the most significant bit first, as
    qiskit prints them (``'01'`` means clbit 0 is 1). ``&``, ``|``, ``^``, ``~`` and indexing
    over the pub's axes work as in qiskit.

    Arrays arrive in results (``result[0].data.meas``); build one yourself with
    [`from_samples`][qruntime_session.primitives.BitArray.from_samples],
    [`from_counts`][qruntime_session.primitives.BitArray.from_counts] or
    [`from_bool_array`][qruntime_session.primitives.BitArray.from_bool_array].
    """

    __slots__ = ("_array", "_num_bits", "_shape")

    def __init__(self, array: np.ndarray, num_bits: int) -> None:
        """A bit array over ``array``, kept as it is (no copy).

        Args:
            array: Packed ``uint8`` data of shape ``(*shape, num_shots, ceil(num_bits / 8))``,
                big-endian per shot (the last byte holds the least significant bits).
            num_bits: The register's width in bits.

        Raises:
            TypeError: ``array`` is not a ``numpy.ndarray`` of ``uint8``.
            ValueError: ``array`` has fewer than two axes, or its last axis is not
                ``ceil(num_bits / 8)`` bytes long.
        """
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
        self._shape = tuple(array.shape[:-2])

    @classmethod
    def _from_packed(cls, array: np.ndarray, num_bits: int) -> Self:
        return cls(array, num_bits)

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
        """Counts keyed by bit string (most significant bit first), like qiskit's.

        Args:
            loc: One point of the pub's shape (an index or a tuple of them); ``None`` counts
                the shots of every point together.

        Returns:
            The number of shots of each bit string that occurs, by bit string.

        Raises:
            IndexError: ``loc`` is outside `shape`.
        """
        keys, counts = unique_rows(self._rows(loc))
        return counts_dict(keys, counts, self._num_bits)

    def get_int_counts(self, loc: Loc = None) -> dict[int, int]:
        """Counts keyed by the register's value as an integer.

        Args:
            loc: One point of the pub's shape (an index or a tuple of them); ``None`` counts
                the shots of every point together.

        Returns:
            The number of shots of each value that occurs, by value.

        Raises:
            IndexError: ``loc`` is outside `shape`.
        """
        keys, counts = unique_rows(self._rows(loc))
        return dict(zip(row_ints(keys), counts.tolist(), strict=True))

    def get_bitstrings(self, loc: Loc = None) -> list[str]:
        """One bit string per shot (most significant bit first), in measurement order.

        Args:
            loc: One point of the pub's shape (an index or a tuple of them); ``None`` lists
                the shots of every point, point after point.

        Returns:
            The bit strings, each `num_bits` characters long.

        Raises:
            IndexError: ``loc`` is outside `shape`.
        """
        return bitstrings(self._rows(loc), self._num_bits)

    def get_ints(self, loc: Loc = None) -> list[int]:
        """One integer per shot, in measurement order (this SDK's addition).

        Args:
            loc: One point of the pub's shape (an index or a tuple of them); ``None`` lists
                the shots of every point, point after point.

        Returns:
            The register's value at each shot.

        Raises:
            IndexError: ``loc`` is outside `shape`.
        """
        return row_ints(self._rows(loc))

    def bitcount(self) -> np.ndarray:
        """The number of ones in each shot.

        Returns:
            ``uint64`` counts of shape ``(*shape, num_shots)``.
        """
        result = _POPCOUNT[self._array].sum(axis=-1, dtype=np.uint64)
        excess = self._num_bits % 8
        if excess and self._array.shape[-1]:
            result -= _POPCOUNT[self._array[..., 0] >> np.uint8(excess)].astype(np.uint64)
        out: np.ndarray = result
        return out

    def to_bool_array(self, order: Literal["big", "little"] = "big") -> np.ndarray:
        """The bits as booleans, unpacked.

        Args:
            order: ``"big"`` puts the most significant bit at ``[..., 0]``, ``"little"`` the
                least significant.

        Returns:
            ``bool`` values of shape ``(*shape, num_shots, num_bits)``.

        Raises:
            ValueError: ``order`` is neither ``"big"`` nor ``"little"``.
        """
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

    # -- building ------------------------------------------------------------------------

    @staticmethod
    def from_bool_array(array: Any, order: Literal["big", "little"] = "big") -> BitArray:
        """A bit array from booleans, each bit string along the last axis.

        Args:
            array: Booleans (or anything numpy reads as them) of shape
                ``(*shape, num_shots, num_bits)``.
            order: ``"big"`` if ``[..., 0]`` is the most significant bit, ``"little"`` if it
                is the least significant.

        Returns:
            A new array, ``array``'s last axis wide.

        Raises:
            ValueError: ``array`` has fewer than two axes, or ``order`` is neither ``"big"``
                nor ``"little"``.
        """
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
        """A bit array from one counts mapping, or several with equal totals.

        Args:
            counts: Shot counts by outcome (bit strings, hex strings ``'0x…'`` or integers),
                as one mapping (a shape ``()`` result) or an iterable of ``N`` of them (shape
                ``(N,)``). qiskit's ``Counts`` are read by their integer outcomes.
            num_bits: The width; ``None`` takes the widest outcome's (at least 1).

        Returns:
            A new array whose shots are the outcomes repeated by their counts, in the
            mappings' order.

        Raises:
            ValueError: No mapping, mappings with different numbers of shots, no shots, or
                an outcome wider than ``num_bits``.
        """
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
        """A bit array of shape ``()`` from samples, one shot each.

        Args:
            samples: Bit strings (most significant bit first), hex strings (``'0x…'``) or
                non-negative integers; the first sample decides which.
            num_bits: The width; ``None`` takes the widest sample's (at least 1).

        Returns:
            A new array with one shot per sample, in order.

        Raises:
            ValueError: No samples, or a sample is negative or wider than ``num_bits``.
        """
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

    # -- conversion ----------------------------------------------------------------------

    def to_qiskit(self) -> Any:
        """qiskit's ``BitArray`` over the same array, without a copy.

        Returns:
            A ``qiskit.primitives.containers.BitArray``.

        Raises:
            ExtraNotInstalledError: qiskit is not installed (the ``qiskit`` extra).
        """
        from ._qiskit import require_qiskit

        require_qiskit("BitArray.to_qiskit()")
        from qiskit.primitives.containers import BitArray as QiskitBitArray

        return QiskitBitArray(self._array, self._num_bits)


def _is_qiskit_bit_array(value: object) -> bool:
    cls = type(value)
    return cls.__name__ == "BitArray" and cls.__module__.startswith("qiskit.")
