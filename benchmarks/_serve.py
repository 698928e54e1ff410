"""Serve an emulator for the benchmarks (a separate process, pinned to its own core).

    python -m benchmarks._serve [--queue-seconds S] [--run-seconds S] [--prefill N]
        [--log-size N] [--official] [--job-time-limit S]

Prints one JSON line (``base_url``, ``origin``, ``iam_url``, ``token``, ``api_key``,
``service_crn``, ``pid``) once it listens, then serves until killed. ``--prefill N`` stores
N finished jobs first (straight into the store, without HTTP), for the "jobs stored" figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

import attrs

from qruntime_session.emulator import EmulatorConfig, run_emulator

_OFFICIAL = Path(__file__).resolve().parent / "data" / "official_sampler_params.json"


def _optional_seconds(text: str) -> float | None:
    return None if text == "none" else float(text)


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queue-seconds", type=_optional_seconds, default=0.0)
    parser.add_argument("--run-seconds", type=_optional_seconds, default=0.0)
    parser.add_argument("--prefill", type=int, default=0)
    parser.add_argument("--log-size", type=int, default=10_000)
    parser.add_argument("--job-time-limit", type=float, default=None)
    parser.add_argument("--official", action="store_true", help="prefill with P7's body")
    args = parser.parse_args(argv)
    config = EmulatorConfig(
        queue_seconds=args.queue_seconds,
        run_seconds=args.run_seconds,
        request_log_size=args.log_size,
    )
    if args.job_time_limit is not None:
        config = attrs.evolve(config, job_time_limit=args.job_time_limit)
    async with run_emulator(config) as emu:
        store = emu._store
        params = {"pubs": [["OPENQASM 3.0;", None, 16]], "version": 2}
        if args.official:
            params = json.loads(_OFFICIAL.read_text())
        for _ in range(args.prefill):
            store.create_job(
                program_id="sampler",
                backend="ibm_fez",
                params=params,
            )
        # queue_seconds/run_seconds 0 (the default): every prefilled job ends; with
        # --queue-seconds none they stay queued.
        store.tick()
        line = {
            "base_url": emu.base_url,
            "origin": emu.origin,
            "iam_url": emu.iam_url,
            "token": emu.token,
            "api_key": emu.api_key,
            "service_crn": emu.service_crn,
            "pid": os.getpid(),
        }
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
