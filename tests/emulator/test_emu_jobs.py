"""Jobs: creation and validation, progress over time, outcomes, results, cancel, logs, metrics."""

from __future__ import annotations

import re
from typing import Any

import pytest

from qruntime_session.emulator import (
    Emulator,
    EmulatorConfig,
    JobOutcome,
    ManualClock,
    run_emulator,
)
from qruntime_session.emulator._clock import isoformat

from .emu_support import Client, assert_ibm_error

BELL = (
    'OPENQASM 3.0; include "stdgates.inc"; bit[2] c; qubit[2] q; '
    # A Bell pair in ibm_fez's basis (cz id rz sx x): h = rz(pi/2) sx rz(pi/2), cx = h cz h.
    "rz(pi/2) q[0]; sx q[0]; rz(pi/2) q[0]; rz(pi/2) q[1]; sx q[1]; rz(pi/2) q[1]; "
    "cz q[0], q[1]; rz(pi/2) q[1]; sx q[1]; rz(pi/2) q[1]; c = measure q;"
)


async def test_create_job_answers_id_backend_and_session(api: Client) -> None:
    """POST /v1/jobs answers 200 {id, backend, session_id}; the id is xid-shaped."""
    session = await api.create_session()
    created = await api.create_job(session_id=session["id"])
    assert set(created) == {"id", "backend", "session_id"}
    assert re.fullmatch(r"[0-9a-v]{20}", created["id"])
    assert created["backend"] == "ibm_fez"
    assert created["session_id"] == session["id"]
    alone = await api.create_job()
    assert set(alone) == {"id", "backend"}


async def test_job_completes_when_first_observed(api: Client, clock: ManualClock) -> None:
    """With zero durations a job is Completed on the first GET, with complete usage."""
    created = await api.create_job(tags=["a", "b"], cost=60)
    job = await api.job(created["id"])
    assert job["status"] == "Completed"
    assert job["state"] == {"status": "Completed"}
    assert job["program"] == {"id": "sampler"}
    assert job["backend"] == "ibm_fez"
    assert job["created"] == isoformat(clock.now())
    assert job["cost"] == 60
    assert job["tags"] == ["a", "b"]
    assert job["usage"] == {"qpu_charge_time_seconds": 0.0, "status": "complete"}
    assert job["params"]["version"] == 2


async def test_cost_is_capped_and_defaults_to_the_maximum(api: Client) -> None:
    """A cost above the system maximum is capped; no cost means the maximum."""
    high = await api.job((await api.create_job(cost=99999))["id"])
    default = await api.job((await api.create_job())["id"])
    assert high["cost"] == default["cost"] == 10800


@pytest.mark.parametrize(
    "change",
    [
        {"program_id": None},
        {"program_id": ""},
        {"backend": None},
        {"backend": 3},
        {"session_id": "x" * 37},
        {"session_id": ""},
        {"tags": ["t"] * 9},
        {"tags": ["x" * 87]},
        {"tags": "a"},
        {"params": []},
        {"params": "pubs"},
        {"log_level": "loud"},
        {"cost": -1},
        {"private": "yes"},
        {"calibration_id": "c" * 101},
    ],
)
async def test_create_job_validates_body(
    api: Client, emu: Emulator, change: dict[str, Any]
) -> None:
    """Invalid job bodies answer 400 with an IBM error body and create nothing."""
    body: dict[str, Any] = {"program_id": "sampler", "backend": "ibm_fez"}
    body.update(change)
    body = {key: value for key, value in body.items() if value is not None}
    reply = await api.call("POST", "/v1/jobs", json_body=body)
    assert_ibm_error(reply, 400, "bad_request")
    assert emu.job_ids == []


