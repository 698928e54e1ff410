"""Deterministic, plausible job outputs: results, logs.

Nothing here simulates a circuit. Every number is drawn from a PRNG seeded with the job id,
the program id and the params, so the same job always answers the same body, and different
jobs answer different ones. The shapes are documented in ``docs/emulator.md``.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "DEFAULT_ESTIMATOR_PRECISION",
    "DEFAULT_SAMPLER_SHOTS",
    "MAX_SAMPLES",
    "estimator_result",
    "generic_result",
    "job_logs",
    "pub_count",
    "result_for",
    "sampler_result",
    "total_shots",
]

#: SamplerV2's default shots when neither the pub, ``shots`` nor ``options.default_shots`` say.
DEFAULT_SAMPLER_SHOTS = 4096
#: EstimatorV2's default precision when neither the pub, ``precision`` nor the options say.
DEFAULT_ESTIMATOR_PRECISION = 0.015625
#: Per-shot ``samples`` are listed only up to this many shots (counts are always given).
MAX_SAMPLES = 10_000
#: Number of classical bits assumed when the circuit is not OpenQASM text.
DEFAULT_NUM_BITS = 2

# Declarations start a statement (line start or after ";"); OpenQASM 3 may initialise them.
_QASM3_BITS = re.compile(
    r"(?:^|(?<=[;{}]))\s*bit\s*(?:\[\s*(\d+)\s*\])?\s+([A-Za-z_]\w*)(?=\s*[;=])", re.MULTILINE
)
_QASM2_CREG = re.compile(
    r"(?:^|(?<=[;{}]))\s*creg\s+([A-Za-z_]\w*)\s*\[\s*(\d+)\s*\](?=\s*;)", re.MULTILINE
)


def _rng(*parts: Any) -> random.Random:
    material = json.dumps(parts, sort_keys=True, default=repr, separators=(",", ":"))
    seed = int.from_bytes(hashlib.sha256(material.encode()).digest()[:8], "big")
    return random.Random(seed)  # noqa: S311 - plausible fake data, not security


def _options(params: Mapping[str, Any]) -> Mapping[str, Any]:
    options = params.get("options")
    return options if isinstance(options, Mapping) else {}


def _pubs(params: Mapping[str, Any]) -> list[Any]:
    pubs = params.get("pubs")
    return list(pubs) if isinstance(pubs, list) else []


def pub_count(params: Mapping[str, Any] | None) -> int:
    """How many pubs the params carry (0 when none or not a primitive)."""
    return len(_pubs(params or {}))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _classical_registers(circuit: Any) -> list[tuple[str, int]]:
    """Classical registers declared by an OpenQASM 2/3 text, else one ``meas`` register."""
    if isinstance(circuit, str):
        found = [(name, int(size) if size else 1) for size, name in _QASM3_BITS.findall(circuit)]
        found += [(name, int(size)) for name, size in _QASM2_CREG.findall(circuit)]
        if found:
            return found
    return [("meas", DEFAULT_NUM_BITS)]


def _sampler_shots(pub: Any, params: Mapping[str, Any]) -> int:
    if isinstance(pub, list) and len(pub) >= 3 and _is_int(pub[2]):
        return max(int(pub[2]), 0)
    if _is_int(params.get("shots")):
        return max(int(params["shots"]), 0)
    default: Any = _options(params).get("default_shots")
    if _is_int(default):
        return max(int(default), 0)
    return DEFAULT_SAMPLER_SHOTS


def total_shots(program_id: str, params: Mapping[str, Any] | None) -> int:
    """Shots a sampler job executes over all its pubs (0 for other programs)."""
    if program_id != "sampler" or not params:
        return 0
    return sum(_sampler_shots(pub, params) for pub in _pubs(params))


def _counts(rng: random.Random, num_bits: int, shots: int) -> dict[str, int]:
    """A skewed distribution: a few dominant outcomes plus some low-probability noise."""
    if shots == 0:
        return {}
    space = 2**num_bits
    dominant = rng.sample(range(space), k=min(space, 2 if num_bits > 1 else 1))
    weights: dict[int, float] = {value: rng.uniform(0.8, 1.2) for value in dominant}
    for _ in range(min(space - len(dominant), 3)):
        weights.setdefault(rng.randrange(space), rng.uniform(0.005, 0.03))
    total = sum(weights.values())
    counts = {value: math.floor(weight / total * shots) for value, weight in weights.items()}
    leftover = shots - sum(counts.values())
    for value in sorted(weights, key=lambda v: -weights[v])[:leftover]:
        counts[value] += 1
    # A dominant outcome can absorb a rounding leftover larger than the number of outcomes.
    counts[dominant[0]] += shots - sum(counts.values())
    return {format(value, f"0{num_bits}b"): n for value, n in sorted(counts.items()) if n > 0}


def sampler_result(
    job_id: str, params: Mapping[str, Any], *, started: str, finished: str
) -> dict[str, Any]:
    """SamplerV2-like result: per pub, per classical register, ``counts`` and ``samples``."""
    results: list[dict[str, Any]] = []
    for index, pub in enumerate(_pubs(params)):
        circuit = pub[0] if isinstance(pub, list) and pub else pub
        shots = _sampler_shots(pub, params)
        rng = _rng("sampler", job_id, params, index)
        data: dict[str, Any] = {}
        for name, num_bits in _classical_registers(circuit):
            counts = _counts(rng, num_bits, shots)
            entry: dict[str, Any] = {"num_bits": num_bits, "num_shots": shots, "counts": counts}
            if shots <= MAX_SAMPLES:
                samples = [bits for bits, n in counts.items() for _ in range(n)]
                rng.shuffle(samples)
                entry["samples"] = samples
            data[name] = entry
        results.append({"data": data, "metadata": {"shots": shots, "circuit_metadata": {}}})
    return _primitive_result(results, started, finished)


def _observable_norm(observable: Any) -> float:
    """Sum of |coefficients| of a ``{pauli: coeff}`` observable; 1 for a bare Pauli string."""
    if isinstance(observable, Mapping) and observable:
        norm = 0.0
        for coefficient in observable.values():
            if _is_number(coefficient):
                norm += abs(float(coefficient))
            elif (
                isinstance(coefficient, Sequence)
                and len(coefficient) == 2
                and all(_is_number(part) for part in coefficient)
            ):
                norm += math.hypot(float(coefficient[0]), float(coefficient[1]))
            else:
                norm += 1.0
        return norm or 1.0
    return 1.0


def _shaped(observables: Any, draw: Any) -> Any:
    """Map ``draw(observable)`` over the (nested) list structure of ``observables``."""
    if isinstance(observables, list):
        return [_shaped(item, draw) for item in observables]
    return draw(observables)


def _estimate_drawer(rng: random.Random, precision: float) -> Any:
    """``observable -> (expectation value, standard deviation)`` drawn from ``rng``."""

    def draw(observable: Any) -> tuple[float, float]:
        norm = _observable_norm(observable)
        value = round(rng.uniform(-1.0, 1.0) * norm, 6)
        spread = round(precision * rng.uniform(0.8, 1.2) * norm, 6)
        return value, spread

    return draw


def _estimator_precision(pub: Any, params: Mapping[str, Any]) -> float:
    if isinstance(pub, list) and len(pub) >= 4 and _is_number(pub[3]) and pub[3] > 0:
        return float(pub[3])
    if _is_number(params.get("precision")) and params["precision"] > 0:
        return float(params["precision"])
    default: Any = _options(params).get("default_precision")
    if _is_number(default) and default > 0:
        return float(default)
    return DEFAULT_ESTIMATOR_PRECISION


def estimator_result(
    job_id: str, params: Mapping[str, Any], *, started: str, finished: str
) -> dict[str, Any]:
    """EstimatorV2-like result: per pub ``evs``/``stds`` shaped like the pub's observables."""
    results: list[dict[str, Any]] = []
    for index, pub in enumerate(_pubs(params)):
        observables = pub[1] if isinstance(pub, list) and len(pub) >= 2 else "Z"
        precision = _estimator_precision(pub, params)
        rng = _rng("estimator", job_id, params, index)
        pairs = _shaped(observables, _estimate_drawer(rng, precision))
        results.append(
            {
                "data": {
                    "evs": _first(pairs),
                    "stds": _second(pairs),
                    "ensemble_standard_error": _second(pairs),
                },
                "metadata": {
                    "target_precision": precision,
                    "shots": math.ceil(1.0 / precision**2),
                    "circuit_metadata": {},
                },
            }
        )
    return _primitive_result(results, started, finished)


