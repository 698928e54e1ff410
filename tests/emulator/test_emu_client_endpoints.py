"""Endpoints and details the official client uses: job deletion and tags, mock backends,
physical_qubits, calibration ids, usage limits, twirling shots, and the IBM Cloud account
services' local stand-ins (Global Search, Global Catalog, Resource Controller, IAM by host).
"""

from __future__ import annotations

import math
from urllib.parse import quote

import aiohttp
import pytest

from qruntime_session.emulator import EmulatorConfig, JobOutcome, ManualClock, run_emulator
from qruntime_session.emulator._account import INSTANCE_NAME, PLAN_ID
from qruntime_session.emulator._backends import calibration_id
from qruntime_session.emulator._pubs import read_pubs, twirled_shots

from .emu_support import Client, assert_ibm_error


async def test_delete_job(api: Client) -> None:
    """DELETE /v1/jobs/{id} on a finished job: 204, then the job is gone."""
    job_id = (await api.create_job())["id"]
    if api.emu.job(job_id)["status"] in ("Queued", "Running"):
        api.emu.finish_job(job_id, JobOutcome.failed("boom"))
    assert (await api.call("DELETE", f"/v1/jobs/{job_id}")).status == 204
    assert_ibm_error(await api.call("GET", f"/v1/jobs/{job_id}"), 404)
    assert_ibm_error(await api.call("DELETE", f"/v1/jobs/{job_id}"), 404)
    listed = (await api.call("GET", "/v1/jobs")).body["jobs"]
    assert job_id not in [job["id"] for job in listed]


async def test_delete_queued_job_withdraws_it(clock: ManualClock) -> None:
    """A Queued job (behind a Running one on its device) is withdrawn and deleted: 204, then
    404, and it never runs; a Running job is refused (400) and stays."""
    config = EmulatorConfig(clock=clock, queue_seconds=0, run_seconds=10, noise=False)
    async with run_emulator(config) as emu, aiohttp.ClientSession() as http:
        api = Client(http, emu)
        running = (await api.create_job())["id"]
        queued = (await api.create_job())["id"]
        assert [(await api.job(i))["status"] for i in (running, queued)] == ["Running", "Queued"]
        reply = await api.call("DELETE", f"/v1/jobs/{running}")
        assert_ibm_error(reply, 400)
        assert "Running" in reply.body["errors"][0]["message"]
        assert (await api.job(running))["status"] == "Running"
        assert (await api.call("DELETE", f"/v1/jobs/{queued}")).status == 204
        assert_ibm_error(await api.call("GET", f"/v1/jobs/{queued}"), 404)
        assert_ibm_error(await api.call("DELETE", f"/v1/jobs/{queued}"), 404)
        assert emu.job_ids == [running]
        clock.advance(10)  # the running job ends; the device starts nothing after it
        assert (await api.job(running))["status"] == "Completed"
        clock.advance(100)
        assert emu.job_ids == [running]
        with pytest.raises(KeyError):
            emu.start_job(queued)
        assert (await api.call("DELETE", f"/v1/jobs/{running}")).status == 204
        assert emu.job_ids == []


async def test_delete_queued_job_drains_its_session(clock: ManualClock) -> None:
    """Deleting a draining session's only Queued job closes the session (nothing pending)."""
    config = EmulatorConfig(clock=clock, queue_seconds=None, noise=False)
    async with run_emulator(config) as emu, aiohttp.ClientSession() as http:
        api = Client(http, emu)
        session_id = (await api.create_session())["id"]
        job_id = (await api.create_job(session_id=session_id))["id"]
        patch = {"accepting_jobs": False}
        reply = await api.call("PATCH", f"/v1/sessions/{session_id}", json_body=patch)
        assert reply.status == 204
        assert (await api.session(session_id))["state"] == "open"  # a job still queued
        assert (await api.call("DELETE", f"/v1/jobs/{job_id}")).status == 204
        assert (await api.session(session_id))["state"] == "closed"
        assert emu.job_ids == []