async def test_create_job_accepts_limits_and_unknown_fields(api: Client, emu: Emulator) -> None:
    """8 tags of 86 characters and unknown fields are accepted; a 36-char session id passes
    validation (it is then looked up: 404, not 400).
    """
    reply = await api.call(
        "POST",
        "/v1/jobs",
        json_body={
            "program_id": "sampler",
            "backend": "ibm_fez",
            "tags": ["x" * 86] * 8,
            "start_session": False,
            "hgp": "ignored",
        },
    )
    assert reply.status == 200
    assert (await api.job(reply.body["id"]))["tags"] == ["x" * 86] * 8
    long_id = await api.call(
        "POST",
        "/v1/jobs",
        json_body={"program_id": "sampler", "backend": "ibm_fez", "session_id": "s" * 36},
    )
    assert_ibm_error(long_id, 404, "not_found")
    assert len(emu.job_ids) == 1


async def test_unknown_backend_is_404_when_backends_configured(
    http_client_emulator: tuple[Client, Emulator],
) -> None:
    """With config.backends set, other backends answer 404 code 1007."""
    client, _ = http_client_emulator
    reply = await client.call(
        "POST", "/v1/jobs", json_body={"program_id": "sampler", "backend": "ibm_other"}
    )
    assert_ibm_error(reply, 404, "1007")
    assert (await client.create_job(backend="ibm_fez"))["backend"] == "ibm_fez"


@pytest.fixture
async def http_client_emulator(api: Client, clock: ManualClock) -> Any:
    """A second emulator that knows only the backend ibm_fez."""
    async with run_emulator(EmulatorConfig(clock=clock, backends=("ibm_fez",))) as other:
        yield Client(api.http, other), other


async def test_timed_queue_and_run(api: Client, clock: ManualClock) -> None:
    """queue_seconds/run_seconds drive Queued -> Running -> Completed on the clock."""
    async with run_emulator(EmulatorConfig(clock=clock, queue_seconds=10, run_seconds=5)) as emu:
        client = Client(api.http, emu)
        created = await client.create_job()
        start = clock.now()
        clock.advance(9.9)
        assert (await client.job(created["id"]))["status"] == "Queued"
        clock.advance(0.1)
        running = await client.job(created["id"])
        assert running["status"] == "Running"
        assert running["usage"]["status"] == "pending"
        clock.advance(5)
        done = await client.job(created["id"])
        assert done["status"] == "Completed"
        assert done["usage"] == {"qpu_charge_time_seconds": 5.0, "status": "complete"}
        metrics = (await client.call("GET", f"/v1/jobs/{created['id']}/metrics")).body
    assert metrics["timestamps"] == {
        "created": isoformat(start),
        "running": isoformat(start + 10),
        "finished": isoformat(start + 15),
    }
    assert metrics["circuits_execution_time_ns"] == 4_000_000_000


async def test_held_jobs_wait_for_start_and_finish(api: Client, clock: ManualClock) -> None:
    """queue_seconds=None / run_seconds=None hold a job until start_job / finish_job."""
    config = EmulatorConfig(clock=clock, queue_seconds=None, run_seconds=None)
    async with run_emulator(config) as emu:
        client = Client(api.http, emu)
        created = await client.create_job()
        clock.advance(3600)
        assert (await client.job(created["id"]))["status"] == "Queued"
        emu.start_job(created["id"])
        clock.advance(3600)
        assert (await client.job(created["id"]))["status"] == "Running"
        emu.finish_job(created["id"])
        assert (await client.job(created["id"]))["status"] == "Completed"
        with pytest.raises(ValueError, match="already ended"):
            emu.finish_job(created["id"])
        with pytest.raises(KeyError):
            emu.start_job("unknown")


async def test_finish_job_failed_with_reason(api: Client, clock: ManualClock) -> None:
    """finish_job(JobOutcome.failed(...)) ends the job Failed with reason fields; no result."""
    async with run_emulator(EmulatorConfig(clock=clock, queue_seconds=None)) as emu:
        client = Client(api.http, emu)
        created = await client.create_job()
        emu.finish_job(
            created["id"],
            JobOutcome.failed("Bad circuit", reason_code=1517, reason_solution="Fix it"),
        )
        job = await client.job(created["id"])
        results = await client.call("GET", f"/v1/jobs/{created['id']}/results")
        logs = await client.call("GET", f"/v1/jobs/{created['id']}/logs")
    assert job["status"] == "Failed"
    assert job["state"] == {
        "status": "Failed",
        "reason": "Bad circuit",
        "reason_code": 1517,
        "reason_solution": "Fix it",
    }
    assert results.status == 204
    assert results.text == ""
    assert "ERROR" in logs.text
    assert "Bad circuit" in logs.text


