"""Vectorised work on packed shots (``uint8``, ``(..., shots, bytes)``, big-endian bytes).

The helpers behind [`BitArray`][qruntime_session.primitives.BitArray]: counting distinct shots by
sorting instead of one Python step per shot, bit strings built from one ASCII buffer, bit
(un)packing, and the diagonal expectation values qiskit's ``sampled_expectation_value`` computes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

__all__ = [
    "bitstrings",
    "diagonal_terms",
    "masked_rows",
    "min_num_bytes",
    "pack_bits",
    "unique_rows",
    "unpack_bits",
]

_CHUNK_ROWS = 1 << 13
_DIAGONAL = frozenset("IZ01")


def min_num_bytes(num_bits: int) -> int:
    """The fewest bytes that hold ``num_bits`` bits."""
    return (num_bits + 7) // 8


def masked_rows(rows: np.ndarray, num_bits: int) -> np.ndarray:
    """``rows`` (2-D, one shot per row) with the bits above ``num_bits`` cleared; the same
    array when none is set (the usual case: no copy)."""
    spare = -num_bits % 8
    if not spare or rows.shape[0] == 0 or rows.shape[1] == 0:
        return rows
    mask = np.uint8(0xFF >> spare)
    if not (rows[:, 0] & ~mask).any():
        return rows
    out = rows.copy()
    out[:, 0] &= mask
    return out


def unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of a 2-D ``uint8`` array (in no set order) and how often each occurs."""
    count, width = rows.shape
    if count == 0:
        return rows[:0], np.zeros(0, dtype=np.int64)
    if width == 0:
        return rows[:1], np.array([count], dtype=np.int64)
    if width == 1:
        tally = np.bincount(rows[:, 0], minlength=256)
        present = np.flatnonzero(tally)
        return present.astype(np.uint8).reshape(-1, 1), tally[present]
    words = -(-width // 8)
    if words * 8 != width or not rows.flags.c_contiguous:
        padded = np.zeros((count, words * 8), dtype=np.uint8)
        padded[:, words * 8 - width :] = rows
    else:
        padded = rows
    columns = padded.view(">u8").reshape(count, words)
    if words == 1:
        keys, counts = np.unique(columns[:, 0], return_counts=True)
        distinct = keys.astype(">u8").reshape(-1, 1).view(np.uint8)[:, 8 - width :]
        return np.ascontiguousarray(distinct), counts
    grouped = _hash_grouped(columns)
    if grouped is None:  # every row distinct: no reordering needed
        return rows, np.ones(count, dtype=np.int64)
    ordered, new = grouped
    first = np.flatnonzero(np.concatenate(([True], new)))
    counts = np.diff(np.append(first, count))
    distinct = ordered[first].view(np.uint8).reshape(-1, words * 8)[:, words * 8 - width :]
    return np.ascontiguousarray(distinct), counts


def _hash_grouped(columns: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Rows of 64-bit words ordered so that equal rows are adjacent, and where each new row
    starts (``new[i]``: row ``i + 1`` differs from row ``i``); ``None`` when all rows differ.

    One 64-bit hash per row is sorted (not the rows); should two different rows share a
    hash, the rows themselves are sorted instead."""
    mixed = columns[:, 0].astype(np.uint64)
    for k in range(1, columns.shape[1]):
        mixed *= np.uint64(0x9E3779B97F4A7C15)
        mixed ^= columns[:, k].astype(np.uint64)
    order = np.argsort(mixed)
    hashes = mixed[order]
    hash_new = hashes[1:] != hashes[:-1]
    if hash_new.all():
        return None
    ordered = columns[order]
    new = np.any(ordered[1:] != ordered[:-1], axis=1)
    if (new & ~hash_new).any():  # a collision: sort the rows themselves
        ordered = columns[np.lexsort(columns.T[::-1])]
        new = np.any(ordered[1:] != ordered[:-1], axis=1)
    return ordered, new


def bitstrings(rows: np.ndarray, num_bits: int) -> list[str]:
    """One bit string (most significant bit first) per row of a 2-D ``uint8`` array."""
    out: list[str] = []
    for chunk in iter_bitstrings(rows, num_bits):
        out.extend(chunk)
    return out


def iter_bitstrings(rows: np.ndarray, num_bits: int) -> Iterator[list[str]]:
    """`bitstrings` a few thousand rows at a time (so each string is still in the CPU's
    cache when a caller hashes it)."""
    count = rows.shape[0]
    if num_bits == 0:
        yield [""] * count
        return
    for start in range(0, count, _CHUNK_ROWS):
        chunk = rows[start : start + _CHUNK_ROWS]
        digits = np.unpackbits(chunk, axis=1)[:, chunk.shape[1] * 8 - num_bits :]
        codes = digits.astype(np.uint32)
        codes += ord("0")
        names: list[str] = codes.view(f"U{num_bits}").ravel().tolist()
        yield names


def counts_dict(keys: np.ndarray, counts: np.ndarray, num_bits: int) -> dict[str, int]:
    """``{bit string: count}`` for distinct rows ``keys``, built a chunk at a time."""
    out: dict[str, int] = {}
    if counts.size and counts.max() == 1:  # every shot distinct (wide random registers)
        for names in iter_bitstrings(keys, num_bits):
            out.update(dict.fromkeys(names, 1))
        return out
    tallies: list[int] = counts.tolist()
    offset = 0
    for names in iter_bitstrings(keys, num_bits):
        out.update(zip(names, tallies[offset : offset + len(names)], strict=True))
        offset += len(names)
    return out


def row_ints(rows: np.ndarray) -> list[int]:
    """One Python integer per row of a 2-D ``uint8`` array (big-endian)."""
    width = rows.shape[1]
    if width == 0:
        return [0] * rows.shape[0]
    if width <= 8:
        padded = np.zeros((rows.shape[0], 8), dtype=np.uint8)
        padded[:, 8 - width :] = rows
        values: list[int] = padded.view(">u8").ravel().tolist()
        return values
    raw = np.ascontiguousarray(rows).tobytes()
    return [int.from_bytes(raw[i : i + width], "big") for i in range(0, len(raw), width)]


def unpack_bits(array: np.ndarray, num_bits: int) -> np.ndarray:
    """One ``uint8`` 0/1 per bit, bit 0 (least significant) first along the last axis."""
    unpacked = np.unpackbits(array, axis=-1, bitorder="big")
    return unpacked[..., unpacked.shape[-1] - num_bits :][..., ::-1]


def pack_bits(bits: np.ndarray) -> tuple[np.ndarray, int]:
    """Inverse of `unpack_bits`: bits least significant first → packed array, width."""
    num_bits = bits.shape[-1]
    msb_first = bits[..., ::-1]
    pad = -num_bits % 8
    if pad:
        widths = [(0, 0)] * (bits.ndim - 1) + [(pad, 0)]
        msb_first = np.pad(msb_first, widths, constant_values=0)
    return np.packbits(msb_first, axis=-1, bitorder="big"), num_bits


def matching_rows(flat: np.ndarray, positions: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Which rows of packed shots have bit ``positions[i]`` (0: least significant) equal to
    ``wanted[i]`` for every ``i`` (a boolean per row)."""
    width = flat.shape[-1]
    byte_of, bit_of = np.divmod(positions, 8)
    columns = (width - 1) - byte_of
    shifts = bit_of.astype(np.uint8)
    mask = np.zeros(width, dtype=np.uint8)
    np.bitwise_or.at(mask, columns, np.uint8(1) << shifts)
    target = np.zeros(width, dtype=np.uint8)
    np.bitwise_or.at(target, columns, wanted.astype(np.uint8) << shifts)
    found: np.ndarray = ((flat & mask) == target).all(axis=-1)
    return found


def pack_ints(values: Iterable[int], num_bits: int) -> np.ndarray:
    """Packed rows ``(n, ceil(num_bits / 8))`` of non-negative integers (``ValueError`` for
    one that does not fit)."""
    width = min_num_bytes(num_bits)
    try:
        raw = b"".join(int(v).to_bytes(width, "big") for v in values)
    except OverflowError as exc:
        raise ValueError(
            f"All samples must be non-negative integers that fit in num_bits={num_bits} bits."
        ) from exc
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, width).copy()


#: qiskit's bounds on an observable's coefficients: at most this far from zero, a term is
#: dropped (``SparseObservable.simplify``'s tolerance); an imaginary part above the other
#: makes it non-Hermitian (``np.real_if_close``: 100 float64 epsilons).
_ZERO = 1e-8
_REAL = 100 * float(np.finfo(np.float64).eps)


def diagonal_terms(observable: object) -> dict[str, complex]:
    """One observable as ``{label: coefficient}``: a label, a mapping, or anything with
    ``to_list()`` (a ``SparsePauliOp``) or ``to_label()`` (a ``Pauli``)."""
    if isinstance(observable, str):
        return {observable.upper(): 1.0}
    if isinstance(observable, Mapping):
        return {str(k).upper(): complex(v) for k, v in observable.items()}
    to_list = getattr(observable, "to_list", None)
    if callable(to_list):
        terms: dict[str, complex] = {}
        for label, coeff in to_list():
            terms[str(label)] = terms.get(str(label), 0) + complex(coeff)
        return terms
    to_label = getattr(observable, "to_label", None)
    if callable(to_label):
        return {str(to_label()): 1.0}
    raise TypeError(f"{type(observable).__name__} is not an observable")


def observable_grid(observables: object) -> np.ndarray:
    """An object array of ``{label: coefficient}`` dicts shaped like the observables."""

    def nested(value: Any) -> Any:
        if isinstance(value, list | tuple) or (
            isinstance(value, np.ndarray) and value.dtype == object
        ):
            return [nested(v) for v in value]
        # as qiskit's ObservablesArray: terms within 1e-8 of zero are dropped (its
        # SparseObservable.simplify), and what is left must be real (np.real_if_close)
        terms = {k: v for k, v in diagonal_terms(value).items() if abs(v) > _ZERO}
        if not terms:
            raise ValueError("Empty observable was detected.")
        if any(abs(complex(v).imag) > _REAL for v in terms.values()):
            raise ValueError(
                "Non-Hermitian input observable: the simplified input observable has a "
                "non-zero imaginary part in its coefficients."
            )
        return terms

    grid = nested(observables)
    flat: list[dict[str, complex]] = []
    shape = _nested_shape(grid, flat)
    out: np.ndarray = np.empty(len(flat), dtype=object)
    for i, item in enumerate(flat):
        out[i] = item
    return out.reshape(shape)


def _nested_shape(value: Any, flat: list[dict[str, complex]]) -> tuple[int, ...]:
    if isinstance(value, dict):
        flat.append(value)
        return ()
    shapes = {_nested_shape(v, flat) for v in value}
    if len(shapes) > 1:
        raise ValueError("the observables are ragged")
    return (len(value), *(shapes.pop() if shapes else ()))


def term_value(bits_lsb_first: np.ndarray, label: str) -> np.ndarray:
    """Per shot, the value (±1, 0 or 1) of a diagonal Pauli/projector label, whose first
    character acts on the most significant bit."""
    num_bits = bits_lsb_first.shape[-1]
    if len(label) != num_bits:
        raise ValueError(f"One or more operators not same length ({num_bits}) as input bitstrings")
    if set(label) - _DIAGONAL:
        raise ValueError(f"Input operator {label} is not diagonal")
    value = np.ones(bits_lsb_first.shape[:-1], dtype=np.float64)
    for position, char in enumerate(label):
        if char == "I":
            continue
        bit = bits_lsb_first[..., num_bits - 1 - position]
        if char == "Z":
            value *= 1.0 - 2.0 * bit
        elif char == "1":
            value *= bit
        else:
            value *= 1.0 - bit
    return value


def expectation(bits_lsb_first: np.ndarray, terms: Iterable[tuple[str, complex]]) -> float:
    """The mean over shots (last-but-one axis gone) of a diagonal observable's value."""
    total = 0.0
    shots = bits_lsb_first.shape[0]
    if shots == 0:
        raise ValueError("no shots to take an expectation value over")
    for label, coeff in terms:
        total += float(term_value(bits_lsb_first, label).mean()) * complex(coeff).real
    return total