async def test_replace_tags(api: Client) -> None:
    """PUT /v1/jobs/{id}/tags replaces the whole list; the list filter sees the new tags."""
    job_id = (await api.create_job(tags=["old"]))["id"]
    path = f"/v1/jobs/{job_id}/tags"
    assert (await api.call("PUT", path, json_body={"tags": ["new", "two"]})).status == 204
    assert (await api.call("GET", f"/v1/jobs/{job_id}")).body["tags"] == ["new", "two"]
    found = (await api.call("GET", "/v1/jobs", params={"tags": "new"})).body["jobs"]
    assert [job["id"] for job in found] == [job_id]
    assert (await api.call("PUT", path, json_body={"tags": []})).status == 204
    assert (await api.call("GET", f"/v1/jobs/{job_id}")).body["tags"] == []
    for bad in ({}, {"tags": "x"}, {"tags": ["x"] * 9}, {"tags": ["y" * 87]}, {"tags": [1]}):
        assert_ibm_error(await api.call("PUT", path, json_body=bad), 400)
    assert_ibm_error(await api.call("PUT", "/v1/jobs/nope/tags", json_body={"tags": []}), 404)


async def test_mock_backends_and_physical_qubits(api: Client) -> None:
    """include_mocks lists mock_<x> twins (class mock); every item has physical_qubits."""
    plain = (await api.call("GET", "/v1/backends")).body["devices"]
    assert not any(device["name"].startswith("mock_") for device in plain)
    assert all(device["physical_qubits"] == device["qubits"] for device in plain)
    both = (await api.call("GET", "/v1/backends", params={"include_mocks": "true"})).body
    mocks = {d["name"]: d for d in both["devices"] if d.get("class") == "mock"}
    assert {"mock_fez", "mock_torino"} <= set(mocks)
    assert mocks["mock_torino"]["physical_qubits"] == 133
    reply = await api.call("GET", "/v1/backends/mock_fez/configuration")
    assert reply.status == 200
    assert reply.body["n_qubits"] == 156


def test_no_mocks_when_disabled(clock: ManualClock) -> None:
    """mock_devices=False: no twins, listed or looked up."""
    config = EmulatorConfig(clock=clock, mock_devices=False)
    names = [spec.name for spec in config.device_list(include_mocks=True)]
    assert not any(name.startswith("mock_") for name in names)
    assert config.device("mock_fez") is None


async def test_calibration_id(api: Client, clock: ManualClock) -> None:
    """Today's calibration id is served; any other is a 404."""
    spec = api.emu.config.device("ibm_fez")
    assert spec is not None
    current = calibration_id(spec, clock.now())
    path = "/v1/backends/ibm_fez/configuration"
    assert (await api.call("GET", path, params={"calibration_id": current})).status == 200
    assert_ibm_error(await api.call("GET", path, params={"calibration_id": "invalid_id"}), 404)
    assert calibration_id(spec, clock.now() + 86400) != current


async def test_usage_limit(api: Client) -> None:
    """Whole seconds and a limit, so that the official client can compute what remains."""
    body = (await api.call("GET", "/v1/instances/usage")).body
    assert isinstance(body["usage_consumed_seconds"], int)
    assert body["usage_limit_seconds"] == api.emu.config.usage_limit_seconds
    assert body["usage_limit_reached"] is False


@pytest.mark.parametrize(
    ("program_id", "shots", "twirling", "expected"),
    [
        ("estimator", 400, {"num_randomizations": 16, "shots_per_randomization": 100}, 1600),
        ("estimator", 400, {}, 448),  # both automatic: 7 x max(64, ceil(400 / 32))
        ("estimator", 400, {"enable_measure": False}, 400),
        ("sampler", 400, {"num_randomizations": 16, "shots_per_randomization": 100}, 400),
        ("sampler", 400, {"enable_gates": True, "num_randomizations": 3}, 402),
        ("sampler", 400, {"enable_gates": True, "shots_per_randomization": 64}, 448),
    ],
)
def test_twirled_shots(
    program_id: str, shots: int, twirling: dict[str, object], expected: int
) -> None:
    params = {"options": {"twirling": twirling}}
    assert twirled_shots(program_id, shots, params) == expected
    assert twirled_shots(program_id, shots, {}) == shots


