"""Plain-JSON results (support_qiskit: false), hand-written per IBM's REST format, and bad bodies."""

from __future__ import annotations

import base64
import zlib
from typing import Any

import pytest

from qruntime_session import errors
from qruntime_session import primitives as prim

BELL = {
    "results": [
        {
            "data": {"meas": {"samples": ["0x0", "0x3", "0x3", "0x0", "0x3"], "num_bits": 2}},
            "metadata": {"circuit_metadata": {}},
        }
    ],
    "metadata": {"execution": {"execution_spans": []}, "version": 2},
}


def decode(body: Any, program_id: str | None = "sampler") -> prim.PrimitiveResult[Any]:
    return prim.decode_primitive_result(
        body, program_id=program_id, job_id="job-9", session_id="s-1"
    )


def test_bell_counts_from_hex_samples() -> None:
    result = decode(BELL)
    assert len(result) == 1
    meas = result[0].data.meas
    assert meas.get_counts() == {"00": 2, "11": 3}
    assert meas.get_int_counts() == {0: 2, 3: 3}
    assert meas.get_bitstrings() == ["00", "11", "11", "00", "11"]
    assert (meas.num_bits, meas.num_shots, meas.shape) == (2, 5, ())
    assert result[0].metadata == {"circuit_metadata": {}}
    assert result.metadata == {"execution": {"execution_spans": []}, "version": 2}
    assert [type(p) for p in result] == [prim.SamplerPubResult]


def test_bit_strings_are_most_significant_bit_first() -> None:
    """0x1 in a 3-bit register is clbit 0 set: printed '001', as qiskit prints it."""
    body = {"results": [{"data": {"c": {"samples": ["0x1", "0x4"], "num_bits": 3}}}]}
    assert decode(body)[0].data.c.get_bitstrings() == ["001", "100"]


def test_sweep_samples_nest_by_point() -> None:
    body = {
        "results": [
            {
                "data": {
                    "meas": {
                        "samples": [["0x0", "0x1"], ["0x1", "0x1"], ["0x0", "0x0"]],
                        "num_bits": 1,
                    }
                }
            }
        ]
    }
    meas = decode(body)[0].data.meas
    assert meas.shape == (3,)
    assert meas.num_shots == 2
    assert meas.get_counts(1) == {"1": 2}
    assert meas.get_counts(-1) == {"0": 2}
    assert meas.get_counts() == {"0": 3, "1": 3}


def test_two_registers_and_unknown_fields_are_kept() -> None:
    body = {
        "results": [
            {
                "data": {
                    "a": {"samples": ["0x1"], "num_bits": 1},
                    "b": {"samples": ["0x2"], "num_bits": 2},
                    "note": {"anything": True},
                },
                "metadata": {"x": 1},
                "extra": "kept in the JSON only",
            }
        ],
        "metadata": {"new_field": [1, 2]},
    }
    pub = decode(body)[0]
    assert isinstance(pub, prim.SamplerPubResult)
    assert list(pub.data) == ["a", "b", "note"]
    assert pub.data.note == {"anything": True}
    assert pub.join_data(["a", "b"]).get_bitstrings() == ["101"]
    assert decode(body).metadata == {"new_field": [1, 2]}


def test_estimator_values_are_shaped_arrays() -> None:
    body = {
        "results": [
            {
                "data": {
                    "evs": [0.5, -1.0],
                    "stds": [0.1, 0.2],
                    "ensemble_standard_error": [0.1, 0.2],
                }
            },
            {"data": {"evs": 0.25, "stds": 0.01, "ensemble_standard_error": 0.01}},
            {"data": {"evs": [[1, 2, 3], [4, 5, 6]], "stds": [[0, 0, 0], [0, 0, 0]]}},
        ]
    }
    result = decode(body, "estimator")
    assert all(type(p) is prim.PubResult for p in result)
    first = result[0].data
    assert first.evs.shape == (2,)
    assert first.evs.tolist() == [0.5, -1.0]
    assert first.evs[1] == -1.0
    assert list(first.evs) == [0.5, -1.0]
    assert first.shape == (2,)
    assert float(result[1].data.evs) == 0.25
    assert result[1].data.evs.shape == ()
    assert result[2].data.evs.shape == (2, 3)
    assert result[2].data.evs[1].tolist() == [4, 5, 6]
    assert result[2].data.shape == (2, 3)


def test_program_unknown_is_guessed_from_the_data() -> None:
    assert type(decode(BELL, None)[0]) is prim.SamplerPubResult
    assert type(decode({"results": [{"data": {"evs": 1.0}}]}, None)[0]) is prim.PubResult


def test_missing_num_bits_is_inferred() -> None:
    body = {"results": [{"data": {"meas": {"samples": ["0x5", "0x1"]}}}]}
    assert decode(body)[0].data.meas.get_counts() == {"101": 1, "001": 1}


