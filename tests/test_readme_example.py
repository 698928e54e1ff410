"""The README's example runs as written against `qruntime-session emulator` started from the shell."""

from __future__ import annotations

import ast
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def _example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    (example,) = [b for b in blocks if "async with Session(" in b]
    return example


def test_readme_example_runs_against_the_emulator_command(tmp_path: Path) -> None:
    """Start the emulator CLI, point the example's environment at it, run it: the job completes."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QRUNTIME_", "QISKIT_"))}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "qruntime_session",
            "emulator",
            "--port",
            "0",
            "--queue-seconds",
            "0.05",
            "--run-seconds",
            "0.05",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
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
        # Terminal 2: paste the export lines, run the example.
        assert set(exports) == {"QRUNTIME_BASE_URL", "QRUNTIME_ACCESS_TOKEN", "QISKIT_IBM_INSTANCE"}
        script = tmp_path / "bell.py"
        script.write_text(_example(), encoding="utf-8")
        run_env = {**env, **exports}
        done = subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            timeout=60,
            env=run_env,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        job_id, _, printed = done.stdout.strip().partition(" ")
        assert re.fullmatch(r"[A-Za-z0-9_-]+", job_id)
        counts = ast.literal_eval(printed)
        assert sum(counts.values()) == 1024
        # The sim extra simulates the Bell pair with ibm_fez's served calibration data:
        # mostly 00 and 11, a few 01/10 from readout and gate errors.
        assert counts.get("00", 0) + counts.get("11", 0) >= 0.9 * 1024
    finally:
        server.terminate()
        server.wait(timeout=10)
        for stream in (server.stdout, server.stderr):
            if stream is not None:
                stream.close()
