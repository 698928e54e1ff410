"""Decode + count sampler results: this SDK against qiskit-ibm-runtime's decoder + qiskit.

    python -m benchmarks.decode [--quick] [--rounds R]

Rows ``D[shape bits kind format]`` of the suite's table: one body per row, built once, then
decoded and counted interleaved (SDK, peer, then peer, SDK, ...):

- SDK: ``json.loads`` + ``decode_primitive_result`` + ``get_counts()`` of the register;
- peer, Qiskit-encoded bodies: ``json.loads(text, cls=RuntimeDecoder)`` (qiskit-ibm-runtime)
  + qiskit's ``BitArray.get_counts()``;
- peer, plain-JSON bodies (qiskit-ibm-runtime has no decoder for them): ``json.loads`` +
  qiskit's ``BitArray.from_samples(samples, num_bits)`` + ``get_counts()``.

Shapes: 4,096 x 2 bits, 100,000 x 127 bits, 100 points x 10,000 x 127 bits; ``uniform``
shots are random bits, ``ghz`` shots all zeros or all ones with a few flipped bits. The
ratio is peer time / SDK time (target >= 1.5). Peak memory is the traced peak of the SDK's
decode of the parsed body (tracemalloc), against the packed array's size (target <= 1.5x).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

from qruntime_session.primitives import decode_primitive_result

FULL = [((4096,), 2), ((100_000,), 127), ((100, 10_000), 127)]
QUICK = [((256,), 2), ((2000,), 127), ((4, 500), 127)]


def shots(shape: tuple[int, ...], num_bits: int, kind: str, seed: int = 7) -> np.ndarray:
    """Packed shots ``(*shape, bytes)`` in qiskit's layout."""
    rng = np.random.default_rng(seed)
    width = (num_bits + 7) // 8
    if kind == "uniform":
        packed = rng.integers(0, 256, (*shape, width), dtype=np.uint8)
    else:
        ones = rng.random(shape) < 0.5
        bits = np.repeat(ones[..., None], num_bits, axis=-1)
        bits ^= rng.random((*shape, num_bits)) < 0.01
        padded = np.zeros((*shape, width * 8), dtype=bool)
        padded[..., width * 8 - num_bits :] = bits
        packed = np.packbits(padded, axis=-1)
    packed[..., 0] &= 0xFF >> (-num_bits % 8)
    return packed


def qiskit_body(packed: np.ndarray, num_bits: int) -> str:
    from qiskit.primitives.containers import BitArray, DataBin, PrimitiveResult, SamplerPubResult
    from qiskit_ibm_runtime import RuntimeEncoder

    meas = BitArray(packed, num_bits)
    pub = SamplerPubResult(DataBin(meas=meas, shape=meas.shape), metadata={})
    return json.dumps(PrimitiveResult([pub], metadata={"version": 2}), cls=RuntimeEncoder)


def plain_body(packed: np.ndarray, num_bits: int) -> str:
    width = packed.shape[-1]
    flat = packed.reshape(-1, width)
    values = [hex(int.from_bytes(row.tobytes(), "big")) for row in flat]
    samples: Any = values
    for size in reversed(packed.shape[1:-2]):
        samples = [samples[i : i + size] for i in range(0, len(samples), size)]
    if packed.ndim > 2:
        points = packed.shape[-2]
        samples = [values[i : i + points] for i in range(0, len(values), points)]
    body = {"results": [{"data": {"meas": {"samples": samples, "num_bits": num_bits}}}]}
    return json.dumps(body)


def sdk(text: str) -> dict[str, int]:
    result = decode_primitive_result(json.loads(text), program_id="sampler")
    counts: dict[str, int] = result[0].data.meas.get_counts()
    return counts


def peer_qiskit(text: str) -> dict[str, int]:
    from qiskit_ibm_runtime import RuntimeDecoder

    counts: dict[str, int] = json.loads(text, cls=RuntimeDecoder)[0].data.meas.get_counts()
    return counts


