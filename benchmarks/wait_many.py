"""Print what waiting on many jobs costs: requests per poll, list polling vs one GET per job.

    python benchmarks/wait_many.py [N ...]     (default: 10 100 500)

Runs against the in-process emulator; jobs are held queued for the first poll and released
after it, so every strategy does exactly two polls.
"""

from __future__ import annotations

import asyncio
import sys
import time

import qruntime_session as qrs
from qruntime_session.emulator import EmulatorConfig, run_emulator

NO_WAIT = qrs.PollPolicy(initial=0.0, max_interval=0.0, jitter=0.0)


async def measure(n: int) -> tuple[int, int, float, float]:
    async with run_emulator(EmulatorConfig(queue_seconds=None)) as emu:
        async with (
            qrs.RuntimeClient(
                base_url=emu.base_url,
                access_token=emu.token,
                service_crn=emu.service_crn,
                poll=NO_WAIT,
            ) as client,
            client.session("ibm_fez", "batch", on_exit="drain") as session,
        ):
            jobs = await asyncio.gather(
                *(session.submit_job("sampler", {"i": i}) for i in range(n))
            )

            def release(progress: qrs.WaitProgress) -> None:
                if progress.polls == 1:
                    for job in jobs:
                        emu.finish_job(job.id)

            emu.clear_requests()
            started = time.perf_counter()
            await session.wait_all(jobs, progress=release)
            listed = len(emu.requests)
            listed_s = time.perf_counter() - started

            # The naive way, for comparison: one GET /v1/jobs/{id} per job per poll (2 polls).
            emu.clear_requests()
            started = time.perf_counter()
            for _ in range(2):
                await asyncio.gather(*(job.info(exclude_params=True) for job in jobs))
            naive = len(emu.requests)
            naive_s = time.perf_counter() - started
    return listed, naive, listed_s, naive_s


async def main(sizes: list[int]) -> None:
    header = ("jobs", "wait_all requests", "per-job requests", "wait_all s", "per-job s")
    print("{:>6} {:>18} {:>17} {:>11} {:>10}".format(*header))
    for n in sizes:
        listed, naive, listed_s, naive_s = await measure(n)
        print(f"{n:>6} {listed:>18} {naive:>17} {listed_s:>11.3f} {naive_s:>10.3f}")


if __name__ == "__main__":
    if {"-h", "--help"} & set(sys.argv[1:]):
        print(__doc__)
        raise SystemExit(0)
    asyncio.run(main([int(a) for a in sys.argv[1:]] or [10, 100, 500]))
