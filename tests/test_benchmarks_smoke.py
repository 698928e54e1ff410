"""The benchmark suite runs end to end at tiny sizes and writes results that parse.

No timing is asserted: only that every figure was produced and has the documented shape.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_benchmark_suite_runs_quick(tmp_path: Path) -> None:
    """``python -m benchmarks --quick`` prints the table and writes bench.json."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--no-plot", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    data = json.loads((tmp_path / "bench.json").read_text())
    figures = {row["figure"] for row in data["rows"] if not row["figure"].startswith("D[")}
    decode = [row for row in data["rows"] if row["figure"].startswith("D[")]
    assert len(decode) == 12  # 3 sizes x uniform/GHZ x qiskit/plain bodies
    assert all(row["peak_over_packed"] > 0 for row in decode)
    assert figures == {
        "P1",
        "P1x50",
        "P2",
        "P3",
        "P4",
        "P5",
        "P6",
        "P6session",
        "P6cli",
        "P7",
        "P7stored",
        "P8",
        "sessions",
    }
    for row in data["rows"]:
        assert row["verdict"] in ("met", "NOT met", "-")
        assert row["target"]
        if "ratio" in row:
            ratio = row["ratio"]
            assert ratio["min"] <= ratio["median"] <= ratio["max"]
            assert ratio["min"] > 0
    p3 = next(row for row in data["rows"] if row["figure"] == "P3")
    assert set(p3["by_order"]) == {"at once", "in order", "reverse", "random"}
    assert all(c["wait_all"] < c["per_job"] for c in p3["requests"].values())
    p8 = next(row for row in data["rows"] if row["figure"] == "P8")
    assert p8["pickup"]["sdk"]["n"] == 2
    assert 0 <= p8["pickup"]["sdk"]["p50"] < 2.0
    assert data["context"]["mode"] == "quick"
    assert "plot skipped: --no-plot" in data["notes"]
    assert "P6cli" in done.stdout
    assert "results:" in done.stdout


def test_rounds_also_set_the_whole_process_figures_rounds() -> None:
    """``--rounds N`` applies to P4 and P6cli too (they printed 7 rounds whatever N was)."""
    from benchmarks.suite import Sizes

    assert Sizes(quick=False, rounds=2).process_rounds == 2
    assert Sizes(quick=False, rounds=None).process_rounds == 7
    assert Sizes(quick=True, rounds=None).process_rounds == 1


def test_p7_body_is_what_the_official_client_sends() -> None:
    """P7 posts the stored body; it is what the installed qiskit-ibm-runtime's SamplerV2 sends."""
    import pytest

    pytest.importorskip("qiskit_ibm_runtime")
    from benchmarks.peers.official_params import official_params

    stored = json.loads((ROOT / "benchmarks" / "data" / "official_sampler_params.json").read_text())
    assert official_params() == stored
    circuit = stored["pubs"][0][0]
    assert circuit["__type__"] == "QuantumCircuit"  # QPY, not OpenQASM text


def test_the_benchmark_scripts_answer_help_with_their_usage() -> None:
    """``--help`` prints each script's usage and exits 0 (it used to raise a traceback)."""
    for command in (
        ["-m", "benchmarks.profile_flows"],
        ["-m", "benchmarks.spy_summary"],
        ["-m", "benchmarks.cancelled_sessions"],
        ["benchmarks/wait_many.py"],
    ):
        done = subprocess.run(
            [sys.executable, *command, "--help"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, (command, done.stderr[-2000:])
        assert "python" in done.stdout, command
        assert "Traceback" not in done.stderr, command
