"""The decoder reads bodies made by qiskit-ibm-runtime's own encoder (support_qiskit: true)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from qiskit.primitives.containers import (
    BitArray,
    DataBin,
    PrimitiveResult,
    PubResult,
    SamplerPubResult,
)
from qiskit_ibm_runtime import RuntimeEncoder

from qruntime_session import primitives as prim


def encode(result: Any) -> Any:
    """What the service sends: the official encoder's JSON, parsed back into Python."""
    return json.loads(json.dumps(result, cls=RuntimeEncoder))


def random_bits(num_bits: int, shape: tuple[int, ...], shots: int, seed: int) -> BitArray:
    rng = np.random.default_rng(seed)
    ints = rng.integers(0, 2**num_bits, size=(*shape, shots), dtype=np.uint64)
    width = (num_bits + 7) // 8
    array = np.zeros((*shape, shots, width), dtype=np.uint8)
    for byte in range(width):
        array[..., width - 1 - byte] = (ints >> np.uint64(8 * byte)) & np.uint64(0xFF)
    return BitArray(array, num_bits)


def sampler_result(**registers: BitArray) -> PrimitiveResult:
    shape = next(iter(registers.values())).shape
    pub = SamplerPubResult(
        DataBin(**registers, shape=shape), metadata={"circuit_metadata": {"name": "c"}}
    )
    return PrimitiveResult([pub], metadata={"version": 2})


@pytest.mark.parametrize("num_bits", [1, 2, 9])
def test_single_register_counts_match_qiskit(num_bits: int) -> None:
    """1-, 2- and 9-bit registers: counts, int counts and bit strings equal qiskit's own."""
    bits = random_bits(num_bits, (), 200, seed=num_bits)
    decoded = prim.decode_primitive_result(encode(sampler_result(meas=bits)), program_id="sampler")
    assert len(decoded) == 1
    pub = decoded[0]
    assert isinstance(pub, prim.SamplerPubResult)
    meas = pub.data.meas
    assert isinstance(meas, prim.BitArray)
    assert (meas.num_bits, meas.num_shots, meas.shape) == (num_bits, 200, ())
    assert meas.get_counts() == bits.get_counts()
    assert meas.get_int_counts() == bits.get_int_counts()
    assert meas.get_bitstrings() == bits.get_bitstrings()
    assert pub.data["meas"] is meas
    assert list(pub.data) == ["meas"]
    assert pub.metadata == {"circuit_metadata": {"name": "c"}}
    assert decoded.metadata == {"version": 2}


def test_nine_bit_values_are_big_endian_across_bytes() -> None:
    """A 9-bit value spans two bytes; the last byte holds the least significant bits."""
    bits = BitArray.from_samples(["100000001", "000000010", "111111111"], num_bits=9)
    meas = prim.decode_primitive_result(encode(sampler_result(meas=bits)))[0].data.meas
    assert meas.get_bitstrings() == ["100000001", "000000010", "111111111"]
    assert meas.get_ints() == [257, 2, 511]


def test_two_registers_and_join_data_match_qiskit() -> None:
    """Two registers keep their names and order; join_data puts the first one's bits lowest."""
    alpha = random_bits(2, (), 64, seed=1)
    beta = random_bits(3, (), 64, seed=2)
    original = sampler_result(alpha=alpha, beta=beta)
    decoded = prim.decode_primitive_result(encode(original))
    pub = decoded[0]
    assert isinstance(pub, prim.SamplerPubResult)
    assert list(pub.data.keys()) == ["alpha", "beta"]
    assert pub.data.alpha.get_counts() == alpha.get_counts()
    assert pub.data.beta.get_counts() == beta.get_counts()
    assert pub.join_data().get_counts() == original[0].join_data().get_counts()
    assert (
        pub.join_data(["beta", "alpha"]).get_counts()
        == original[0].join_data(["beta", "alpha"]).get_counts()
    )


@pytest.mark.parametrize("shape", [(3,), (2, 3)])
def test_parameter_sweep_counts_per_point_and_merged(shape: tuple[int, ...]) -> None:
    """A sweep gives a shape; get_counts(loc) selects one point, no loc merges all, as qiskit."""
    bits = random_bits(2, shape, 50, seed=7)
    decoded = prim.decode_primitive_result(encode(sampler_result(meas=bits)))
    meas = decoded[0].data.meas
    assert meas.shape == shape
    assert decoded[0].data.shape == shape
    assert meas.num_shots == 50
    assert meas.get_counts() == bits.get_counts()
    for loc in np.ndindex(*shape):
        index = loc if len(loc) > 1 else loc[0]
        assert meas.get_counts(index) == bits.get_counts(index)
        assert meas.get_bitstrings(index) == bits.get_bitstrings(index)
    with pytest.raises(IndexError):
        meas.get_counts(shape[0])


