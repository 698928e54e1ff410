"""`qruntime-session workflow run`: end to end on the emulator, dry runs, traces, failures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from qruntime_session import errors
from qruntime_session._cli import main
from qruntime_session._config import DEFAULT_API_VERSION
from qruntime_session.workflows._cli import parse_inputs

from .test_seed import add_cleanup, variant

CRN = "crn:v1:bluemix:public:quantum-computing:us-east:a/abc:def::"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["workflow", "run", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_emulator_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    """`workflow run --emulator` runs the bundled seed and prints sessionId and jobId as JSON."""
    code, out, err = run_cli(capsys, "--emulator")
    assert (code, err) == (0, "")
    outputs = json.loads(out)
    assert set(outputs) == {"sessionId", "jobId"}
    assert all(isinstance(v, str) and v for v in outputs.values())


def test_dry_run_masks_and_sends_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    """--dry-run prints the three planned requests with the token masked."""
    code, out, _ = run_cli(capsys, "--emulator", "--dry-run", "--input", "backend=ibm_torino")
    assert code == 0
    plan = json.loads(out)
    assert [(r["stepId"], r["method"]) for r in plan] == [
        ("createSession", "POST"),
        ("runJobInSession", "POST"),
        ("closeSession", "DELETE"),
    ]
    assert plan[0]["headers"]["Authorization"] == "Bearer ***"
    assert plan[0]["body"] == {"backend": "ibm_torino", "mode": "batch"}
    assert plan[2]["url"].endswith("/v1/sessions/<$steps.createSession.outputs.sessionId>/close")
    assert "emu-token-" not in out


def test_trace_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--trace writes the per-attempt JSON trace, masked."""
    trace = tmp_path / "trace.json"
    code, out, _ = run_cli(capsys, "--emulator", "--trace", str(trace))
    assert code == 0
    data = json.loads(trace.read_text())
    assert data["status"] == "succeeded"
    assert [a["stepId"] for a in data["attempts"]] == [
        "createSession",
        "runJobInSession",
        "closeSession",
    ]
    assert [a["response"]["status"] for a in data["attempts"]] == [200, 200, 204]
    text = trace.read_text()
    assert "emu-token-" not in text
    assert '"Authorization": "Bearer ***"' in text
    assert json.loads(out)["sessionId"] in text


def break_job(data: dict[str, Any]) -> None:
    data["workflows"][0]["steps"][1]["requestBody"]["payload"]["params"] = "not-an-object"


def test_failure_names_step_status_and_open_session(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A failing step: one line on stderr (step, status, session left open), exit 1, no stdout."""
    code, out, err = run_cli(capsys, str(variant(tmp_path, break_job)), "--emulator")
    assert (code, out) == (1, "")
    assert err.count("\n") == 1
    assert err.startswith("error: step 'runJobInSession' failed (status 400)")
    assert "resources possibly left open: sessionId=" in err
    assert "(from step createSession)" in err
    assert "emu-token-" not in err


def test_cleanup_variant_warns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With the documented cleanup goto the run succeeds, and stderr says which step failed."""

    def edit(data: dict[str, Any]) -> None:
        break_job(data)
        add_cleanup(data)

    code, out, err = run_cli(capsys, str(variant(tmp_path, edit)), "--emulator")
    assert code == 0
    assert set(json.loads(out)) == {"sessionId"}
    assert err == (
        "warning: step 'runJobInSession' failed (status 400); its goto:closeSession action "
        "handled it, so the workflow went on\n"
    )


def test_credentials_from_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --emulator, accessToken and serviceCrn come from the environment (never printed)."""
    monkeypatch.setenv("QRUNTIME_ACCESS_TOKEN", "env-token-123456789")
    monkeypatch.setenv("QISKIT_IBM_INSTANCE", CRN)
    code, out, err = run_cli(
        capsys,
        "--dry-run",
        "--server-url",
        "http://127.0.0.1:9/api",
        "--input",
        "backend=ibm_fez",
        "--input",
        "mode=dedicated",
        "--input",
        "programId=estimator",
        "--input",
        'params:={"pubs": []}',
    )
    assert (code, err) == (0, "")
    plan = json.loads(out)
    assert plan[0]["url"] == "http://127.0.0.1:9/api/v1/sessions"
    assert plan[0]["headers"]["Service-CRN"] == CRN
    assert plan[0]["headers"]["IBM-API-Version"] == DEFAULT_API_VERSION
    assert plan[0]["headers"]["Authorization"] == "Bearer ***"
    assert plan[1]["body"]["params"] == {"pubs": []}
    assert "env-token-123456789" not in out


def test_missing_inputs_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """Without credentials or --emulator, the seed's required inputs are missing: exit 2."""
    code, out, err = run_cli(capsys)
    assert (code, out) == (2, "")
    assert err.startswith("error: inputs of workflow 'session-run-and-close' rejected: $: missing")


def test_invalid_document_lists_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An invalid document: one stderr line per problem, exit 2."""
    path = tmp_path / "bad.yaml"
    path.write_text(
        "arazzo: 1.0.1\ninfo: {title: t}\nsourceDescriptions: []\n"
        "workflows: [{workflowId: w, steps: [{stepId: s}]}]\n"
    )
    code, _, err = run_cli(capsys, str(path))
    assert code == 2
    lines = err.splitlines()
    assert lines[0] == f"error: {path}: info.version: is required"
    assert len(lines) == 3


def test_unknown_workflow_id(capsys: pytest.CaptureFixture[str]) -> None:
    """--workflow-id naming no workflow is a usage error."""
    code, _, err = run_cli(capsys, "--workflow-id", "nope", "--emulator")
    assert code == 2
    assert "no workflow 'nope'" in err


def test_parse_inputs(tmp_path: Path) -> None:
    """--input forms: k=v (text), k:=<json>, k=@file.json; = inside values is kept."""
    file = tmp_path / "p.json"
    file.write_text('{"pubs": [1]}')
    assert parse_inputs(["a=x=y", "n:=5", 'o:={"k": null}', f"p=@{file}", "e="]) == {
        "a": "x=y",
        "n": 5,
        "o": {"k": None},
        "p": {"pubs": [1]},
        "e": "",
    }


@pytest.mark.parametrize("item", ["novalue", "=x", "n:=nope", "p=@/nonexistent/file.json"])
def test_parse_inputs_errors(item: str) -> None:
    """Malformed --input values are usage errors."""
    with pytest.raises(errors.InvalidInputError):
        parse_inputs([item])


def test_connection_refused_names_the_attempts(capsys: pytest.CaptureFixture[str]) -> None:
    """A refused connection ends as one error line naming the request (host) and the attempts."""
    import socket

    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, out, err = run_cli(
        capsys,
        "--server-url", f"http://127.0.0.1:{port}/api",
        "--input", "accessToken=not-a-real-token",
        "--input", f"serviceCrn={CRN}",
        "--input", "backend=ibm_fez",
        "--input", f"apiVersion={DEFAULT_API_VERSION}",
        "--input", "mode=batch",
        "--input", "programId=sampler",
        "--input", "params:={}",
    )  # fmt: skip
    assert (code, out) == (1, "")
    assert err.count("\n") == 1
    assert err.startswith("error: step 'createSession' failed: ConnectError")
    assert err.rstrip().endswith(f"(POST http://127.0.0.1:{port}/api/v1/sessions, 1 attempt)")
    assert "not-a-real-token" not in err