@pytest.mark.parametrize(
    "body",
    [
        None,
        "text",
        [1, 2],
        {},
        {"results": "no"},
        {"results": [1]},
        {"results": [{"data": []}]},
        {"results": [{"data": {"m": {"samples": ["11"], "num_bits": 2}}}]},
        {"results": [{"data": {"m": {"samples": ["0x7"], "num_bits": 2}}}]},
        {"results": [{"data": {"m": {"samples": ["0xZZ"], "num_bits": 2}}}]},
        {"results": [{"data": {"m": {"samples": [["0x1"], ["0x1", "0x0"]], "num_bits": 2}}}]},
        {"results": [{"data": {"m": {"samples": ["0x1"], "num_bits": -1}}}]},
        {"results": [{"data": {"m": {"samples": "0x1", "num_bits": 1}}}]},
        {"__type__": "DataBin", "__value__": {"fields": {}, "shape": []}},
        {"__type__": "PrimitiveResult", "__value__": {"pub_results": [{"data": {}}]}},
        {
            "__type__": "PrimitiveResult",
            "__value__": {
                "pub_results": [
                    {
                        "__type__": "SamplerPubResult",
                        "__value__": {
                            "data": {
                                "__type__": "DataBin",
                                "__value__": {
                                    "fields": {
                                        "m": {
                                            "__type__": "BitArray",
                                            "__value__": {
                                                "array": {
                                                    "__type__": "ndarray",
                                                    "__value__": "not base64!",
                                                },
                                                "num_bits": 2,
                                            },
                                        }
                                    },
                                    "shape": [],
                                },
                            }
                        },
                    }
                ]
            },
        },
        {
            "__type__": "PrimitiveResult",
            "__value__": {
                "pub_results": [
                    {
                        "__type__": "SamplerPubResult",
                        "__value__": {
                            "data": {
                                "__type__": "DataBin",
                                "__value__": {
                                    "fields": {
                                        "m": {
                                            "__type__": "BitArray",
                                            "__value__": {
                                                "array": {
                                                    "__type__": "ndarray",
                                                    "__value__": [[3], [9]],
                                                },
                                                "num_bits": 2,
                                            },
                                        }
                                    },
                                    "shape": [],
                                },
                            }
                        },
                    }
                ]
            },
        },
        {
            "__type__": "PrimitiveResult",
            "__value__": {
                "pub_results": [
                    {
                        "__type__": "SamplerPubResult",
                        "__value__": {
                            "data": {
                                "__type__": "DataBin",
                                "__value__": {
                                    "fields": {
                                        "m": {
                                            "__type__": "ndarray",
                                            "__value__": base64.b64encode(
                                                zlib.compress(b"\x93NUMPY garbage")
                                            ).decode(),
                                        }
                                    },
                                    "shape": [],
                                },
                            }
                        },
                    }
                ]
            },
        },
    ],
)
def test_malformed_bodies_raise_a_typed_error_naming_the_job(body: Any) -> None:
    with pytest.raises(errors.ResultDecodeError) as info:
        decode(body)
    assert isinstance(info.value, errors.QRuntimeError)
    assert isinstance(info.value, ValueError)
    assert info.value.job_id == "job-9"
    assert info.value.session_id == "s-1"
    assert "job-9" in str(info.value)


def test_deep_nesting_is_a_typed_error_not_recursion() -> None:
    deep: Any = 0
    for _ in range(20_000):
        deep = {"x": [deep]}
    body = {"results": [{"data": {}, "metadata": deep}]}
    with pytest.raises(errors.ResultDecodeError, match="deeper"):
        decode(body)
    envelope: Any = 1
    for _ in range(20_000):
        envelope = {"__type__": "set", "__value__": [envelope]}
    wrapped = {
        "__type__": "PrimitiveResult",
        "__value__": {"pub_results": [], "metadata": envelope},
    }
    with pytest.raises(errors.ResultDecodeError):
        decode(wrapped)


def test_cyclic_input_is_a_typed_error() -> None:
    cyclic: dict[str, Any] = {}
    cyclic["self"] = cyclic
    with pytest.raises(errors.ResultDecodeError):
        decode({"results": [{"data": {}, "metadata": cyclic}]})
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(errors.ResultDecodeError):
        decode({"results": [{"data": {"m": {"samples": loop, "num_bits": 1}}}]})


def test_decompression_is_bounded() -> None:
    """An ndarray that inflates past what its header declares is malformed, not read."""
    import io

    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, np.zeros(10, dtype=np.uint8))
    bomb = base64.b64encode(zlib.compress(buffer.getvalue() + b"\x00" * 100_000)).decode()
    body = {
        "__type__": "PrimitiveResult",
        "__value__": {
            "pub_results": [],
            "metadata": {"x": {"__type__": "ndarray", "__value__": bomb}},
        },
    }
    with pytest.raises(errors.ResultDecodeError, match="inflates"):
        decode(body)
