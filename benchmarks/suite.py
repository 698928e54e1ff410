"""The project's benchmark suite: every figure of issue 9, side by side, as paired ratios.

    python -m benchmarks [--quick] [--rounds R] [--peers] [--only P1,P6,...] [--out DIR]
                         [--no-plot]

The emulator runs in its own process pinned to core 0 (``taskset`` when it exists) and the
measuring client is pinned to core 1 (``os.sched_setaffinity``). The configurations of one
figure run interleaved (A B, then B A, ...), each round giving one ratio; the table shows the
median ratio and the min-max of the rounds. Results go to ``DIR/bench.json`` and a plot of P2
and P3 against the number of jobs to ``DIR/bench.png`` (needs matplotlib: the ``bench`` extra).

``--peers`` also measures qiskit-ibm-runtime 0.51 (its ``RuntimeClient`` REST layer driven by a
thread pool) and Jentic's arazzo-runner CLI, each installed with pip into its own virtual
environment under ``DIR/peers`` (never into the project's). A peer that cannot be installed
is reported as such; no number is made up for it.

docs/performance.md explains each figure and the targets.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import yaml

import qruntime_session as qrs
from qruntime_session.emulator import EmulatorConfig, run_emulator
from qruntime_session.workflows import WorkflowExecutor, load_document, seed_path

ROOT = Path(__file__).resolve().parent.parent
API_VERSION = "2026-04-15"
PARAMS = {"pubs": [["OPENQASM 3.0;", None, 16]], "version": 2}
#: P7's body: the params qiskit-ibm-runtime 0.51.0's SamplerV2 posts for an ISA Bell pair (QPY
#: circuit, ndarray values), written by ``python -m benchmarks.peers.official_params``.
OFFICIAL_PARAMS = json.loads(
    (Path(__file__).resolve().parent / "data" / "official_sampler_params.json").read_text()
)

# The seed flow closes its session right after submitting: dropping the queued job is what the
# flow means, so the suite silences the warning as a program that closes deliberately would
# (otherwise each close writes a warning to stderr, and the SDK is timed writing it).
warnings.filterwarnings("ignore", category=qrs.QueuedJobsDroppedWarning)
NO_WAIT = qrs.PollPolicy(initial=0.0, max_interval=0.0, jitter=0.0)
SERVER_CORE = 0
CLIENT_CORE = 1
ROWS = ("P1", "P1x50", "P2", "P3", "P4", "P5", "P6", "P6cli", "P7", "P8", "sessions", "D")
PEERS = {
    "qiskit-ibm-runtime": ["qiskit-ibm-runtime==0.51.0"],
    "arazzo-runner": ["arazzo-runner"],
}


# --------------------------------------------------------------------------- plumbing


def _can_pin() -> bool:
    return hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2


def pin_self() -> str:
    """Pin this (client) process to CLIENT_CORE; say what happened."""
    if not _can_pin():
        return "not pinned (fewer than 2 cores or no sched_setaffinity)"
    os.sched_setaffinity(0, {CLIENT_CORE})
    return f"client pinned to core {CLIENT_CORE}"


def pinned(command: list[str], core: int) -> list[str]:
    """``command`` under ``taskset -c core`` where taskset exists."""
    taskset = shutil.which("taskset")
    if taskset is None or not _can_pin():
        return command
    return [taskset, "-c", str(core), *command]


def cpu_seconds(pid: int) -> float:
    """user + system CPU seconds of a process (Linux ``/proc``); 0.0 when unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def server(*args: str) -> Iterator[dict[str, Any]]:
    """An emulator in its own process (pinned to SERVER_CORE); yields its JSON line."""
    command = pinned([sys.executable, "-m", "benchmarks._serve", *args], SERVER_CORE)
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"the benchmark emulator did not start: {command}")
        yield json.loads(line)
    finally:
        process.terminate()
        process.wait(timeout=10)


def headers(emu: dict[str, Any], *, body: bool = True) -> dict[str, str]:
    """What the SDK sends on every request (see the emulator's request log)."""
    result = {
        "Accept": "application/json",
        "User-Agent": "raw-aiohttp",
        "Authorization": f"Bearer {emu['token']}",
        "Service-CRN": emu["service_crn"],
        "IBM-API-Version": API_VERSION,
    }
    if body:
        result["Content-Type"] = "application/json"
    return result


def summary(ratios: Sequence[float]) -> dict[str, float]:
    return {
        "median": statistics.median(ratios),
        "min": min(ratios),
        "max": max(ratios),
        "rounds": len(ratios),
    }


async def interleaved(
    configs: dict[str, Callable[[], Awaitable[float]]], rounds: int
) -> dict[str, list[float]]:
    """Run every config once per round, alternating the order; their measured values."""
    names = list(configs)
    values: dict[str, list[float]] = {name: [] for name in names}
    for name in names:  # warm-up, not counted
        await configs[name]()
    for index in range(rounds):
        for name in names if index % 2 == 0 else reversed(names):
            values[name].append(await configs[name]())
    return values


def ratios(values: dict[str, list[float]], top: str, bottom: str) -> list[float]:
    return [a / b for a, b in zip(values[top], values[bottom], strict=True)]


