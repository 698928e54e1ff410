"""The containers on numpy: BitArray, DataBin, PrimitiveResult; missing extras."""

from __future__ import annotations

import builtins
import sys
from typing import Any

import numpy as np
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


def _bits(values: list[int], num_bits: int, shape: tuple[int, ...] = ()) -> BitArray:
    width = (num_bits + 7) // 8
    raw = b"".join(v.to_bytes(width, "big") for v in values)
    return BitArray(np.frombuffer(raw, np.uint8).reshape((*shape, -1, width)).copy(), num_bits)


def test_bit_array_validates_its_layout() -> None:
    """The constructor takes qiskit's layout and refuses anything else, as qiskit does."""
    with pytest.raises(TypeError, match="numpy"):
        BitArray([[1]], 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="uint8"):
        BitArray(np.zeros((1, 1), dtype=np.int64), 1)
    with pytest.raises(ValueError, match="two axes"):
        BitArray(np.zeros(3, dtype=np.uint8), 1)
    with pytest.raises(ValueError, match="2 bytes"):
        BitArray(np.zeros((3, 1), dtype=np.uint8), 9)
    bits = BitArray.from_samples(["01", "10", "11"])
    assert (bits.num_bits, bits.get_bitstrings()) == (2, ["01", "10", "11"])
    assert repr(bits) == "BitArray(<shape=(), num_shots=3, num_bits=2>)"
    assert bits == _bits([1, 2, 3], 2)
    assert bits != _bits([1, 2, 3], 3)
    assert bits.array.dtype == np.uint8
    assert bits.array.shape == (3, 1)


def test_repr_of_a_half_built_object_does_not_fail() -> None:
    assert repr(BitArray.__new__(BitArray)) == "BitArray(<incomplete>)"
    assert "incomplete" in repr(DataBin.__new__(DataBin))
    assert "incomplete" in repr(PrimitiveResult.__new__(PrimitiveResult))


def test_loc_indexes_the_pub_axes() -> None:
    bits = _bits([0, 1, 1, 1, 0, 0, 1, 1], 1, (2, 2))
    assert bits.get_counts((1, 0)) == {"0": 2}
    assert bits.get_int_counts((0, 1)) == {1: 2}
    assert bits.get_counts(0) == {"0": 1, "1": 3}
    with pytest.raises(IndexError):
        bits.get_counts((2, 0))
    assert bits.size == 4


def test_data_bin_access_and_errors() -> None:
    data = DataBin({"meas": _bits([1], 1)}, x=3)
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
    with pytest.raises(ValueError, match="names"):
        DataBin(shape=(), keys=1)
    with pytest.raises(ValueError, match="lead with the shape"):
        DataBin(evs=np.zeros(3), shape=(2,))


def test_join_data_rejects_mixed_types() -> None:
    pub = SamplerPubResult(DataBin({"a": _bits([1], 1), "n": 5}))
    assert pub.join_data(["a"]).get_counts() == {"1": 1}  # type: ignore[union-attr]
    with pytest.raises(TypeError):
        pub.join_data()
    with pytest.raises(ValueError, match="does not exist"):
        pub.join_data(["zz"])


def test_estimator_values_are_numpy_arrays() -> None:
    assert NDArray is np.ndarray
    evs = np.array([[1.0, 2.0], [3.0, 4.0]])
    data = DataBin(evs=evs, shape=(2, 2))
    assert isinstance(data.evs * 2, np.ndarray)
    assert "np.ndarray(<shape=(2, 2), dtype=float64>)" in repr(data)


def test_primitive_result_is_a_sequence() -> None:
    pubs = [PubResult(DataBin(evs=np.array(1.0))) for _ in range(3)]
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
    result = PrimitiveResult([SamplerPubResult(DataBin({"m": _bits([1], 1)}))])
    with pytest.raises(errors.ExtraNotInstalledError) as caught:
        result.to_qiskit()
    assert caught.value.extra == "qiskit"
    # the commands work today (no PyPI release): from the repository, or in a clone
    assert caught.value.install in str(caught.value)
    assert '"qruntime-session[qiskit] @ git+https://' in caught.value.install
    assert 'pip install -e ".[qiskit]"' in caught.value.install
    assert isinstance(caught.value, ImportError)
    assert isinstance(caught.value, errors.QRuntimeError)
