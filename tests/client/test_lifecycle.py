"""End to end over real sockets against the in-process emulator."""

from __future__ import annotations

import asyncio
import math
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest

import qruntime_session as qrs
from qruntime_session import errors
from qruntime_session.emulator import (
    Emulator,
    EmulatorConfig,
    JobOutcome,
    ManualClock,
    run_emulator,
)
from tests.conftest import RecordingSleep

PARAMS = {"pubs": [["OPENQASM 3.0;", None, 64]], "version": 2}
FAST = qrs.PollPolicy(initial=0.01, max_interval=0.02, jitter=0.0)


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with run_emulator() as e:
        yield e


def client_for(emu: Emulator, **kwargs: Any) -> qrs.RuntimeClient:
    settings: dict[str, Any] = {
        "base_url": emu.base_url,
        "service_crn": emu.service_crn,
        "poll": FAST,
    }
    if "api_key" not in kwargs:
        settings["access_token"] = emu.token
    settings.update(kwargs)
    return qrs.RuntimeClient(**settings)


async def test_seed_flow_runs_a_job_and_closes_the_session(emu: Emulator) -> None:
    """Open, submit, wait, read the result; on exit the emulator shows the session closed."""
    async with client_for(emu) as client:
        async with client.session("ibm_fez", "batch") as session:
            job = await session.submit_job("sampler", PARAMS)
            result = await job.result_json(timeout=10)
            assert isinstance(result, dict)
            assert result
            assert (await job.status()) is qrs.JobStatus.COMPLETED
        details = await session.details()
    assert details.state is qrs.SessionState.CLOSED
    ops = [r.operation for r in emu.requests]
    assert ops[0] == "create_session"
    assert ops[1] == "create_job"
    assert ops.count("delete_session_close") == 1


async def test_close_cancels_queued_jobs_but_drain_lets_them_run() -> None:
    """Exiting with close ends held jobs Cancelled; exiting with drain lets them complete."""
    async with run_emulator(EmulatorConfig(queue_seconds=None)) as emu, client_for(emu) as client:
        async with client.session("ibm_fez", "batch") as closing:
            closed_job = await closing.submit_job("sampler", PARAMS)
        assert await closed_job.status() is qrs.JobStatus.CANCELLED
        with pytest.raises(errors.JobCancelledError):
            await closed_job.result()

        async with client.session("ibm_fez", "batch", on_exit="drain") as draining:
            drained_job = await draining.submit_job("sampler", PARAMS)
        assert await drained_job.status() is qrs.JobStatus.QUEUED  # draining kept it
        emu.start_job(drained_job.id)  # it runs (run_seconds=0: it completes at once)
        assert await drained_job.status() is qrs.JobStatus.COMPLETED
        assert (await draining.details()).state is qrs.SessionState.CLOSED


async def test_a_closed_session_rejects_new_jobs_with_a_typed_error(emu: Emulator) -> None:
    """Submitting after an explicit close() is refused locally; the service refuses it too."""
    async with client_for(emu) as client:
        async with client.session("ibm_fez", "batch") as session:
            await session.close()
            with pytest.raises(errors.SessionStateError):
                await session.submit_job("sampler", PARAMS)
            await session.close()  # idempotent
        other = client.attach_session(session.id or "")
        async with other:
            with pytest.raises(errors.APIStatusError) as info:
                await other.submit_job("sampler", PARAMS)
    assert info.value.code == "1217"
    assert info.value.session_id == session.id


async def test_cancellation_during_a_request_still_closes_the_session(emu: Emulator) -> None:
    """A task cancelled while its job POST is in flight leaves no open session behind."""
    emu.faults.add("create_job", delay=30.0)
    async with client_for(emu) as client:
        session = client.session("ibm_fez", "batch")

        async def body() -> None:
            async with session:
                await session.submit_job("sampler", PARAMS)

        task = asyncio.create_task(body())
        while not emu.requests_for("create_job"):
            await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert session.id is not None
    assert emu.session(session.id)["state"] == "closed"


async def test_dropped_connection_after_create_ends_as_exactly_one_job(emu: Emulator) -> None:
    """The job POST is handled but its answer is lost: the client adopts it, creating no duplicate."""
    emu.faults.add("create_job", drop="after")
    async with client_for(emu) as client, client.session("ibm_fez", "batch") as session:
        job = await session.submit_job("sampler", PARAMS)
    assert emu.job_ids == [job.id]
    assert len(emu.requests_for("create_job")) == 1


async def test_dropped_connection_before_create_is_not_resent(emu: Emulator) -> None:
    """A broken connection may hide a request still being handled: the client looks for the
    job for the settle window, then raises SubmissionUnknownError instead of sending again."""
    emu.faults.add("create_job", drop="before")
    timeouts = qrs.Timeouts(settle=0.2)
    async with client_for(emu, timeouts=timeouts, submission_tags=True) as client:
        async with client.session("ibm_fez", "batch") as session:
            with pytest.raises(errors.SubmissionUnknownError) as caught:
                await session.submit_job("sampler", PARAMS)
    assert caught.value.submission_tag is not None
    assert caught.value.submission_tag in str(caught.value)
    assert emu.job_ids == []
    assert len(emu.requests_for("create_job")) == 1
    assert len(emu.requests_for("list_jobs")) >= 2


