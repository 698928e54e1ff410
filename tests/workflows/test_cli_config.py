"""`workflow run` reads the SDK's configuration and says what the service said.

Each test serves an in-process emulator on 127.0.0.1 from a background thread (the CLI runs
its own event loop with ``asyncio.run``) and points the CLI at it the way a user points the
SDK at a service: ``QRUNTIME_BASE_URL`` and the credentials, or a config file.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from qruntime_session._cli import main
from qruntime_session.emulator import Emulator, EmulatorConfig, run_emulator
from qruntime_session.workflows._cli import EXIT_JOB_STOPPED

Serve = Callable[..., Emulator]
CRN = "crn:v1:bluemix:public:quantum-computing:us-east:a/x:y::"


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Start emulators (``serve(queue_seconds=…)``) in background threads; stop them after."""
    stops: list[tuple[threading.Thread, asyncio.AbstractEventLoop, asyncio.Event]] = []

    def start(**config: Any) -> Emulator:
        ready: concurrent.futures.Future[
            tuple[Emulator, asyncio.AbstractEventLoop, asyncio.Event]
        ] = concurrent.futures.Future()

        async def main_loop() -> None:
            stop = asyncio.Event()
            async with run_emulator(EmulatorConfig(**{"simulate": False, **config})) as emu:
                ready.set_result((emu, asyncio.get_running_loop(), stop))
                await stop.wait()

        thread = threading.Thread(target=asyncio.run, args=(main_loop(),), daemon=True)
        thread.start()
        emu, loop, stop = ready.result(timeout=30)
        stops.append((thread, loop, stop))
        return emu

    yield start
    for thread, loop, stop in stops:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)


