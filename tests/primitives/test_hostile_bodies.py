"""Hostile result bodies: each one of at most 1 MB ends in ResultDecodeError within 2 s and
256 MB, never in MemoryError, OverflowError or a long stall (measured in a fresh process)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from qruntime_session import errors
from qruntime_session.primitives import DecodeLimits, decode_primitive_result

PROBE = textwrap.dedent(
    r"""
    import base64, io, json, resource, sys, time, tracemalloc, zlib
    import numpy as np
    from qruntime_session.errors import ResultDecodeError
    from qruntime_session.primitives import decode_primitive_result

    def npy(shape, descr="|u1", fortran=False, data=b"", pad_to=0):
        header = repr({"descr": descr, "fortran_order": fortran, "shape": shape}).encode()
        header += b" " * (-(len(header) + 11) % 64) + b"\n"
        raw = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + data
        return raw

    def env(raw, zeros=0):
        packer = zlib.compressobj(9)
        parts = [packer.compress(raw)]
        chunk = b"\0" * (16 << 20)
        while zeros > 0:
            parts.append(packer.compress(chunk[: min(zeros, len(chunk))]))
            zeros -= len(chunk)
        parts.append(packer.flush())
        return {"__type__": "ndarray", "__value__": base64.b64encode(b"".join(parts)).decode()}

    def wrap(fields, pubs=1):
        data = {"__type__": "DataBin", "__value__": {"field_names": list(fields), "shape": [], "fields": fields}}
        pub = {"__type__": "SamplerPubResult", "__value__": {"data": data, "metadata": {}}}
        return {"__type__": "PrimitiveResult", "__value__": {"pub_results": [pub] * pubs, "metadata": {}}}

    def bits(array_env, num_bits):
        return {"__type__": "BitArray", "__value__": {"array": array_env, "num_bits": num_bits}}

    cases = {
        "bomb-over-declared": lambda: wrap({"m": bits(env(npy((1000, 1)), 700 << 20), 8)}),
        "bomb-declared-huge": lambda: wrap({"m": bits(env(npy((1 << 40, 1)), 1 << 20), 8)}),
        "bomb-many-arrays": lambda: wrap({f"m{i}": bits(env(npy((100 << 20, 1)), 100 << 20), 8) for i in range(3)}),
        "bomb-at-the-limit": lambda: wrap({"m": bits(env(npy((127 << 20, 1)), 600 << 20), 8)}),
        "fortran-lie": lambda: wrap({"m": bits(env(npy((1 << 20, 1 << 12), fortran=True), 1 << 20), 8)}),
        "num-bits-2-40": lambda: wrap({"m": bits(env(npy((1, 1))), 1 << 40)}),
        "plain-num-bits-2-40": lambda: {"results": [{"data": {"m": {"samples": ["0x1"] * 1000, "num_bits": 1 << 40}}}]},
        "plain-wide-registers": lambda: {"results": [{"data": {"m": {"samples": ["0x1"] * 150_000, "num_bits": 60_000}}}]},
        "complex-10-400": lambda: {"__type__": "PrimitiveResult", "__value__": {"pub_results": [], "metadata": {"c": {"__type__": "complex", "__value__": [10**400, 0]}}}},
        "many-pubs": lambda: {"results": [{}] * 240_000},
        "deep": lambda: {"results": [{"data": {"m": {"samples": json.loads("[" * 900 + "]" * 900), "num_bits": 1}}}]},
        "header-huge": lambda: wrap({"m": bits(env(b"\x93NUMPY\x01\x00" + (65000).to_bytes(2, "little") + b"{" * 65000), 8)}),
        "object-array": lambda: wrap({"m": bits(env(npy((1, 1), descr="|O")), 8)}),
        "not-base64": lambda: wrap({"m": bits({"__type__": "ndarray", "__value__": "@@@@" * 200_000}, 8)}),
        "hex-garbage": lambda: {"results": [{"data": {"m": {"samples": ["0xzz"] * 100_000, "num_bits": 8}}}]},
    }
    out = {}
    for name in sys.argv[1:]:
        body = cases[name]()
        size = len(json.dumps(body))
        assert size <= 1_100_000, (name, size)
        def attempt():
            try:
                decode_primitive_result(body, program_id="sampler")
                return "decoded"
            except ResultDecodeError:
                return "ResultDecodeError"
            except BaseException as exc:
                return type(exc).__name__

        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        wall, cpu = time.perf_counter(), time.process_time()
        kind = attempt()  # timed without tracemalloc, which slows allocation
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        tracemalloc.start()
        attempt()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        out[name] = {"kind": kind, "seconds": wall, "cpu_seconds": cpu, "peak_mb": peak / 2**20,
                     "rss_growth_mb": (rss_after - rss_before) / 1024, "size": size}
    print(json.dumps(out))
    """
)


CASES = [
    "bomb-over-declared",
    "bomb-declared-huge",
    "bomb-many-arrays",
    "bomb-at-the-limit",
    "fortran-lie",
    "num-bits-2-40",
    "plain-num-bits-2-40",
    "plain-wide-registers",
    "complex-10-400",
    "many-pubs",
    "deep",
    "header-huge",
    "object-array",
    "not-base64",
    "hex-garbage",
]


@pytest.mark.parametrize("group", [CASES[:5], CASES[5:]], ids=["bombs", "shapes"])
def test_hostile_bodies_end_in_result_decode_error_fast_and_small(group: list[str]) -> None:
    """Peak traced memory and the process's peak RSS growth both stay under 256 MB; the
    decoder's CPU time stays under 2 s (CPU, not wall, time: CI shares its cores), and wall
    time under 3x that."""
    report = {}
    for name in group:  # one fresh process per body: the RSS high-water mark is its own
        done = subprocess.run(
            [sys.executable, "-c", PROBE, name],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        report.update(json.loads(done.stdout))
    for name, row in report.items():
        assert row["kind"] == "ResultDecodeError", (name, row)
        assert row["cpu_seconds"] < 2.0, (name, row)
        assert row["seconds"] < 6.0, (name, row)
        assert row["peak_mb"] < 256, (name, row)
        assert row["rss_growth_mb"] < 256, (name, row)


def _bomb_body(declared: int, inflated: int) -> dict[str, object]:
    import base64
    import io
    import zlib

    buffer = io.BytesIO()
    np.save(buffer, np.zeros((declared, 1), dtype=np.uint8))
    raw = buffer.getvalue() + b"\0" * (inflated - declared)
    array = {"__type__": "ndarray", "__value__": base64.b64encode(zlib.compress(raw)).decode()}
    bits = {"__type__": "BitArray", "__value__": {"array": array, "num_bits": 8}}
    data = {"__type__": "DataBin", "__value__": {"shape": [], "fields": {"m": bits}}}
    pub = {"__type__": "SamplerPubResult", "__value__": {"data": data}}
    return {"__type__": "PrimitiveResult", "__value__": {"pub_results": [pub]}}


def test_limits_can_be_raised_and_lowered() -> None:
    """An array over the limit is refused before allocation; a raised limit reads it."""
    body = _bomb_body(4096, 4096)
    small = DecodeLimits(max_array_bytes=1000)
    with pytest.raises(errors.ResultDecodeError, match="max_array_bytes"):
        decode_primitive_result(body, limits=small)
    result = decode_primitive_result(body, limits=DecodeLimits(max_array_bytes=5000))
    assert result[0].data.m.num_shots == 4096
    with pytest.raises(errors.ResultDecodeError, match="more bytes than its header"):
        decode_primitive_result(_bomb_body(10, 5000))
    with pytest.raises(errors.ResultDecodeError, match="max_pubs"):
        decode_primitive_result({"results": [{}] * 3}, limits=DecodeLimits(max_pubs=2))
    with pytest.raises(errors.ResultDecodeError, match="max_num_bits"):
        decode_primitive_result(
            {"results": [{"data": {"m": {"samples": ["0x1"], "num_bits": 100}}}]},
            limits=DecodeLimits(max_num_bits=64),
        )
    with pytest.raises(ValueError, match="positive"):
        DecodeLimits(max_pubs=0)


def test_fortran_ordered_arrays_are_read_as_views() -> None:
    import base64
    import io
    import zlib

    array = np.asfortranarray(np.arange(24, dtype=np.float64).reshape(2, 3, 4))
    buffer = io.BytesIO()
    np.save(buffer, array)
    env = {
        "__type__": "ndarray",
        "__value__": base64.b64encode(zlib.compress(buffer.getvalue())).decode(),
    }
    data = {"__type__": "DataBin", "__value__": {"shape": [2, 3, 4], "fields": {"evs": env}}}
    pub = {"__type__": "PubResult", "__value__": {"data": data}}
    result = decode_primitive_result(
        {"__type__": "PrimitiveResult", "__value__": {"pub_results": [pub]}}
    )
    np.testing.assert_array_equal(result[0].data.evs, array)
