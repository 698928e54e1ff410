"""The ``qruntime-session`` command: ``demo``, ``emulator`` and ``workflow run``.

Output never contains a bearer token or API key, except ``emulator``, which prints the local
emulator's own test credentials so that other programs can use it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import errors
from ._version import version

__all__ = ["main"]

_BELL_CIRCUIT = (
    'OPENQASM 3.0; include "stdgates.inc"; bit[2] c; qubit[2] q; '
    "h q[0]; cx q[0], q[1]; c = measure q;"
)

DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    # SamplerV2 input: one pub (circuit, parameter values, shots).
    "sampler": {"pubs": [[_BELL_CIRCUIT, None, 128]], "version": 2, "support_qiskit": False},
    # EstimatorV2 input: one pub (circuit, observable).
    "estimator": {"pubs": [[_BELL_CIRCUIT, "ZZ"]], "version": 2, "support_qiskit": False},
}


def _params_arg(text: str) -> dict[str, Any]:
    """``--params`` value: inline JSON, or ``@file.json``."""
    try:
        raw = Path(text[1:]).read_text(encoding="utf-8") if text.startswith("@") else text
        value = json.loads(raw)
    except (OSError, ValueError) as exc:
        raise argparse.ArgumentTypeError(f"--params must be JSON or @file.json: {exc}") from exc
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("--params must be a JSON object")
    return value


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be zero or more")
    return value


def _say(line: str) -> None:
    print(line, flush=True)


async def _demo(args: argparse.Namespace) -> int:
    from . import RuntimeClient, Session
    from .emulator import EmulatorConfig, run_emulator

    params = args.params if args.params is not None else DEFAULT_PARAMS.get(args.program, {})
    config = EmulatorConfig(queue_seconds=args.queue_seconds, run_seconds=args.run_seconds)
    async with run_emulator(config) as emu:
        _say(f"emulator   {emu.base_url} (local, in-process)")
        async with RuntimeClient(
            base_url=emu.base_url,
            access_token=emu.token,
            service_crn=emu.service_crn,
            api_version=args.api_version,
        ) as client:
            async with Session(args.backend, args.mode, client=client) as session:
                _say(
                    f"session    {session.id} state={session.state} "
                    f"backend={args.backend} mode={args.mode}"
                )
                job = await session.submit_job(args.program, params)
                _say(f"job        {job.id} submitted (program {args.program})")
                final = None
                async with asyncio.timeout(args.timeout):
                    async for status in job.statuses():
                        _say(f"job        {job.id} {status.value}")
                        final = status
            # The block has exited, so DELETE /v1/sessions/{id}/close has answered 204.
            details = await session.details()
            _say(f"session    {session.id} closed (state={details.state.value})")
    if final is None or final.value != "Completed":
        print(f"error: job ended {final.value if final else 'without a status'}", file=sys.stderr)
        return 1
    return 0


async def _emulator(args: argparse.Namespace) -> int:
    from .emulator import EmulatorConfig, serve

    config = EmulatorConfig(queue_seconds=args.queue_seconds, run_seconds=args.run_seconds)
    await serve(args.host, args.port, config, out=_say)
    return 0


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qruntime-session",
        description="Qiskit Runtime sessions from asyncio, with a local emulator of the API.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log to stderr (-v INFO, -vv DEBUG)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser(
        "demo",
        help="run the seed workflow (open a session, run a job, close) on an in-process emulator",
    )
    demo.add_argument("--backend", default="ibm_fez", help="backend name (default: ibm_fez)")
    demo.add_argument(
        "--mode",
        default="batch",
        choices=["batch", "dedicated"],
        help="session mode (default: batch)",
    )
    demo.add_argument("--program", default="sampler", help="program id (default: sampler)")
    demo.add_argument(
        "--params", type=_params_arg, default=None, help="job params: JSON or @file.json"
    )
    demo.add_argument("--api-version", default=None, help="IBM-API-Version to send (YYYY-MM-DD)")
    demo.add_argument(
        "--queue-seconds", type=_non_negative, default=0.3, help="emulated queue time"
    )
    demo.add_argument("--run-seconds", type=_non_negative, default=0.5, help="emulated run time")
    demo.add_argument(
        "--timeout", type=_non_negative, default=120.0, help="give up waiting after this long"
    )
    demo.set_defaults(handler=lambda a: asyncio.run(_demo(a)))

    emu = sub.add_parser("emulator", help="serve the Runtime API emulator until interrupted")
    emu.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    emu.add_argument(
        "--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)"
    )
    emu.add_argument("--queue-seconds", type=_non_negative, default=2.0, help="emulated queue time")
    emu.add_argument("--run-seconds", type=_non_negative, default=5.0, help="emulated run time")
    emu.set_defaults(handler=lambda a: asyncio.run(_emulator(a)))

    from .workflows._cli import register

    register(sub)
    return parser


def _configure_logging(verbosity: int) -> None:
    if verbosity <= 0:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("qruntime_session")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbosity > 1 else logging.INFO)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``qruntime-session`` console script."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
    try:
        result = args.handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except errors.QRuntimeError as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except TimeoutError:
        print("error: timed out", file=sys.stderr)
        return 1
    return int(result)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
