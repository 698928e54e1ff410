"""Identical submissions without submission tags, failing ambiguously together (issue 15, item 6).

Two ``submit_job`` calls in one session with the same program, backend, tags and params, both
hit by a fault that leaves "was a job created?" open. Without submission tags the client cannot
tell their jobs apart, and does not need to: the jobs are interchangeable. Each call adopts one
of them as they appear within the settle window (not necessarily the one its own request
created), so no call fails and no job is left without a call naming it. Before, both calls
raised ``SubmissionUnknownError`` naming both jobs, or one call named the other's job while its
own landed later.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import qruntime_session as qrs
from qruntime_session import errors
from qruntime_session.emulator import Emulator, run_emulator

READ = 0.25
PARAMS = {"pubs": [["OPENQASM 3.0;", None, 8]], "version": 2}


def client_for(emu: Emulator) -> qrs.RuntimeClient:
    return qrs.RuntimeClient(
        base_url=emu.base_url,
        service_crn=emu.service_crn,
        access_token=emu.token,
        timeouts=qrs.Timeouts(read=READ, settle=1.5, close=5.0),
        retry=qrs.RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.05),
    )


async def submit_two(emu: Emulator, first: dict[str, Any], second: dict[str, Any]) -> list[Any]:
    emu.faults.add("create_job", nth=1, **first)
    emu.faults.add("create_job", nth=2, **second)
    async with client_for(emu) as client:
        async with client.session("ibm_fez", "batch", on_exit="drain") as session:

            async def submit() -> Any:
                try:
                    return (await session.submit_job("sampler", PARAMS)).id
                except errors.SubmissionUnknownError as exc:
                    return exc

            return list(await asyncio.gather(submit(), submit()))


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # one job is listed at once, the other lands late (0.7 s) within the settle window
        ({"drop": "after"}, {"delay": 0.7}),
        ({"delay": 0.7}, {"drop": "after"}),
        # both land late, at different times
        ({"delay": 0.4}, {"delay": 0.9}),
        # both are listed at once
        ({"drop": "after"}, {"drop": "after"}),
        ({"status": 500, "handled": True}, {"drop": "after"}),
    ],
    ids=["listed+late", "late+listed", "late+later", "listed+listed", "500-created+listed"],
)
async def test_identical_submissions_each_adopt_one_of_their_jobs(
    first: dict[str, Any], second: dict[str, Any]
) -> None:
    async with run_emulator() as emu:
        outcomes = await submit_two(emu, first, second)
        await asyncio.sleep(0.1)
        assert [type(o) for o in outcomes] == [str, str], outcomes
        assert outcomes[0] != outcomes[1]
        assert set(outcomes) == set(emu.job_ids)  # two jobs, each named by one call


async def test_when_only_one_of_them_created_a_job_the_other_says_so() -> None:
    """A 500 that created nothing, beside a dropped answer that did: one job, adopted by one
    call; the other raises (and nothing is sent again, since the adopted job may be its)."""
    async with run_emulator() as emu:
        outcomes = await submit_two(emu, {"status": 500}, {"drop": "after"})
        await asyncio.sleep(0.1)
        ids = [o for o in outcomes if isinstance(o, str)]
        failures = [o for o in outcomes if isinstance(o, errors.SubmissionUnknownError)]
        assert len(ids) == 1
        assert len(failures) == 1
        assert list(emu.job_ids) == ids  # no resubmission, no job left unnamed


async def test_more_matching_jobs_than_identical_submissions_are_named_not_adopted() -> None:
    """An identical job this client never saw (another process's) beside one ambiguous
    submission: two candidates for one submission, so the error names both."""
    async with run_emulator() as emu:
        async with client_for(emu) as client:
            async with client.session("ibm_fez", "batch", on_exit="drain") as session:
                assert session.id is not None
                async with client_for(emu) as other:  # another program, same session
                    answer = await other.transport.request(
                        "POST",
                        "/v1/jobs",
                        json={
                            "program_id": "sampler",
                            "backend": "ibm_fez",
                            "session_id": session.id,
                            "params": PARAMS,
                        },
                        operation="create_job",
                    )
                    foreign = answer.json()["id"]
                    emu.faults.add("create_job", nth=1, drop="after")  # counts from now
                    with pytest.raises(errors.SubmissionUnknownError) as caught:
                        await session.submit_job("sampler", PARAMS)
        assert foreign in caught.value.candidates
        assert set(caught.value.candidates) == set(emu.job_ids)
        assert "more than the 1 identical submission(s)" in str(caught.value)