async def wall(work: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await work()
    return time.perf_counter() - started


async def cpu(work: Callable[[], Awaitable[Any]]) -> float:
    started = time.process_time()
    await work()
    return time.process_time() - started


# ------------------------------------------------------------------- the three flows


class Raw:
    """The floor: plain aiohttp sending the requests the SDK sends."""

    def __init__(self, http: aiohttp.ClientSession, emu: dict[str, Any]) -> None:
        self.http = http
        self.base = emu["base_url"]
        self.with_body = headers(emu)
        self.without_body = headers(emu, body=False)

    async def post(self, path: str, body: Any) -> Any:
        data = json.dumps(body).encode()
        async with self.http.post(self.base + path, data=data, headers=self.with_body) as r:
            r.raise_for_status()
            return await r.json()

    async def open_session(self) -> str:
        answer = await self.post("/v1/sessions", {"mode": "batch", "backend": "ibm_fez"})
        return str(answer["id"])

    async def submit(self, session_id: str, params: dict[str, Any] = PARAMS) -> str:
        body = {
            "program_id": "sampler",
            "backend": "ibm_fez",
            "session_id": session_id,
            "params": params,
        }
        return str((await self.post("/v1/jobs", body))["id"])

    async def close(self, session_id: str) -> None:
        url = f"{self.base}/v1/sessions/{session_id}/close"
        async with self.http.delete(url, headers=self.without_body) as r:
            r.raise_for_status()

    async def flow(self) -> None:
        session_id = await self.open_session()
        await self.submit(session_id)
        await self.close(session_id)

    async def many(self, jobs: int) -> None:
        session_id = await self.open_session()
        await asyncio.gather(*(self.submit(session_id) for _ in range(jobs)))
        await self.close(session_id)


async def sdk_flow(client: qrs.RuntimeClient) -> None:
    async with client.session("ibm_fez", "batch") as session:
        await session.submit_job("sampler", PARAMS)


async def sdk_many(client: qrs.RuntimeClient, jobs: int) -> None:
    async with client.session("ibm_fez", "batch") as session:
        await asyncio.gather(*(session.submit_job("sampler", PARAMS) for _ in range(jobs)))


def seed_inputs(emu: dict[str, Any]) -> dict[str, Any]:
    return {
        "accessToken": emu["token"],
        "serviceCrn": emu["service_crn"],
        "apiVersion": API_VERSION,
        "backend": "ibm_fez",
        "mode": "batch",
        "programId": "sampler",
        "params": PARAMS,
    }


@contextlib.asynccontextmanager
async def clients(emu: dict[str, Any]) -> AsyncIterator[tuple[qrs.RuntimeClient, Raw]]:
    async with (
        qrs.RuntimeClient(
            base_url=emu["base_url"], access_token=emu["token"], service_crn=emu["service_crn"]
        ) as client,
        aiohttp.ClientSession() as http,
    ):
        yield client, Raw(http, emu)


# ----------------------------------------------------------------------------- figures


async def p1(emu: dict[str, Any], size: Sizes) -> list[dict[str, Any]]:
    """P1: open -> 1 job -> close, sequential; and with 50 flows in flight."""
    rows: list[dict[str, Any]] = []
    async with clients(emu) as (client, raw):

        async def sdk_seq() -> None:
            for _ in range(size.flows):
                await sdk_flow(client)

        async def raw_seq() -> None:
            for _ in range(size.flows):
                await raw.flow()

        walls = await interleaved(
            {"sdk": lambda: wall(sdk_seq), "raw": lambda: wall(raw_seq)}, size.rounds
        )
        cpus = await interleaved(
            {"sdk": lambda: cpu(sdk_seq), "raw": lambda: cpu(raw_seq)}, size.rounds
        )
        rows.append(
            {
                "figure": "P1",
                "label": "open -> 1 job -> close, sequential: SDK / raw aiohttp (wall)",
                "ratio": summary(ratios(walls, "sdk", "raw")),
                "client_cpu_ratio": summary(ratios(cpus, "sdk", "raw")),
                "ms_per_flow": {
                    name: statistics.median(v) / size.flows * 1000 for name, v in walls.items()
                },
                "target": "<= 1.05",
                "target_max": 1.05,
            }
        )

        async def sdk_par() -> None:
            await asyncio.gather(*(sdk_flow(client) for _ in range(size.in_flight)))

        async def raw_par() -> None:
            await asyncio.gather(*(raw.flow() for _ in range(size.in_flight)))

        walls = await interleaved(
            {"sdk": lambda: wall(sdk_par), "raw": lambda: wall(raw_par)}, size.rounds
        )
        rows.append(
            {
                "figure": "P1x50",
                "label": f"P1 with {size.in_flight} flows in flight: SDK / raw aiohttp",
                "ratio": summary(ratios(walls, "sdk", "raw")),
                "ms_per_batch": {name: statistics.median(v) * 1000 for name, v in walls.items()},
                "target": "<= 1.10",
                "target_max": 1.10,
            }
        )
    return rows


async def p2(
    emu: dict[str, Any], size: Sizes, peer: Path | None, notes: list[str]
) -> list[dict[str, Any]]:
    """P2: one session, N jobs submitted at once; optionally qiskit-ibm-runtime too."""
    rows: list[dict[str, Any]] = []
    async with clients(emu) as (client, raw):
        for jobs in size.p2_jobs:
            walls = await interleaved(
                {
                    "sdk": lambda jobs=jobs: wall(lambda: sdk_many(client, jobs)),  # type: ignore[misc]
                    "raw": lambda jobs=jobs: wall(lambda: raw.many(jobs)),  # type: ignore[misc]
                },
                size.rounds,
            )
            row: dict[str, Any] = {
                "figure": "P2",
                "jobs": jobs,
                "label": f"one session, {jobs} jobs at once: SDK / raw aiohttp gather",
                "ratio": summary(ratios(walls, "sdk", "raw")),
                "seconds": {name: statistics.median(v) for name, v in walls.items()},
                "target": "<= 1.10",
                "target_max": 1.10,
            }
            if peer is not None and jobs == max(size.p2_jobs):
                row["qiskit"] = qiskit_p2(emu, peer, jobs, walls, size, notes)
            rows.append(row)
    return rows


def qiskit_p2(
    emu: dict[str, Any],
    python: Path,
    jobs: int,
    walls: dict[str, list[float]],
    size: Sizes,
    notes: list[str],
) -> dict[str, Any]:
    """qiskit-ibm-runtime at each thread count; its best against the SDK and raw medians."""
    spec = {**emu, "jobs": jobs, "threads": list(size.threads)}
    script = ROOT / "benchmarks" / "peers" / "qiskit_submit.py"
    best: list[float] = []
    per_threads: dict[str, list[float]] = {}
    for _ in range(size.rounds):
        out = subprocess.run(
            pinned([str(python), str(script), json.dumps(spec)], CLIENT_CORE),
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            notes.append(f"qiskit-ibm-runtime run failed: {out.stderr.strip()[-400:]}")
            return {"error": "the qiskit-ibm-runtime run failed (see notes)"}
        result = json.loads(out.stdout.strip().splitlines()[-1])
        for threads, seconds in result.items():
            per_threads.setdefault(threads, []).append(seconds)
        best.append(min(result.values()))
    sdk = statistics.median(walls["sdk"])
    raw = statistics.median(walls["raw"])
    qiskit = statistics.median(best)
    return {
        "seconds_by_threads": {k: statistics.median(v) for k, v in per_threads.items()},
        "best_seconds": qiskit,
        "qiskit_over_sdk": qiskit / sdk,
        "qiskit_over_raw": qiskit / raw,
        "sdk_share_of_raw_figure": (qiskit / sdk) / (qiskit / raw),
        "target": "qiskit/SDK >= 0.9 x qiskit/raw",
        "met": (qiskit / sdk) >= 0.9 * (qiskit / raw),
    }


async def p3(size: Sizes) -> list[dict[str, Any]]:
    """P3: requests spent waiting on N jobs, wait_all vs one GET per unfinished job per poll."""
    rows: list[dict[str, Any]] = []
    for jobs in size.p3_jobs:
        orders: dict[str, float] = {}
        counts: dict[str, tuple[int, int]] = {}
        for order in ("at once", "in order", "reverse", "random"):
            listed, naive = await _p3_one(jobs, order, size.batches)
            orders[order] = naive / listed
            counts[order] = (listed, naive)
        rows.append(
            {
                "figure": "P3",
                "jobs": jobs,
                "label": f"{jobs} jobs: per-job polling requests / wait_all requests",
                "ratio": summary(list(orders.values())),
                "by_order": orders,
                "requests": {k: {"wait_all": a, "per_job": b} for k, (a, b) in counts.items()},
                "target": ">= 100 in every completion order (at 1,000 jobs)",
                "target_min": 100.0 if jobs >= 1000 else None,
            }
        )
    return rows


async def _p3_one(jobs: int, order: str, batches: int) -> tuple[int, int]:
    config = EmulatorConfig(queue_seconds=None, request_log_size=None)
    async with (
        run_emulator(config) as emu,
        qrs.RuntimeClient(
            base_url=emu.base_url,
            access_token=emu.token,
            service_crn=emu.service_crn,
            poll=NO_WAIT,
        ) as client,
        client.session("ibm_fez", "batch", on_exit="drain") as session,
    ):
        submitted = await asyncio.gather(*(session.submit_job("sampler", {}) for _ in range(jobs)))
        ids = [job.id for job in submitted]
        if order == "reverse":
            ids.reverse()
        elif order == "random":
            random.Random(9).shuffle(ids)
        steps = 1 if order == "at once" else batches
        chunk = -(-jobs // steps)
        plan = [ids[i : i + chunk] for i in range(0, jobs, chunk)]

        def release(progress: qrs.WaitProgress) -> None:
            if progress.polls <= len(plan):
                for job_id in plan[progress.polls - 1]:
                    emu.finish_job(job_id)

        emu.clear_requests()
        await session.wait_all(submitted, progress=release)
        listed = len(emu.requests)

    # The same completion schedule polled one GET per unfinished job per poll.
    async with (
        run_emulator(config) as emu,
        qrs.RuntimeClient(
            base_url=emu.base_url, access_token=emu.token, service_crn=emu.service_crn
        ) as client,
        client.session("ibm_fez", "batch", on_exit="drain") as session,
    ):
        submitted = await asyncio.gather(*(session.submit_job("sampler", {}) for _ in range(jobs)))
        by_id = {job.id: job for job in submitted}
        order_ids = [job.id for job in submitted]
        if order == "reverse":
            order_ids.reverse()
        elif order == "random":
            random.Random(9).shuffle(order_ids)
        plan = [order_ids[i : i + chunk] for i in range(0, jobs, chunk)]
        emu.clear_requests()
        unfinished = set(by_id)
        poll = 0
        while unfinished:
            infos = await asyncio.gather(
                *(by_id[i].info(exclude_params=True) for i in sorted(unfinished))
            )
            unfinished -= {info.id for info in infos if info.status.is_final}
            poll += 1
            if poll <= len(plan):
                for job_id in plan[poll - 1]:
                    emu.finish_job(job_id)
        naive = len(emu.requests)
    return listed, naive


def p4(size: Sizes) -> list[dict[str, Any]]:
    """P4: whole-process ``import qruntime_session`` / ``import aiohttp``."""
    commands = {
        "qruntime_session": [sys.executable, "-c", "import qruntime_session"],
        "aiohttp": [sys.executable, "-c", "import aiohttp"],
    }
    values = process_rounds(commands, size.process_rounds)
    return [
        {
            "figure": "P4",
            "label": "import qruntime_session / import aiohttp, whole process",
            "ratio": summary(ratios(values, "qruntime_session", "aiohttp")),
            "ms": {k: statistics.median(v) * 1000 for k, v in values.items()},
            "target": "<= 1.3",
            "target_max": 1.3,
        }
    ]


def process_rounds(commands: dict[str, list[str]], rounds: int) -> dict[str, list[float]]:
    """Interleaved whole-process wall times (after one uncounted run of each)."""
    values: dict[str, list[float]] = {name: [] for name in commands}
    names = list(commands)
    # Measure processes as an installed package runs: with bytecode caches (pip writes them at
    # install time; a PYTHONDONTWRITEBYTECODE environment would recompile the project's
    # modules from source in every run). The uncounted first run writes them.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

    def once(name: str) -> float:
        started = time.perf_counter()
        subprocess.run(
            pinned(commands[name], CLIENT_CORE),
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
        )
        return time.perf_counter() - started

    for name in names:
        once(name)
    for index in range(rounds):
        for name in names if index % 2 == 0 else reversed(names):
            values[name].append(once(name))
    return values


async def p5(size: Sizes) -> list[dict[str, Any]]:
    """P5: memory of job handles (tracemalloc, no request sent)."""
    async with qrs.RuntimeClient(
        base_url="http://127.0.0.1:9/api", access_token="t", service_crn="crn:v1:x"
    ) as client:
        ids = [f"job{i:017d}" for i in range(size.handles)]
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        handles = [client.job(job_id) for job_id in ids]
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        used = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
        del handles
    per = used / size.handles
    return [
        {
            "figure": "P5",
            "label": f"{size.handles:,} job handles (tracemalloc)",
            "bytes_per_handle": per,
            "mb_for_10000": per * 10_000 / 1e6,
            "target": "<= 20 MB for 10,000",
            "met": per * 10_000 / 1e6 <= 20,
        }
    ]


async def p6(emu: dict[str, Any], size: Sizes) -> list[dict[str, Any]]:
    """P6: the seed through the executor (built once, reused) / raw aiohttp / Session."""
    document = load_document(seed_path())
    inputs = seed_inputs(emu)
    async with (
        clients(emu) as (client, raw),
        WorkflowExecutor(document=document, server_url=emu["base_url"]) as executor,
    ):

        async def run_executor() -> None:
            for _ in range(size.flows):
                result = await executor.run(inputs)
                if not result.ok:
                    raise RuntimeError(f"the seed failed: {result.error}")

        async def run_raw() -> None:
            for _ in range(size.flows):
                await raw.flow()

        async def run_session() -> None:
            for _ in range(size.flows):
                await sdk_flow(client)

        walls = await interleaved(
            {
                "executor": lambda: wall(run_executor),
                "raw": lambda: wall(run_raw),
                "session": lambda: wall(run_session),
            },
            size.rounds,
        )
        cpus = await interleaved(
            {
                "executor": lambda: cpu(run_executor),
                "raw": lambda: cpu(run_raw),
                "session": lambda: cpu(run_session),
            },
            size.rounds,
        )
    ms = {name: statistics.median(v) / size.flows * 1000 for name, v in walls.items()}
    return [
        {
            "figure": "P6",
            "label": "the seed through the executor (built once) / raw aiohttp",
            "ratio": summary(ratios(walls, "executor", "raw")),
            "client_cpu_ratio": summary(ratios(cpus, "executor", "raw")),
            "ms_per_run": ms,
            "target": "<= 1.15",
            "target_max": 1.15,
        },
        {
            "figure": "P6session",
            "label": "the seed through the executor / the same flow with Session",
            "ratio": summary(ratios(walls, "executor", "session")),
            "client_cpu_ratio": summary(ratios(cpus, "executor", "session")),
            "ms_per_run": ms,
            "target": "<= 1.10",
            "target_max": 1.10,
        },
    ]


def p6_cli(
    emu: dict[str, Any], size: Sizes, arazzo: Path | None, notes: list[str]
) -> list[dict[str, Any]]:
    """P6: ``qruntime-session workflow run`` as a whole process (and arazzo-runner's CLI)."""
    inputs = seed_inputs(emu)
    ours = [sys.executable, "-m", "qruntime_session", "workflow", "run", "--server-url"]
    ours.append(emu["base_url"])
    for name, value in inputs.items():
        ours += ["--input", f"{name}:={json.dumps(value)}"]
    commands = {
        "qruntime-session": ours,
        "python -c 'import aiohttp'": [sys.executable, "-c", "import aiohttp"],
    }
    with tempfile.TemporaryDirectory() as scratch:
        if arazzo is not None:
            seed_copy = _seed_for(emu["base_url"], Path(scratch))
            commands["arazzo-runner"] = [
                str(arazzo),
                "execute-workflow",
                str(seed_copy),
                "--workflow-id",
                "session-run-and-close",
                "--inputs",
                json.dumps(inputs),
            ]
            check = subprocess.run(
                commands["arazzo-runner"], capture_output=True, text=True, check=False
            )
            if check.returncode != 0:
                notes.append(f"arazzo-runner failed on the seed: {check.stderr.strip()[-400:]}")
                del commands["arazzo-runner"]
        values = process_rounds(commands, size.process_rounds)
    ms = {name: statistics.median(v) * 1000 for name, v in values.items()}
    row: dict[str, Any] = {
        "figure": "P6cli",
        "label": "qruntime-session workflow run, whole process (ms)",
        "value_ms": ms["qruntime-session"],
        "ms": ms,
        "cli_over_import_aiohttp": summary(
            ratios(values, "qruntime-session", "python -c 'import aiohttp'")
        ),
        "target": "<= 200 ms",
        "met": ms["qruntime-session"] <= 200,
    }
    if "arazzo-runner" in values:
        row["over_arazzo_runner"] = summary(ratios(values, "qruntime-session", "arazzo-runner"))
    return [row]


def _seed_for(base_url: str, folder: Path) -> Path:
    """A copy of the seed whose OpenAPI servers point at ``base_url`` (for arazzo-runner)."""
    specs = seed_path().parent.parent
    (folder / "arazzo").mkdir()
    (folder / "openapi").mkdir()
    for source in (specs / "openapi").glob("*.yml"):
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
        data["servers"] = [{"url": base_url}]
        (folder / "openapi" / source.name).write_text(yaml.safe_dump(data), encoding="utf-8")
    target = folder / "arazzo" / seed_path().name
    shutil.copy(seed_path(), target)
    return target


async def p7(size: Sizes) -> list[dict[str, Any]]:
    """P7: emulator throughput on one core, empty and with many jobs stored; memory per job.

    Two figures per operation: the rate one client process achieved (bounded by the client:
    one Python process on the other core), and the emulator's capacity, requests per second of
    CPU the emulator process used (from /proc): what one core running only the emulator serves.
    """
    rates: dict[str, dict[str, list[float]]] = {}
    # Jobs held queued (--queue-seconds none): the figure is the cost of accepting a job, with
    # the official client's QPY body; judging and simulating happen when a job runs.
    for label, prefill in (("empty", 0), ("stored", size.stored)):
        with server("--prefill", str(prefill), "--queue-seconds", "none", "--official") as emu:
            async with aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=size.concurrency)
            ) as http:
                raw = Raw(http, emu)
                session_id = await raw.open_session()
                ids = [await raw.submit(session_id)]
                found: dict[str, list[float]] = {
                    k: [] for k in ("post", "get", "post_cpu", "get_cpu")
                }
                job_url = f"{emu['base_url']}/v1/jobs/{ids[0]}"

                async def post(raw: Raw = raw, session_id: str = session_id) -> None:
                    await raw.submit(session_id, OFFICIAL_PARAMS)

                async def read(raw: Raw = raw, job_url: str = job_url) -> None:
                    async with raw.http.get(job_url, headers=raw.without_body) as r:
                        r.raise_for_status()
                        await r.read()

                for _ in range(size.rounds):
                    for name, send in (("post", post), ("get", read)):
                        rate, capacity = await _rate(size.requests, send, emu["pid"])
                        found[name].append(rate)
                        found[name + "_cpu"].append(capacity)
        rates[label] = found
    per_job, per_log = await _emulator_memory(size)
    empty, stored = rates["empty"], rates["stored"]
    med = statistics.median
    return [
        {
            "figure": "P7",
            "label": "emulator POST /v1/jobs per second of emulator CPU (one core), the official "
            "client's QPY body, jobs held queued",
            "value": med(empty["post_cpu"]),
            "range": [min(empty["post_cpu"]), max(empty["post_cpu"])],
            "get_per_cpu_second": med(empty["get_cpu"]),
            "one_client_post_per_second": med(empty["post"]),
            "one_client_get_per_second": med(empty["get"]),
            "target": ">= 3000 /s",
            "met": med(empty["post_cpu"]) >= 3000,
        },
        {
            "figure": "P7stored",
            "label": f"emulator with {size.stored:,} jobs stored: per second of emulator CPU",
            "post_per_second": med(stored["post_cpu"]),
            "get_per_second": med(stored["get_cpu"]),
            "one_client_post_per_second": med(stored["post"]),
            "one_client_get_per_second": med(stored["get"]),
            "stored_over_empty_post": med(stored["post_cpu"]) / med(empty["post_cpu"]),
            "bytes_per_job": per_job,
            "bytes_per_logged_post": per_log,
            "log": "bounded: EmulatorConfig.request_log_size (default 10,000)",
            "target": ">= 2500 /s; <= 2 KB per job; bounded log",
            "met": med(stored["post_cpu"]) >= 2500
            and med(stored["get_cpu"]) >= 2500
            and per_job <= 2048,
        },
    ]


async def _rate(requests: int, send: Callable[[], Awaitable[Any]], pid: int) -> tuple[float, float]:
    """(requests per wall second, requests per CPU second of process ``pid``)."""
    cpu_before = cpu_seconds(pid)
    started = time.perf_counter()
    await asyncio.gather(*(send() for _ in range(requests)))
    elapsed = time.perf_counter() - started
    used = cpu_seconds(pid) - cpu_before
    return requests / elapsed, requests / used if used > 0 else float("nan")


async def _emulator_memory(size: Sizes) -> tuple[float, float]:
    """Bytes per stored job, and per request-log record of a POST (tracemalloc, in-process)."""
    from qruntime_session.emulator._state import Store

    store = Store(EmulatorConfig(queue_seconds=None))
    body = json.dumps(OFFICIAL_PARAMS)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(size.memory_jobs):
        store.create_job(program_id="sampler", backend="ibm_fez", params=json.loads(body))
    store.tick()  # every job held queued: what accepting one stores
    per_job = (tracemalloc.get_traced_memory()[0] - before) / size.memory_jobs
    tracemalloc.stop()

    async def logged() -> float:
        async with run_emulator(EmulatorConfig()) as emu, aiohttp.ClientSession() as http:
            raw = Raw(
                http, {"base_url": emu.base_url, "token": emu.token, "service_crn": emu.service_crn}
            )
            session_id = await raw.open_session()
            tracemalloc.start()
            for _ in range(size.memory_posts):
                await raw.submit(session_id)
            with_log = tracemalloc.get_traced_memory()[0]
            emu.clear_requests()
            without_log = tracemalloc.get_traced_memory()[0]
            tracemalloc.stop()
            return (with_log - without_log) / size.memory_posts

    return per_job, await logged()


async def sessions(size: Sizes) -> list[dict[str, Any]]:
    """N sessions x 1 job at once on one client: open, submit, wait for the result, close."""
    with server("--queue-seconds", "0.3", "--run-seconds", "0.5") as emu:
        async with qrs.RuntimeClient(
            base_url=emu["base_url"], access_token=emu["token"], service_crn=emu["service_crn"]
        ) as client:

            async def one() -> None:
                async with client.session("ibm_fez", "batch") as session:
                    job = await session.submit_job("sampler", PARAMS)
                    await job.wait()

            server_cpu = cpu_seconds(emu["pid"])
            started = time.perf_counter()
            await asyncio.gather(*(one() for _ in range(size.sessions)))
            elapsed = time.perf_counter() - started
            server_cpu = cpu_seconds(emu["pid"]) - server_cpu
    return [
        {
            "figure": "sessions",
            "label": f"{size.sessions:,} sessions x 1 job at once, one client "
            "(queue 0.3 s, run 0.5 s)",
            "value_s": elapsed,
            "emulator_cpu_s": server_cpu,
            "target": "<= 10 s (at 1,000 sessions)",
            "met": elapsed <= 10 if size.sessions >= 1000 else None,
        }
    ]


# ------------------------------------------------------------------------------- peers


def peer_python(out: Path, name: str, notes: list[str]) -> Path | None:
    """The interpreter of a peer's own venv (created and installed on first use)."""
    venv = out / "peers" / name
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    if marker.exists():
        return python
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *PEERS[name]],
            check=True,
            capture_output=True,
            text=True,
        )
    except subprocess.CalledProcessError as exc:
        notes.append(
            f"{name} could not be installed into {venv} (offline or unavailable?): "
            f"{(exc.stderr or '').strip()[-300:]}; its figures are not reported"
        )
        return None
    marker.write_text("ok\n")
    return python


