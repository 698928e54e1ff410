"""The ``qruntime-session`` command: help, one-line errors, exit codes, progress, --quiet."""

from __future__ import annotations

import io
import os
import shlex
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from qruntime_session import testing
from qruntime_session._cli import EXIT_CODES, main


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_help_shows_defaults_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["emulator", "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    assert "Queued (default: 2.0)" in text
    assert "Running (default: 5.0)" in text
    assert "(default: 8000)" in text
    assert EXIT_CODES.splitlines()[1] in text
    with pytest.raises(SystemExit):
        main(["workflow", "run", "--help"])
    text = capsys.readouterr().out
    assert "--quiet" in text
    assert "130  interrupted" in text


def test_demo_quiet_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--quiet", "--queue-seconds", "0", "--run-seconds", "0"]) == 0
    assert capsys.readouterr() == ("", "")
    assert main(["-q", "demo", "--queue-seconds", "0", "--run-seconds", "0"]) == 0
    assert capsys.readouterr() == ("", "")


def test_demo_timeout_is_one_line_naming_the_job_and_its_state(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["demo", "--queue-seconds", "60", "--timeout", "0.2"])
    captured = capsys.readouterr()
    assert code == 1
    job_line = next(line for line in captured.out.splitlines() if "submitted" in line)
    job_id = job_line.split()[1]
    (line,) = captured.err.splitlines()
    assert line.startswith(f"error: job {job_id} was still Queued after 0.2s")
    assert "Traceback" not in captured.err


def test_connection_refused_is_one_line_with_the_attempts(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    port = _free_port()
    monkeypatch.setenv("QRUNTIME_BASE_URL", f"http://127.0.0.1:{port}/api")
    monkeypatch.setenv("QRUNTIME_ACCESS_TOKEN", "secret-token-value")
    monkeypatch.setenv(
        "QISKIT_IBM_INSTANCE", "crn:v1:bluemix:public:quantum-computing:us-east:a/abc:def::"
    )
    with testing.no_waiting(attempts=3):
        code = main(["demo", "--env"])
    captured = capsys.readouterr()
    assert code == 1
    (line,) = captured.err.splitlines()
    assert line.startswith("error: could not connect for create_session")
    assert line.endswith(f"(POST http://127.0.0.1:{port}/api/v1/sessions, 3 attempts)")
    assert "secret-token-value" not in captured.out + captured.err


def test_missing_configuration_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--env"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: no service CRN configured")


def test_port_in_use_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["emulator", "--port", str(port)])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err == (
        f"error: port {port} on 127.0.0.1 is already in use (stop what uses it, or pick "
        "another with --port; --port 0 picks a free one)\n"
    )


def test_progress_line_only_on_a_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["demo", "--queue-seconds", "0.3", "--run-seconds", "0.3"]) == 0
    drawn = terminal.getvalue()
    assert "\r\x1b[Kwaiting for job " in drawn
    assert drawn.endswith("\r\x1b[K")  # erased before the command returned
    assert "waiting" not in capsys.readouterr().out

    quiet_terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", quiet_terminal)
    assert main(["demo", "-q", "--queue-seconds", "0.1", "--run-seconds", "0"]) == 0
    assert quiet_terminal.getvalue() == ""


def test_no_progress_line_when_stderr_is_not_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo", "--queue-seconds", "0.3", "--run-seconds", "0"]) == 0
    assert capsys.readouterr().err == ""


@pytest.fixture
def emulator_process() -> Iterator[subprocess.Popen[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QRUNTIME_", "QISKIT_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "qruntime_session", "emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_emulator_prints_export_lines_and_stops_cleanly_on_ctrl_c(
    emulator_process: subprocess.Popen[str],
) -> None:
    assert emulator_process.stdout is not None
    exports: dict[str, str] = {}
    shown: dict[str, str] = {}
    for line in emulator_process.stdout:
        if line.startswith("export "):
            ((name, value),) = [shlex.split(line[len("export ") :])[0].split("=", 1)]
            exports[name] = value
        elif line.startswith("  ") and " : " in line:
            label, _, value = line.strip().partition(" : ")
            shown[label.strip()] = value.split("  (")[0].strip()
        if line.startswith("Press Ctrl+C"):
            break
    assert exports == {
        "QRUNTIME_BASE_URL": shown["API base URL"],
        "QRUNTIME_ACCESS_TOKEN": shown["Bearer token"],
        "QISKIT_IBM_INSTANCE": shown["Service-CRN"],
    }
    emulator_process.send_signal(signal.SIGINT)
    assert emulator_process.wait(timeout=20) == 0
    assert emulator_process.stderr is not None
    assert emulator_process.stderr.read() == "emulator stopped\n"


def test_workflow_run_progress_is_erased_before_its_output(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["workflow", "run", "--emulator"]) == 0
    drawn = terminal.getvalue()
    assert drawn.endswith("\r\x1b[K")
    assert "Traceback" not in drawn
    out = capsys.readouterr().out
    assert '"sessionId"' in out
    assert "\x1b" not in out
