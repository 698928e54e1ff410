"""The library's warnings and logging follow Python's conventions for libraries."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

import qruntime_session as qrs
from qruntime_session.emulator import EmulatorConfig, run_emulator

PARAMS = {"pubs": [["OPENQASM 3.0; bit[1] c;", None, 8]], "version": 2}

SCRIPT = textwrap.dedent(
    """
    import asyncio
    import logging
    import sys
    import warnings
    from qruntime_session import QRuntimeWarning, RuntimeClient, Session
    from qruntime_session.emulator import EmulatorConfig, run_emulator

    async def main():
        async with run_emulator(EmulatorConfig(queue_seconds=None)) as emu:
            async with RuntimeClient(
                base_url=emu.base_url, access_token=emu.token, service_crn=emu.service_crn
            ) as client:
                async with Session("ibm_fez", "batch", client=client) as session:
                    await session.submit_job("sampler", {})
                print("state", emu.session(session.id)["state"])

    print("root handlers", logging.getLogger().handlers)
    if sys.argv[1:] == ["--ignore"]:
        warnings.filterwarnings("ignore", category=QRuntimeWarning)
    asyncio.run(main())
    """
)


def test_package_logger_has_a_null_handler() -> None:
    """Importing the package gives its logger a NullHandler, and configures nothing else."""
    handlers = logging.getLogger("qruntime_session").handlers
    assert any(isinstance(h, logging.NullHandler) for h in handlers)


def test_warning_classes_form_a_tree() -> None:
    assert issubclass(qrs.QueuedJobsDroppedWarning, qrs.QRuntimeWarning)
    assert issubclass(qrs.QRuntimeWarning, UserWarning)


def _run_script(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "user_script.py"
    script.write_text(SCRIPT, encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_closing_with_queued_jobs_warns_visibly_by_default(tmp_path: Path) -> None:
    """A plain script shows the warning once, attributed to the user's `async with` line,
    and no bare last-resort log line."""
    done = _run_script(tmp_path)
    assert done.returncode == 0, done.stderr
    assert "state closed" in done.stdout
    assert "root handlers []" in done.stdout  # importing the package configured no logging
    assert done.stderr.count("not known to have finished") == 1, done.stderr
    line = SCRIPT.splitlines().index(
        '            async with Session("ibm_fez", "batch", client=client) as session:'
    )
    assert f"user_script.py:{line + 1}: QueuedJobsDroppedWarning: closed session" in done.stderr


def test_the_warning_can_be_filtered(tmp_path: Path) -> None:
    done = _run_script(tmp_path, "--ignore")
    assert done.returncode == 0, done.stderr
    assert "state closed" in done.stdout
    assert done.stderr == ""


async def test_warnings_as_errors_still_close_the_session() -> None:
    """With the warning made an error, the session is closed first, then the error raised."""
    async with run_emulator(EmulatorConfig(queue_seconds=None)) as emu:
        async with qrs.RuntimeClient(
            base_url=emu.base_url, access_token=emu.token, service_crn=emu.service_crn
        ) as client:
            with warnings.catch_warnings():
                warnings.simplefilter("error", qrs.QRuntimeWarning)
                with pytest.raises(qrs.QueuedJobsDroppedWarning):
                    async with qrs.Session("ibm_fez", "batch", client=client) as session:
                        await session.submit_job("sampler", PARAMS)
            assert emu.session(session.id)["state"] == "closed"
            assert len(emu.requests_for("delete_session_close")) == 1


async def test_warnings_as_errors_never_replace_a_cancellation() -> None:
    async with run_emulator(EmulatorConfig(queue_seconds=None)) as emu:
        async with qrs.RuntimeClient(
            base_url=emu.base_url, access_token=emu.token, service_crn=emu.service_crn
        ) as client:

            async def body() -> None:
                async with qrs.Session("ibm_fez", "batch", client=client) as session:
                    job = await session.submit_job("sampler", PARAMS)
                    started.set()
                    await job.wait()

            started = asyncio.Event()
            with warnings.catch_warnings():
                warnings.simplefilter("error", qrs.QRuntimeWarning)
                task = asyncio.create_task(body())
                await started.wait()
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
            (session_id,) = emu.session_ids
            assert emu.session(session_id)["state"] == "closed"


async def test_no_warning_once_every_job_is_known_final() -> None:
    async with run_emulator() as emu:
        async with qrs.RuntimeClient(
            base_url=emu.base_url, access_token=emu.token, service_crn=emu.service_crn
        ) as client:
            with warnings.catch_warnings():
                warnings.simplefilter("error", qrs.QRuntimeWarning)
                async with qrs.Session("ibm_fez", "batch", client=client) as session:
                    job = await session.submit_job("sampler", PARAMS)
                    await job.wait()