def test_twirled_estimator_pub_shots() -> None:
    circuit = 'OPENQASM 3.0; include "stdgates.inc"; qubit[1] q; h q[0];'
    params = {
        "pubs": [[circuit, "Z"]],
        "options": {
            "default_precision": 0.05,
            "twirling": {"num_randomizations": 16, "shots_per_randomization": 100},
        },
    }
    assert [pub.shots for pub in read_pubs("estimator", params)] == [1600]
    params["options"] = {"default_precision": 0.05}
    assert [pub.shots for pub in read_pubs("estimator", params)] == [math.ceil(1 / 0.05**2)]


# ------------------------------------------------------------ account services


async def _cloud(
    api: Client, method: str, host: str, path: str, **kwargs: object
) -> tuple[int, object]:
    token = api.emu.issue_token()
    headers = {"Host": host, "Authorization": f"Bearer {token}"}
    async with api.http.request(
        method, f"{api.emu.origin}{path}", headers=headers, **kwargs
    ) as response:
        body = await response.json(content_type=None)
        return response.status, body


async def test_global_search_and_catalog(api: Client) -> None:
    """Global Search lists the emulator's instance; Global Catalog names its plan."""
    status, body = await _cloud(
        api,
        "POST",
        "api.global-search-tagging.127.0.0.1",
        "/v3/resources/search",
        json={"query": "service_name:quantum-computing", "fields": ["crn"]},
    )
    assert status == 200
    assert isinstance(body, dict)
    [item] = body["items"]
    assert item["crn"] == api.emu.service_crn
    assert item["name"] == INSTANCE_NAME
    assert item["doc"]["extensions"]
    assert "search_cursor" not in body
    status, body = await _cloud(
        api,
        "POST",
        "api.global-search-tagging.127.0.0.1",
        "/v3/resources/search",
        json={"query": "service_name:cloud-object-storage"},
    )
    assert (status, body) == (200, {"items": [], "limit": 0})
    status, body = await _cloud(api, "GET", "globalcatalog.example", f"/api/v1/{PLAN_ID}")
    assert status == 200
    assert isinstance(body, dict)
    assert body["overview_ui"]["en"]["display_name"]
    assert body["metadata"]["pricing"]["type"]
    status, _ = await _cloud(api, "GET", "globalcatalog.example", "/api/v1/other-plan")
    assert status == 404


async def test_resource_controller(api: Client) -> None:
    """An instance name resolves to the CRN; the CRN reads back the name; others are empty."""
    host = "resource-controller.127.0.0.1"
    status, body = await _cloud(
        api, "GET", host, "/v2/resource_instances", params={"name": INSTANCE_NAME}
    )
    assert status == 200
    assert isinstance(body, dict)
    assert body["rows_count"] == 1
    assert body["resources"][0]["crn"] == api.emu.service_crn
    status, body = await _cloud(
        api, "GET", host, "/v2/resource_instances", params={"name": "someone-else"}
    )
    assert isinstance(body, dict)
    assert body["rows_count"] == 0
    status, body = await _cloud(
        api, "GET", host, f"/v2/resource_instances/{quote(api.emu.service_crn, safe='')}"
    )
    assert status == 200
    assert isinstance(body, dict)
    assert body["name"] == INSTANCE_NAME
    status, _ = await _cloud(api, "GET", host, "/v2/resource_instances/crn:v1:other")
    assert status == 404


async def test_account_services_need_a_token_and_their_host(api: Client) -> None:
    """No bearer token: 401. The API's own host does not answer the account paths."""
    async with api.http.post(
        f"{api.emu.origin}/v3/resources/search",
        headers={"Host": "api.global-search-tagging.127.0.0.1"},
        json={"query": "x"},
    ) as response:
        assert response.status == 401
    reply = await api.call(
        "GET", f"/v2/resource_instances/{quote(api.emu.service_crn, safe='')}", base=api.emu.origin
    )
    assert reply.status == 404


async def test_iam_token_on_the_derived_host(api: Client) -> None:
    """iam.<host>/identity/token is the emulator's own token endpoint."""
    async with api.http.post(
        f"{api.emu.origin}/identity/token",
        headers={"Host": "iam.127.0.0.1"},
        data={"grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": api.emu.api_key},
    ) as response:
        assert response.status == 200
        assert (await response.json())["token_type"] == "Bearer"
