"""Property tests: on random data, every method of the SDK's containers gives what qiskit's
own give (``qiskit.primitives.containers``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qiskit.primitives.containers import BitArray as QBitArray
from qiskit.primitives.containers import DataBin as QDataBin
from qiskit.primitives.containers import SamplerPubResult as QSamplerPubResult

from qruntime_session.primitives import BitArray, DataBin, PrimitiveResult, SamplerPubResult

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def arrays(draw: st.DrawFn, shape: tuple[int, ...] | None = None, num_bits: int | None = None):
    if shape is None:
        shape = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    if num_bits is None:
        num_bits = draw(st.integers(1, 20))
    shots = draw(st.integers(1, 12))
    width = (num_bits + 7) // 8
    seed = draw(st.integers(0, 2**32 - 1))
    data = np.random.default_rng(seed).integers(0, 256, (*shape, shots, width), dtype=np.uint8)
    if draw(st.booleans()):  # registers from a sampler never set bits above num_bits
        data[..., 0] &= 0xFF >> (-num_bits % 8)
    return data, num_bits


def pair(data: np.ndarray, num_bits: int) -> tuple[BitArray, QBitArray]:
    return BitArray(data.copy(), num_bits), QBitArray(data.copy(), num_bits)


def same(ours: Any, theirs: Any) -> None:
    """Equal results: BitArrays by content, arrays by shape/dtype/values, the rest by ==."""
    if isinstance(theirs, QBitArray):
        assert isinstance(ours, BitArray)
        assert ours.shape == theirs.shape
        assert ours.num_shots == theirs.num_shots
        assert ours == theirs
        assert ours.array.shape == theirs.array.shape
    elif isinstance(theirs, np.ndarray):
        assert isinstance(ours, np.ndarray)
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours.astype(float), theirs.astype(float), atol=1e-12)
    else:
        assert ours == theirs


def outcome(call: Any) -> tuple[str, Any]:
    try:
        return "ok", call()
    except (ValueError, IndexError, TypeError) as exc:
        return type(exc).__name__, None


def agree(ours_call: Any, theirs_call: Any) -> None:
    kind_ours, ours = outcome(ours_call)
    kind_theirs, theirs = outcome(theirs_call)
    assert kind_ours == kind_theirs
    if kind_ours == "ok":
        same(ours, theirs)


@SETTINGS
@given(arrays(), st.data())
def test_reading_methods_agree(drawn: tuple[np.ndarray, int], data: st.DataObject) -> None:
    ours, theirs = pair(*drawn)
    assert (ours.shape, ours.ndim, ours.size, ours.num_shots, ours.num_bits) == (
        theirs.shape,
        theirs.ndim,
        theirs.size,
        theirs.num_shots,
        theirs.num_bits,
    )
    assert repr(ours) == repr(theirs)
    same(ours.array, theirs.array)
    loc = None
    if ours.ndim and data.draw(st.booleans()):
        loc = tuple(data.draw(st.integers(0, n - 1)) for n in ours.shape)
    for name in ("get_counts", "get_int_counts", "get_bitstrings"):
        agree(lambda n=name: getattr(ours, n)(loc), lambda n=name: getattr(theirs, n)(loc))
    agree(ours.bitcount, theirs.bitcount)
    for order in ("big", "little"):
        agree(lambda o=order: ours.to_bool_array(o), lambda o=order: theirs.to_bool_array(o))


@SETTINGS
@given(arrays(), st.data())
def test_slicing_and_reshaping_agree(drawn: tuple[np.ndarray, int], data: st.DataObject) -> None:
    ours, theirs = pair(*drawn)
    bits = data.draw(st.lists(st.integers(-1, ours.num_bits), max_size=4))
    agree(lambda: ours.slice_bits(bits), lambda: theirs.slice_bits(bits))
    shots = data.draw(st.lists(st.integers(-1, ours.num_shots), max_size=4))
    agree(lambda: ours.slice_shots(shots), lambda: theirs.slice_shots(shots))
    where = data.draw(st.lists(st.integers(-ours.num_bits - 1, ours.num_bits), max_size=3))
    values = data.draw(st.lists(st.booleans(), min_size=len(where), max_size=len(where) + 1))
    agree(lambda: ours.postselect(where, values), lambda: theirs.postselect(where, values))
    agree(
        lambda: ours.reshape(ours.size * ours.num_shots),
        lambda: theirs.reshape(theirs.size * theirs.num_shots),
    )
    agree(lambda: ours.reshape(-1 if False else ours.size), lambda: theirs.reshape(theirs.size))
    agree(lambda: ours.reshape(7, 3), lambda: theirs.reshape(7, 3))
    agree(ours.transpose, theirs.transpose)
    if ours.ndim:
        index = data.draw(st.integers(-ours.shape[0], ours.shape[0] - 1))
        agree(lambda: ours[index], lambda: theirs[index])
        agree(lambda: ours[index:], lambda: theirs[index:])
        agree(lambda: ours[(0,) * (ours.ndim + 1)], lambda: theirs[(0,) * (theirs.ndim + 1)])


@SETTINGS
@given(st.data())
def test_joining_and_operators_agree(data: st.DataObject) -> None:
    first = data.draw(arrays())
    shape, num_bits = first[0].shape[:-2], first[1]
    second = data.draw(arrays(shape=shape, num_bits=data.draw(st.sampled_from([num_bits, 3]))))
    if second[0].shape[-2] != first[0].shape[-2] and data.draw(st.booleans()):
        second = (second[0][..., :1, :].repeat(first[0].shape[-2], axis=-2), second[1])
    a, qa = pair(*first)
    b, qb = pair(*second)
    agree(lambda: BitArray.concatenate_bits([a, b]), lambda: QBitArray.concatenate_bits([qa, qb]))
    agree(lambda: BitArray.concatenate_shots([a, b]), lambda: QBitArray.concatenate_shots([qa, qb]))
    agree(lambda: BitArray.concatenate([a, b]), lambda: QBitArray.concatenate([qa, qb]))
    for op in ("__and__", "__or__", "__xor__"):
        agree(lambda o=op: getattr(a, o)(b), lambda o=op: getattr(qa, o)(qb))
    agree(lambda: ~a, lambda: ~qa)
    assert (a == b) == (qa == qb)


@SETTINGS
@given(st.data())
def test_constructors_agree(data: st.DataObject) -> None:
    num_bits = data.draw(st.integers(1, 20))
    ints = data.draw(st.lists(st.integers(0, 2**num_bits - 1), min_size=1, max_size=20))
    width = data.draw(st.sampled_from([None, num_bits]))
    agree(lambda: BitArray.from_samples(ints, width), lambda: QBitArray.from_samples(ints, width))
    strings = [format(v, f"0{num_bits}b") for v in ints]
    agree(lambda: BitArray.from_samples(strings), lambda: QBitArray.from_samples(strings))
    hexes = [hex(v) for v in ints]
    agree(lambda: BitArray.from_samples(hexes, width), lambda: QBitArray.from_samples(hexes, width))
    counts = {s: 1 + i % 3 for i, s in enumerate(sorted(set(strings)))}
    agree(lambda: BitArray.from_counts(counts), lambda: QBitArray.from_counts(counts))
    agree(
        lambda: BitArray.from_counts([counts, counts]),
        lambda: QBitArray.from_counts([counts, counts]),
    )
    bools = np.random.default_rng(len(ints)).random((2, len(ints), num_bits)) < 0.5
    for order in ("big", "little"):
        agree(
            lambda o=order: BitArray.from_bool_array(bools, o),
            lambda o=order: QBitArray.from_bool_array(bools, o),
        )


@SETTINGS
@given(arrays(num_bits=3), st.data())
def test_expectation_values_agree(drawn: tuple[np.ndarray, int], data: st.DataObject) -> None:
    ours, theirs = pair(*drawn)
    labels = st.text(alphabet="IZ01", min_size=3, max_size=3)
    observable = data.draw(
        st.one_of(
            labels,
            st.dictionaries(labels, st.floats(-2, 2, allow_nan=False), min_size=1, max_size=3),
            st.lists(labels, min_size=1, max_size=3),
        )
    )
    if isinstance(observable, list) and ours.ndim and ours.shape[-1] != len(observable):
        observable = observable[:1]
    agree(
        lambda: ours.expectation_values(observable), lambda: theirs.expectation_values(observable)
    )


def test_expectation_values_refuse_what_qiskit_refuses() -> None:
    ours, theirs = pair(np.zeros((4, 1), dtype=np.uint8), 2)
    for bad, why in (
        ("XZ", "not diagonal"),
        ("ZZZ", "same length"),
        ({"ZI": 3.3e-9}, "Empty observable"),  # within qiskit's 1e-8 of zero: dropped
        ({"ZI": 1e-8, "IZ": 1e-9j}, "Empty observable"),
        ({"ZI": 1.0, "IZ": 2e-8j}, "Non-Hermitian"),
    ):
        with pytest.raises(ValueError, match=why):
            theirs.expectation_values(bad)
        with pytest.raises(ValueError, match=why):
            ours.expectation_values(bad)


def test_terms_near_zero_are_dropped_as_qiskit_drops_them() -> None:
    array = np.random.default_rng(5).integers(0, 4, (6, 1), dtype=np.uint8)
    ours, theirs = pair(array, 2)
    for observable in ({"ZI": 1.0, "IZ": 3.3e-9}, {"ZI": 0.5, "1I": 1.0000001e-8, "IZ": 1e-8}):
        assert ours.expectation_values(observable) == theirs.expectation_values(observable)


def test_data_bin_pub_result_and_to_qiskit_wrap_the_same_arrays() -> None:
    array = np.random.default_rng(3).integers(0, 4, (2, 5, 1), dtype=np.uint8)
    ours = SamplerPubResult(DataBin(meas=BitArray(array, 2), other=BitArray(array, 2), shape=(2,)))
    theirs = QSamplerPubResult(
        QDataBin(meas=QBitArray(array, 2), other=QBitArray(array, 2), shape=(2,))
    )
    assert repr(ours) == repr(theirs)
    assert repr(ours.data) == repr(theirs.data)
    same(ours.join_data(), theirs.join_data())
    same(ours.join_data(["other"]), theirs.join_data(["other"]))
    converted = PrimitiveResult([ours], metadata={"a": 1}).to_qiskit()
    assert converted[0].data.meas.array is array  # a wrap, not a copy
    assert converted.metadata == {"a": 1}
    assert list(ours.data.keys()) == list(theirs.data.keys())
    assert (ours.data.shape, ours.data.ndim, ours.data.size, len(ours.data)) == (
        theirs.data.shape,
        theirs.data.ndim,
        theirs.data.size,
        len(theirs.data),
    )
    evs = np.arange(6.0).reshape(2, 3)
    assert repr(DataBin(evs=evs, shape=(2, 3))) == repr(QDataBin(evs=evs, shape=(2, 3)))


def test_counting_survives_a_hash_collision() -> None:
    """Two different 16-byte shots with the same 64-bit row hash are still counted apart."""
    k = 0x9E3779B97F4A7C15
    words = np.array([[0, 5], [1, k ^ 5], [0, 5]], dtype=">u8")
    array = words.view(np.uint8).reshape(3, 16).copy()
    array[:, 0] &= 0x7F
    ours, theirs = pair(array, 127)
    assert ours.get_counts() == theirs.get_counts()
    assert len(ours.get_counts()) == 2
