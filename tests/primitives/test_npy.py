"""The pure-Python .npy reader against numpy's own writer."""

from __future__ import annotations

import builtins
import io
from typing import Any

import numpy as np
import pytest

from qruntime_session.primitives._npy import NpyError, UnsupportedDtype, read_npy


def npy(array: Any, version: tuple[int, int] | None = None) -> bytes:
    buffer = io.BytesIO()
    if version is None:
        np.save(buffer, array, allow_pickle=False)
    else:
        np.lib.format.write_array(buffer, array, version=version, allow_pickle=False)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "dtype",
    [
        "bool",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "float16",
        "float32",
        "float64",
        "complex64",
        "complex128",
        ">f8",
        ">i4",
    ],
)
def test_numeric_dtypes_read_like_numpy(dtype: str) -> None:
    """Every common dtype (both byte orders) gives numpy's values, shape and dtype name."""
    array = (np.arange(12).reshape(3, 4) % 7).astype(dtype)
    got = read_npy(npy(array))
    assert got.shape == (3, 4)
    assert got.values == array.reshape(-1).tolist()
    assert got.dtype == np.dtype(dtype).newbyteorder("=").name


def test_fortran_order_is_reordered_to_c_order() -> None:
    array = np.asfortranarray(np.arange(24, dtype=np.float64).reshape(2, 3, 4))
    got = read_npy(npy(array))
    assert got.values == array.reshape(-1).tolist()


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
def test_header_versions(version: tuple[int, int]) -> None:
    array = np.array([[1.5, -2.0]])
    got = read_npy(npy(array, version))
    assert (got.shape, got.values) == ((1, 2), [1.5, -2.0])


def test_unicode_strings_and_zero_dimensional() -> None:
    assert read_npy(npy(np.array(["ab", "c"]))).values == ["ab", "c"]
    scalar = read_npy(npy(np.array(3.25)))
    assert (scalar.shape, scalar.values) == ((), [3.25])


def test_rare_dtype_uses_numpy_or_says_it_needs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """datetime64 is read through numpy when present; without numpy UnsupportedDtype is raised."""
    data = npy(np.array([1, 2], dtype="datetime64[s]"))
    assert read_npy(data).shape == (2,)
    real_import = builtins.__import__

    def no_numpy(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "numpy":
            raise ImportError("no numpy here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_numpy)
    with pytest.raises(UnsupportedDtype):
        read_npy(data)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not numpy at all",
        b"\x93NUMPY\x09\x00",
        b"\x93NUMPY\x01\x00\xff\x00{'descr': '<f8'",
        b"\x93NUMPY\x01\x00\x10\x00__import__('os')",
        b"\x93NUMPY\x01\x00\x3c\x00{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }    \n\x00\x00",
    ],
)
def test_malformed_bytes_raise_npy_error(data: bytes) -> None:
    with pytest.raises(NpyError):
        read_npy(data)
