"""Hostile and big jobs against an emulator in its own process (issue 15, acceptance 3).

The emulator runs with its real defaults (``python -m benchmarks._serve``: queue and run
seconds 0, the ``sim`` extra on when installed) in a subprocess, so its memory can be read
from ``/proc/<pid>/status``. Each job is submitted with plain aiohttp while a second client
GETs another job every 20 ms; per job the test asserts: no 500 anywhere, the job ends
``Failed`` with a reason (or ``Completed`` when it is within the limits), the emulator's peak
RSS stays under 1 GiB, and the other client's GET latency stays under 100 ms (asserted on
the 99th percentile; the worst is reported, since 2 shared cores can stall any process).

``QRS_HOSTILE_REPORT=1 pytest tests/emulator/test_emu_hostile_load.py -s`` prints the table
quoted in docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import io
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from qruntime_session.emulator._npy import encode_ndarray

from .emu_support import API_VERSION
from .test_emu_judging import BELL_ISA, _bomb, _qpy_claiming

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="reads the emulator's RSS from /proc"
)

#: A one-qubit circuit short enough for 10^4 pubs to fit the 1 MiB request-body limit.
TINY = "OPENQASM 3.0; bit[1] c; qubit[1] q; sx q[0]; c[0] = measure q[0];"
ROOT = Path(__file__).resolve().parents[2]
GIB = 1 << 30
P99_LIMIT = 0.1
FINISH_TIMEOUT = 90.0
#: The one setting that is not the default (60 s): the estimator sweep (10^4 points of a
#: 20-qubit circuit, 1.2 KB) runs until the job-time limit fails it, and CI has ~60 s for
#: this module. ``QRS_HOSTILE_TIME_LIMIT=60`` measures it with the default.
JOB_TIME_LIMIT = float(os.environ.get("QRS_HOSTILE_TIME_LIMIT", "8"))
#: Another client's GETs are timed for at least this long per job (about 25 of them).
MIN_WINDOW = 0.5


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field} missing from /proc/{pid}/status")


def _reset_peak(pid: int) -> bool:
    """Reset the process's VmHWM (Linux >= 4.0); ``False`` where that is not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _big_qasm(gates: int) -> str:
    """An ISA circuit for ibm_fez (rz/sx/cz on qubits 0..1) of ``gates`` gates."""
    body = ["sx q[0];", "sx q[1];", "rz(1) q[0];", "cz q[0],q[1];", "sx q[1];"]
    lines = [body[index % len(body)] for index in range(gates)]
    head = 'OPENQASM 3.0; include "stdgates.inc"; bit[2] c; qubit[2] q;\n'
    return head + "".join(lines) + "c = measure q;"


def _swept_estimator(points: int, qubits: int) -> dict[str, Any]:
    """A small estimator job: one parameter on ``qubits`` qubits (no cz: any qubits of the
    device are ISA), swept over ``points`` values (1.2 KB for 10^4 points of 20 qubits)."""
    lines = ['OPENQASM 3.0; include "stdgates.inc"; input float[64] theta;', f"qubit[{qubits}] q;"]
    lines += [f"rz(theta) q[{index}]; sx q[{index}];" for index in range(qubits)]
    values = encode_ndarray("<f8", (points, 1), bytes(8 * points))
    return {"pubs": [["\n".join(lines), ["Z" * qubits], values]], "version": 2}


def _nested(depth: int) -> Any:
    deep: Any = 1
    for _ in range(depth):
        deep = [deep]
    return deep


#: (name, program, params, what may end it: "Failed" or "Completed").
JOBS: list[tuple[str, str, Any, str]] = [
    ("qasm 10^5 gates", "sampler", lambda: {"pubs": [[_big_qasm(100_000), None, 100]]}, "Failed"),
    ("10^4 pubs", "sampler", lambda: {"pubs": [[TINY, None, 10]] * 10_000}, "Failed"),
    ("shots 10^7", "sampler", lambda: {"pubs": [[BELL_ISA, None, 10**7]]}, "Failed"),
    ("shots 10^9", "sampler", lambda: {"pubs": [[BELL_ISA, None, 10**9]]}, "Failed"),
    ("shots 10^30", "sampler", lambda: {"pubs": [[BELL_ISA, None, 10**30]]}, "Failed"),
    ("precision 1e-12", "estimator", lambda: {"pubs": [[BELL_ISA, ["ZZ"], None, 1e-12]]}, "Failed"),
    (
        "precision 1e-300",
        "estimator",
        lambda: {"pubs": [[BELL_ISA, ["ZZ"], None, 1e-300]]},
        "Failed",
    ),
    ("params nested 500", "sampler", lambda: {"pubs": [[BELL_ISA, _nested(500), 10]]}, "Failed"),
    ("estimator sweep", "estimator", lambda: _swept_estimator(10_000, 20), "Failed"),
    (
        "qpy 2^31-1 qubits",
        "sampler",
        lambda: {"pubs": [[_qpy_claiming(2**31 - 1), None, 10]]},
        "Failed",
    ),
    ("zlib bomb 64 MB", "sampler", lambda: {"pubs": [[BELL_ISA, _bomb(64_000_000), 10]]}, "Failed"),
    (
        "sweep 10^6 points",
        "sampler",
        lambda: {"pubs": [[BELL_ISA, encode_ndarray("<f8", (10**6, 1), bytes(8 * 10**6)), 10]]},
        "Failed",
    ),
]


