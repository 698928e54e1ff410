"""The ambiguous-submission storm (issue 8): 1,000 concurrent submissions over 10 sessions
while about 30 % of the job POSTs are hit by drop-after-handling, 500-after-handling or
handled-after-a-delay faults (delays from 0 to 3x the read timeout).

The guarantee checked, from the emulator's own job list:
- 0 duplicates: no submission created more than one job;
- 0 lost ids: every job the emulator holds was returned by ``submit_job`` or is named by the
  ``SubmissionUnknownError`` raised for its submission (in ``candidates``; with submission
  tags, also by the ``submission_tag`` it carries). With the settle window longer than the
  longest handling delay, no such error is expected at all.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Any

import pytest

import qruntime_session as qrs
from qruntime_session import errors
from qruntime_session.emulator import Emulator, run_emulator

SESSIONS = 10
PER_SESSION = 100
READ = 0.25
CONCURRENCY = 100


def plan_faults(emu: Emulator, seed: int) -> Counter[str]:
    rng = random.Random(seed)
    kinds: Counter[str] = Counter()
    for call in range(1, SESSIONS * PER_SESSION + 1):
        roll = rng.random()
        if roll < 0.10:
            emu.faults.add("create_job", nth=call, drop="after")
            kinds["drop_after"] += 1
        elif roll < 0.20:
            emu.faults.add("create_job", nth=call, status=500, handled=True)
            kinds["500_after"] += 1
        elif roll < 0.30:
            emu.faults.add("create_job", nth=call, delay=rng.uniform(0, 3 * READ))
            kinds["delayed"] += 1
    return kinds


async def in_flight_done(emu: Emulator) -> None:
    for _ in range(500):
        if all(r.status is not None or r.fault for r in emu.requests_for("create_job")):
            return
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("tags", [True, False], ids=["tags", "no_tags"])
async def test_ambiguous_submission_storm(tags: bool) -> None:
    async with run_emulator() as emu:
        kinds = plan_faults(emu, seed=8)
        client = qrs.RuntimeClient(
            base_url=emu.base_url,
            service_crn=emu.service_crn,
            access_token=emu.token,
            timeouts=qrs.Timeouts(read=READ, settle=6 * READ, close=10.0),
            retry=qrs.RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.05),
            submission_tags=tags,
        )
        gate = asyncio.Semaphore(CONCURRENCY)
        returned: dict[int, str] = {}
        unknown: dict[int, errors.SubmissionUnknownError] = {}

        async def submit(session: qrs.Session, number: int) -> None:
            params = {"pubs": [["OPENQASM 3.0;", None, 8]], "version": 2, "n": number}
            async with gate:
                try:
                    job = await session.submit_job("sampler", params)
                except errors.SubmissionUnknownError as exc:
                    unknown[number] = exc
                else:
                    returned[number] = job.id

        async with client:
            async with asyncio.timeout(150):
                sessions = [client.session("ibm_fez", "batch") for _ in range(SESSIONS)]
                for session in sessions:
                    await session.__aenter__()
                await asyncio.gather(
                    *(
                        submit(session, index * PER_SESSION + k)
                        for index, session in enumerate(sessions)
                        for k in range(PER_SESSION)
                    )
                )
                await in_flight_done(emu)
                for session in sessions:
                    await session.__aexit__(None, None, None)

        jobs: list[dict[str, Any]] = [emu.job(job_id) for job_id in emu.job_ids]
        per_submission = Counter(job["params"]["n"] for job in jobs)
        duplicates = [n for n, count in per_submission.items() if count > 1]
        named: set[str] = set(returned.values())
        for exc in unknown.values():
            named.update(exc.candidates)
            if exc.submission_tag is not None:
                named.update(j["id"] for j in jobs if exc.submission_tag in j["tags"])
        lost = [job["id"] for job in jobs if job["id"] not in named]
        print(
            f"storm tags={tags}: {len(returned) + len(unknown)} submissions, faults {dict(kinds)},"
            f" {len(jobs)} jobs, {len(unknown)} SubmissionUnknownError, "
            f"{len(duplicates)} duplicates, {len(lost)} lost"
        )
        assert len(returned) + len(unknown) == SESSIONS * PER_SESSION
        assert sum(kinds.values()) >= 250
        assert duplicates == []
        assert lost == []
        assert len(set(returned.values())) == len(returned)
        assert unknown == {}
        assert len(jobs) == SESSIONS * PER_SESSION
