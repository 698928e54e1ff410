"""docs/examples/quickstart.ipynb runs on a real kernel -- against the user's configuration
when there is one, and from an empty environment (it then starts an in-process emulator) --
and a kernel interrupt in the middle of a session closes that session."""

from __future__ import annotations

import ast
import asyncio
import concurrent.futures
import importlib.util
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from qruntime_session import RuntimeClient
from qruntime_session.emulator import Emulator, EmulatorConfig, emulator_thread

from .._emulator_cli import emulator_cli

NOTEBOOK = Path(__file__).resolve().parents[2] / "docs" / "examples" / "quickstart.ipynb"
T = TypeVar("T")


def _environment(emu: Emulator) -> dict[str, str]:
    """What routes the kernel's client to ``emu``."""
    return {
        "QRUNTIME_BASE_URL": emu.base_url,
        "QRUNTIME_ACCESS_TOKEN": emu.token,
        "QISKIT_IBM_INSTANCE": emu.service_crn,
    }


def _close_jupyter_loop() -> None:
    """Close the event loop jupyter_core made for this thread (nbclient's synchronous calls
    run on it, and nothing closes it): left open, its self-pipe sockets are reported as
    unclosed when it is collected, in whatever test runs then."""
    from jupyter_core import utils

    loop = utils._loop.get()
    if loop is not None and not loop.is_closed():
        loop.close()
    utils._loop.set(None)


@pytest.fixture(autouse=True)
def _closes_jupyter_loop() -> Iterator[None]:
    yield
    _close_jupyter_loop()