async def test_planned_outcome_applies_to_next_matching_job(api: Client, emu: Emulator) -> None:
    """plan_outcome makes the next job of that program end with the outcome, once."""
    emu.plan_outcome(JobOutcome.failed(), program_id="estimator")
    sampler = await api.create_job()
    estimator = await api.create_job(program_id="estimator", params={"pubs": []})
    later = await api.create_job(program_id="estimator", params={"pubs": []})
    assert (await api.job(sampler["id"]))["status"] == "Completed"
    failed = await api.job(estimator["id"])
    assert failed["status"] == "Failed"
    assert failed["state"]["reason_code"] == 1517
    assert (await api.job(later["id"]))["status"] == "Completed"


async def test_job_running_past_its_cost_is_cancelled_ran_too_long(
    api: Client, clock: ManualClock
) -> None:
    """A run longer than the job's cost ends 'Cancelled - Ran too long', code 1305."""
    async with run_emulator(EmulatorConfig(clock=clock, run_seconds=100)) as emu:
        client = Client(api.http, emu)
        created = await client.create_job(cost=30)
        await client.job(created["id"])
        clock.advance(30)
        job = await client.job(created["id"])
        results = await client.call("GET", f"/v1/jobs/{created['id']}/results")
    assert job["status"] == "Cancelled - Ran too long"
    assert job["state"]["status"] == "Cancelled"
    assert job["state"]["reason_code"] == 1305
    assert job["usage"]["qpu_charge_time_seconds"] == 30.0
    assert results.status == 204


async def test_ran_too_long_outcome_by_hand(api: Client, emu: Emulator) -> None:
    """JobOutcome.ran_too_long() gives the same two-level status."""
    emu.plan_outcome(JobOutcome.ran_too_long())
    job = await api.job((await api.create_job())["id"])
    assert (job["status"], job["state"]["status"], job["state"]["reason_code"]) == (
        "Cancelled - Ran too long",
        "Cancelled",
        1305,
    )


async def test_results_of_completed_sampler_job(api: Client) -> None:
    """Plain JSON (no support_qiskit): per pub, per register, hex samples and num_bits."""
    created = await api.create_job(
        params={
            "pubs": [
                [BELL, None, 500],
                [BELL],
                ["OPENQASM 2.0; qreg q[4]; creg a[3]; creg b[1]; measure q[0] -> b[0];"],
            ],
            "shots": 64,
            "version": 2,
        }
    )
    reply = await api.call("GET", f"/v1/jobs/{created['id']}/results")
    assert reply.status == 200
    body = reply.body
    results = body["results"]
    assert len(results) == 3
    assert results[0]["metadata"] == {"circuit_metadata": {}}
    register = results[0]["data"]["c"]
    assert set(register) == {"samples", "num_bits"}
    assert register["num_bits"] == 2
    assert len(register["samples"]) == 500
    assert all(re.fullmatch(r"0x[0-9a-f]+", sample) for sample in register["samples"])
    assert len(results[1]["data"]["c"]["samples"]) == 64
    assert list(results[2]["data"]) == ["a", "b"]
    assert results[2]["data"]["a"]["num_bits"] == 3
    assert results[2]["data"]["b"]["num_bits"] == 1
    assert body["metadata"]["version"] == 2
    [span] = body["metadata"]["execution"]["execution_spans"]
    assert span["data_slices"]["0"] == [[500], 0, 1, 0, 500]
    again = await api.call("GET", f"/v1/jobs/{created['id']}/results")
    assert again.body == reply.body