async def test_an_answered_500_without_a_job_is_resubmitted_once(emu: Emulator) -> None:
    """A 500 is an answer (the service is done): one listing shows no job, so it is re-sent."""
    emu.faults.add("create_job", status=500)
    async with client_for(emu) as client, client.session("ibm_fez", "batch") as session:
        job = await session.submit_job("sampler", PARAMS)
    assert emu.job_ids == [job.id]
    assert len(emu.requests_for("create_job")) == 2
    assert len(emu.requests_for("list_jobs")) == 1


async def test_api_key_flow_and_single_iam_exchange_for_100_requests() -> None:
    """100 concurrent requests with an expired token cause exactly one IAM exchange."""
    clock = ManualClock(1_800_000_000.0)
    config = EmulatorConfig(clock=clock, token_lifetime=60)
    async with run_emulator(config) as emu:
        async with client_for(emu, api_key=emu.api_key, iam_url=emu.iam_url) as client:
            client.transport.auth._clock = clock.now  # type: ignore[union-attr]
            async with client.session("ibm_fez", "batch") as session:
                job = await session.submit_job("sampler", PARAMS)
                assert len(emu.requests_for("iam_token")) == 1
                clock.advance(120)  # the token has expired for both sides
                await asyncio.gather(*(job.status() for _ in range(100)))
        assert len(emu.requests_for("iam_token")) == 2
        assert not [
            r
            for r in emu.requests
            if r.operation != "iam_token" and emu.api_key in str(dict(r.headers))
        ]


async def test_an_expired_token_is_refreshed_after_a_401() -> None:
    """When the service says 401 before the client thinks the token expired, it renews and replays."""
    clock = ManualClock(1_800_000_000.0)
    async with run_emulator(EmulatorConfig(clock=clock, token_lifetime=600)) as emu:
        async with client_for(emu, api_key=emu.api_key, iam_url=emu.iam_url) as client:
            async with client.session("ibm_fez", "batch") as session:
                clock.advance(601)  # the emulator's clock moves; the client's does not
                await session.details()
        statuses = [r.operation for r in emu.requests]
        assert statuses.count("iam_token") == 2


async def test_failed_and_too_long_jobs_raise_distinguishable_errors() -> None:
    """A Failed job raises JobFailedError with its reason; code 1305 is 'Cancelled - Ran too long'."""
    async with run_emulator(EmulatorConfig(queue_seconds=None)) as emu, client_for(emu) as client:
        async with client.session("ibm_fez", "batch", on_exit="drain") as session:
            failing = await session.submit_job("sampler", PARAMS)
            slow = await session.submit_job("sampler", PARAMS)
            emu.finish_job(failing.id, JobOutcome.failed("bad circuit", reason_code=1517))
            emu.finish_job(slow.id, JobOutcome.ran_too_long())
            with pytest.raises(errors.JobFailedError) as failed:
                await failing.result()
            assert (failed.value.reason_code, failed.value.job_id) == (1517, failing.id)
            assert "bad circuit" in (failed.value.reason or "")
            assert await slow.status() is qrs.JobStatus.CANCELLED_RAN_TOO_LONG
            with pytest.raises(errors.JobCancelledError) as cancelled:
                await slow.result()
            assert cancelled.value.ran_too_long


async def test_job_handle_operations(emu: Emulator) -> None:
    """info, logs, metrics and cancel behave per the API; cancelling a final job is a ConflictError."""
    async with client_for(emu) as client, client.session("ibm_fez", "batch") as session:
        job = await session.submit_job(
            "estimator", {"pubs": [["OPENQASM 3.0;", "ZZ"]], "version": 2}
        )
        info = await job.wait(timeout=10)
        assert info.program_id == "estimator"
        assert info.session_id == session.id
        assert info.created is not None
        assert isinstance(await job.logs(), str)
        metrics = await job.metrics()
        assert metrics.created is not None
        with pytest.raises(errors.ConflictError):
            await job.cancel()
        again = client.job(job.id)
        assert (await again.info()).params == {"pubs": [["OPENQASM 3.0;", "ZZ"]], "version": 2}
        listed = await session.jobs()
        assert [j.id for j in listed] == [job.id]