def point_sdk_at(monkeypatch: pytest.MonkeyPatch, emu: Emulator, token: str | None = None) -> None:
    monkeypatch.setenv("QRUNTIME_BASE_URL", emu.base_url)
    monkeypatch.setenv("QRUNTIME_ACCESS_TOKEN", token or emu.token)
    monkeypatch.setenv("QISKIT_IBM_INSTANCE", emu.service_crn)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["workflow", "run", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_environment_configuration_and_defaults_run_the_seed(
    serve: Serve, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """QRUNTIME_BASE_URL, the token and the CRN as the SDK reads them; no --input at all."""
    emu = serve()
    point_sdk_at(monkeypatch, emu)
    code, out, err = run_cli(capsys)
    assert (code, err) == (0, "")
    outputs = json.loads(out)
    assert set(outputs) == {"sessionId", "jobId"}
    posts = [r for r in emu.requests if r.method == "POST"]
    assert [r.path for r in posts] == ["/api/v1/sessions", "/api/v1/jobs"]
    job = next(r for r in posts if r.path.endswith("/jobs"))
    body = job.body
    assert (body["backend"], body["program_id"]) == ("ibm_fez", "sampler")
    assert body["params"]["pubs"][0][2] == 128


def test_command_line_inputs_win_over_the_configuration(
    serve: Serve, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An --input takes the place of the SDK keyword: the configured token is not used."""
    emu = serve()
    point_sdk_at(monkeypatch, emu, token="configured-but-wrong-token")
    code, out, err = run_cli(capsys, "--input", f"accessToken={emu.token}", "--dry-run")
    assert (code, err) == (0, "")
    plan = json.loads(out)
    assert plan[0]["url"] == f"{emu.base_url}/v1/sessions"
    assert plan[1]["body"]["backend"] == "ibm_fez"
    assert emu.token not in out
    assert emu.requests == []


def test_config_file_is_read_like_the_sdk(
    serve: Serve,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The YAML config file the SDK reads (QRUNTIME_CONFIG) configures the CLI too."""
    emu = serve()
    config = tmp_path / "config.yaml"
    config.write_text(
        f"base_url: {emu.base_url}\naccess_token: {emu.token}\nservice_crn: '{emu.service_crn}'\n"
    )
    monkeypatch.setenv("QRUNTIME_CONFIG", str(config))
    code, out, err = run_cli(capsys, "--input", "mode=dedicated")
    assert (code, err) == (0, "")
    assert set(json.loads(out)) == {"sessionId", "jobId"}
    create = next(r for r in emu.requests if r.path == "/api/v1/sessions")
    assert create.body["mode"] == "dedicated"


def test_bad_token_shows_ibm_code_and_message(
    serve: Serve, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 401 names the SDK's error class, IBM's code and IBM's message; exit 1."""
    emu = serve()
    point_sdk_at(monkeypatch, emu, token="tok-SECRET-not-accepted")
    code, out, err = run_cli(capsys)
    assert (code, out) == (1, "")
    assert err.count("\n") == 1
    assert err.startswith("error: step 'createSession' failed (status 401)")
    assert (
        "AuthenticationError: code 1201: Invalid credentials: the bearer token is not valid." in err
    )
    assert "tok-SECRET" not in err


def test_close_that_stops_the_job_exits_3(
    serve: Serve, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The seed closes its session while the job is still queued: a warning and exit 3."""
    emu = serve(queue_seconds=60.0)
    point_sdk_at(monkeypatch, emu)
    code, out, err = run_cli(capsys)
    assert code == EXIT_JOB_STOPPED == 3
    job_id = json.loads(out)["jobId"]
    assert err.count("\n") == 1
    assert err.startswith(f"warning: job {job_id} is Cancelled after step 'closeSession'")
    assert "(exit 3)" in err


def test_job_already_running_at_close_exits_0(
    serve: Serve, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A job that runs when the session closes completes: nothing to warn about."""
    emu = serve(queue_seconds=0.0, run_seconds=60.0)
    point_sdk_at(monkeypatch, emu)
    code, out, err = run_cli(capsys)
    assert (code, err) == (0, "")
    assert set(json.loads(out)) == {"sessionId", "jobId"}
    assert any(r.path.startswith("/api/v1/jobs/") for r in emu.requests if r.method == "GET")


def test_missing_configuration_says_why(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No credential anywhere: the rejected inputs and the SDK's own explanation; exit 2."""
    monkeypatch.setenv("QISKIT_IBM_INSTANCE", CRN)
    code, out, err = run_cli(capsys)
    assert (code, out) == (2, "")
    assert "missing" in err
    assert "(from the SDK configuration: no credential configured" in err


def test_unresolvable_host_is_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A name that does not resolve (resolution is faked: nothing leaves the machine)."""

    async def no_such_host(self: Any, host: str, *args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(asyncio.base_events.BaseEventLoop, "getaddrinfo", no_such_host)
    monkeypatch.setenv("QRUNTIME_BASE_URL", "https://runtime.example.invalid/api")
    monkeypatch.setenv("QRUNTIME_ACCESS_TOKEN", "tok-SECRET-unused")
    monkeypatch.setenv("QISKIT_IBM_INSTANCE", CRN)
    code, out, err = run_cli(capsys)
    assert (code, out) == (1, "")
    assert err.startswith("error: step 'createSession' failed: ConnectError")
    assert "Name or service not known" in err
    assert "(POST https://runtime.example.invalid/api/v1/sessions, 1 attempt)" in err
    assert "tok-SECRET" not in err


def test_exit_code_3_is_documented() -> None:
    """The help's exit-code table and docs/cli.md both list the code the CLI returns."""
    from qruntime_session._cli import EXIT_CODES

    assert f"  {EXIT_JOB_STOPPED}    workflow run:" in EXIT_CODES
    docs = Path(__file__).parents[2] / "docs" / "cli.md"
    assert f"| {EXIT_JOB_STOPPED} | `workflow run`:" in docs.read_text(encoding="utf-8")


def test_unusable_configuration_is_a_warning_when_inputs_are_given(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A malformed setting is not silently dropped: the run says it is not using it."""
    monkeypatch.setenv("QRUNTIME_BASE_URL", "ftp://not-http.example/api")
    code, out, err = run_cli(
        capsys,
        "--dry-run",
        "--input",
        "accessToken=tok-SECRET-given",
        "--input",
        f"serviceCrn={CRN}",
    )
    assert code == 0
    assert json.loads(out)[0]["url"] == "https://quantum.cloud.ibm.com/api/v1/sessions"
    assert err.startswith("warning: the SDK configuration was not used (")
    assert "QRUNTIME_BASE_URL" in err
    assert "tok-SECRET" not in err


def point_sdk_at_with_key(monkeypatch: pytest.MonkeyPatch, emu: Emulator, api_key: str) -> None:
    """The SDK configured the IBM Cloud way: an API key (no token) and the IAM to exchange it."""
    monkeypatch.setenv("QRUNTIME_BASE_URL", emu.base_url)
    monkeypatch.setenv("QRUNTIME_API_KEY", api_key)
    monkeypatch.setenv("QRUNTIME_IAM_URL", emu.iam_url)
    monkeypatch.setenv("QISKIT_IBM_INSTANCE", emu.service_crn)


def bearers(emu: Emulator) -> list[str]:
    """The bearer token of each Runtime API request the emulator received, in order."""
    return [
        r.headers["Authorization"].removeprefix("Bearer ")
        for r in emu.requests
        if r.path.startswith("/api/")
    ]


def test_api_key_alone_is_exchanged_at_iam(
    serve: Serve,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Only an API key configured: IAM exchanges it first, every request carries the token."""
    emu = serve()
    point_sdk_at_with_key(monkeypatch, emu, emu.api_key)
    trace = tmp_path / "trace.json"
    code, out, err = run_cli(capsys, "--trace", str(trace))
    assert (code, err) == (0, "")
    assert set(json.loads(out)) == {"sessionId", "jobId"}
    assert emu.requests[0].path == "/identity/token"
    assert emu.requests[0].method == "POST"
    sent = [r for r in emu.requests if r.path.startswith("/api/")]
    assert [(r.method, r.path.split("/")[3]) for r in sent[:3]] == [
        ("POST", "sessions"),
        ("POST", "jobs"),
        ("DELETE", "sessions"),
    ]
    tokens = set(bearers(emu))
    assert len(tokens) == 1  # one exchange, reused while it is fresh
    (token,) = tokens
    assert token != emu.token
    assert token.count(".") == 2  # the JWT IAM issued
    written = trace.read_text(encoding="utf-8")
    assert "Bearer ***" in written
    assert all(token not in text and emu.api_key not in text for text in (out, err, written))
    assert [r.path for r in emu.requests].count("/identity/token") == 1


def test_expired_token_is_renewed_before_the_next_request(
    serve: Serve, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A token that expires during the run is exchanged again before the next request."""
    from qruntime_session._auth import IAMApiKeyAuth
    from qruntime_session.workflows import _cli

    days = iter(range(0, 10**9, 100_000))  # every reading of the clock is a day later

    def expiring(*args: Any, **kwargs: Any) -> IAMApiKeyAuth:
        return IAMApiKeyAuth(*args, clock=lambda: float(next(days)), **kwargs)

    monkeypatch.setattr(_cli, "IAMApiKeyAuth", expiring)
    emu = serve()
    point_sdk_at_with_key(monkeypatch, emu, emu.api_key)
    code, out, err = run_cli(capsys)
    assert (code, err) == (0, "")
    paths = [r.path for r in emu.requests]
    first_three = [i for i, p in enumerate(paths) if p.startswith("/api/")][:3]
    # An exchange right before each of the seed's three requests (and the one at the start).
    assert all(paths[i - 1] == "/identity/token" for i in first_three)
    assert paths.count("/identity/token") >= 4
    assert all(token not in out + err for token in bearers(emu))


def test_wrong_api_key_names_the_iam_step(
    serve: Serve, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A key IAM refuses: one error line naming the IAM exchange, exit 1, nothing else sent."""
    emu = serve()
    point_sdk_at_with_key(monkeypatch, emu, "apikey-SECRET-not-known")
    code, out, err = run_cli(capsys)
    assert (code, out) == (1, "")
    assert err.count("\n") == 1
    assert err.startswith(
        f"error: IAM token exchange (POST {emu.iam_url}/identity/token) failed: "
        "AuthenticationError: IAM refused the API key"
    )
    assert "(the API key is from env:QRUNTIME_API_KEY)" in err
    assert "apikey-SECRET" not in err
    assert [r.path for r in emu.requests] == ["/identity/token"]


def test_api_key_dry_run_sends_nothing(
    serve: Serve, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--dry-run does not even exchange the key; the plan shows a masked bearer header."""
    emu = serve()
    point_sdk_at_with_key(monkeypatch, emu, emu.api_key)
    code, out, err = run_cli(capsys, "--dry-run")
    assert (code, err) == (0, "")
    plan = json.loads(out)
    assert plan[0]["headers"]["Authorization"] == "Bearer ***"
    assert emu.requests == []


def test_api_key_with_a_token_input_uses_the_token(
    serve: Serve, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--input accessToken= wins over the configured API key: no exchange."""
    emu = serve()
    point_sdk_at_with_key(monkeypatch, emu, "apikey-SECRET-unused")
    code, out, err = run_cli(capsys, "--input", f"accessToken={emu.token}")
    assert (code, err) == (0, "")
    assert set(json.loads(out)) == {"sessionId", "jobId"}
    assert "/identity/token" not in [r.path for r in emu.requests]
    assert set(bearers(emu)) == {emu.token}