class _Served(dict[str, Any]):
    """The subprocess's banner; its repr hides the credentials (failure texts show locals)."""

    def __repr__(self) -> str:
        return f"<emulator pid {self['pid']} at {self['base_url']}>"


@pytest.fixture(scope="module")
def served() -> Iterator[dict[str, Any]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks._serve", "--job-time-limit", str(JOB_TIME_LIMIT)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line, "the emulator subprocess did not start"
        yield _Served(json.loads(line))
    finally:
        process.stdout.close()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


class _Api:
    def __repr__(self) -> str:
        return f"<api {self.base}>"

    def __init__(self, http: aiohttp.ClientSession, served: dict[str, Any]) -> None:
        self.http = http
        self.base = served["base_url"].rstrip("/")
        self._headers = {
            "Authorization": f"Bearer {served['token']}",
            "Service-CRN": served["service_crn"],
            "IBM-API-Version": API_VERSION,
        }
        self.statuses: list[int] = []

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else io.BytesIO(json.dumps(body).encode())
        headers = {**self._headers, "Content-Type": "application/json"}
        async with self.http.request(method, self.base + path, data=data, headers=headers) as reply:
            text = await reply.text()
            self.statuses.append(reply.status)
            return reply.status, (json.loads(text) if text else None)

    async def submit(self, program_id: str, params: Any) -> tuple[int, Any]:
        return await self.request(
            "POST", "/v1/jobs", {"program_id": program_id, "backend": "ibm_fez", "params": params}
        )


async def _poll(api: _Api, job_id: str, latencies: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        status, _ = await api.request("GET", f"/v1/jobs/{job_id}")
        latencies.append(time.perf_counter() - started)
        assert status == 200, status
        await asyncio.sleep(0.02)


async def _sample_rss(pid: int, peak: list[int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], _status_kib(pid, "VmRSS"))
        await asyncio.sleep(0.02)


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]


async def test_hostile_jobs_keep_the_emulator_small_and_answering(
    served: dict[str, Any], http: aiohttp.ClientSession
) -> None:
    pid = int(served["pid"])
    submitter = _Api(http, served)
    async with aiohttp.ClientSession() as other_http:
        watcher = _Api(other_http, served)
        status, other = await watcher.submit("sampler", {"pubs": [[BELL_ISA, None, 10]]})
        assert status == 200, other
        for _ in range(20):  # the other job ends; its GET path is warm
            status, seen = await watcher.request("GET", f"/v1/jobs/{other['id']}")
            if seen["status"] == "Completed":
                break
            await asyncio.sleep(0.05)
        rows: list[tuple[str, str, float, float, float, int]] = []
        for name, program_id, make, allowed in JOBS:
            resettable = _reset_peak(pid)
            latencies: list[float] = []
            peak = [0]
            stop = asyncio.Event()
            tasks = [
                asyncio.create_task(_poll(watcher, other["id"], latencies, stop)),
                asyncio.create_task(_sample_rss(pid, peak, stop)),
            ]
            await asyncio.sleep(0.05)
            started = time.perf_counter()
            try:
                status, body = await submitter.submit(program_id, make())
                outcome = f"HTTP {status}"
                if status == 200:
                    while True:
                        status, job = await submitter.request("GET", f"/v1/jobs/{body['id']}")
                        assert status == 200, job
                        if job["status"] in {"Completed", "Failed", "Cancelled"}:
                            break
                        assert time.perf_counter() - started < FINISH_TIMEOUT, (name, job)
                        await asyncio.sleep(0.05)
                    outcome = job["status"]
                    if allowed == "Failed":
                        assert job["status"] == "Failed", (name, job)
                    assert job["status"] in {"Completed", "Failed"}, (name, job)
                    if job["status"] == "Failed":
                        assert job["state"]["reason"], (name, job)
                        outcome += ": " + job["state"]["reason"][:90]
                else:
                    assert 400 <= status < 500, (name, status, body)
                await asyncio.sleep(max(0.05, MIN_WINDOW - (time.perf_counter() - started)))
            finally:
                stop.set()
                await asyncio.gather(*tasks)
            hwm = _status_kib(pid, "VmHWM") if resettable else peak[0]
            rss_peak = max(peak[0], hwm) * 1024
            rows.append(
                (
                    name,
                    outcome,
                    time.perf_counter() - started,
                    _p99(latencies),
                    max(latencies),
                    rss_peak,
                )
            )
    table = _table(rows)
    if os.environ.get("QRS_HOSTILE_REPORT"):
        print(table)
    assert 500 not in submitter.statuses + watcher.statuses
    for name, _, _, p99, _, rss_peak in rows:
        assert rss_peak < GIB, (name, table)
        assert p99 < P99_LIMIT, (name, table)


def _table(rows: list[tuple[str, str, float, float, float, int]]) -> str:
    lines = [
        "| job | outcome | seconds | p99 GET ms | worst GET ms | peak RSS MiB |",
        "|---|---|---|---|---|---|",
    ]
    for name, outcome, seconds, p99, worst, rss in rows:
        lines.append(
            f"| {name} | {outcome} | {seconds:.1f} | {p99 * 1000:.0f} | {worst * 1000:.0f}"
            f" | {rss / 2**20:.0f} |"
        )
    return "\n".join(lines)
