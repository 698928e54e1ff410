"""Result containers shaped like qiskit's (``qiskit.primitives.containers``), on numpy.

``PrimitiveResult`` → one ``SamplerPubResult``/``PubResult`` per pub → ``.data`` (a
``DataBin``) whose fields are [`BitArray`][qruntime_session.primitives.BitArray] registers
(sampler) or ``numpy.ndarray`` values (estimator: ``evs``, ``stds``,
``ensemble_standard_error``).
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, Sequence, ValuesView
from typing import Any, Generic, TypeVar, overload

import numpy as np

from .._display import ResultDisplay
from ._bitarray import BitArray
from ._shaped import PubShaped

__all__ = [
    "BitArray",
    "DataBin",
    "PrimitiveResult",
    "PubResult",
    "SamplerPubResult",
]

_RESTRICTED = frozenset({"_fields", "_shape", "keys", "values", "items", "shape", "ndim", "size"})


def _value_repr(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"np.ndarray(<shape={value.shape}, dtype={value.dtype}>)"
    return repr(value)


class DataBin(PubShaped):
    """The data of one pub: named fields, read as attributes (``data.meas``) or items
    (``data["meas"]``); iterating gives the names, like qiskit's ``DataBin``. Read-only."""

    __slots__ = ("_fields", "_shape")
    _fields: dict[str, Any]
    _shape: tuple[int, ...]

    def __init__(
        self, fields: Mapping[str, Any] | None = None, /, *, shape: Any = (), **data: Any
    ) -> None:
        """A data bin holding ``fields`` and ``data``, each value leading with ``shape``.

        Args:
            fields: The fields by name (positional only).
            shape: The pub's shape, which every value's shape must start with.
            **data: More fields, by keyword (they win over ``fields``).

        Raises:
            ValueError: A field name is reserved (``keys``, ``shape``, ...), or a value does
                not lead with ``shape``.
        """
        merged = {**(fields or {}), **data}
        if bad := sorted(_RESTRICTED.intersection(merged)):
            raise ValueError(f"Cannot assign with these field names: {bad}")
        shape_t = (int(shape),) if isinstance(shape, int) else tuple(int(n) for n in shape)
        for name, value in merged.items():
            if tuple(getattr(value, "shape", shape_t))[: len(shape_t)] != shape_t:
                raise ValueError(f"The value of '{name}' does not lead with the shape {shape_t}.")
        object.__setattr__(self, "_fields", merged)
        object.__setattr__(self, "_shape", shape_t)

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
        """The field names, in order.

        Returns:
            A view of the names.
        """
        return self._fields.keys()

    def values(self) -> ValuesView[Any]:
        """The field values, in order.

        Returns:
            A view of the values.
        """
        return self._fields.values()

    def items(self) -> ItemsView[str, Any]:
        """The ``(name, value)`` pairs, in order.

        Returns:
            A view of the pairs.
        """
        return self._fields.items()

    def get(self, name: str, default: Any = None) -> Any:
        """A field's value, or ``default`` when there is no such field.

        Args:
            name: The field's name.
            default: What to return when there is no field ``name``.

        Returns:
            The value, or ``default``.
        """
        return self._fields.get(name, default)

    @property
    def shape(self) -> tuple[int, ...]:
        """The pub's shape, which every field's shape starts with."""
        return self._shape

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DataBin):
            return NotImplemented
        if self._shape != other._shape or list(self._fields) != list(other._fields):
            return False
        return all(_same(v, other._fields[k]) for k, v in self._fields.items())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        try:
            parts = [f"{k}={_value_repr(v)}" for k, v in self._fields.items()]
            if self._shape:
                parts.append(f"shape={self._shape}")
        except AttributeError:  # a half-built object still prints
            return "DataBin(<incomplete>)"
        return f"DataBin({', '.join(parts)})"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.shape == b.shape
            and bool(np.array_equal(a, b))
        )
    return bool(a == b)


