"""The operations of [`BitArray`][qruntime_session.primitives.BitArray] that make new arrays.

Reshaping, transposing, indexing, slicing bits or shots, post-selecting, joining several arrays,
the bitwise operators, and expectation values of diagonal observables. ``BitArray`` inherits
them from ``BitArrayOps``, which knows
the packed storage (``_array``, ``_num_bits``, ``_shape``) and builds its results through
``_from_packed``; construction, the properties and reading out counts stay in ``BitArray``.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Self, TypeVar, cast

import numpy as np

from ._bitops import expectation, matching_rows, observable_grid, pack_bits, unpack_bits

__all__ = ["BitArrayOps"]

_OpsT = TypeVar("_OpsT", bound="BitArrayOps")


def _shape_tuple(shape: Iterable[Any]) -> tuple[int, ...]:
    out: list[int] = []
    for item in shape:
        if isinstance(item, Iterable) and not isinstance(item, str | bytes):
            out.extend(_shape_tuple(item))
        else:
            out.append(int(item))
    return tuple(out)


def _alike(arrays: Sequence[_OpsT], what: str, count: Callable[[_OpsT], int]) -> _OpsT:
    """The first of ``arrays``, checked to have the same ``count`` (of ``what``: bits, shots)
    and shape as each of the others (``ValueError`` otherwise, and for no arrays)."""
    if not arrays:
        raise ValueError("Need at least one bit array to stack")
    first = arrays[0]
    for i, other in enumerate(arrays):
        if count(other) != count(first) or other._shape != first._shape:
            raise ValueError(
                f"All bit arrays must have same number of {what} and shape as the first; the "
                f"bit array at index {i} does not."
            )
    return first


class BitArrayOps:
    """The reshaping, slicing, joining and bitwise operations of
    [`BitArray`][qruntime_session.primitives.BitArray], each returning a new array of the
    subclass's type (the input is never changed)."""

    __slots__ = ()

    _array: np.ndarray
    _num_bits: int
    _shape: tuple[int, ...]

    @classmethod
    @abstractmethod
    def _from_packed(cls, array: np.ndarray, num_bits: int) -> Self:
        """A new array of this type over ``array`` (packed ``uint8``), ``num_bits`` wide."""
        raise NotImplementedError

    # -- operators -----------------------------------------------------------------------

    def _broadcast(self, other: Self) -> tuple[np.ndarray, np.ndarray]:
        if self._num_bits != other._num_bits:
            raise ValueError(f"'num_bits' must match in {self} and {other}.")
        try:
            shape = np.broadcast_shapes(
                (*self._shape, self._array.shape[-2]), (*other._shape, other._array.shape[-2])
            )
        except ValueError as exc:
            raise ValueError(f"{self} and {other} are not compatible for this operation.") from exc
        full = (*shape, self._array.shape[-1])
        return np.broadcast_to(self._array, full), np.broadcast_to(other._array, full)

    def __and__(self, other: Self) -> Self:
        return self._from_packed(np.bitwise_and(*self._broadcast(other)), self._num_bits)

    def __or__(self, other: Self) -> Self:
        return self._from_packed(np.bitwise_or(*self._broadcast(other)), self._num_bits)

    def __xor__(self, other: Self) -> Self:
        return self._from_packed(np.bitwise_xor(*self._broadcast(other)), self._num_bits)

    def __invert__(self) -> Self:
        return self._from_packed(np.bitwise_not(self._array), self._num_bits)

    def __getitem__(self, indices: Any) -> Self:
        if isinstance(indices, tuple):
            ndim = len(self._shape)
            if len(indices) == ndim + 1:
                raise IndexError(
                    "BitArray cannot be sliced along the shots axis, use slice_shots() instead."
                )
            if len(indices) >= ndim + 2:
                raise IndexError(
                    "BitArray cannot be sliced along the bits axis, use slice_bits() instead."
                )
        return self._from_packed(self._array[indices], self._num_bits)

    # -- observables ---------------------------------------------------------------------

    def expectation_values(self, observables: Any) -> np.ndarray:
        """Expectation values of diagonal observables, broadcast against this array's shape.

        Args:
            observables: One observable or an array-like of them, broadcast against `shape`.
                An observable is a label of ``I``, ``Z``, ``0`` and ``1`` characters (most
                significant bit first), a dict of labels to coefficients, or a qiskit
                ``SparsePauliOp`` / ``Pauli`` made of ``I`` and ``Z``.

        Returns:
            ``float64`` values, shaped as ``shape`` broadcast with the observables' shape.

        Raises:
            TypeError: An observable is none of the kinds above.
            ValueError: An observable is empty (as in qiskit, terms within 1e-8 of zero are
                dropped first), has a complex coefficient, or is not diagonal (``X``, ``Y``,
                an unknown character), its width differs from `num_bits`, the observables are
                ragged, their shape does not broadcast with `shape`, or there are no shots.
        """
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

    def reshape(self, *shape: Any) -> Self:
        """The same shots with another pub shape.

        When the new shape's size is `size` times `num_shots`, the shots join the reshape
        and each new point holds one shot (as in qiskit).

        Args:
            *shape: The new shape, as integers or one tuple of them.

        Returns:
            A new array over the same data (a view where numpy can make one).

        Raises:
            ValueError: The new shape's size is neither `size` nor `size` times `num_shots`.
        """
        new = _shape_tuple(shape)
        size = math.prod(new)
        points = math.prod(self._shape)
        if size == points:
            full = (*new, *self._array.shape[-2:])
        elif size == points * self._array.shape[-2]:
            full = (*new, self._array.shape[-1])
        else:
            raise ValueError("Cannot change the size of the array.")
        return self._from_packed(self._array.reshape(full), self._num_bits)

    def transpose(self, *axes: Any) -> Self:
        """The pub axes permuted, as ``numpy.ndarray.transpose`` permutes axes.

        Args:
            *axes: A permutation of the pub axes, as integers or one sequence of them
                (negative ones count from the end); none reverses the axes.

        Returns:
            A new array over the same data, shots and bits left last.

        Raises:
            ValueError: The axes are not one per pub axis, or one is out of bounds.
        """
        ndim = len(self._shape)
        if not axes:
            axes = tuple(reversed(range(ndim)))
        if len(axes) == 1 and isinstance(axes[0], Sequence):
            axes = tuple(axes[0])
        if len(axes) != ndim:
            raise ValueError("axes don't match bit array")
        for i in axes:
            if i >= ndim or ndim + i < 0:
                raise ValueError(f"axis {i} is out of bounds for bit array of dimension {ndim}.")
        order = (*(i if i >= 0 else ndim + i for i in axes), -2, -1)
        return self._from_packed(self._array.transpose(order), self._num_bits)

    def slice_bits(self, indices: int | Sequence[int]) -> Self:
        """The bits at ``indices``, in that order.

        Args:
            indices: One bit index or a sequence of them; 0 is the least significant bit.
                The first index becomes bit 0 of the result.

        Returns:
            A new array, as many bits wide as ``indices`` names, with the same shape and shots.

        Raises:
            IndexError: An index is negative or not below `num_bits`.
        """
        chosen = (indices,) if isinstance(indices, int) else tuple(indices)
        for index in chosen:
            if index < 0 or index >= self._num_bits:
                raise IndexError(
                    f"index {index} is out of bounds for the number of bits {self._num_bits}."
                )
        bits = unpack_bits(self._array, self._num_bits)[..., list(chosen)]
        packed, num_bits = pack_bits(bits)
        return self._from_packed(packed, num_bits)

    def slice_shots(self, indices: int | Sequence[int]) -> Self:
        """The shots at ``indices``, in that order.

        Args:
            indices: One shot index or a sequence of them, at each point of the pub's shape.

        Returns:
            A new array with as many shots as ``indices`` names.

        Raises:
            IndexError: An index is negative or not below `num_shots`.
        """
        num_shots = self._array.shape[-2]
        chosen = (indices,) if isinstance(indices, int) else tuple(indices)
        for index in chosen:
            if index < 0 or index >= num_shots:
                raise IndexError(
                    f"index {index} is out of bounds for the number of shots {num_shots}."
                )
        return self._from_packed(self._array[..., list(chosen), :], self._num_bits)

    def postselect(
        self, indices: Sequence[int] | int, selection: Sequence[bool | int] | bool | int
    ) -> Self:
        """The shots whose bits at ``indices`` equal ``selection``, as in qiskit.

        The shots of every point of the pub's shape are pooled first, so the result has
        shape ``()`` and holds the kept shots in order, as qiskit's ``postselect`` gives them.

        Args:
            indices: One bit index or a sequence of them; 0 is the least significant bit and
                negative indices count from the most significant.
            selection: The wanted value of each bit in ``indices`` (one value for one index).

        Returns:
            A new array of the kept shots, `num_bits` wide; with no ``indices``, every shot.

        Raises:
            ValueError: ``indices`` and ``selection`` differ in length.
            IndexError: An index is not below `num_bits` or below minus `num_bits`.
        """
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
        # qiskit's own flattening
        flattened = self.reshape(math.prod(self._shape) * self._array.shape[-2])
        if not positions.size:
            return flattened
        flat = flattened._array.reshape(-1, width)
        positions %= self._num_bits
        if np.intersect1d(positions[wanted], positions[~wanted]).size:
            return self._from_packed(np.empty((0, width), dtype=np.uint8), self._num_bits)
        return self._from_packed(flat[matching_rows(flat, positions, wanted)], self._num_bits)

    # -- joining -------------------------------------------------------------------------

    @classmethod
    def concatenate(cls, bit_arrays: Sequence[Self], axis: int = 0) -> Self:
        """Join arrays along an existing pub axis.

        Args:
            bit_arrays: The arrays, each with the same number of bits, shots and pub axes.
            axis: The pub axis to join along (not negative).

        Returns:
            A new array whose ``axis`` is the sum of the arrays' lengths along it.

        Raises:
            ValueError: No arrays, zero-dimensional arrays, arrays differing in bits, shots
                or number of axes, or ``axis`` out of bounds.
        """
        if not bit_arrays:
            raise ValueError("Need at least one bit array to concatenate")
        first = bit_arrays[0]
        ndim = len(first._shape)
        if ndim == 0:
            raise ValueError("Zero-dimensional bit arrays cannot be concatenated")
        for i, other in enumerate(bit_arrays):
            for what, mine, theirs in (
                ("bits", first._num_bits, other._num_bits),
                ("shots", first._array.shape[-2], other._array.shape[-2]),
                ("dimensions", ndim, len(other._shape)),
            ):
                if mine != theirs:
                    raise ValueError(
                        f"All bit arrays must have same number of {what}, but the bit array at "
                        f"index 0 has {mine} and the bit array at index {i} has {theirs}."
                    )
        if axis < 0 or axis >= ndim:
            raise ValueError(f"axis {axis} is out of bounds for bit array of dimension {ndim}.")
        joined = np.concatenate([b._array for b in bit_arrays], axis=axis)
        return cls._from_packed(joined, first._num_bits)

    @classmethod
    def concatenate_shots(cls, bit_arrays: Sequence[Self]) -> Self:
        """Join arrays along the shots axis.

        Args:
            bit_arrays: The arrays, each with the same number of bits and the same shape.

        Returns:
            A new array whose shots are the arrays' shots, in order.

        Raises:
            ValueError: No arrays, or arrays differing in bits or shape.
        """
        first = _alike(bit_arrays, "bits", lambda b: b._num_bits)
        joined = np.concatenate([b._array for b in bit_arrays], axis=-2)
        return cls._from_packed(joined, first._num_bits)

    @classmethod
    def concatenate_bits(cls, bit_arrays: Sequence[Self]) -> Self:
        """Join bit strings shot by shot.

        Args:
            bit_arrays: The arrays, each with the same number of shots and the same shape. The
                first array's bits become the least significant (qiskit's order).

        Returns:
            A new array as wide as the arrays' widths together.

        Raises:
            ValueError: No arrays, or arrays differing in shots or shape.
        """
        _alike(bit_arrays, "shots", lambda b: int(b._array.shape[-2]))
        bits = np.concatenate([unpack_bits(b._array, b._num_bits) for b in bit_arrays], axis=-1)
        packed, num_bits = pack_bits(bits)
        return cls._from_packed(packed, num_bits)
