"""Issue 15 item 1: a client closes the sessions it knows before it lets go of its pool.

300 sessions with slow closes (the emulator delays every ``DELETE …/close`` by 50 ms), left
by every cancellation shape: a cancelled ``gather``, a ``TaskGroup``, ``wait_for``,
``asyncio.timeout`` and a real Ctrl-C under ``asyncio.run``. Each must end with 0 sessions
open on the emulator, each closed once; a close that fails is logged and raised, never dropped.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Awaitable, Callable

import pytest

import qruntime_session as qrs
from qruntime_session import errors
from qruntime_session.emulator import Emulator, EmulatorConfig, run_emulator

SESSIONS = 300
CLOSE_DELAY = 0.05
PARAMS = {"pubs": [["OPENQASM 3.0;", None, 8]], "version": 2}


def client_for(emu: Emulator) -> qrs.RuntimeClient:
    return qrs.RuntimeClient(
        base_url=emu.base_url,
        service_crn=emu.service_crn,
        access_token=emu.token,
        timeouts=qrs.Timeouts(close=30.0),
        retry=qrs.RetryPolicy(max_attempts=2, initial_backoff=0.01),
    )


def still_open(emu: Emulator) -> list[str]:
    return [sid for sid in emu.session_ids if emu.session(sid)["state"] != "closed"]


async def hold_session(client: qrs.RuntimeClient, opened: list[str]) -> None:
    async with client.session("ibm_fez", "batch") as session:
        assert session.id is not None
        opened.append(session.id)
        await asyncio.sleep(60)


async def wait_until_opened(opened: list[str]) -> None:
    async with asyncio.timeout(60):
        while len(opened) < SESSIONS:
            await asyncio.sleep(0.02)


async def shape_gather(client: qrs.RuntimeClient, opened: list[str]) -> None:
    gathered = asyncio.gather(*(hold_session(client, opened) for _ in range(SESSIONS)))
    await wait_until_opened(opened)
    gathered.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gathered


async def shape_taskgroup(client: qrs.RuntimeClient, opened: list[str]) -> None:
    class Stop(Exception):
        pass

    async def stopper() -> None:
        await wait_until_opened(opened)
        raise Stop

    async def run_group() -> None:
        async with asyncio.TaskGroup() as group:
            for _ in range(SESSIONS):
                group.create_task(hold_session(client, opened))
            group.create_task(stopper())

    with pytest.raises(ExceptionGroup):
        await run_group()


async def shape_wait_for(client: qrs.RuntimeClient, opened: list[str]) -> None:
    async def everything() -> None:
        await asyncio.gather(*(hold_session(client, opened) for _ in range(SESSIONS)))

    task = asyncio.ensure_future(asyncio.wait_for(everything(), 3600))
    await wait_until_opened(opened)
    task.cancel()  # wait_for then cancels its inner gather and waits, as on its deadline
    with pytest.raises(asyncio.CancelledError):
        await task


async def shape_timeout(client: qrs.RuntimeClient, opened: list[str]) -> None:
    async def run_with_deadline() -> None:
        async with asyncio.timeout(60) as deadline:
            gathered = asyncio.gather(*(hold_session(client, opened) for _ in range(SESSIONS)))
            await wait_until_opened(opened)
            deadline.reschedule(asyncio.get_running_loop().time())  # the deadline hits now
            await gathered

    with pytest.raises(TimeoutError):
        await run_with_deadline()


SHAPES: dict[str, Callable[[qrs.RuntimeClient, list[str]], Awaitable[None]]] = {
    "gather-cancelled": shape_gather,
    "taskgroup": shape_taskgroup,
    "wait_for-cancelled": shape_wait_for,
    "asyncio.timeout": shape_timeout,
}


@pytest.mark.parametrize("shape", list(SHAPES))
async def test_no_session_left_open_by_a_cancelled_block(shape: str) -> None:
    async with run_emulator(EmulatorConfig(queue_seconds=None)) as emu:
        emu.faults.add("delete_session_close", times=None, delay=CLOSE_DELAY)
        opened: list[str] = []
        with warnings.catch_warnings():
            warnings.simplefilter("error", qrs.QRuntimeWarning)
            async with client_for(emu) as client:
                await SHAPES[shape](client, opened)
        assert client.closed
        assert len(opened) == SESSIONS
        assert still_open(emu) == []
        closes = [r.path for r in emu.requests_for("delete_session_close")]
        assert len(closes) == SESSIONS == len(set(closes))  # each closed once
        assert client.open_session_ids == ()


SIGINT_SCRIPT = textwrap.dedent(
    """
    import asyncio, os, signal
    from qruntime_session import RuntimeClient

    # Ctrl-C as in a terminal, even when this process starts with SIGINT ignored
    # (a background job of a non-interactive shell, as some CI runners start their steps)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from qruntime_session.emulator import run_emulator

    N = 300

    async def hold(client, opened):
        async with client.session("ibm_fez", "batch") as session:
            opened.append(session.id)
            await asyncio.sleep(60)

    async def main():
        async with run_emulator() as emu:
            emu.faults.add("delete_session_close", times=None, delay=0.05)
            opened = []
            try:
                async with RuntimeClient(
                    base_url=emu.base_url, access_token=emu.token, service_crn=emu.service_crn
                ) as client:
                    gathered = asyncio.gather(*(hold(client, opened) for _ in range(N)))
                    while len(opened) < N:
                        await asyncio.sleep(0.02)
                    os.kill(os.getpid(), signal.SIGINT)
                    await gathered
                    print("NOT REACHED", flush=True)
            finally:
                states = [emu.session(sid)["state"] for sid in emu.session_ids]
                closes = len(emu.requests_for("delete_session_close"))
                print("OPENED", len(opened), "OPEN", sum(s != "closed" for s in states),
                      "CLOSES", closes, flush=True)

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        print("INTERRUPTED", flush=True)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_leaves_no_session_open() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QRUNTIME_", "QISKIT_"))}
    proc = subprocess.run(
        [sys.executable, "-c", SIGINT_SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert "OPENED 300 OPEN 0 CLOSES 300" in proc.stdout, proc.stdout + proc.stderr
    assert "INTERRUPTED" in proc.stdout
    assert "NOT REACHED" not in proc.stdout


async def test_aclose_closes_sessions_never_exited_and_joins_closes_in_flight() -> None:
    async with run_emulator() as emu:
        emu.faults.add("delete_session_close", times=None, delay=0.2)
        client = client_for(emu)
        entered = [await client.session("ibm_fez", "batch").__aenter__() for _ in range(4)]
        exiting = asyncio.ensure_future(entered[0].__aexit__(None, None, None))
        await asyncio.sleep(0.05)  # its close is in flight
        await client.aclose()
        assert exiting.done()
        await exiting
        assert still_open(emu) == []
        assert len(emu.requests_for("delete_session_close")) == 4
        for session in entered[1:]:  # exiting later: already closed by the client, no error
            await session.__aexit__(None, None, None)
        assert len(emu.requests_for("delete_session_close")) == 4


async def test_a_close_that_fails_is_logged_and_raised(caplog: pytest.LogCaptureFixture) -> None:
    async with run_emulator() as emu:
        client = client_for(emu)
        entered = [await client.session("ibm_fez", "batch").__aenter__() for _ in range(3)]
        ids = {session.id for session in entered}
        emu.faults.add("delete_session_close", times=None, status=403)
        with caplog.at_level(logging.WARNING, logger="qruntime_session"):
            with pytest.raises(errors.PermissionDeniedError) as caught:
                async with client:
                    pass
        assert client.closed
        notes = " ".join(caught.value.__notes__)
        assert all(session_id in notes for session_id in ids if session_id)
        summary = [r.getMessage() for r in caplog.records if "could not close" in r.getMessage()]
        assert len(summary) == 1
        assert all(session_id in summary[0] for session_id in ids if session_id)
        assert set(client.open_session_ids) == ids  # still registered: not claimed closed
        for session in entered:
            session._warn_on_del = False
        client._open_sessions.clear()  # this test's client is gone; don't warn on collection


async def test_a_failed_close_under_another_exception_is_a_note_and_a_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with run_emulator() as emu:
        client = client_for(emu)
        session = await client.session("ibm_fez", "batch").__aenter__()
        emu.faults.add("delete_session_close", times=None, status=403)
        with caplog.at_level(logging.WARNING, logger="qruntime_session"):
            with pytest.raises(KeyError) as caught:
                async with client:
                    raise KeyError("the user's own error")
        assert any(session.id in note for note in caught.value.__notes__ if session.id)
        assert any(
            session.id in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records
        )
        session._warn_on_del = False
        client._open_sessions.clear()


async def test_the_dropped_jobs_warning_names_only_sessions_that_were_closed() -> None:
    async with run_emulator(EmulatorConfig(queue_seconds=None)) as emu:
        async with client_for(emu) as client:
            emu.faults.add("delete_session_close", times=None, status=403)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                with pytest.raises(errors.PermissionDeniedError):
                    async with client.session("ibm_fez", "batch") as failing:
                        await failing.submit_job("sampler", PARAMS)
                emu.faults.clear()
                async with client.session("ibm_fez", "batch") as closing:
                    await closing.submit_job("sampler", PARAMS)
            dropped = [w for w in caught if w.category is qrs.QueuedJobsDroppedWarning]
            assert [str(closing.id) in str(w.message) for w in dropped] == [True]
            assert failing.id in client.open_session_ids  # the client block closes it now
        assert still_open(emu) == []


async def test_closes_cut_short_by_the_close_timeout_are_reported_and_bounded(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Closes slower than ``Timeouts.close``: ``aclose`` gives up on them within its bound,
    logs their ids at WARNING and raises (here no other exception is leaving)."""
    async with run_emulator() as emu:
        emu.faults.add("delete_session_close", times=None, delay=3.0)
        client = qrs.RuntimeClient(
            base_url=emu.base_url,
            service_crn=emu.service_crn,
            access_token=emu.token,
            timeouts=qrs.Timeouts(close=0.3),
        )
        opened: list[str] = []
        gathered = asyncio.gather(*(hold_session(client, opened) for _ in range(5)))
        async with asyncio.timeout(30):
            while len(opened) < 5:
                await asyncio.sleep(0.01)
        gathered.cancel()
        with pytest.raises(asyncio.CancelledError):
            await gathered
        began = asyncio.get_running_loop().time()
        with caplog.at_level(logging.WARNING, logger="qruntime_session"):
            with pytest.raises(errors.RequestTimeoutError) as caught:
                await client.aclose()
        assert asyncio.get_running_loop().time() - began < 2.0  # 2 x close, plus slack
        assert client.closed
        notes = " ".join(caught.value.__notes__)
        assert all(session_id in notes for session_id in opened)
        summary = [r.getMessage() for r in caplog.records if "could not close" in r.getMessage()]
        assert len(summary) == 1
        assert all(session_id in summary[0] for session_id in opened)
        client._open_sessions.clear()  # reported; this test's client is gone
