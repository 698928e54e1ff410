"""The ``qruntime-session`` command: ``demo``, ``emulator`` and ``workflow run``.

Output never contains a bearer token or API key, except ``emulator``, which prints the local
emulator's own test credentials so that other programs can use it.

Heavy imports (the client, aiohttp, the emulator, the workflow executor) happen inside the
command functions, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import shlex
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ._version import version

if TYPE_CHECKING:
    from .emulator import Emulator

__all__ = ["main"]

# A Bell pair in the device's basis (ibm_fez: cz id rz sx x), as the service requires (ISA):
# h = rz(pi/2) sx rz(pi/2) and cx = h cz h.
_BELL_CIRCUIT = (
    'OPENQASM 3.0; include "stdgates.inc"; bit[2] c; qubit[2] q; '
    "rz(pi/2) q[0]; sx q[0]; rz(pi/2) q[0]; rz(pi/2) q[1]; sx q[1]; rz(pi/2) q[1]; "
    "cz q[0], q[1]; rz(pi/2) q[1]; sx q[1]; rz(pi/2) q[1]; c = measure q;"
)

DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    # SamplerV2 input: one pub (circuit, parameter values, shots).
    "sampler": {"pubs": [[_BELL_CIRCUIT, None, 128]], "version": 2, "support_qiskit": False},
    # EstimatorV2 input: one pub (circuit, observable).
    "estimator": {"pubs": [[_BELL_CIRCUIT, "ZZ"]], "version": 2, "support_qiskit": False},
}

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

EXIT_CODES = """\
exit codes:
  0    success (demo: the job completed; emulator: stopped with Ctrl+C)
  1    failure: the job did not complete, the service answered an error, the connection
       failed, a wait timed out, or the emulator's port is in use
  2    bad usage or input (unknown option, invalid JSON, missing configuration, invalid
       workflow document or inputs)
  3    workflow run: the workflow succeeded, but closing its session stopped the job it
       submitted (the job was still queued)
  130  interrupted (Ctrl+C) while a command other than `emulator` was running