class PubResult(ResultDisplay):
    """The result of one pub: ``data`` (a [`DataBin`][qruntime_session.primitives.DataBin])
    and ``metadata``.

    Estimator pubs give a plain ``PubResult`` (as in qiskit): ``data.evs``, ``data.stds`` and
    ``data.ensemble_standard_error`` are ``numpy`` arrays shaped like the pub."""

    __slots__ = ("data", "metadata")

    def __init__(self, data: DataBin, metadata: Mapping[str, Any] | None = None) -> None:
        """A pub result over ``data``.

        Args:
            data: The pub's data.
            metadata: The pub's metadata (copied; default: empty).
        """
        self.data = data
        """The pub's data, one field per register (sampler) or per estimate (estimator)."""
        self.metadata: dict[str, Any] = dict(metadata or {})
        """The pub's metadata as the service sent it (shots, circuit metadata, ...)."""

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
        try:
            metadata = f", metadata={self.metadata!r}" if self.metadata else ""
            return f"{type(self).__name__}(data={self.data!r}{metadata})"
        except AttributeError:  # a half-built object still prints
            return f"{type(self).__name__}(<incomplete>)"

    def to_qiskit(self) -> Any:
        """qiskit's own pub result over the same arrays (needs the ``qiskit`` extra).

        Returns:
            A ``qiskit.primitives.containers`` ``PubResult`` or ``SamplerPubResult``.

        Raises:
            ExtraNotInstalledError: qiskit is not installed.
        """
        return _pub_to_qiskit(self)


class SamplerPubResult(PubResult):
    """The result of one sampler pub; ``data`` holds one
    [`BitArray`][qruntime_session.primitives.BitArray] per register."""

    __slots__ = ()

    def join_data(self, names: Iterable[str] | None = None) -> BitArray | np.ndarray:
        """Registers joined along the bits axis; the first register's bits are the least
        significant, as in qiskit.

        Args:
            names: The registers to join, in order (default: all of them).

        Returns:
            One bit array (for bit-array registers), or one ``numpy`` array joined along the
            last axis (for array fields).

        Raises:
            ValueError: There is nothing to join, or a name is not a field.
            TypeError: The fields are of different kinds.
        """
        if names is None:
            chosen = list(self.data)
            if not chosen:
                raise ValueError("No entry exists in the data bin.")
        else:
            chosen = list(names)
            if not chosen:
                raise ValueError("An empty name list is given.")
            for name in chosen:
                if name not in self.data:
                    raise ValueError(f"Name '{name}' does not exist.")
        values = [self.data[name] for name in chosen]
        if all(isinstance(v, BitArray) for v in values):
            return BitArray.concatenate_bits(values)
        if all(isinstance(v, np.ndarray) for v in values):
            return np.concatenate(values, axis=-1)
        raise TypeError("Data comes from incompatible types.")


PubT = TypeVar("PubT", bound=PubResult, covariant=True)


class PrimitiveResult(Sequence[PubT], Generic[PubT], ResultDisplay):
    """A sampler or estimator job's result: one pub result per pub, plus ``metadata``.

    ``len(result)``, ``result[i]``, iteration, as qiskit's ``PrimitiveResult``.
    """

    __slots__ = ("_pub_results", "metadata")

    def __init__(
        self, pub_results: Iterable[PubT], metadata: Mapping[str, Any] | None = None
    ) -> None:
        """A result over ``pub_results``.

        Args:
            pub_results: One result per pub, in the pubs' order.
            metadata: The job-wide metadata (copied; default: empty).
        """
        self._pub_results: tuple[PubT, ...] = tuple(pub_results)
        self.metadata: dict[str, Any] = dict(metadata or {})
        """The job-wide metadata as the service sent it (execution spans, version, ...)."""

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
        try:
            return f"PrimitiveResult({list(self._pub_results)!r}, metadata={self.metadata!r})"
        except AttributeError:  # a half-built object still prints
            return "PrimitiveResult(<incomplete>)"

    def to_qiskit(self) -> Any:
        """qiskit's own ``PrimitiveResult`` over the same arrays, no copies (needs the
        ``qiskit`` extra).

        Returns:
            A ``qiskit.primitives.containers.PrimitiveResult``.

        Raises:
            ExtraNotInstalledError: qiskit is not installed.
        """
        from ._qiskit import require_qiskit

        require_qiskit("PrimitiveResult.to_qiskit()")
        from qiskit.primitives.containers import PrimitiveResult as QiskitPrimitiveResult

        pubs = [_pub_to_qiskit(pub) for pub in self._pub_results]
        return QiskitPrimitiveResult(pubs, metadata=self.metadata)


def _pub_to_qiskit(pub: PubResult) -> Any:
    from ._qiskit import require_qiskit

    require_qiskit("PubResult.to_qiskit()")
    from qiskit.primitives.containers import DataBin as QiskitDataBin
    from qiskit.primitives.containers import PubResult as QiskitPubResult
    from qiskit.primitives.containers import SamplerPubResult as QiskitSamplerPubResult

    fields = {
        name: value.to_qiskit() if isinstance(value, BitArray) else value
        for name, value in pub.data.items()
    }
    data = QiskitDataBin(**fields, shape=pub.data.shape)
    cls = QiskitSamplerPubResult if isinstance(pub, SamplerPubResult) else QiskitPubResult
    return cls(data, metadata=pub.metadata)
