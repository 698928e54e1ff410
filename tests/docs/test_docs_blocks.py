"""Every ```python block in README.md and docs/*.md runs, as written, against the emulator.

Each block is a complete program, run in a subprocess whose environment points the SDK at a
fresh in-process emulator (``QRUNTIME_BASE_URL``, ``QRUNTIME_ACCESS_TOKEN``,
``QRUNTIME_API_KEY``, ``QRUNTIME_IAM_URL``, ``QISKIT_IBM_INSTANCE``; jobs queue and run for
50 ms). A block that defines ``test_*`` functions is run by pytest instead. A block fenced
```` ```python fragment ```` is deliberately incomplete: it is reported as skipped. A block
fenced with a ``title="path"`` is one file of a larger example, run together with the other
files of its page by its own test (``test_plugin_examples.py``), so it is not collected here.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from qruntime_session.emulator import EmulatorConfig, run_emulator

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```python([^\n]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
BLOCK_TIMEOUT = 120.0


def _blocks() -> list[Any]:
    found = []
    for document in DOCUMENTS:
        text = document.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            if "title=" in match.group(1):
                continue  # one file of a multi-file example (test_plugin_examples.py)
            line = text.count("\n", 0, match.start()) + 1
            name = f"{document.relative_to(ROOT)}:{line}"
            marks = []
            if "fragment" in match.group(1).split():
                marks.append(pytest.mark.skip(reason="fenced ```python fragment"))
            found.append(pytest.param(match.group(2), id=name, marks=marks))
    return found


def test_there_are_blocks_to_run() -> None:
    runnable = [block for block in _blocks() if not block.marks]
    assert len(runnable) >= 15


@pytest.mark.parametrize("source", _blocks())
async def test_docs_block_runs(source: str, tmp_path: Path) -> None:
    script = tmp_path / "block.py"
    script.write_text(source, encoding="utf-8")
    config = EmulatorConfig(queue_seconds=0.05, run_seconds=0.05)
    async with run_emulator(config) as emu:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("QRUNTIME_", "QISKIT_"))}
        env.update(
            QRUNTIME_BASE_URL=emu.base_url,
            QRUNTIME_ACCESS_TOKEN=emu.token,
            QRUNTIME_API_KEY=emu.api_key,
            QRUNTIME_IAM_URL=emu.iam_url,
            QISKIT_IBM_INSTANCE=emu.service_crn,
        )
        is_test = re.search(r"^(async )?def test_", source, re.MULTILINE) is not None
        command = (
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "--rootdir",
                str(tmp_path),
                "-c",
                os.devnull,
                "-o",
                "asyncio_mode=auto",
                str(script),
            ]
            if is_test
            else [sys.executable, str(script)]
        )
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            async with asyncio.timeout(BLOCK_TIMEOUT):
                stdout, stderr = await process.communicate()
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
    assert process.returncode == 0, (
        f"exit {process.returncode}\n--- stdout\n{stdout.decode()}\n--- stderr\n{stderr.decode()}"
    )
