"""The bundled seed against the emulator: success, the "no finally" gap, the cleanup pattern."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from qruntime_session._config import DEFAULT_API_VERSION
from qruntime_session.emulator import Emulator, run_emulator
from qruntime_session.workflows import WorkflowExecutor, load_document, seed_path


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    """A running emulator (jobs complete as soon as they are observed)."""
    async with run_emulator() as emulator:
        yield emulator


def seed_inputs(emu: Emulator) -> dict[str, Any]:
    return {
        "accessToken": emu.token,
        "serviceCrn": emu.service_crn,
        "apiVersion": DEFAULT_API_VERSION,
        "backend": "ibm_fez",
        "mode": "batch",
        "programId": "sampler",
        "params": {"pubs": [["OPENQASM 3.0;", None, 16]], "version": 2},
    }


def variant(tmp_path: Path, edit: Any) -> Path:
    """A copy of the seed (with its OpenAPI files at the same relative place), edited."""
    specs = seed_path().parent.parent
    shutil.copytree(specs / "openapi", tmp_path / "openapi")
    (tmp_path / "arazzo").mkdir()
    data = yaml.safe_load(seed_path().read_text())
    edit(data)
    target = tmp_path / "arazzo" / "variant.arazzo.yaml"
    target.write_text(yaml.safe_dump(data, sort_keys=False))
    return target


async def test_seed_runs(emu: Emulator) -> None:
    """The seed opens a session, submits a job in it, closes it; outputs are the two ids."""
    executor = WorkflowExecutor(document=load_document(seed_path()), server_url=emu.base_url)
    result = await executor.run(seed_inputs(emu))
    assert result.ok, result.error
    session_id, job_id = result.outputs["sessionId"], result.outputs["jobId"]
    assert [r.operation for r in emu.requests] == [
        "create_session",
        "create_job",
        "delete_session_close",
    ]
    assert emu.requests[1].body["session_id"] == session_id
    assert emu.requests[2].path == f"/api/v1/sessions/{session_id}/close"
    assert emu.job(job_id)["session_id"] == session_id
    assert emu.session(session_id)["state"] == "closed"
    assert result.left_open == ()


async def test_seed_failure_leaves_session_open(emu: Emulator) -> None:
    """No finally in Arazzo: when the job POST fails the run stops and names the open session."""
    emu.faults.add("create_job", status=400)
    executor = WorkflowExecutor(document=load_document(seed_path()), server_url=emu.base_url)
    result = await executor.run(seed_inputs(emu))
    assert result.status == "failed"
    assert (result.failed_step, result.status_code) == ("runJobInSession", 400)
    session_id = result.outputs["sessionId"]
    assert [r.operation for r in emu.requests] == ["create_session", "create_job"]
    assert emu.session(session_id)["state"] != "closed"
    assert [(r.step_id, r.output, r.value) for r in result.left_open] == [
        ("createSession", "sessionId", session_id)
    ]
    assert result.error is not None
    assert result.error.session_id == session_id
    assert f"sessionId={session_id}" in str(result.error)


def add_cleanup(data: dict[str, Any]) -> None:
    steps = data["workflows"][0]["steps"]
    steps[1]["onFailure"] = [
        {"name": "closeSessionAfterFailure", "type": "goto", "stepId": "closeSession"}
    ]


async def test_documented_cleanup_pattern(tmp_path: Path, emu: Emulator) -> None:
    """The opt-in cleanup (docs/workflows.md): onFailure goto closeSession closes the session."""
    emu.faults.add("create_job", status=400)
    document = load_document(variant(tmp_path, add_cleanup))
    result = await WorkflowExecutor(document=document, server_url=emu.base_url).run(
        seed_inputs(emu)
    )
    assert [r.operation for r in emu.requests] == [
        "create_session",
        "create_job",
        "delete_session_close",
    ]
    assert result.ok  # Arazzo's rule: the action handled the failure
    assert result.left_open == ()
    assert [(s.step_id, s.status_code, s.action) for s in result.handled_failures] == [
        ("runJobInSession", 400, "goto:closeSession")
    ]
    assert "jobId" not in result.outputs
    assert emu.session(result.outputs["sessionId"])["state"] == "closed"