def _in_worker(fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn`` in a worker thread of a pool, closing the loop jupyter_core makes there."""
    try:
        return fn(*args)
    finally:
        _close_jupyter_loop()


@pytest.fixture
def kernel_env(monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, str]], None]:
    """The kernel is a child process: it inherits this process's environment."""

    def apply(values: dict[str, str]) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return apply


def _stdout(cell: Any) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")


def _printed_lines(notebook: Any) -> list[str]:
    printed = "".join(_stdout(cell) for cell in notebook.cells if cell.cell_type == "code")
    return printed.splitlines()


def _counts(lines: list[str]) -> dict[str, int]:
    job_line = next(line for line in lines if line.startswith("job ") and " counts " in line)
    counts: dict[str, int] = ast.literal_eval(job_line.split(" counts ", 1)[1])
    return counts


def _errors(notebook: Any) -> list[Any]:
    return [
        o for c in notebook.cells for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]


def test_quickstart_notebook_runs_from_an_empty_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No QRUNTIME_*/QISKIT_* variable, no saved account, no config file: the set-up cell says
    so and starts an emulator in the kernel; the rest runs as written."""
    for name in list(os.environ):
        if name.startswith(("QRUNTIME_", "QISKIT_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.qiskit/qiskit-ibm.json, no ~/.config
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=180, kernel_name="python3").execute()
    assert not _errors(notebook)
    lines = _printed_lines(notebook)
    assert lines[0].startswith("No usable configuration (no ")
    assert lines[1] == "Starting a local emulator of the Runtime API in this kernel instead."
    counts = _counts(lines)
    assert sum(counts.values()) == 1024
    # the device is simulated with the noise its calibration data implies: mostly 00 and 11
    assert counts.get("00", 0) + counts.get("11", 0) >= 0.9 * 1024
    values = next(line for line in lines if " expectation values " in line)
    zz, xx, zi = ast.literal_eval(values.split(" expectation values ", 1)[1])
    assert zz == pytest.approx(1.0, abs=0.1)
    assert xx == pytest.approx(1.0, abs=0.1)
    assert zi == pytest.approx(0.0, abs=0.1)
    assert any(line.startswith("session ") and line.endswith(" closed") for line in lines)
    shown = [
        o["data"]["text/html"]
        for c in notebook.cells
        for o in c.get("outputs", [])
        if "text/html" in o.get("data", {})
    ]
    assert [view.split("</strong>")[0].rsplit(">", 1)[1] for view in shown] == [
        "Session",
        "Job",
        "PrimitiveResult: 1 pub",
    ]
    histogram = [o for c in notebook.cells for o in c.get("outputs", []) if "data" in o]
    if importlib.util.find_spec("matplotlib") is not None:
        assert any("image/png" in o["data"] for o in histogram)
    else:
        assert any(line.startswith("matplotlib is not installed") for line in lines)


def test_the_notebook_uses_the_primitives_and_isa_circuits() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    assert "run_sampler(" in code
    assert "run_estimator(" in code
    assert "submit_job(" not in code
    for gate in (" h ", " cx ", "h q", "cx q"):  # only ibm_fez's basis: cz, id, rz, sx, x
        assert gate not in code
    setups = [c for c in notebook.cells if c.cell_type == "markdown" and "Set-up cell" in c.source]
    assert len(setups) == 1


async def _session_and_jobs(exports: dict[str, str], session_id: str) -> tuple[str, list[Any]]:
    async with RuntimeClient(
        base_url=exports["QRUNTIME_BASE_URL"],
        access_token=exports["QRUNTIME_ACCESS_TOKEN"],
        service_crn=exports["QISKIT_IBM_INSTANCE"],
    ) as client:
        response = await client.transport.request("GET", f"/v1/sessions/{session_id}")
        return response.json()["state"], await client.list_jobs()


def test_quickstart_notebook_runs_and_prints_counts(
    kernel_env: Callable[[dict[str, str]], None],
) -> None:
    """With the user's configuration (here: the variables the emulator command exports)."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    with emulator_cli("--queue-seconds", "0.05", "--run-seconds", "0.05") as exports:
        kernel_env(exports)
        NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
        lines = _printed_lines(notebook)
        closed = [line for line in lines if line.startswith("session ")]
        assert len(closed) == 1
        session_id = closed[0].split()[1]
        state, jobs = asyncio.run(_session_and_jobs(exports, session_id))
    assert lines[0] == f"Using your configuration: {exports['QRUNTIME_BASE_URL']}"
    counts = _counts(lines)
    assert sum(counts.values()) == 1024
    # the sim extra simulates the Bell pair, with the device's noise: mostly 00 and 11
    assert counts.get("00", 0) + counts.get("11", 0) >= 0.9 * 1024
    assert closed == [f"session {session_id} closed"]
    assert state == "closed"
    assert sorted(job.program_id for job in jobs) == ["estimator", "sampler"]
    assert {job.session_id for job in jobs} == {session_id}
    assert not _errors(notebook)


INTERRUPTED_CELL = """\
async with Session("ibm_fez", "batch", client=client) as session:
    job = await session.submit_job("sampler", {"pubs": [], "version": 2})
    print("submitted", job.id, flush=True)
    await job.wait()       # the emulator holds the job: this waits until interrupted
"""


def test_kernel_interrupt_while_awaiting_a_job_closes_the_session(
    kernel_env: Callable[[dict[str, str]], None],
) -> None:
    notebook = new_notebook(
        cells=[
            new_code_cell(
                "from qruntime_session import RuntimeClient, Session\nclient = RuntimeClient()"
            ),
            new_code_cell(INTERRUPTED_CELL),
            new_code_cell("print('after', session.id, (await session.details()).state.value)"),
        ]
    )
    # Served from a background thread, so that the kernel (another process) reaches it while
    # this test blocks on nbclient.
    with emulator_thread(EmulatorConfig(queue_seconds=None)) as emu:
        kernel_env(_environment(emu))
        client = NotebookClient(notebook, timeout=60, kernel_name="python3", allow_errors=True)
        with client.setup_kernel():
            client.execute_cell(notebook.cells[0], 0)
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                running = pool.submit(_in_worker, client.execute_cell, notebook.cells[1], 1)
                deadline = time.monotonic() + 60
                while not emu.call_from_thread(lambda: emu.job_ids):
                    assert time.monotonic() < deadline, "the cell never submitted its job"
                    assert not running.done(), running.result()
                    time.sleep(0.05)
                (session_id,) = emu.call_from_thread(lambda: emu.session_ids)
                assert emu.call_from_thread(emu.session, session_id)["state"] == "open"
                assert client.km is not None
                # nbclient's kernel manager is asynchronous: its interrupt is a coroutine.
                asyncio.run(client.km.interrupt_kernel())
                running.result(timeout=60)
            client.execute_cell(notebook.cells[2], 2)
        state = emu.call_from_thread(emu.session, session_id)["state"]
        closes = len(emu.call_from_thread(emu.requests_for, "delete_session_close"))
    assert state == "closed"
    assert closes == 1
    (error,) = [o for o in notebook.cells[1].outputs if o.get("output_type") == "error"]
    assert error["ename"] in {"CancelledError", "KeyboardInterrupt"}
    stderr = "".join(
        o.get("text", "") for o in notebook.cells[1].outputs if o.get("name") == "stderr"
    )
    assert "QueuedJobsDroppedWarning" in stderr
    # the kernel lives on, and so do the cell's objects
    assert _stdout(notebook.cells[2]).strip() == f"after {session_id} closed"
