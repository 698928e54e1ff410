"""The pure-Python containers: BitArray, DataBin, NDArray, PrimitiveResult; missing extras."""

from __future__ import annotations

import builtins
import sys
from typing import Any

import pytest

from qruntime_session import errors
from qruntime_session.primitives import (
    BitArray,
    DataBin,
    NDArray,
    PrimitiveResult,
    PubResult,
    SamplerPubResult,
)


def test_bit_array_validates_its_values() -> None:
    with pytest.raises(ValueError, match="fit"):
        BitArray([4], num_bits=2)
    with pytest.raises(ValueError, match="fill"):
        BitArray([0, 1, 2], num_bits=2, num_shots=2, shape=(2,))
    bits = BitArray.from_samples(["01", "0x2", 3])
    assert (bits.num_bits, bits.get_bitstrings()) == (2, ["01", "10", "11"])
    assert repr(bits) == "BitArray(<shape=(), num_shots=3, num_bits=2>)"
    assert bits == BitArray([1, 2, 3], num_bits=2)
    assert bits != BitArray([1, 2, 3], num_bits=3)


def test_loc_must_index_every_axis() -> None:
    bits = BitArray([0, 1, 1, 1, 0, 0, 1, 1], num_bits=1, num_shots=2, shape=(2, 2))
    assert bits.get_counts((1, 0)) == {"0": 2}
    assert bits.get_int_counts((0, 1)) == {1: 2}
    with pytest.raises(IndexError):
        bits.get_counts(0)
    with pytest.raises(IndexError):
        bits.get_counts((2, 0))
    assert bits.size == 4


def test_data_bin_access_and_errors() -> None:
    data = DataBin({"meas": BitArray([1], num_bits=1), "x": 3}, shape=())
    assert data.meas is data["meas"]
    assert "meas" in data
    assert list(data) == ["meas", "x"]
    assert len(data) == 2
    assert dict(data.items())["x"] == 3
    with pytest.raises(AttributeError, match="meas"):
        _ = data.missing
    with pytest.raises(KeyError):
        _ = data["missing"]
    with pytest.raises(AttributeError):
        data.meas = 1


def test_join_data_rejects_non_registers() -> None:
    pub = SamplerPubResult(DataBin({"a": BitArray([1], num_bits=1), "n": 5}))
    assert pub.join_data(["a"]).get_counts() == {"1": 1}
    with pytest.raises(TypeError):
        pub.join_data()


def test_nd_array_behaves_like_a_read_only_numpy_array() -> None:
    grid = NDArray.from_nested([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert (grid.shape, grid.ndim, grid.size, grid.dtype) == ((2, 3), 2, 6, "float64")
    assert grid[1, 2] == 6.0
    assert grid[-1].tolist() == [4.0, 5.0, 6.0]
    assert [row.tolist() for row in grid] == grid.tolist()
    assert len(grid) == 2
    assert grid.reshape(3, 2).tolist() == [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    with pytest.raises(IndexError):
        grid[2]
    with pytest.raises(IndexError):
        grid[0, 0, 0]
    with pytest.raises(ValueError, match="ragged"):
        NDArray.from_nested([[1], [2, 3]])
    scalar = NDArray.from_nested(0.5)
    assert (scalar.shape, float(scalar), scalar.item()) == ((), 0.5, 0.5)
    with pytest.raises(TypeError):
        len(scalar)
    with pytest.raises(ValueError, match="size 1"):
        float(grid)


def test_primitive_result_is_a_sequence() -> None:
    pubs = [PubResult(DataBin({"evs": NDArray.from_nested(1.0)})) for _ in range(3)]
    result = PrimitiveResult(pubs, {"v": 2})
    assert len(result) == 3
    assert list(result) == pubs
    assert result[-1] is pubs[-1]
    assert list(result[1:]) == pubs[1:]
    assert result.metadata == {"v": 2}


def test_to_qiskit_without_qiskit_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_qiskit(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "qiskit" or name.startswith("qiskit."):
            raise ImportError("no qiskit here")
        return real_import(name, *args, **kwargs)

    for module in [m for m in sys.modules if m == "qiskit" or m.startswith("qiskit.")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setattr(builtins, "__import__", no_qiskit)
    result = PrimitiveResult([SamplerPubResult(DataBin({"m": BitArray([1], num_bits=1)}))])
    with pytest.raises(errors.ExtraNotInstalledError) as caught:
        result.to_qiskit()
    assert caught.value.extra == "qiskit"
    assert "qruntime-session[qiskit]" in str(caught.value)
    assert isinstance(caught.value, ImportError)
    assert isinstance(caught.value, errors.QRuntimeError)
