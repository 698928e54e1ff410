"""Type-checked by mypy (``mypy --strict tests/typing``), never executed: the public API's types."""

from __future__ import annotations

from typing import Any, assert_type

import qruntime_session as qrs


async def uses_the_public_api(params: dict[str, Any]) -> None:
    async with qrs.RuntimeClient(access_token="t", service_crn="crn:v1:x") as client:
        async with client.session("ibm_fez", qrs.SessionMode.BATCH, on_exit="drain") as session:
            assert_type(session.id, str | None)
            job = await session.submit_job("sampler", params, tags=["a"])
            assert_type(job, qrs.Job)
            assert_type(await job.status(), qrs.JobStatus)
            assert_type(await job.wait(timeout=10), qrs.JobInfo)
            assert_type(await job.result(), Any)
            assert_type(await session.details(), qrs.SessionDetails)
            infos = await session.wait_all([job])
            assert_type(infos, list[qrs.JobInfo])
            async for info in qrs.as_completed([job], timeout=5.0):
                assert_type(info, qrs.JobInfo)
        assert_type(client.open_session_ids, tuple[str, ...])
        assert_type(await client.close_all_sessions(drain=True), tuple[str, ...])
    try:
        pass
    except qrs.APIStatusError as exc:
        assert_type(exc.status, int | None)
        assert_type(exc.codes, tuple[str, ...])