def peer_plain(text: str) -> dict[str, int]:
    from qiskit.primitives.containers import BitArray

    meas = json.loads(text)["results"][0]["data"]["meas"]
    samples = meas["samples"]
    shape: list[int] = []
    probe = samples
    while isinstance(probe, list):
        shape.append(len(probe))
        probe = probe[0]
    flat = samples
    for _ in shape[1:]:
        flat = [s for part in flat for s in part]
    bits = BitArray.from_samples(flat, meas["num_bits"]).reshape(*shape)
    counts: dict[str, int] = bits.get_counts()
    return counts


def timed(work: Callable[[str], Any], text: str) -> float:
    gc.collect()
    started = time.perf_counter()
    work(text)
    return time.perf_counter() - started


def peak_ratio(text: str, packed_bytes: int) -> float:
    parsed = json.loads(text)
    gc.collect()
    tracemalloc.start()
    result = decode_primitive_result(parsed, program_id="sampler")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del result
    return peak / packed_bytes


def rows(quick: bool, rounds: int | None = None) -> list[dict[str, Any]]:
    """One row per body: ratio peer/SDK over interleaved rounds, peak memory ratio."""
    try:
        import qiskit_ibm_runtime  # noqa: F401
    except ImportError as exc:  # the peer is in the test extra; say so rather than guess
        return [
            {
                "figure": "D",
                "label": "decode + get_counts: peer not installed",
                "target": ">= 1.5x faster than qiskit-ibm-runtime + qiskit",
                "met": None,
                "error": str(exc),
            }
        ]
    count = rounds or (1 if quick else 5)
    out: list[dict[str, Any]] = []
    for shape, num_bits in QUICK if quick else FULL:
        for kind in ("uniform", "ghz"):
            packed = shots(shape, num_bits, kind)
            for fmt in ("qiskit", "plain"):
                text = (qiskit_body if fmt == "qiskit" else plain_body)(packed, num_bits)
                peer = peer_qiskit if fmt == "qiskit" else peer_plain
                assert sdk(text) == peer(text), "the SDK and the peer disagree"
                times: dict[str, list[float]] = {"sdk": [], "peer": []}
                for index in range(count):
                    order = ("sdk", "peer") if index % 2 == 0 else ("peer", "sdk")
                    for name in order:
                        times[name].append(timed(sdk if name == "sdk" else peer, text))
                ratios = [p / s for p, s in zip(times["peer"], times["sdk"], strict=True)]
                memory = peak_ratio(text, packed.nbytes)
                dims = "x".join(f"{n:,}" for n in shape)
                out.append(
                    {
                        "figure": f"D[{dims}x{num_bits} {kind} {fmt}]",
                        "label": (
                            f"decode + get_counts, {dims} shots x {num_bits} bits, {kind}, "
                            f"{fmt} body ({len(text) / 2**20:.1f} MB): peer time / SDK time"
                        ),
                        "ratio": {
                            "median": statistics.median(ratios),
                            "min": min(ratios),
                            "max": max(ratios),
                            "rounds": len(ratios),
                        },
                        "seconds": {k: statistics.median(v) for k, v in times.items()},
                        "peak_over_packed": memory,
                        "target": ">= 1.5x; peak <= 1.5x packed",
                        "met": statistics.median(ratios) >= 1.5 and memory <= 1.5,
                    }
                )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.decode")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int)
    args = parser.parse_args()
    nan = float("nan")
    for row in rows(args.quick, args.rounds):
        seconds = row.get("seconds", {})
        ratio = row.get("ratio", {})
        print(
            f"{row['figure']:<34} {ratio.get('median', nan):5.2f}x "
            f"({ratio.get('min', nan):.2f}-{ratio.get('max', nan):.2f}) "
            f"sdk {seconds.get('sdk', nan):.3f}s peer {seconds.get('peer', nan):.3f}s "
            f"peak {row.get('peak_over_packed', nan):.2f}x packed  "
            f"{'met' if row.get('met') else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