"""


class _Failure(Exception):
    """A one-line error the CLI prints as ``error: <message>`` (exit 1)."""


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
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be zero or more")
    return value


# -- output --------------------------------------------------------------------------------


class _Progress:
    """A one-line status on stderr, redrawn by a background thread with the time elapsed.

    Inactive (and silent) unless stderr is a terminal and ``--quiet`` was not given.
    """

    def __init__(self, stream: TextIO, *, enabled: bool) -> None:
        self._stream = stream
        self.enabled = enabled
        self._text = ""
        self._started = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._drawn = False

    def __enter__(self) -> _Progress:
        if self.enabled:
            self._thread = threading.Thread(target=self._run, name="qrs-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.clear()

    def set(self, text: str) -> None:
        """Show ``text`` (with the elapsed time) from now on."""
        with self._lock:
            self._text = text
        self._draw()

    def clear(self) -> None:
        """Erase the line (before other output is written)."""
        with self._lock:
            if self._drawn:
                self._stream.write("\r\x1b[K")
                self._stream.flush()
                self._drawn = False

    def _draw(self) -> None:
        if not self.enabled:
            return
        with self._lock:
            if not self._text:
                return
            elapsed = time.monotonic() - self._started
            self._stream.write(f"\r\x1b[K{self._text} ({elapsed:.1f}s)")
            self._stream.flush()
            self._drawn = True

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._draw()


class _ClearingStream:
    """A text stream that erases the progress line before anything is written to it (for
    commands that print through ``sys.stdout``/``sys.stderr`` themselves)."""

    def __init__(self, stream: TextIO, progress: _Progress) -> None:
        self._stream = stream
        self._progress = progress

    def write(self, text: str) -> int:
        self._progress.clear()
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _Output:
    """stdout lines (unless ``--quiet``) that never collide with the progress line."""

    def __init__(self, *, quiet: bool, progress: _Progress) -> None:
        self.quiet = quiet
        self.progress = progress

    def say(self, line: str) -> None:
        if self.quiet:
            return
        self.progress.clear()
        print(line, flush=True)


def _progress_for(args: argparse.Namespace) -> _Progress:
    enabled = not args.quiet and sys.stderr.isatty()
    return _Progress(sys.stderr, enabled=enabled)


def _count_attempts() -> tuple[Callable[[], int], Callable[[], None]]:
    """Count the attempts of the latest HTTP request: (how many, stop counting)."""
    from . import _telemetry

    latest = [0]

    def listener(attempt: int, error: BaseException | None) -> None:
        latest[0] = attempt

    _telemetry.add_attempt_listener(listener)
    return (lambda: latest[0]), (lambda: _telemetry.remove_attempt_listener(listener))


# -- demo ----------------------------------------------------------------------------------


async def _demo(args: argparse.Namespace, out: _Output) -> int:
    import asyncio
    import contextlib
    import warnings

    from . import QueuedJobsDroppedWarning, RuntimeClient, Session
    from .emulator import EmulatorConfig, run_emulator

    params = args.params if args.params is not None else DEFAULT_PARAMS.get(args.program, {})
    async with contextlib.AsyncExitStack() as stack:
        if args.env:
            client = RuntimeClient(api_version=args.api_version)
            out.say(f"service    {client.config.base_url} (from the environment)")
        else:
            config = EmulatorConfig(queue_seconds=args.queue_seconds, run_seconds=args.run_seconds)
            emu = await stack.enter_async_context(run_emulator(config))
            out.say(f"emulator   {emu.base_url} (local, in-process)")
            client = RuntimeClient(
                base_url=emu.base_url,
                access_token=emu.token,
                service_crn=emu.service_crn,
                api_version=args.api_version,
            )
        await stack.enter_async_context(client)
        out.progress.set("opening a session")
        final = None
        with warnings.catch_warnings():
            # On a timeout the error line below already says that the job is dropped.
            warnings.simplefilter("ignore", QueuedJobsDroppedWarning)
            async with Session(args.backend, args.mode, client=client) as session:
                out.say(
                    f"session    {session.id} state={session.state} "
                    f"backend={args.backend} mode={args.mode}"
                )
                job = await session.submit_job(args.program, params)
                out.say(f"job        {job.id} submitted (program {args.program})")
                out.progress.set(f"waiting for job {job.id}")
                try:
                    async with asyncio.timeout(args.timeout):
                        async for status in job.statuses():
                            out.say(f"job        {job.id} {status.value}")
                            out.progress.set(f"waiting for job {job.id} ({status.value})")
                            final = status
                except TimeoutError:
                    last = final.value if final is not None else "not yet seen"
                    out.progress.set(f"closing session {session.id}")
                    raise _Failure(
                        f"job {job.id} was still {last} after {args.timeout:g}s (--timeout); "
                        f"closing session {session.id}, which stops it if it is queued"
                    ) from None
                out.progress.set(f"closing session {session.id}")
            # The block has exited, so DELETE /v1/sessions/{id}/close has answered 204.
            details = await session.details()
        out.say(f"session    {session.id} closed (state={details.state.value})")
    if final is None or final.value != "Completed":
        raise _Failure(f"job ended {final.value if final else 'without a status'}")
    return EXIT_OK


# -- emulator ------------------------------------------------------------------------------


def export_lines(emulator: Emulator) -> list[str]:
    """The shell lines that point the SDK (and the README example) at ``emulator``."""
    return [
        f"export QRUNTIME_BASE_URL={shlex.quote(emulator.base_url)}",
        f"export QRUNTIME_ACCESS_TOKEN={shlex.quote(emulator.token)}",
        f"export QISKIT_IBM_INSTANCE={shlex.quote(emulator.service_crn)}",
    ]


async def _emulator(args: argparse.Namespace, out: _Output) -> int:
    import asyncio

    from aiohttp import web

    from .emulator import Emulator, EmulatorConfig

    config = EmulatorConfig(queue_seconds=args.queue_seconds, run_seconds=args.run_seconds)
    emulator = Emulator(config)
    runner = web.AppRunner(emulator.app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, args.host, args.port).start()
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise _Failure(
                    f"port {args.port} on {args.host} is already in use "
                    "(stop what uses it, or pick another with --port; --port 0 picks a free one)"
                ) from None
            raise _Failure(
                f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}"
            ) from None
        host, port = runner.addresses[0][:2]
        shown = f"[{host}]" if ":" in str(host) else str(host)
        emulator.bind(f"http://{shown}:{port}")
        delays = f"jobs queue {args.queue_seconds:g}s, then run {args.run_seconds:g}s"
        out.say(f"qruntime_session emulator listening on {emulator.origin} ({delays})")
        out.say(f"  API base URL : {emulator.base_url}")
        out.say(f"  IAM URL      : {emulator.iam_url}  (POST /identity/token)")
        out.say(f"  Bearer token : {emulator.token}")
        out.say(f"  API key      : {emulator.api_key}")
        out.say(f"  Service-CRN  : {emulator.service_crn}")
        out.say(f"  OpenAPI      : {emulator.base_url}/openapi.json")
        out.say("")
        out.say("To use it from another terminal, paste these lines there:")
        out.say("")
        for line in export_lines(emulator):
            print(line, flush=True)  # printed even with --quiet: they are the point
        out.say("")
        out.say("Press Ctrl+C to stop.")
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
    return EXIT_OK  # pragma: no cover - the wait above only ends by an exception


# -- parser --------------------------------------------------------------------------------


def _common_options(*, suppress: bool) -> argparse.ArgumentParser:
    """``-v`` and ``-q``, accepted before and after the command name.

    After the command the defaults are suppressed, so they do not undo the same option given
    before it (``qruntime-session -q demo``).
    """
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS if suppress else 0,
        help="log to stderr (-v INFO, -vv DEBUG)",
    )
    common.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="print only errors (and what a command exists to print: workflow outputs, "
        "the emulator's export lines); no progress line",
    )
    return common


def _build_parser() -> argparse.ArgumentParser:
    common = _common_options(suppress=True)
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="qruntime-session",
        description="Qiskit Runtime sessions from asyncio, with a local emulator of the API.",
        epilog=EXIT_CODES,
        formatter_class=formatter,
        parents=[_common_options(suppress=False)],
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser(
        "demo",
        parents=[common],
        help="open a session, run a job, wait for it and close the session, on an "
        "in-process emulator",
        description=textwrap.fill(
            "Open a session, run one job in it, show its statuses, and close the session: on "
            "an in-process emulator, or (--env) on the service the environment names. While "
            "the job waits, a progress line is shown on stderr if it is a terminal."
        ),
        epilog=EXIT_CODES,
        formatter_class=formatter,
    )
    demo.add_argument("--backend", default="ibm_fez", help="backend name (default: %(default)s)")
    demo.add_argument(
        "--mode",
        default="batch",
        choices=["batch", "dedicated"],
        help="session mode (default: %(default)s)",
    )
    demo.add_argument("--program", default="sampler", help="program id (default: %(default)s)")
    demo.add_argument(
        "--params",
        type=_params_arg,
        default=None,
        help="job params: JSON or @file.json (default: a Bell-pair sampler or estimator pub)",
    )
    demo.add_argument(
        "--api-version",
        default=None,
        help="IBM-API-Version to send, YYYY-MM-DD (default: the SDK's)",
    )
    demo.add_argument(
        "--queue-seconds",
        type=_non_negative,
        default=0.3,
        help="emulated time a job stays Queued (default: %(default)s)",
    )
    demo.add_argument(
        "--run-seconds",
        type=_non_negative,
        default=0.5,
        help="emulated time a job stays Running (default: %(default)s)",
    )
    demo.add_argument(
        "--timeout",
        type=_non_negative,
        default=120.0,
        help="give up waiting for the job after this many seconds (default: %(default)s)",
    )
    demo.add_argument(
        "--env",
        action="store_true",
        help="no in-process emulator: use the service the environment names "
        "(QRUNTIME_BASE_URL, QRUNTIME_ACCESS_TOKEN or QISKIT_IBM_TOKEN, QISKIT_IBM_INSTANCE), "
        "e.g. a `qruntime-session emulator` in another terminal",
    )
    demo.set_defaults(handler=_demo)

    emu = sub.add_parser(
        "emulator",
        parents=[common],
        help="serve the Runtime API emulator until Ctrl+C, printing the `export` lines "
        "that point the SDK at it",
        description=textwrap.fill(
            "Serve the Runtime API emulator until Ctrl+C. It prints its address, its test "
            "credentials and the `export` lines to paste into another terminal so that the SDK "
            "(and the README example) uses it."
        ),
        epilog=EXIT_CODES,
        formatter_class=formatter,
    )
    emu.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    emu.add_argument(
        "--port", type=int, default=8000, help="port; 0 picks a free one (default: %(default)s)"
    )
    emu.add_argument(
        "--queue-seconds",
        type=_non_negative,
        default=2.0,
        help="emulated time a job stays Queued (default: %(default)s)",
    )
    emu.add_argument(
        "--run-seconds",
        type=_non_negative,
        default=5.0,
        help="emulated time a job stays Running (default: %(default)s)",
    )
    emu.set_defaults(handler=_emulator)

    from .workflows._cli import register

    register(sub)
    workflow = sub.choices["workflow"]
    for action in workflow._actions:
        if isinstance(action, argparse._SubParsersAction):
            for run in action.choices.values():
                run.epilog = EXIT_CODES
                run.formatter_class = formatter
                for option in common._actions:
                    run._add_action(option)
    return parser


def _configure_logging(verbosity: int) -> None:
    if verbosity <= 0:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("qruntime_session")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbosity > 1 else logging.INFO)


def _error(message: str) -> None:
    sys.stderr.write("error: " + " ".join(message.split()) + "\n")
    sys.stderr.flush()


def _run(args: argparse.Namespace) -> int:
    """Run the chosen command; every failure becomes one ``error:`` line and an exit code."""
    import asyncio
    import contextlib

    from . import errors

    progress = _progress_for(args)
    out = _Output(quiet=args.quiet, progress=progress)
    attempts, stop_counting = _count_attempts()
    try:
        with progress:
            if args.command == "workflow":
                progress.set("running the workflow")
                with contextlib.ExitStack() as streams:
                    if progress.enabled:
                        streams.enter_context(
                            contextlib.redirect_stdout(_ClearingStream(sys.stdout, progress))
                        )
                        streams.enter_context(
                            contextlib.redirect_stderr(_ClearingStream(sys.stderr, progress))
                        )
                    return int(args.handler(args))
            return int(asyncio.run(args.handler(args, out)))
    except KeyboardInterrupt:
        progress.clear()
        if args.command == "emulator":
            sys.stderr.write("emulator stopped\n")
            return EXIT_OK
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    except _Failure as exc:
        _error(str(exc))
    except errors.UsageError as exc:
        _error(str(exc))
        return EXIT_USAGE
    except errors.ConnectError as exc:
        tries = attempts()
        where = f"{exc.method} {exc.url}, " if exc.method and exc.url else ""
        _error(f"{exc.message} ({where}{tries} attempt{'s' if tries != 1 else ''})")
    except errors.QRuntimeError as exc:
        _error(f"{type(exc).__name__}: {exc}")
    finally:
        stop_counting()
    return EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``qruntime-session`` console script (returns the exit code)."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
    return _run(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
