"""NumPy's ``.npy`` file format, written and read in pure Python (no numpy needed).

The Qiskit-encoded results carry arrays as ``{"__type__": "ndarray", "__value__": V}`` where
``V`` is base64 of zlib-compressed ``.npy`` bytes: the magic ``\\x93NUMPY``, a version, a
little-endian header length, a Python-literal header dict (``descr``, ``fortran_order``,
``shape``) padded with spaces to a multiple of 64 bytes and ending in a newline, then the raw
C-order data. Only the few dtypes the emulator sends or reads are supported.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import math
import struct
import zlib
from collections.abc import Sequence
from typing import Any

__all__ = [
    "NpyArray",
    "TooManyRows",
    "decode_ndarray",
    "encode_ndarray",
    "float64_bytes",
    "nested",
    "npy_bytes",
    "read_npy",
]

_MAGIC = b"\x93NUMPY"
_ALIGN = 64

#: dtype descr -> (struct format character, item size)
_FORMATS: dict[str, tuple[str, int]] = {
    "|u1": ("B", 1),
    "|i1": ("b", 1),
    "|b1": ("?", 1),
    "<u2": ("H", 2),
    "<i2": ("h", 2),
    "<u4": ("I", 4),
    "<i4": ("i", 4),
    "<u8": ("Q", 8),
    "<i8": ("q", 8),
    "<f4": ("f", 4),
    "<f8": ("d", 8),
}


class NpyArray:
    """A decoded array: its dtype ``descr``, ``shape`` and flat C-order ``values``."""

    __slots__ = ("descr", "shape", "values")

    def __init__(self, descr: str, shape: tuple[int, ...], values: list[Any]) -> None:
        self.descr = descr
        self.shape = shape
        self.values = values

    def tolist(self) -> Any:
        """The values nested to the shape (a scalar for shape ``()``)."""
        return nested(self.values, self.shape)


def nested(flat: Sequence[Any], shape: Sequence[int]) -> Any:
    """Nest a flat C-order sequence to ``shape`` (shape ``()`` gives the single value)."""
    if not shape:
        return flat[0]
    if len(shape) == 1:
        return list(flat)
    step = math.prod(shape[1:])
    return [nested(flat[i * step : (i + 1) * step], shape[1:]) for i in range(shape[0])]


def npy_bytes(descr: str, shape: Sequence[int], data: bytes) -> bytes:
    """A complete version 1.0 ``.npy`` file holding ``data`` (raw C-order bytes)."""
    if descr not in _FORMATS:
        raise ValueError(f"unsupported dtype {descr!r}")
    dims = tuple(int(n) for n in shape)
    expected = math.prod(dims) * _FORMATS[descr][1]
    if len(data) != expected:
        raise ValueError(f"{len(data)} bytes do not fill shape {dims} of {descr}")
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {dims!r}, }}"
    # magic (6) + version (2) + header length (2) + header, padded, ending in "\n".
    total = 10 + len(header) + 1
    header += " " * (-total % _ALIGN) + "\n"
    return _MAGIC + b"\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1") + data


class TooManyRows(ValueError):
    """An array holds more rows (all axes but the last) than the reader allows."""


def read_npy(blob: bytes, *, max_rows: int | None = None) -> NpyArray:
    """Parse ``.npy`` bytes (versions 1-3, C order, the dtypes in ``_FORMATS``).

    With ``max_rows``, an array of more rows is refused (``TooManyRows``) before its values
    are unpacked.
    """
    if not blob.startswith(_MAGIC) or len(blob) < 10:
        raise ValueError("not a .npy file")
    major = blob[6]
    if major == 1:
        (length,) = struct.unpack_from("<H", blob, 8)
        start = 10
    elif major in (2, 3):
        (length,) = struct.unpack_from("<I", blob, 8)
        start = 12
    else:
        raise ValueError(f"unsupported .npy version {major}")
    header = ast.literal_eval(blob[start : start + length].decode("latin1"))
    if not isinstance(header, dict):
        raise ValueError("malformed .npy header")
    descr = str(header.get("descr"))
    if descr.startswith("="):
        descr = "<" + descr[1:]
    if descr not in _FORMATS or header.get("fortran_order"):
        raise ValueError(f"unsupported array layout {descr!r}")
    shape = tuple(int(n) for n in header.get("shape", ()))
    if max_rows is not None and math.prod(shape[:-1]) > max_rows:
        raise TooManyRows(f"the array has {math.prod(shape[:-1]):,} rows")
    code, size = _FORMATS[descr]
    count = math.prod(shape)
    offset = start + length
    raw = blob[offset : offset + count * size]
    if len(raw) != count * size:
        raise ValueError("truncated .npy data")
    values = list(struct.unpack(f"<{count}{code}", raw))
    return NpyArray(descr, shape, values)


def encode_ndarray(descr: str, shape: Sequence[int], data: bytes) -> dict[str, Any]:
    """The Qiskit ``ndarray`` envelope: base64 of zlib-compressed ``.npy`` bytes."""
    packed = zlib.compress(npy_bytes(descr, shape, data))
    return {"__type__": "ndarray", "__value__": base64.b64encode(packed).decode("ascii")}


def decode_ndarray(value: Any, *, max_bytes: int | None = None, max_rows: int | None = None) -> Any:
    """The nested-list value of an ``ndarray`` envelope's ``__value__``.

    A plain list or number (the encoder's form for small or object arrays) is returned as
    is; a string is base64 of (optionally zlib-compressed) ``.npy`` bytes.
    """
    if not isinstance(value, str):
        return value
    raw = base64.b64decode(value)
    with contextlib.suppress(zlib.error):
        inflater = zlib.decompressobj()
        inflated = inflater.decompress(raw, (max_bytes or 0) + 1 if max_bytes else 0)
        if max_bytes is not None and (len(inflated) > max_bytes or inflater.unconsumed_tail):
            raise ValueError(f"the array inflates to more than {max_bytes:,} bytes")
        raw = inflated + inflater.flush() if max_bytes is None else inflated
    return read_npy(raw, max_rows=max_rows).tolist()


def float64_bytes(values: Sequence[float]) -> bytes:
    """Little-endian float64 bytes of ``values``."""
    return struct.pack(f"<{len(values)}d", *values)
