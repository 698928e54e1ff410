"""The README's example runs as written against `qruntime-session emulator` started from the shell."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

from ._emulator_cli import emulator_cli, scrubbed_environment

README = Path(__file__).resolve().parent.parent / "README.md"


def _example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    (example,) = [b for b in blocks if "async with Session(" in b]
    return example


def test_readme_example_runs_against_the_emulator_command(tmp_path: Path) -> None:
    """Start the emulator CLI, point the example's environment at it, run it: the job completes."""
    with emulator_cli("--queue-seconds", "0.05", "--run-seconds", "0.05") as exports:
        # Terminal 2: paste the export lines, run the example.
        script = tmp_path / "bell.py"
        script.write_text(_example(), encoding="utf-8")
        run_env = {**scrubbed_environment(), **exports}
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
