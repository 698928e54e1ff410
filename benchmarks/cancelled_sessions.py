"""How many sessions a cancelled block leaves open (issue 15; figures in docs/reliability.md).

``python -m benchmarks.cancelled_sessions [N] [shape]`` opens N sessions (default 300), each in
its own ``async with client.session(...)`` block inside one ``async with RuntimeClient()``,
against the in-process emulator with every close delayed 50 ms, then leaves by ``shape``:
``gather`` (the gather is cancelled), ``wait_for``, ``timeout`` (``asyncio.timeout``) or
``taskgroup`` (a 3 s ``asyncio.timeout`` around a ``TaskGroup``). It prints how many sessions
the emulator still holds open afterwards.
"""

from __future__ import annotations

import asyncio
import sys
import time
import warnings

from qruntime_session import RuntimeClient
from qruntime_session.emulator import run_emulator

SHAPES = ("gather", "wait_for", "timeout", "taskgroup")


async def _leave(client: RuntimeClient, opened: list[str], count: int, shape: str) -> None:
    every_one_open = asyncio.Event()

    async def _hold(client: RuntimeClient, opened: list[str]) -> None:
        async with client.session("ibm_fez", "batch") as session:
            opened.append(session.id or "")
            if len(opened) == count:
                every_one_open.set()
            await asyncio.sleep(60)

    async def everything() -> None:
        await asyncio.gather(*(_hold(client, opened) for _ in range(count)))

    async def all_open() -> None:
        await every_one_open.wait()

    if shape == "gather":
        gathered = asyncio.gather(*(_hold(client, opened) for _ in range(count)))
        await all_open()
        gathered.cancel()
        await gathered
    elif shape == "wait_for":
        task = asyncio.ensure_future(asyncio.wait_for(everything(), 3600))
        await all_open()
        task.cancel()
        await task
    elif shape == "timeout":
        async with asyncio.timeout(3600) as deadline:
            started = asyncio.ensure_future(everything())
            await all_open()
            deadline.reschedule(asyncio.get_running_loop().time())
            await started
    else:
        async with asyncio.timeout(3), asyncio.TaskGroup() as group:
            for _ in range(count):
                group.create_task(_hold(client, opened))


async def main(count: int, shape: str) -> str:
    warnings.simplefilter("ignore")
    async with run_emulator() as emu:
        emu.faults.add("delete_session_close", times=None, delay=0.05)
        opened: list[str] = []
        began = time.perf_counter()
        left_by = "nothing"
        try:
            async with RuntimeClient(
                base_url=emu.base_url, access_token=emu.token, service_crn=emu.service_crn
            ) as client:
                await _leave(client, opened, count, shape)
        except BaseException as exc:  # noqa: BLE001 - the shape's own exit is the point
            left_by = type(exc).__name__
        elapsed = time.perf_counter() - began
        states = [emu.session(sid)["state"] for sid in emu.session_ids]
        still_open = sum(state != "closed" for state in states)
        closes = len(emu.requests_for("delete_session_close"))
        return (
            f"{shape}: {len(opened)} opened, {still_open} left open, {closes} closes sent, "
            f"left by {left_by}, {elapsed:.1f} s"
        )


if __name__ == "__main__":
    if {"-h", "--help"} & set(sys.argv[1:]):
        print(__doc__)
        raise SystemExit(0)
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    for name in sys.argv[2:] or SHAPES:
        print(asyncio.run(main(size, name)))
