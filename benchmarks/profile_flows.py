"""Profile one client flow for a while against a benchmark emulator (for py-spy or cProfile).

    python -m benchmarks.profile_flows {sdk|raw|executor} SECONDS

Runs the flow (P1's open -> 1 job -> close, or the seed through the executor) in a loop for
SECONDS against an emulator in its own process, pinned like the suite. Wrap it in
``py-spy record -o out.svg --`` (or ``py-spy record --format raw``) to see where the client's
CPU goes; docs/performance.md quotes such profiles.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time

from benchmarks.suite import clients, pin_self, sdk_flow, seed_inputs, server
from qruntime_session.workflows import WorkflowExecutor, load_document, seed_path


async def loop(kind: str, seconds: float, emu: dict[str, str]) -> int:
    count = 0
    deadline = time.monotonic() + seconds
    async with clients(emu) as (client, raw):
        executor = WorkflowExecutor(document=load_document(seed_path()), server_url=emu["base_url"])
        async with executor:
            inputs = seed_inputs(emu)
            while time.monotonic() < deadline:
                if kind == "sdk":
                    await sdk_flow(client)
                elif kind == "raw":
                    await raw.flow()
                else:
                    await executor.run(inputs)
                count += 1
    return count


def main() -> None:
    kind, seconds = sys.argv[1], float(sys.argv[2])
    logging.getLogger("qruntime_session").addHandler(logging.NullHandler())
    pin_self()
    with server() as emu:
        count = asyncio.run(loop(kind, seconds, emu))
    print(f"{kind}: {count} flows in {seconds:g} s")


if __name__ == "__main__":
    main()
