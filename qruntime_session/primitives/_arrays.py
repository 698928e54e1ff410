"""NDArray: a small, read-only, pure-Python n-dimensional array (values plus a shape).

Estimator values (``evs``, ``stds``, ``ensemble_standard_error``) and any other array a result
carries are NDArrays. They behave like the numpy arrays qiskit returns where reading is
concerned: ``shape``, ``ndim``, ``size``, ``dtype``, indexing with ints and tuples of ints,
iteration over the first axis, ``len()``, ``float()``/``complex()``/``int()`` of a one-value
array, ``tolist()``, ``item()``; ``to_numpy()`` converts when numpy is installed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any, SupportsIndex

__all__ = ["NDArray", "axis_index", "nested_shape"]


def _product(shape: Sequence[int]) -> int:
    return math.prod(shape)


def nested_shape(value: object, max_depth: int = 64) -> tuple[int, ...] | None:
    """The shape of a rectangular nest of lists/tuples whose leaves are not lists, else ``None``."""
    shape: list[int] = []
    probe = value
    while isinstance(probe, list | tuple):
        if len(shape) >= max_depth:
            return None
        shape.append(len(probe))
        if not probe:
            break
        probe = probe[0]
    flat = _flatten(value, tuple(shape))
    return tuple(shape) if flat is not None else None


def _flatten(value: object, shape: tuple[int, ...]) -> list[Any] | None:
    if not shape:
        return None if isinstance(value, list | tuple) else [value]
    if not isinstance(value, list | tuple) or len(value) != shape[0]:
        return None
    out: list[Any] = []
    for item in value:
        part = _flatten(item, shape[1:])
        if part is None:
            return None
        out.extend(part)
    return out


def _infer_dtype(values: Sequence[Any]) -> str:
    if all(isinstance(v, bool) for v in values) and values:
        return "bool"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values) and values:
        return "int64"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return "float64"
    if all(isinstance(v, int | float | complex) and not isinstance(v, bool) for v in values):
        return "complex128"
    return "object"


def axis_index(raw: SupportsIndex, axis: int, size: int) -> int:
    """``raw`` as an index into an axis of ``size`` (negative counts from the end), or
    ``IndexError`` worded as numpy words it."""
    i = raw.__index__()
    if i < 0:
        i += size
    if not 0 <= i < size:
        raise IndexError(f"index {raw} is out of bounds for axis {axis} with size {size}")
    return i


class NDArray:
    """A read-only array: ``values`` in C order and a ``shape`` (``()`` for a single value)."""

    __slots__ = ("_dtype", "_shape", "_values")

    def __init__(
        self, values: Sequence[Any], shape: Sequence[int] = (), dtype: str | None = None
    ) -> None:
        shape_t = tuple(int(n) for n in shape)
        if any(n < 0 for n in shape_t):
            raise ValueError(f"negative size in shape {shape_t}")
        if _product(shape_t) != len(values):
            raise ValueError(f"{len(values)} values do not fill shape {shape_t}")
        self._values: tuple[Any, ...] = tuple(values)
        self._shape = shape_t
        self._dtype = dtype if dtype is not None else _infer_dtype(self._values)

    @classmethod
    def from_nested(cls, value: object, dtype: str | None = None) -> NDArray:
        """An NDArray from a number or a rectangular nest of lists (``ValueError`` if ragged)."""
        shape = nested_shape(value)
        if shape is None:
            raise ValueError("the nested lists are ragged (not rectangular)")
        flat = _flatten(value, shape)
        assert flat is not None
        return cls(flat, shape, dtype)

    # -- numpy-like attributes -------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def ndim(self) -> int:
        return len(self._shape)

    @property
    def size(self) -> int:
        return len(self._values)

    @property
    def dtype(self) -> str:
        """The element type as numpy names it (``"float64"``, ``"uint8"``, ``"object"`` …)."""
        return self._dtype

    @property
    def flat(self) -> tuple[Any, ...]:
        """All values in C order."""
        return self._values

    def tolist(self) -> Any:
        """Nested Python lists (a bare value for a 0-d array), like ``numpy.ndarray.tolist``."""
        return self._nest(0, self._shape)

    def _nest(self, start: int, shape: tuple[int, ...]) -> Any:
        if not shape:
            return self._values[start]
        step = _product(shape[1:])
        return [self._nest(start + i * step, shape[1:]) for i in range(shape[0])]

    def item(self) -> Any:
        """The one value of a size-1 array."""
        if self.size != 1:
            raise ValueError("can only convert an array of size 1 to a Python scalar")
        return self._values[0]

    def reshape(self, *shape: int) -> NDArray:
        """The same values with another shape (``ValueError`` if the sizes differ)."""
        return NDArray(self._values, shape, self._dtype)

    # -- indexing --------------------------------------------------------------------------

    def _offset(self, index: tuple[SupportsIndex, ...]) -> tuple[int, tuple[int, ...]]:
        if len(index) > self.ndim:
            raise IndexError(
                f"too many indices: array is {self.ndim}-dimensional, {len(index)} were given"
            )
        offset = 0
        for axis, raw in enumerate(index):
            offset += axis_index(raw, axis, self._shape[axis]) * _product(self._shape[axis + 1 :])
        return offset, self._shape[len(index) :]

    def __getitem__(self, index: SupportsIndex | tuple[SupportsIndex, ...]) -> Any:
        key = index if isinstance(index, tuple) else (index,)
        for part in key:
            if not hasattr(part, "__index__"):
                raise TypeError("NDArray indices must be integers or tuples of integers")
        offset, rest = self._offset(key)
        if not rest:
            return self._values[offset]
        return NDArray(self._values[offset : offset + _product(rest)], rest, self._dtype)

    def __len__(self) -> int:
        if not self._shape:
            raise TypeError("len() of unsized object")
        return self._shape[0]

    def __iter__(self) -> Iterator[Any]:
        if not self._shape:
            raise TypeError("iteration over a 0-d array")
        for i in range(self._shape[0]):
            yield self[i]

    def __float__(self) -> float:
        return float(self.item())

    def __complex__(self) -> complex:
        return complex(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NDArray):
            return NotImplemented
        return self._shape == other._shape and self._values == other._values

    def __hash__(self) -> int:
        return hash((self._shape, self._values))

    def __repr__(self) -> str:
        return f"NDArray({self.tolist()!r}, shape={self._shape}, dtype={self._dtype!r})"

    def to_numpy(self) -> Any:
        """This array as a ``numpy.ndarray`` (needs numpy, e.g. the ``qiskit`` extra)."""
        from ._qiskit import require_numpy

        np = require_numpy("NDArray.to_numpy()")
        dtype: Any = None if self._dtype.startswith("str") else self._dtype
        if self._dtype == "object":
            dtype = object
        return np.array(self._values, dtype=dtype).reshape(self._shape)
