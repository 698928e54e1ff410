"""The fault matrix: 5 exit causes x 3 failing steps x 8 faults = 120 cells, each asserted
from the emulator's own state (issue 8).

Every cell opens one session, submits one job (with submission tags) and leaves the block by
its exit cause, while one fault hits one step. Asserted per cell: the exception that leaves
is the user's (or, when the failing step itself raised, the package's error for it); no
session is left open except a session whose create answer was lost (the API cannot list
sessions: the error then says a session may exist); at most one job exists; every job that
exists is the one returned or is findable by the error's submission tag; and the cell ends
within a bound (an asyncio.timeout guard, no wall-clock assertion).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import qruntime_session as qrs
from qruntime_session import errors
from qruntime_session.emulator import Emulator, run_emulator

PARAMS = {"pubs": [["OPENQASM 3.0;", None, 64]], "version": 2}
DEEP = b"[" * 100_000 + b"]" * 100_000
READ = 0.3

CAUSES = ("normal", "exception", "cancelled", "keyboard_interrupt", "asyncio_timeout")
STEPS = {"create": "create_session", "submit": "create_job", "close": "delete_session_close"}
FAULTS: dict[str, dict[str, Any]] = {
    "500": {"status": 500},
    "503_retry_after": {"status": 503, "headers": {"Retry-After": "1"}},
    "429": {"status": 429},
    "drop_before": {"drop": "before"},
    "drop_after": {"drop": "after"},
    "handled_then_timeout": {"delay": 2 * READ},
    "unreadable_200": {"status": 200, "body": b'{"id": "', "handled": True},
    "deep_json": {"status": 200, "body": DEEP, "handled": True},
}
# A session whose create answer was lost after it was created cannot be named by the client.
UNNAMEABLE_CREATE = {"drop_after", "handled_then_timeout", "unreadable_200", "deep_json"}


class UserError(Exception):
    pass


async def short_sleep(delay: float) -> None:
    """Injected sleep: every wait the client asks for (Retry-After: 1 included) is shortened."""
    await asyncio.sleep(min(delay, 0.02))


def client_for(emu: Emulator) -> qrs.RuntimeClient:
    return qrs.RuntimeClient(
        base_url=emu.base_url,
        service_crn=emu.service_crn,
        access_token=emu.token,
        timeouts=qrs.Timeouts(read=READ, close=3.0, settle=4 * READ),
        retry=qrs.RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.02),
        submission_tags=True,
        sleep=short_sleep,
    )


async def run_cell(emu: Emulator, client: qrs.RuntimeClient, cause: str) -> dict[str, Any]:
    """The user's block; returns what left it and what the client learned."""
    seen: dict[str, Any] = {"job": None, "error": None}
    reached = asyncio.Event()
    deadline: list[asyncio.Timeout] = []

    async def block() -> None:
        async with client.session("ibm_fez", "batch") as session:
            seen["session"] = session
            seen["job"] = await session.submit_job("sampler", PARAMS)
            reached.set()
            if deadline:  # asyncio.timeout: it expires while the block is busy
                deadline[0].reschedule(asyncio.get_running_loop().time() + 0.05)
            if cause == "exception":
                raise UserError("the user's own error")
            if cause == "keyboard_interrupt":
                raise KeyboardInterrupt
            if cause in ("cancelled", "asyncio_timeout"):
                await asyncio.Event().wait()

    try:
        if cause == "cancelled":
            task = asyncio.create_task(block())
            waiter = asyncio.create_task(reached.wait())
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            task.cancel()
            await task
        elif cause == "asyncio_timeout":
            async with asyncio.timeout(None) as timeout:
                deadline.append(timeout)
                await block()
        else:
            await block()
    except (Exception, asyncio.CancelledError, KeyboardInterrupt) as exc:
        seen["error"] = exc
    return seen


def expected_outcome(cause: str) -> type[BaseException] | None:
    return {
        "normal": None,
        "exception": UserError,
        "cancelled": asyncio.CancelledError,
        "keyboard_interrupt": KeyboardInterrupt,
        "asyncio_timeout": TimeoutError,
    }[cause]


def text_of(exc: BaseException) -> str:
    return " ".join([str(exc), *getattr(exc, "__notes__", [])])


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("step", list(STEPS))
@pytest.mark.parametrize("cause", CAUSES)
async def test_fault_matrix_cell(cause: str, step: str, fault: str) -> None:
    async with run_emulator() as emu:
        emu.faults.add(STEPS[step], **FAULTS[fault])
        client = client_for(emu)
        async with asyncio.timeout(15):  # the bound: a cell that hangs fails here
            seen = await run_cell(emu, client, cause)
        error: BaseException | None = seen["error"]
        job: qrs.Job | None = seen["job"]
        expected = expected_outcome(cause)

        # What left the block: the user's exit cause, or the package's error of the failing
        # step when that step raised before the exit cause could happen.
        if job is not None and seen.get("session") is not None:
            if expected is None:
                assert error is None, repr(error)
            else:
                assert type(error) is expected, repr(error)
        else:
            assert isinstance(error, errors.QRuntimeError), repr(error)
            assert emu.token not in text_of(error)

        # Sessions: all closed, except one whose create answer was lost after creating it.
        open_ids = [sid for sid in emu.session_ids if emu.session(sid)["state"] != "closed"]
        if step == "create" and fault in UNNAMEABLE_CREATE:
            assert len(open_ids) <= 1
            if open_ids:
                assert isinstance(error, errors.QRuntimeError)
                assert "may" in text_of(error) or "probably" in text_of(error)
        else:
            assert open_ids == []
        assert client.open_session_ids == ()

        # Jobs: never a duplicate, never one the client cannot reach.
        assert len(emu.job_ids) <= 1
        if emu.job_ids:
            (created,) = emu.job_ids
            if job is not None:
                assert job.id == created
            else:
                assert isinstance(error, errors.SubmissionUnknownError), repr(error)
                tag = error.submission_tag
                assert tag is not None
                assert tag in emu.job(created)["tags"] or created in error.candidates
        elif step == "submit" and job is not None:
            raise AssertionError("a job was returned that the emulator does not hold")
        await client.aclose()
