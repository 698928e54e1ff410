"""A real Ctrl-C (SIGINT) inside the block closes the session before the interrupt propagates."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import asyncio, os, signal
    from qruntime_session import RuntimeClient, Session

    # Ctrl-C as in a terminal, even when this process starts with SIGINT ignored
    # (a background job of a non-interactive shell, as some CI runners start their steps)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from qruntime_session.emulator import run_emulator

    async def main():
        async with run_emulator() as emu:
            try:
                async with RuntimeClient(
                    base_url=emu.base_url, access_token=emu.token, service_crn=emu.service_crn
                ) as client:
                    async with Session("ibm_fez", "batch", client=client) as session:
                        await session.submit_job("sampler", {"pubs": []})
                        os.kill(os.getpid(), signal.SIGINT)
                        await asyncio.sleep(30)
                        print("NOT REACHED", flush=True)
            finally:
                sid = emu.session_ids[0]
                ops = [r.operation for r in emu.requests]
                print("STATE", emu.session(sid)["state"], ops.count("delete_session_close"), flush=True)

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        print("INTERRUPTED", flush=True)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigint_under_asyncio_run_closes_the_session() -> None:
    """SIGINT cancels the task (asyncio.run, like ipykernel for async cells); the close still runs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QRUNTIME_", "QISKIT_"))}
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert "STATE closed 1" in proc.stdout, proc.stdout + proc.stderr
    assert "INTERRUPTED" in proc.stdout
    assert "NOT REACHED" not in proc.stdout
    assert proc.returncode == 0
