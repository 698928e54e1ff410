"""How soon a finished job is seen (issue 16): 0.1 s polls inside a session, the polite
backoff outside; and waiting with waiting switched off is bounded, never a busy loop."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

import qruntime_session as qrs
from qruntime_session import errors, testing
from qruntime_session.emulator import EmulatorConfig, ManualClock, run_emulator
from tests.conftest import RecordingSleep

PARAMS: dict[str, Any] = {"pubs": [], "version": 2}  # nothing to simulate: no worker threads


async def standalone_job(client: qrs.RuntimeClient) -> qrs.Job:
    """A job outside any session (the SDK submits only in sessions)."""
    response = await client.transport.request(
        "POST",
        "/v1/jobs",
        json={"program_id": "sampler", "backend": "ibm_fez", "params": PARAMS},
        retry="unsent",
        operation="create_job",
    )
    return client.job(response.json()["id"])


def test_default_policy_polls_session_jobs_every_tenth_of_a_second() -> None:
    policy = qrs.PollPolicy()
    assert policy.session_interval == 0.1
    assert [policy.interval(n, random=lambda: 0.0, in_session=True) for n in (1, 5, 50)] == [
        0.1,
        0.1,
        0.1,
    ]
    # outside a session the backoff stays: 0.5 s growing to 5 s
    assert policy.interval(1, random=lambda: 0.0) == 0.5
    assert policy.interval(50, random=lambda: 0.0) == 5.0
    # a faster custom policy stays faster in a session; None lets session jobs back off too
    assert qrs.PollPolicy(initial=0.01).interval(1, random=lambda: 0.0, in_session=True) == 0.01
    off = qrs.PollPolicy(session_interval=None)
    assert off.interval(50, random=lambda: 0.0, in_session=True) == 5.0
    with pytest.raises(errors.InvalidInputError, match="session_interval"):
        qrs.PollPolicy(session_interval=-1)


async def test_wait_polls_a_session_job_every_tenth_of_a_second_and_others_back_off() -> None:
    clock = ManualClock()
    async with run_emulator(EmulatorConfig(clock=clock, queue_seconds=None)) as emu:
        sleep = RecordingSleep()
        finish_after = 6

        async def sleeping(delay: float) -> None:
            await sleep(delay)
            if len(sleep.calls) == finish_after:
                for job_id in emu.job_ids:
                    if emu.job(job_id)["status"] in ("Queued", "Running"):
                        emu.finish_job(job_id)

        async with qrs.RuntimeClient(
            base_url=emu.base_url,
            access_token=emu.token,
            service_crn=emu.service_crn,
            sleep=sleeping,
        ) as client:
            async with client.session("ibm_fez", "batch") as session:
                job = await session.submit_job("sampler", PARAMS)
                await job.wait()
            assert sleep.calls == [0.1] * finish_after
            sleep.calls.clear()
            standalone = await standalone_job(client)
            await standalone.wait()
            assert sleep.calls[0] == pytest.approx(0.5, rel=0.25)
            assert sleep.calls[-1] > sleep.calls[0]  # backing off


async def test_wait_all_in_a_session_lists_once_per_poll_however_many_jobs() -> None:
    clock = ManualClock()
    async with run_emulator(EmulatorConfig(clock=clock, queue_seconds=None)) as emu:
        sleep = RecordingSleep()

        async def sleeping(delay: float) -> None:
            await sleep(delay)
            if len(sleep.calls) == 5:
                for job_id in emu.job_ids:
                    emu.finish_job(job_id)

        async with qrs.RuntimeClient(
            base_url=emu.base_url,
            access_token=emu.token,
            service_crn=emu.service_crn,
            sleep=sleeping,
        ) as client:
            async with client.session("ibm_fez", "batch") as session:
                jobs = [await session.submit_job("sampler", PARAMS) for _ in range(30)]
                before = len(emu.requests)
                finals = await session.wait_all(jobs)
                polls = [r for r in emu.requests[before:] if r.operation == "list_jobs"]
                gets = [r for r in emu.requests[before:] if r.operation == "get_job"]
    assert all(info.status is qrs.JobStatus.COMPLETED for info in finals)
    assert sleep.calls == [0.1] * 5
    assert gets == []
    assert len(polls) <= 6 + 2  # one pending listing per poll, plus the final-records read


async def test_a_held_job_with_waiting_switched_off_ends_in_a_timeout_naming_it() -> None:
    """The documented test kit set-up (manual clock, queue_seconds=None) cannot hang."""
    config = EmulatorConfig(clock=ManualClock(), queue_seconds=None)
    async with run_emulator(config) as emu:
        with testing.no_waiting(attempts=4, deadline=1.0):
            async with qrs.RuntimeClient(
                base_url=emu.base_url, access_token=emu.token, service_crn=emu.service_crn
            ) as client:
                async with client.session("ibm_fez", "batch") as session:
                    job = await session.submit_job("sampler", PARAMS)
                    start = time.monotonic()
                    cpu = time.process_time()
                    with pytest.raises(errors.JobTimeoutError) as timed_out:
                        await job.result()
                    elapsed = time.monotonic() - start
                    cpu_used = time.process_time() - cpu
                    polls = len(emu.requests_for("get_job"))
                    with pytest.raises(errors.JobTimeoutError) as many:
                        await session.wait_all([job])
    assert 1.0 <= elapsed < 3.0
    assert timed_out.value.job_id == job.id
    message = str(timed_out.value)
    assert job.id in message
    assert "Queued" in message
    assert "waiting switched off" in message
    # paced at up to 50 ms, not the thousands of GETs a second of a busy loop
    assert polls <= 60
    assert cpu_used < 0.9 * elapsed
    assert f"{job.id} (Queued)" in str(many.value)


async def test_the_testing_deadline_also_bounds_statuses_and_lowers_long_timeouts() -> None:
    config = EmulatorConfig(clock=ManualClock(), queue_seconds=None)
    async with run_emulator(config) as emu:
        with testing.no_waiting(deadline=0.3):
            async with qrs.RuntimeClient(
                base_url=emu.base_url, access_token=emu.token, service_crn=emu.service_crn
            ) as client:
                job = await standalone_job(client)
                seen: list[qrs.JobStatus] = []

                async def follow() -> None:
                    async for status in job.statuses():
                        seen.append(status)

                with pytest.raises(errors.JobTimeoutError):
                    await follow()
                assert seen == [qrs.JobStatus.QUEUED]
                start = time.monotonic()
                with pytest.raises(errors.JobTimeoutError):
                    await job.wait(timeout=600)
                assert time.monotonic() - start < 2.0


async def test_a_job_finished_while_waiting_in_testing_mode_is_returned() -> None:
    """Another task finishing the held job (as a test does) is seen at once: the polls yield."""
    config = EmulatorConfig(clock=ManualClock(), queue_seconds=None)
    async with run_emulator(config) as emu:
        with testing.no_waiting():
            async with qrs.RuntimeClient(
                base_url=emu.base_url, access_token=emu.token, service_crn=emu.service_crn
            ) as client:
                async with client.session("ibm_fez", "batch") as session:
                    job = await session.submit_job("sampler", PARAMS)

                    async def finish_later() -> None:
                        await asyncio.sleep(0.05)
                        emu.finish_job(job.id)

                    task = asyncio.create_task(finish_later())
                    result: Any = await job.result()
                    await task
    assert result is not None


@pytest.mark.parametrize("bad", [0, -1.0, float("inf"), "5"])
def test_the_testing_deadline_is_validated(bad: Any) -> None:
    with pytest.raises(errors.InvalidInputError, match="deadline"):
        testing.set_testing(True, deadline=bad)
    assert not testing.is_testing()


def test_many_concurrent_session_waits_stretch_the_interval() -> None:
    """Beyond SESSION_FAST_WAITS one-by-one waits, the session interval grows in proportion,
    never beyond the backoff: the client's poll rate stays bounded."""
    policy = qrs.PollPolicy()
    fast = [policy.interval(9, random=lambda: 0.0, in_session=True, concurrent=n) for n in (1, 20)]
    assert fast == [0.1, 0.1]
    assert policy.interval(9, random=lambda: 0.0, in_session=True, concurrent=60) == (
        pytest.approx(0.3)
    )
    backoff = policy.interval(2, random=lambda: 0.0)
    assert policy.interval(2, random=lambda: 0.0, in_session=True, concurrent=10**6) == backoff


async def test_concurrent_waits_on_session_jobs_keep_the_request_rate_bounded() -> None:
    config = EmulatorConfig(clock=ManualClock(), queue_seconds=None)
    async with run_emulator(config) as emu:
        async with qrs.RuntimeClient(
            base_url=emu.base_url, access_token=emu.token, service_crn=emu.service_crn
        ) as client:
            async with client.session("ibm_fez", "batch", on_exit="drain") as session:
                jobs = [await session.submit_job("sampler", PARAMS) for _ in range(60)]
                outcomes = await asyncio.gather(
                    *(job.wait(timeout=1.0) for job in jobs), return_exceptions=True
                )
                gets = len(emu.requests_for("get_job"))
    assert all(isinstance(outcome, errors.JobTimeoutError) for outcome in outcomes)
    # 60 first polls, then about 60 x 1.0 / 0.3 (the interval stretched 3x); 660 unstretched
    assert 60 < gets < 400
    from qruntime_session._job import _session_waits

    assert client not in _session_waits  # every wait took itself off the count
