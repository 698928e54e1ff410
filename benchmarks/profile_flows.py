"""Profile one client flow against a benchmark emulator (for py-spy, or with cProfile).

    python -m benchmarks.profile_flows {sdk|raw|executor} SECONDS
    python -m benchmarks.profile_flows {sdk|raw|executor} --cprofile FLOWS

The first form runs the flow (P1's open -> 1 job -> close, or the seed through one executor)
in a loop for SECONDS against an emulator in its own process, pinned like the suite: wrap it in
``py-spy record --format raw -o out.txt --`` and summarise with ``python -m
benchmarks.spy_summary out.txt``. The second runs FLOWS flows under cProfile (after 50 uncounted
ones) and prints the profiled Python time per flow without the epoll wait and the socket calls,
then the project's functions with their self and inclusive microseconds per flow.
docs/performance.md quotes both.
"""

from __future__ import annotations

import asyncio
import cProfile
import logging
import pstats
import sys
import time
from collections.abc import Awaitable, Callable

from benchmarks.suite import clients, pin_self, sdk_flow, seed_inputs, server
from qruntime_session.workflows import WorkflowExecutor, load_document, seed_path


async def loop(kind: str, emu: dict[str, str], seconds: float, flows: int | None) -> int:
    async with clients(emu) as (client, raw):
        document = load_document(seed_path())
        async with WorkflowExecutor(document=document, server_url=emu["base_url"]) as executor:
            inputs = seed_inputs(emu)

            async def executor_flow() -> None:
                await executor.run(inputs)

            flow: Callable[[], Awaitable[None]] = {
                "sdk": lambda: sdk_flow(client),
                "raw": raw.flow,
                "executor": executor_flow,
            }[kind]
            if flows is None:
                count = 0
                deadline = time.monotonic() + seconds
                while time.monotonic() < deadline:
                    await flow()
                    count += 1
                return count
            for _ in range(50):
                await flow()
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(flows):
                await flow()
            profile.disable()
            report(profile, flows)
            return flows


def report(profile: cProfile.Profile, flows: int) -> None:
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in stats.values())
    waiting = sum(entry[2] for key, entry in stats.items() if "epoll" in key[2])
    sockets = sum(
        entry[2]
        for key, entry in stats.items()
        if "of '_socket.socket' objects" in key[2] and ("'send'" in key[2] or "'recv'" in key[2])
    )
    busy = (total - waiting - sockets) / flows * 1e6
    print(f"profiled Python time per flow, without epoll and socket calls: {busy:.0f} us")
    print("project functions: self us/flow, inclusive us/flow (coroutines count each resume)")
    rows = sorted(stats.items(), key=lambda item: -item[1][2])
    for (file, line, name), entry in rows:
        if "qruntime_session/" in file:
            where = file.split("qruntime_session/")[-1]
            print(
                f"  {entry[2] / flows * 1e6:7.1f} {entry[3] / flows * 1e6:8.1f}"
                f"  {where}:{line} {name}"
            )
    print("logging, json.dumps, task and shield costs (inclusive us/flow):")
    for (file, _line, name), entry in sorted(stats.items(), key=lambda item: -item[1][3]):
        if (
            name in ("warning", "makeRecord", "dumps") and ("logging" in file or "json" in file)
        ) or (name in ("create_task", "shield") and "asyncio" in file):
            print(f"  {entry[3] / flows * 1e6:8.1f}  {file.rsplit('/', 2)[-2]}/{name}")


def main() -> None:
    kind = sys.argv[1]
    flows = int(sys.argv[3]) if sys.argv[2] == "--cprofile" else None
    seconds = 0.0 if flows is not None else float(sys.argv[2])
    logging.getLogger("qruntime_session").addHandler(logging.NullHandler())
    pin_self()
    with server() as emu:
        count = asyncio.run(loop(kind, emu, seconds, flows))
    if flows is None:
        print(f"{kind}: {count} flows in {seconds:g} s")


if __name__ == "__main__":
    if {"-h", "--help"} & set(sys.argv[1:]) or len(sys.argv) < 3:
        print(__doc__)
        raise SystemExit(0 if {"-h", "--help"} & set(sys.argv[1:]) else 2)
    main()