def test_estimator_list_of_observables() -> None:
    """evs, stds and ensemble_standard_error come back shaped like the observables."""
    evs = np.array([1.0, -0.25, 0.5])
    stds = np.array([0.01, 0.02, 0.03])
    pub = PubResult(
        DataBin(evs=evs, stds=stds, ensemble_standard_error=stds * 2, shape=(3,)),
        metadata={"target_precision": 0.015625, "shots": 4096},
    )
    original = PrimitiveResult([pub], metadata={"dynamical_decoupling": {"enable": True}})
    decoded = prim.decode_primitive_result(encode(original), program_id="estimator")
    data = decoded[0].data
    assert type(decoded[0]) is prim.PubResult
    assert isinstance(data.evs, prim.NDArray)
    assert data.evs.shape == (3,)
    assert data.evs.tolist() == evs.tolist()
    assert data.stds.tolist() == stds.tolist()
    assert data.ensemble_standard_error.tolist() == (stds * 2).tolist()
    assert data.shape == (3,)
    assert decoded[0].metadata == {"target_precision": 0.015625, "shots": 4096}
    assert decoded.metadata == {"dynamical_decoupling": {"enable": True}}


def test_estimator_two_dimensional_and_scalar() -> None:
    """A (2, 3) broadcast and a single observable (0-d) both keep their shapes."""
    grid = np.arange(6, dtype=float).reshape(2, 3) / 10
    pubs = [
        PubResult(DataBin(evs=grid, stds=grid, shape=(2, 3))),
        PubResult(DataBin(evs=np.array(0.75), stds=np.array(0.01), shape=())),
    ]
    decoded = prim.decode_primitive_result(encode(PrimitiveResult(pubs)))
    assert decoded[0].data.evs.tolist() == grid.tolist()
    assert decoded[0].data.evs[1, 2] == pytest.approx(0.5)
    scalar = decoded[1].data.evs
    assert scalar.shape == ()
    assert float(scalar) == 0.75


def test_metadata_envelopes_decode_and_unknown_ones_are_kept() -> None:
    """datetime, complex and set envelopes decode; an unknown envelope is kept as received."""
    stamp = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    pub = SamplerPubResult(DataBin(meas=random_bits(1, (), 4, seed=0)))
    original = PrimitiveResult(
        [pub], metadata={"when": stamp, "phase": complex(1, -2), "tags": {"a"}}
    )
    body = encode(original)
    body["__value__"]["metadata"]["future"] = {"__type__": "NewThing", "__value__": {"x": [1]}}
    body["__value__"]["metadata"]["spans"] = {
        "__type__": "ExecutionSpans",
        "__value__": {"spans": []},
    }
    decoded = prim.decode_primitive_result(body)
    assert decoded.metadata["when"] == stamp
    assert decoded.metadata["phase"] == complex(1, -2)
    assert decoded.metadata["tags"] == {"a"}
    assert decoded.metadata["future"] == {"__type__": "NewThing", "__value__": {"x": [1]}}
    assert decoded.metadata["spans"] == {"__type__": "ExecutionSpans", "__value__": {"spans": []}}


def test_to_qiskit_round_trips() -> None:
    """to_qiskit() gives qiskit's own PrimitiveResult with the same data."""
    bits = random_bits(9, (2,), 16, seed=3)
    sampler = sampler_result(meas=bits)
    back = prim.decode_primitive_result(encode(sampler)).to_qiskit()
    assert isinstance(back, PrimitiveResult)
    assert isinstance(back[0], SamplerPubResult)
    assert isinstance(back[0].data.meas, BitArray)
    assert np.array_equal(back[0].data.meas.array, bits.array)
    assert back[0].data.meas.num_bits == 9
    assert back.metadata == {"version": 2}

    evs = np.array([[0.5, 0.25]])
    estimator = PrimitiveResult([PubResult(DataBin(evs=evs, shape=(1, 2)))])
    back = prim.decode_primitive_result(encode(estimator)).to_qiskit()
    assert type(back[0]) is PubResult
    assert np.array_equal(back[0].data.evs, evs)
    assert back[0].data.shape == (1, 2)


def test_object_ndarray_sent_as_a_plain_list() -> None:
    """An ndarray envelope may hold a plain list instead of .npy bytes."""
    body = encode(PrimitiveResult([PubResult(DataBin(evs=np.array(0.5)))]))
    body["__value__"]["pub_results"][0]["__value__"]["data"]["__value__"]["fields"]["evs"] = {
        "__type__": "ndarray",
        "__value__": [[1, 2], [3, 4]],
    }
    evs = prim.decode_primitive_result(body)[0].data.evs
    assert evs.shape == (2, 2)
    assert evs.tolist() == [[1, 2], [3, 4]]


def test_real_execution_spans_metadata_is_kept() -> None:
    """The service's ExecutionSpans metadata (made here by the official encoder) is kept as sent."""
    from qiskit_ibm_runtime.execution_span import DoubleSliceSpan, ExecutionSpans

    start = datetime(2026, 1, 1, tzinfo=UTC)
    stop = datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC)
    spans = ExecutionSpans([DoubleSliceSpan(start, stop, {0: ((8, 1), slice(0, 8), slice(0, 1))})])
    pub = SamplerPubResult(DataBin(meas=random_bits(1, (), 8, seed=5)))
    body = encode(PrimitiveResult([pub], metadata={"execution": {"execution_spans": spans}}))
    sent = body["__value__"]["metadata"]["execution"]["execution_spans"]
    decoded = prim.decode_primitive_result(body)
    assert decoded.metadata["execution"]["execution_spans"] == sent
    assert sent["__type__"] == "ExecutionSpans"
    assert decoded[0].data.meas.num_shots == 8