async def test_sampler_default_shots(api: Client) -> None:
    """Without shots the default 4096 applies (a circuit it cannot read gets a 2-bit meas)."""
    created = await api.create_job(params={"pubs": [[BELL], [BELL, None, 20000]], "version": 2})
    results = (await api.call("GET", f"/v1/jobs/{created['id']}/results")).body["results"]
    assert len(results[0]["data"]["c"]["samples"]) == 4096
    assert len(results[1]["data"]["c"]["samples"]) == 20000


async def test_results_of_estimator_job(api: Client) -> None:
    """Estimator results give evs/stds shaped like each pub's observables."""
    circuit = (
        'OPENQASM 3.0; include "stdgates.inc"; qubit[2] q; rz(pi/2) q[0]; sx q[0]; '
        "rz(pi/2) q[0]; rz(pi/2) q[1]; sx q[1]; rz(pi/2) q[1]; cz q[0], q[1]; "
        "rz(pi/2) q[1]; sx q[1]; rz(pi/2) q[1];"
    )
    created = await api.create_job(
        program_id="estimator",
        params={
            "pubs": [[circuit, ["ZZ", "XX", {"ZI": 0.5, "IZ": 0.5}]], [circuit, "ZZ", None, 0.1]],
            "version": 2,
        },
    )
    body = (await api.call("GET", f"/v1/jobs/{created['id']}/results")).body
    first, second = body["results"]
    assert len(first["data"]["evs"]) == 3
    assert len(first["data"]["stds"]) == 3
    assert len(first["data"]["ensemble_standard_error"]) == 3
    assert all(-1.0 <= value <= 1.0 for value in first["data"]["evs"])
    assert isinstance(second["data"]["evs"], float)
    assert second["metadata"]["target_precision"] == 0.1
    assert second["metadata"]["shots"] == 100


async def test_results_differ_between_jobs(api: Client) -> None:
    """Two jobs with the same input get different (job-seeded) samples."""
    params = {"pubs": [[BELL, None, 1000]], "version": 2}
    one = await api.create_job(params=params)
    two = await api.create_job(params=params)
    counts_one = (await api.call("GET", f"/v1/jobs/{one['id']}/results")).body
    counts_two = (await api.call("GET", f"/v1/jobs/{two['id']}/results")).body
    assert counts_one["results"][0]["data"] != counts_two["results"][0]["data"]


async def test_generic_program_result(api: Client) -> None:
    """Programs without a model here answer a small generic result naming the job and program
    (the executor and noise-learner have their own: test_emu_programs.py)."""
    created = await api.create_job(program_id="calibrate", params={"circuits": []})
    body = (await api.call("GET", f"/v1/jobs/{created['id']}/results")).body
    assert body["program_id"] == "calibrate"
    assert body["job_id"] == created["id"]
    assert len(body["params_sha256"]) == 64


async def test_cancel_queued_job_then_conflict(api: Client, clock: ManualClock) -> None:
    """Cancelling a Queued job answers 204 (Cancelled, results 204); again answers 409."""
    async with run_emulator(EmulatorConfig(clock=clock, queue_seconds=None)) as emu:
        client = Client(api.http, emu)
        created = await client.create_job()
        first = await client.call("POST", f"/v1/jobs/{created['id']}/cancel")
        job = await client.job(created["id"])
        results = await client.call("GET", f"/v1/jobs/{created['id']}/results")
        second = await client.call("POST", f"/v1/jobs/{created['id']}/cancel")
    assert first.status == 204
    assert job["status"] == "Cancelled"
    assert job["state"]["status"] == "Cancelled"
    assert results.status == 204
    assert_ibm_error(second, 409, "job_not_cancellable")


async def test_cancel_completed_or_unknown_job(api: Client) -> None:
    """Cancelling a Completed job answers 409; an unknown job 404."""
    created = await api.create_job()
    await api.job(created["id"])
    assert_ibm_error(await api.call("POST", f"/v1/jobs/{created['id']}/cancel"), 409)
    assert_ibm_error(await api.call("POST", "/v1/jobs/nope/cancel"), 404, "not_found")