async def test_wait_timeout_raises_without_cancelling(emu: Emulator) -> None:
    """wait(timeout=…) raises JobTimeoutError naming the job, and the job is still queued."""
    async with run_emulator(EmulatorConfig(queue_seconds=None)) as held, client_for(held) as client:
        async with client.session("ibm_fez", "batch", on_exit="drain") as session:
            job = await session.submit_job("sampler", PARAMS)
            with pytest.raises(errors.JobTimeoutError) as info:
                await job.wait(timeout=0.05)
            assert info.value.job_id == job.id
            assert await job.status() is qrs.JobStatus.QUEUED
            other = await session.submit_job("sampler", PARAMS)
            with pytest.raises(errors.JobTimeoutError) as many:
                await session.wait_all([job, other], timeout=0.05)
            assert set(many.value.job_ids) == {job.id, other.id}
            assert many.value.session_id == session.id


async def test_statuses_yield_each_change(emu: Emulator) -> None:
    """job.statuses() yields Queued, Running, Completed as the job moves."""
    async with run_emulator(EmulatorConfig(queue_seconds=None, run_seconds=None)) as held:
        async with client_for(held) as client, client.session("ibm_fez", "batch") as session:
            job = await session.submit_job("sampler", PARAMS)
            seen: list[qrs.JobStatus] = []

            async def drive() -> None:
                while len(seen) < 1:
                    await asyncio.sleep(0.005)
                held.start_job(job.id)
                while len(seen) < 2:
                    await asyncio.sleep(0.005)
                held.finish_job(job.id)

            driver = asyncio.create_task(drive())
            async for status in job.statuses():
                seen.append(status)
            await driver
    assert seen == [qrs.JobStatus.QUEUED, qrs.JobStatus.RUNNING, qrs.JobStatus.COMPLETED]


async def test_waiting_on_500_jobs_costs_o1_requests_per_poll() -> None:
    """wait_all over 500 jobs lists the session's jobs per poll instead of one GET per job."""
    async with run_emulator(EmulatorConfig(queue_seconds=None)) as emu:
        sleep = RecordingSleep()
        async with client_for(emu, sleep=sleep) as client:
            async with client.session("ibm_fez", "batch", on_exit="drain") as session:
                jobs = await asyncio.gather(
                    *(session.submit_job("sampler", {"i": i}) for i in range(500))
                )
                emu.clear_requests()
                polls: list[qrs.WaitProgress] = []

                def progress(p: qrs.WaitProgress) -> None:
                    polls.append(p)
                    if p.polls == 1:  # after the first poll, everything finishes
                        for job in jobs:
                            emu.finish_job(job.id, JobOutcome.completed())

                infos = await session.wait_all(progress=progress)
        assert len(infos) == 500
        assert all(i.status is qrs.JobStatus.COMPLETED for i in infos)
        requests = [r for r in emu.requests if r.operation != "update_session"]
        assert {r.operation for r in requests} == {"list_jobs"}
        pages = math.ceil(500 / 200)
        assert len(polls) == 2
        assert len(requests) <= 2 * pages + pages  # pending pages twice, final pages once
        assert polls[-1].done == 500
        assert polls[0].done == 0


async def test_as_completed_yields_in_completion_order(emu: Emulator) -> None:
    """as_completed yields the job that finished first, first."""
    async with run_emulator(EmulatorConfig(queue_seconds=None)) as held, client_for(held) as client:
        async with client.session("ibm_fez", "batch", on_exit="drain") as session:
            first = await session.submit_job("sampler", {"n": 1})
            second = await session.submit_job("sampler", {"n": 2})
            held.finish_job(second.id)
            order: list[str] = []
            async for info in qrs.as_completed([first, second]):
                order.append(info.id)
                if len(order) == 1:
                    held.finish_job(first.id)
    assert order == [second.id, first.id]


async def test_injected_429_with_retry_after_is_waited_for(emu: Emulator) -> None:
    """The emulator's 429 with Retry-After: 2 makes the client wait 2 s (injected sleep) and retry."""
    emu.faults.add("create_job", status=429, headers={"Retry-After": "2"})
    sleep = RecordingSleep()
    async with (
        client_for(emu, sleep=sleep) as client,
        client.session("ibm_fez", "batch") as session,
    ):
        await session.submit_job("sampler", PARAMS)
    assert sleep.calls == [2.0]
    assert len(emu.job_ids) == 1


def test_cli_demo_end_to_end_in_a_subprocess() -> None:
    """`qruntime-session demo` prints the session, the job Completed and the close; no token."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QRUNTIME_", "QISKIT_"))}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "qruntime_session",
            "demo",
            "--queue-seconds",
            "0.05",
            "--run-seconds",
            "0.05",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "session" in out
    assert "state=open" in out
    assert "Completed" in out
    assert "closed (state=closed)" in out
    assert "emu-token-" not in out + proc.stderr


async def test_a_long_lived_client_keeps_no_per_submission_state(emu: Emulator) -> None:
    """Submitted job ids live with their session, not in the client: a client that runs many
    sessions does not grow with every job it ever submitted."""
    async with client_for(emu) as client:
        for _ in range(3):
            async with client.session("ibm_fez", "batch", on_exit="drain") as session:
                for _ in range(4):
                    await session.submit_job("sampler", PARAMS)
        assert client._known_job_ids == set()
        assert len(emu.job_ids) == 12