# ----------------------------------------------------------------- P8: pick-up latency

LOOP_CIRCUIT = """OPENQASM 3.0;
include "stdgates.inc";
input float[64] theta;
qubit[1] q;
rz(theta) q[0];
sx q[0];
"""


def qiskit_python(peer: Path | None) -> Path | None:
    """The interpreter that runs qiskit-ibm-runtime: the peer's, else this one if it has it."""
    if peer is not None:
        return peer
    import importlib.util

    return Path(sys.executable) if importlib.util.find_spec("qiskit_ibm_runtime") else None


async def p8(size: Sizes, peer: Path | None, notes: list[str]) -> list[dict[str, Any]]:
    """P8: a variational loop's steps wait on one job each; how soon is each job seen?

    A ``steps``-step estimator loop in one session (each job queues ``loop_queue`` s and runs
    ``loop_run`` s on the emulator), through the SDK and through qiskit-ibm-runtime's
    ``EstimatorV2`` against the same emulator, rounds alternating. The pick-up latency of a
    job is the time from its end on the emulator (``created`` + queue + run) to ``result()``
    returning.
    """
    q, r = size.loop_queue, size.loop_run
    python = qiskit_python(peer)
    with server("--queue-seconds", str(q), "--run-seconds", str(r)) as emu:
        async with qrs.RuntimeClient(
            base_url=emu["base_url"], access_token=emu["token"], service_crn=emu["service_crn"]
        ) as client:
            pickups: list[float] = []

            async def sdk_loop() -> float:
                started = time.perf_counter()
                seen: list[tuple[qrs.Job, float]] = []
                async with client.session("ibm_fez", "batch") as session:
                    for number in range(size.loop_steps):
                        job = await session.run_estimator([(LOOP_CIRCUIT, "Z", [0.1 * number])])
                        await job.result()
                        seen.append((job, time.time()))
                elapsed = time.perf_counter() - started
                for job, when in seen:
                    assert job.last_info is not None
                    assert job.last_info.created is not None
                    pickups.append(when - (job.last_info.created.timestamp() + q + r))
                return elapsed

            def qiskit_round() -> dict[str, list[float]] | None:
                assert python is not None
                spec = {**emu, "steps": size.loop_steps, "rounds": 1}
                spec.update(queue_seconds=q, run_seconds=r)
                script = ROOT / "benchmarks" / "peers" / "qiskit_loop.py"
                out = subprocess.run(
                    pinned([str(python), str(script), json.dumps(spec)], CLIENT_CORE),
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if out.returncode != 0:
                    notes.append(f"qiskit-ibm-runtime P8 run failed: {out.stderr.strip()[-400:]}")
                    return None
                result: dict[str, list[float]] = json.loads(out.stdout.strip().splitlines()[-1])
                return result

            await sdk_loop()  # warm-up, not counted
            pickups.clear()
            sdk_walls: list[float] = []
            qiskit_walls: list[float] = []
            qiskit_pickups: list[float] = []
            failed = python is None
            for index in range(size.loop_rounds):
                order = ("sdk", "qiskit") if index % 2 == 0 else ("qiskit", "sdk")
                for name in order:
                    if name == "sdk":
                        sdk_walls.append(await sdk_loop())
                    elif not failed:
                        peer_result = await asyncio.to_thread(qiskit_round)
                        if peer_result is None:
                            failed = True
                        else:
                            qiskit_walls += peer_result["loop_seconds"]
                            qiskit_pickups += peer_result["pickup_seconds"]
    if python is None:
        notes.append("P8: qiskit-ibm-runtime is not installed here; pass --peers to compare")
    row: dict[str, Any] = {
        "figure": "P8",
        "label": (
            f"{size.loop_steps}-step estimator loop in a session (jobs {q} s queued + {r} s "
            "running): SDK / qiskit-ibm-runtime (wall); pick-up latency"
        ),
        "seconds": {"sdk": statistics.median(sdk_walls)},
        "pickup": {"sdk": _percentiles(pickups)},
        "target": "<= 1.00 x qiskit-ibm-runtime; SDK pick-up p50 <= 0.2 s",
    }
    sdk_fast = row["pickup"]["sdk"]["p50"] <= 0.2
    if qiskit_walls and not failed:
        row["seconds"]["qiskit-ibm-runtime"] = statistics.median(qiskit_walls)
        row["pickup"]["qiskit-ibm-runtime"] = _percentiles(qiskit_pickups)
        row["ratio"] = summary([a / b for a, b in zip(sdk_walls, qiskit_walls, strict=True)])
        row["met"] = row["ratio"]["median"] <= 1.0 and sdk_fast
    else:
        row["met"] = False if not sdk_fast else None
    return [row]


def _percentiles(values: Sequence[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {"p50": float("nan"), "p90": float("nan"), "max": float("nan"), "n": 0}

    def at(share: float) -> float:
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    return {
        "p50": statistics.median(ordered),
        "p90": at(0.9),
        "max": ordered[-1],
        "n": len(ordered),
    }


# ------------------------------------------------------------------------------ driver


class Sizes:
    """How big each figure is: full (the issue's sizes) or quick (the smoke test's)."""

    def __init__(self, quick: bool, rounds: int | None) -> None:
        self.rounds = rounds or (1 if quick else 7)
        self.flows = 3 if quick else 40
        self.in_flight = 5 if quick else 50
        self.p2_jobs = (10,) if quick else (100, 300, 1000)
        self.p3_jobs = (10,) if quick else (100, 300, 1000)
        self.batches = 2 if quick else 10
        self.threads = (4,) if quick else (8, 16, 32, 64)
        self.process_rounds = self.rounds  # P4, P6cli: whole processes, interleaved the same way
        self.handles = 200 if quick else 10_000
        self.stored = 200 if quick else 100_000
        self.requests = 50 if quick else 3000
        self.concurrency = 32
        self.memory_jobs = 100 if quick else 5000
        self.memory_posts = 20 if quick else 1000
        self.sessions = 5 if quick else 1000
        self.loop_steps = 2 if quick else 10
        self.loop_rounds = 1 if quick else 3
        self.loop_queue = 0.02 if quick else 0.2
        self.loop_run = 0.05 if quick else 0.5


async def measure(args: argparse.Namespace, notes: list[str]) -> list[dict[str, Any]]:
    size = Sizes(args.quick, args.rounds)
    only = set(args.only.split(",")) if args.only else set(ROWS)
    out = Path(args.out)
    qiskit = peer_python(out, "qiskit-ibm-runtime", notes) if args.peers else None
    arazzo_python = peer_python(out, "arazzo-runner", notes) if args.peers else None
    arazzo = arazzo_python.parent / "arazzo-runner" if arazzo_python is not None else None
    rows: list[dict[str, Any]] = []
    if only & {"P1", "P1x50", "P2", "P6", "P6cli"}:
        with server() as emu:
            if only & {"P1", "P1x50"}:
                rows += await p1(emu, size)
            if "P2" in only:
                rows += await p2(emu, size, qiskit, notes)
            if "P6" in only:
                rows += await p6(emu, size)
            if "P6cli" in only:
                rows += p6_cli(emu, size, arazzo, notes)
    if "P3" in only:
        rows += await p3(size)
    if "P4" in only:
        rows += p4(size)
    if "P5" in only:
        rows += await p5(size)
    if "sessions" in only:
        rows += await sessions(size)
    if "P7" in only:
        rows += await p7(size)
    if "P8" in only:
        rows += await p8(size, qiskit, notes)
    if "D" in only:
        from benchmarks.decode import rows as decode_rows

        rows += decode_rows(args.quick, args.rounds)
    return rows


def verdict(row: dict[str, Any]) -> str:
    if "met" in row:
        met = row["met"]
    elif "ratio" in row and row.get("target_max") is not None:
        met = row["ratio"]["median"] <= row["target_max"]
    elif "ratio" in row and row.get("target_min") is not None:
        met = row["ratio"]["min"] >= row["target_min"]
    else:
        met = None
    return {True: "met", False: "NOT met", None: "-"}[met]


def figure_text(row: dict[str, Any]) -> str:
    if "ratio" in row:
        r = row["ratio"]
        return f"{r['median']:.2f}x ({r['min']:.2f}-{r['max']:.2f}, {r['rounds']} rounds)"
    if "value_ms" in row:
        return f"{row['value_ms']:.0f} ms"
    if "value_s" in row:
        return f"{row['value_s']:.1f} s (emulator CPU {row['emulator_cpu_s']:.1f} s)"
    if row["figure"] == "P7":
        return (
            f"{row['value']:,.0f} POST/CPU-s (GET {row['get_per_cpu_second']:,.0f}); "
            f"1 client: {row['one_client_post_per_second']:,.0f}/s"
        )
    if row["figure"] == "P7stored":
        return (
            f"POST {row['post_per_second']:,.0f}/CPU-s, GET {row['get_per_second']:,.0f}/CPU-s; "
            f"{row['bytes_per_job']:,.0f} B/job, {row['bytes_per_logged_post']:,.0f} B/logged POST"
        )
    if row["figure"] == "P5":
        return f"{row['mb_for_10000']:.2f} MB per 10,000 ({row['bytes_per_handle']:.0f} B each)"
    if row["figure"] == "P8":
        return f"SDK {row['seconds']['sdk']:.2f} s; pick-up p50 {row['pickup']['sdk']['p50']:.3f} s"
    if "error" in row:
        return row["error"]
    return "?"


def extra_lines(row: dict[str, Any]) -> list[str]:
    lines = []
    if "client_cpu_ratio" in row:
        c = row["client_cpu_ratio"]
        lines.append(f"client CPU {c['median']:.2f}x ({c['min']:.2f}-{c['max']:.2f})")
    for key in ("ms_per_flow", "ms_per_run", "ms"):
        if key in row:
            lines.append(", ".join(f"{k} {v:.1f} ms" for k, v in row[key].items()))
    if "seconds" in row:
        lines.append(", ".join(f"{k} {v:.3f} s" for k, v in row["seconds"].items()))
    if "pickup" in row:
        lines.append(
            "pick-up "
            + "; ".join(
                f"{k} p50 {v['p50'] * 1000:.0f} ms, p90 {v['p90'] * 1000:.0f} ms ({v['n']} jobs)"
                for k, v in row["pickup"].items()
            )
        )
    if "qiskit" in row:
        q = row["qiskit"]
        if "error" in q:
            lines.append(f"qiskit-ibm-runtime: {q['error']}")
        else:
            lines.append(
                f"qiskit-ibm-runtime best {q['best_seconds']:.3f} s: "
                f"{q['qiskit_over_sdk']:.2f}x the SDK, {q['qiskit_over_raw']:.2f}x raw "
                f"({'met' if q['met'] else 'NOT met'}: {q['target']})"
            )
    if "over_arazzo_runner" in row:
        a = row["over_arazzo_runner"]
        lines.append(f"/ arazzo-runner CLI: {a['median']:.2f}x ({a['min']:.2f}-{a['max']:.2f})")
    if "peak_over_packed" in row:
        lines.append(f"decode peak {row['peak_over_packed']:.2f}x the packed array")
    if "by_order" in row:
        lines.append(", ".join(f"{k} {v:.0f}x" for k, v in row["by_order"].items()))
    return lines


def print_table(rows: list[dict[str, Any]], context: dict[str, Any], notes: list[str]) -> None:
    print(f"# qruntime_session benchmarks ({context['mode']}; {context['pinning']})")
    print(f"{'figure':<10} {'now':<58} {'target':<36} verdict")
    for row in rows:
        name = row["figure"] + (f"[{row['jobs']}]" if "jobs" in row else "")
        print(f"{name:<10} {figure_text(row):<58} {row['target']:<36} {verdict(row)}")
        print(f"{'':<10}   {row['label']}")
        for line in extra_lines(row):
            print(f"{'':<10}   {line}")
    for note in notes:
        print(f"note: {note}")


def plot(rows: list[dict[str, Any]], path: Path) -> str:
    """P2 and P3 against N as a PNG; a sentence when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "plot skipped: matplotlib is not installed (pip install 'qruntime-session[bench]')"
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    p2 = [r for r in rows if r["figure"] == "P2"]
    p3 = [r for r in rows if r["figure"] == "P3"]
    if p2:
        left.errorbar(
            [r["jobs"] for r in p2],
            [r["ratio"]["median"] for r in p2],
            yerr=[
                [r["ratio"]["median"] - r["ratio"]["min"] for r in p2],
                [r["ratio"]["max"] - r["ratio"]["median"] for r in p2],
            ],
            marker="o",
            capsize=3,
        )
        left.axhline(1.10, color="grey", linestyle="--", label="target 1.10")
        left.set(xscale="log", xlabel="jobs at once", ylabel="SDK / raw aiohttp", title="P2")
        left.legend()
    if p3:
        for order in p3[0]["by_order"]:
            right.plot(
                [r["jobs"] for r in p3],
                [r["by_order"][order] for r in p3],
                marker="o",
                label=order,
            )
        right.set(
            xscale="log",
            yscale="log",
            xlabel="jobs",
            ylabel="per-job requests / wait_all requests",
            title="P3",
        )
        right.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return str(path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes (the smoke test's)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 7; quick: 1)")
    parser.add_argument("--peers", action="store_true", help="also measure the peers")
    parser.add_argument("--only", help=f"comma-separated figures among {','.join(ROWS)}")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    parser.add_argument("--no-plot", action="store_true", help="do not draw the PNG")
    args = parser.parse_args(argv)
    logging.getLogger("qruntime_session").addHandler(logging.NullHandler())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    context = {
        "mode": "quick" if args.quick else "full",
        "pinning": pin_self(),
        "taskset": shutil.which("taskset") is not None,
        "python": sys.version.split()[0],
        "aiohttp": aiohttp.__version__,
        "cores": os.cpu_count(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": " ".join(["python -m benchmarks", *(argv or sys.argv[1:])]),
    }
    rows = asyncio.run(measure(args, notes))
    if not args.peers:
        notes.append("peers not measured (pass --peers to install and run them)")
    picture = "plot skipped: --no-plot" if args.no_plot else plot(rows, out / "bench.png")
    notes.append(picture)
    for row in rows:
        row["verdict"] = verdict(row)
    (out / "bench.json").write_text(
        json.dumps({"context": context, "rows": rows, "notes": notes}, indent=2) + "\n"
    )
    print_table(rows, context, notes)
    print(f"results: {out / 'bench.json'}")
    return 0
