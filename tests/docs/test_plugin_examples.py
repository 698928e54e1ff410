"""The pytest plugin's documented example (docs/emulator.md) runs as a user would lay it out.

Every block of docs/emulator.md fenced with ``title="path"`` (the ``pyproject.toml`` settings,
a test module, the ``conftest.py`` override holding jobs and the test module beside it) is
written to that path in an empty directory, and pytest runs there in a subprocess whose
environment carries no ``QRUNTIME_*``/``QISKIT_*`` variable: the plugin comes from the
installed package's ``pytest11`` entry point, as it does for a user.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "emulator.md"
TITLED = re.compile(
    r'^```(?P<lang>\w+)[^\n]*title="(?P<path>[^"]+)"[^\n]*\n(?P<body>.*?)^```[ \t]*$',
    re.MULTILINE | re.DOTALL,
)


def _files() -> dict[str, str]:
    return {m["path"]: m["body"] for m in TITLED.finditer(PAGE.read_text(encoding="utf-8"))}


def _run(directory: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QRUNTIME_", "QISKIT_"))}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            *extra,
        ],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_the_page_shows_the_settings_the_override_and_both_test_modules() -> None:
    files = _files()
    assert set(files) == {
        "pyproject.toml",
        "tests/test_bell.py",
        "tests/held/conftest.py",
        "tests/held/test_held.py",
    }
    assert 'asyncio_default_fixture_loop_scope = "function"' in files["pyproject.toml"]
    assert "queue_seconds=None" in files["tests/held/conftest.py"]


def test_the_plugin_examples_pass_together_without_warnings(tmp_path: Path) -> None:
    for name, body in _files().items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    done = _run(tmp_path, "-rA")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "5 passed" in output, output[-2000:]
    assert "asyncio_default_fixture_loop_scope" not in output  # the documented setting is set
    assert "warning" not in output.lower(), output[-2000:]


def test_the_wait_deadline_ini_option_bounds_a_held_job(tmp_path: Path) -> None:
    """With the override and no explicit deadline, the ini option ends the wait."""
    files = _files()
    (tmp_path / "pyproject.toml").write_text(
        files["pyproject.toml"] + "qruntime_wait_deadline = 0.4\n", encoding="utf-8"
    )
    (tmp_path / "conftest.py").write_text(files["tests/held/conftest.py"], encoding="utf-8")
    (tmp_path / "test_wait.py").write_text(
        "import time\n"
        "import pytest\n"
        "from qruntime_session import Session, errors\n\n"
        "async def test_it(runtime_client) -> None:\n"
        "    async with Session('ibm_fez', 'batch', client=runtime_client) as session:\n"
        "        job = await session.submit_job('sampler', {'pubs': [], 'version': 2})\n"
        "        start = time.monotonic()\n"
        "        with pytest.raises(errors.JobTimeoutError, match='still Queued after 0.4s'):\n"
        "            await job.wait()\n"
        "        assert time.monotonic() - start < 3\n",
        encoding="utf-8",
    )
    done = _run(tmp_path)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert "1 passed" in done.stdout