def _first(pairs: Any) -> Any:
    if isinstance(pairs, list):
        return [_first(item) for item in pairs]
    return pairs[0]


def _second(pairs: Any) -> Any:
    if isinstance(pairs, list):
        return [_second(item) for item in pairs]
    return pairs[1]


def generic_result(
    job_id: str, program_id: str, backend: str, params: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Result of any program other than ``sampler``/``estimator``."""
    material = json.dumps(params or {}, sort_keys=True, default=repr).encode()
    return {
        "program_id": program_id,
        "job_id": job_id,
        "backend": backend,
        "params_sha256": hashlib.sha256(material).hexdigest(),
        "message": "Result generated by the qruntime_session emulator.",
    }


def result_for(
    *,
    job_id: str,
    program_id: str,
    backend: str,
    params: Mapping[str, Any] | None,
    started: str,
    finished: str,
) -> dict[str, Any]:
    """The final result body of a completed job."""
    if program_id == "sampler":
        return sampler_result(job_id, params or {}, started=started, finished=finished)
    if program_id == "estimator":
        return estimator_result(job_id, params or {}, started=started, finished=finished)
    return generic_result(job_id, program_id, backend, params)


def job_logs(
    *,
    job_id: str,
    program_id: str,
    backend: str,
    session_id: str | None,
    params: Mapping[str, Any] | None,
    created: str,
    started: str | None,
    finished: str | None,
    status: str,
    reason: str | None,
) -> str:
    """A few plausible log lines for the stages the job has reached."""
    lines = [f"{created} INFO qiskit_runtime: job {job_id} accepted: program {program_id}."]
    if started is not None:
        where = f" in session {session_id}" if session_id else ""
        lines.append(f"{started} INFO qiskit_runtime: running on {backend}{where}.")
        pubs = pub_count(params)
        if pubs:
            lines.append(f"{started} INFO qiskit_runtime: executing {pubs} pub(s).")
    if finished is not None:
        tail = f": {reason}" if reason else "."
        level = "ERROR" if status == "Failed" else "INFO"
        lines.append(f"{finished} {level} qiskit_runtime: job finished as {status}{tail}")
    return "\n".join(lines) + "\n"


def _primitive_result(results: list[dict[str, Any]], started: str, finished: str) -> dict[str, Any]:
    """The V2 primitive result envelope: per-pub results plus one execution span."""
    return {
        "results": results,
        "metadata": {
            "execution": {
                "execution_spans": [
                    {"start": started, "stop": finished, "pubs": list(range(len(results)))}
                ]
            },
            "version": 2,
        },
    }
