"""NumPy's ``.npy`` format, read in pure Python for the dtypes results use.

The format: the magic ``\\x93NUMPY``, a major and minor version byte, the header length
(2 bytes little-endian for version 1, 4 bytes for versions 2 and 3), a header that is a Python
dict literal (``descr``, ``fortran_order``, ``shape``), then the raw values.

Booleans, signed and unsigned integers (1 to 8 bytes), floats (2, 4, 8 bytes), complex
numbers (8, 16 bytes) and fixed-width unicode strings are read here without numpy. Anything
else (structured, datetime, object dtypes) is read with numpy when it is installed; otherwise
:class:`UnsupportedDtype` is raised and the caller decides what to do.
"""

from __future__ import annotations

import ast
import io
import math
import struct
from collections.abc import Sequence
from typing import Any

__all__ = ["NpyError", "NpyValues", "UnsupportedDtype", "read_npy"]

MAGIC = b"\x93NUMPY"

# kind + item size -> struct code
_CODES: dict[str, str] = {
    "b1": "?",
    "i1": "b",
    "i2": "h",
    "i4": "i",
    "i8": "q",
    "u1": "B",
    "u2": "H",
    "u4": "I",
    "u8": "Q",
    "f2": "e",
    "f4": "f",
    "f8": "d",
}
_DTYPE_NAMES: dict[str, str] = {
    "b1": "bool",
    "i1": "int8",
    "i2": "int16",
    "i4": "int32",
    "i8": "int64",
    "u1": "uint8",
    "u2": "uint16",
    "u4": "uint32",
    "u8": "uint64",
    "f2": "float16",
    "f4": "float32",
    "f8": "float64",
    "c8": "complex64",
    "c16": "complex128",
}


class NpyError(ValueError):
    """The bytes are not a well-formed ``.npy`` file."""


class UnsupportedDtype(NpyError):
    """A well-formed file whose dtype this reader does not handle without numpy."""


class NpyValues:
    """What a ``.npy`` file holds: flat values in C order, the shape, and a dtype name."""

    __slots__ = ("dtype", "shape", "values")

    def __init__(self, values: list[Any], shape: tuple[int, ...], dtype: str) -> None:
        self.values = values
        self.shape = shape
        self.dtype = dtype


def _header(data: bytes) -> tuple[dict[str, Any], int]:
    if not data.startswith(MAGIC) or len(data) < 10:
        raise NpyError("not a .npy file (no \\x93NUMPY magic)")
    major = data[6]
    if major == 1:
        (length,) = struct.unpack_from("<H", data, 8)
        start = 10
    elif major in (2, 3):
        if len(data) < 12:
            raise NpyError(".npy header is truncated")
        (length,) = struct.unpack_from("<I", data, 8)
        start = 12
    else:
        raise NpyError(f"unknown .npy format version {major}")
    end = start + length
    if end > len(data):
        raise NpyError(".npy header is truncated")
    encoding = "utf-8" if major == 3 else "latin-1"
    try:
        header = ast.literal_eval(data[start:end].decode(encoding))
    except (ValueError, SyntaxError, UnicodeDecodeError, MemoryError, RecursionError) as exc:
        raise NpyError(f".npy header is not a dict literal: {exc}") from exc
    if not isinstance(header, dict) or not {"descr", "fortran_order", "shape"} <= set(header):
        raise NpyError(".npy header lacks descr, fortran_order or shape")
    return header, end


def _shape(value: object) -> tuple[int, ...]:
    if not isinstance(value, tuple) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in value
    ):
        raise NpyError(f".npy shape is not a tuple of sizes: {value!r}")
    return value


def _c_order(values: list[Any], shape: tuple[int, ...]) -> list[Any]:
    """Reorder Fortran-ordered flat values into C order."""
    if len(shape) < 2:
        return values
    out: list[Any] = [None] * len(values)
    # stride of each axis in Fortran order
    f_strides = []
    stride = 1
    for size in shape:
        f_strides.append(stride)
        stride *= size
    index = [0] * len(shape)
    for c_pos in range(len(values)):
        out[c_pos] = values[sum(i * s for i, s in zip(index, f_strides, strict=True))]
        for axis in range(len(shape) - 1, -1, -1):
            index[axis] += 1
            if index[axis] < shape[axis]:
                break
            index[axis] = 0
    return out


def read_npy(data: bytes) -> NpyValues:
    """Parse ``.npy`` bytes. Raises :class:`NpyError` (or :class:`UnsupportedDtype`)."""
    header, offset = _header(data)
    descr = header["descr"]
    shape = _shape(header["shape"])
    fortran = bool(header["fortran_order"])
    count = math.prod(shape)
    if not isinstance(descr, str) or len(descr) < 3:
        return _with_numpy(data, f"dtype {descr!r}")
    order, kind = descr[0], descr[1:]
    if order not in "<>|=":
        raise NpyError(f".npy descr {descr!r} has no byte-order mark")
    endian = ">" if order == ">" else "<"
    body = memoryview(data)[offset:]
    values: list[Any]
    dtype: str
    if kind in _CODES:
        code = _CODES[kind]
        size = struct.calcsize(code)
        if len(body) < count * size:
            raise NpyError(f".npy data is truncated: {count} values of {size} bytes expected")
        values = list(struct.unpack_from(f"{endian}{count}{code}", body))
        dtype = _DTYPE_NAMES[kind]
    elif kind in ("c8", "c16"):
        code = "f" if kind == "c8" else "d"
        size = struct.calcsize(code) * 2
        if len(body) < count * size:
            raise NpyError(f".npy data is truncated: {count} values of {size} bytes expected")
        parts = struct.unpack_from(f"{endian}{2 * count}{code}", body)
        values = [complex(parts[2 * i], parts[2 * i + 1]) for i in range(count)]
        dtype = _DTYPE_NAMES[kind]
    elif kind.startswith("U") and kind[1:].isdigit():
        width = int(kind[1:])
        size = 4 * width
        if len(body) < count * size:
            raise NpyError(f".npy data is truncated: {count} strings of {size} bytes expected")
        codec = "utf-32-be" if endian == ">" else "utf-32-le"
        raw = bytes(body[: count * size])
        try:
            values = [
                raw[i * size : (i + 1) * size].decode(codec).rstrip("\x00") for i in range(count)
            ]
        except UnicodeDecodeError as exc:
            raise NpyError(f".npy strings are not valid UTF-32: {exc}") from exc
        dtype = f"str{width}"
    else:
        return _with_numpy(data, f"dtype {descr!r}")
    if fortran:
        values = _c_order(values, shape)
    return NpyValues(values, shape, dtype)


def _with_numpy(data: bytes, what: str) -> NpyValues:
    try:
        import numpy
    except ImportError as exc:
        raise UnsupportedDtype(f"{what} needs numpy to be read") from exc
    try:
        array = numpy.load(io.BytesIO(data), allow_pickle=False)
    except Exception as exc:  # numpy raises many types for a bad file
        raise NpyError(f".npy file with {what} could not be read: {exc}") from exc
    shape = tuple(int(n) for n in array.shape)
    flat: Sequence[Any] = array.reshape(-1).tolist()
    return NpyValues(list(flat), shape, str(array.dtype))
