"""``qruntime-session emulator`` started as a user starts it, for tests that need a separate
process (the README's two terminals, the notebook's kernel)."""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator


def scrubbed_environment() -> dict[str, str]:
    """This process's environment without any ``QRUNTIME_*`` / ``QISKIT_*`` configuration."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("QRUNTIME_", "QISKIT_"))}


@contextlib.contextmanager
def emulator_cli(*options: str) -> Iterator[dict[str, str]]:
    """Run ``python -m qruntime_session emulator --port 0 <options>`` in a scrubbed
    environment; yield the variables its ``export`` lines set, and stop it on exit.

    A process, not a thread of this one: the emulator simulates circuits with qiskit in
    worker threads, and qiskit objects made in a thread that has ended have crashed (SIGSEGV)
    a later test's qiskit calls in this process.
    """
    command = [sys.executable, "-m", "qruntime_session", "emulator", "--port", "0", *options]
    server = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=scrubbed_environment(),
    )
    try:
        assert server.stdout is not None
        exports: dict[str, str] = {}
        for line in server.stdout:
            if line.startswith("export "):
                name, _, value = shlex.split(line[len("export ") :])[0].partition("=")
                exports[name] = value
            if line.startswith("Press Ctrl+C"):
                break
        assert set(exports) == {"QRUNTIME_BASE_URL", "QRUNTIME_ACCESS_TOKEN", "QISKIT_IBM_INSTANCE"}
        yield exports
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stdout is not None:
            server.stdout.close()