async def test_unknown_job_is_404_everywhere(api: Client) -> None:
    """Every job sub-resource of an unknown id answers 404 with an IBM body."""
    for suffix in ("", "/results", "/logs", "/metrics"):
        reply = await api.call("GET", f"/v1/jobs/c5dge2d3rn7breq27i9g{suffix}")
        assert_ibm_error(reply, 404, "not_found")
        assert "c5dge2d3rn7breq27i9g" in reply.body["errors"][0]["message"]


async def test_exclude_params_and_private_jobs(api: Client) -> None:
    """exclude_params drops params; a private job never shows them and reads its result once."""
    created = await api.create_job()
    assert "params" in await api.job(created["id"])
    assert "params" not in await api.job(created["id"], exclude_params="true")
    assert "params" in await api.job(created["id"], exclude_params="false")
    bad = await api.call("GET", f"/v1/jobs/{created['id']}", params={"exclude_params": "maybe"})
    assert_ibm_error(bad, 400)
    private = await api.call(
        "POST",
        "/v1/jobs",
        json_body={
            "program_id": "sampler",
            "backend": "ibm_fez",
            "private": True,
            "params": {"pubs": [[BELL]]},
        },
    )
    assert private.body["private"] is True
    job = await api.job(private.body["id"])
    assert job["private"] is True
    assert "params" not in job
    first = await api.call("GET", f"/v1/jobs/{private.body['id']}/results")
    second = await api.call("GET", f"/v1/jobs/{private.body['id']}/results")
    assert (first.status, second.status) == (200, 204)


async def test_logs_are_plain_text_per_stage(api: Client, clock: ManualClock) -> None:
    """Logs are text/plain lines for the stages the job reached."""
    async with run_emulator(EmulatorConfig(clock=clock, queue_seconds=None)) as emu:
        client = Client(api.http, emu)
        created = await client.create_job()
        queued = await client.call("GET", f"/v1/jobs/{created['id']}/logs")
        emu.finish_job(created["id"])
        done = await client.call("GET", f"/v1/jobs/{created['id']}/logs")
    assert queued.status == 200
    assert queued.content_type == "text/plain"
    assert len(queued.text.splitlines()) == 1
    assert created["id"] in queued.text
    assert len(done.text.splitlines()) == 4
    assert "Completed" in done.text


async def test_metrics_shape_and_caller(api: Client) -> None:
    """Metrics follow the 2026-04-15 shape; caller echoes X-Qx-Client-Application."""
    reply = await api.call(
        "POST",
        "/v1/jobs",
        json_body={
            "program_id": "sampler",
            "backend": "ibm_fez",
            "params": {"pubs": [[BELL, {}, 10]]},
        },
        headers={"X-Qx-Client-Application": "qiskit/2.2.1/demo"},
    )
    metrics = (await api.call("GET", f"/v1/jobs/{reply.body['id']}/metrics")).body
    assert set(metrics) == {
        "timestamps",
        "usage",
        "circuits_execution_time_ns",
        "qiskit_version",
        "caller",
    }
    assert metrics["caller"] == "qiskit/2.2.1/demo"
    assert metrics["usage"]["status"] == "complete"
    assert metrics["circuits_execution_time_ns"] == 10 * 250_000
    assert "bss" not in metrics


async def test_rate_limit_answers_429_with_1202(api: Client, clock: ManualClock) -> None:
    """With job_rate_limit=2 the third job in a minute answers 429 (1202, Retry-After)."""
    async with run_emulator(EmulatorConfig(clock=clock, job_rate_limit=2)) as emu:
        client = Client(api.http, emu)
        await client.create_job()
        clock.advance(20)
        await client.create_job()
        refused = await client.call(
            "POST", "/v1/jobs", json_body={"program_id": "sampler", "backend": "ibm_fez"}
        )
        assert_ibm_error(refused, 429, "1202")
        assert refused.headers["Retry-After"] == "40"
        assert len(emu.job_ids) == 2
        clock.advance(40)
        await client.create_job()
        assert len(emu.job_ids) == 3


async def test_no_rate_limit_by_default(api: Client, emu: Emulator) -> None:
    """By default any number of jobs per minute is accepted."""
    for _ in range(8):
        await api.create_job()
    assert len(emu.job_ids) == 8
