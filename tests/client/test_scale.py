"""Scale on one client against the emulator (issue 8): 100 sessions x 10 jobs and
1,000 sessions x 1 job, all at once: 0 errors, every job final, every session closed."""

from __future__ import annotations

import asyncio

import pytest

import qruntime_session as qrs
from qruntime_session.emulator import run_emulator

PARAMS = {"pubs": [["OPENQASM 3.0;", None, 8]], "version": 2}


@pytest.mark.parametrize(("sessions", "jobs"), [(100, 10), (1000, 1)], ids=["100x10", "1000x1"])
async def test_many_sessions_on_one_client(sessions: int, jobs: int) -> None:
    async with run_emulator() as emu:
        client = qrs.RuntimeClient(
            base_url=emu.base_url,
            service_crn=emu.service_crn,
            access_token=emu.token,
            poll=qrs.PollPolicy(initial=0.05, max_interval=0.2, jitter=0.0),
            timeouts=qrs.Timeouts(read=60.0, close=60.0),
        )
        gate = asyncio.Semaphore(200)  # at most 200 sessions in their block at once

        async def one_session() -> list[qrs.JobStatus]:
            async with gate, client.session("ibm_fez", "batch") as session:
                for _ in range(jobs):
                    await session.submit_job("sampler", PARAMS)
                finals = await session.wait_all(timeout=120)
                return [info.status for info in finals]

        async with client, asyncio.timeout(240):
            results = await asyncio.gather(*(one_session() for _ in range(sessions)))
        assert client.open_session_ids == ()
        statuses = [status for result in results for status in result]
        assert statuses == [qrs.JobStatus.COMPLETED] * (sessions * jobs)
        assert len(emu.session_ids) == sessions
        assert len(emu.job_ids) == sessions * jobs
        assert all(emu.session(sid)["state"] == "closed" for sid in emu.session_ids)
