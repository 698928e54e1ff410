"""Fault injection over a real socket: canned statuses, delays, dropped connections."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from qruntime_session.emulator import Emulator, EmulatorConfig, ManualClock, run_emulator

from .emu_support import Client, assert_ibm_error

JOB = {"program_id": "sampler", "backend": "ibm_fez"}


async def test_nth_call_answers_injected_status_and_headers(api: Client, emu: Emulator) -> None:
    """Only the 2nd create_job answers the injected 503 + Retry-After; it creates nothing."""
    fault = emu.faults.add("create_job", nth=2, status=503, headers={"Retry-After": "2"})
    first = await api.call("POST", "/v1/jobs", json_body=JOB)
    second = await api.call("POST", "/v1/jobs", json_body=JOB)
    third = await api.call("POST", "/v1/jobs", json_body=JOB)
    assert (first.status, second.status, third.status) == (200, 503, 200)
    assert second.headers["Retry-After"] == "2"
    assert_ibm_error(second, 503, "503")
    assert len(emu.job_ids) == 2
    assert fault.hits == 1
    assert fault.exhausted


async def test_fault_counts_from_when_it_is_added(api: Client, emu: Emulator) -> None:
    """nth counts calls made after the fault was added, not since start-up."""
    await api.call("POST", "/v1/jobs", json_body=JOB)
    emu.faults.add("create_job", nth=1, status=500)
    assert (await api.call("POST", "/v1/jobs", json_body=JOB)).status == 500


async def test_custom_bodies_and_repetition(api: Client, emu: Emulator) -> None:
    """A dict body is sent as JSON, a str as text; times= repeats; other operations unaffected."""
    emu.faults.add("get_job", times=2, status=429, body={"errors": [{"code": "1202"}]})
    emu.faults.add("list_jobs", status=502, body="bad gateway")
    created = await api.create_job()
    replies = [await api.call("GET", f"/v1/jobs/{created['id']}") for _ in range(3)]
    assert [reply.status for reply in replies] == [429, 429, 200]
    assert replies[0].body == {"errors": [{"code": "1202"}]}
    gateway = await api.call("GET", "/v1/jobs")
    assert (gateway.status, gateway.text) == (502, "bad gateway")


async def test_times_none_repeats_forever_and_clear(api: Client, emu: Emulator) -> None:
    """times=None hits every later call until faults.clear()."""
    emu.faults.add("list_jobs", times=None, status=500)
    assert [(await api.call("GET", "/v1/jobs")).status for _ in range(4)] == [500] * 4
    emu.faults.clear()
    assert (await api.call("GET", "/v1/jobs")).status == 200


async def test_wildcard_fault_hits_any_operation(api: Client, emu: Emulator) -> None:
    """Operation '*' counts every request."""
    emu.faults.add("*", nth=2, status=418)
    assert (await api.call("GET", "/v1/versions")).status == 200
    assert (await api.call("GET", "/v1/jobs")).status == 418


async def test_delay_uses_the_injected_sleep(api: Client, clock: ManualClock) -> None:
    """delay= awaits config.sleep(delay) and then handles the request normally."""
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    async with run_emulator(EmulatorConfig(clock=clock, sleep=fake_sleep)) as emu:
        client = Client(api.http, emu)
        emu.faults.add("create_job", delay=7.5)
        reply = await client.call("POST", "/v1/jobs", json_body=JOB)
        assert reply.status == 200
        assert slept == [7.5]
        assert len(emu.job_ids) == 1
        assert emu.requests_for("create_job")[0].fault == "delay"


async def test_real_delay_trips_a_client_timeout(api: Client, emu: Emulator) -> None:
    """A real delay longer than the client's timeout surfaces as a client timeout."""
    emu.faults.add("list_jobs", delay=0.5)
    with pytest.raises(asyncio.TimeoutError):
        async with api.http.get(
            f"{emu.base_url}/v1/jobs",
            headers=api.headers(),
            timeout=aiohttp.ClientTimeout(total=0.1),
        ):
            pass


async def test_drop_before_creates_nothing(api: Client, emu: Emulator) -> None:
    """drop='before' breaks the connection without creating the job."""
    emu.faults.add("create_job", drop="before")
    with pytest.raises((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
        await asyncio.wait_for(api.call("POST", "/v1/jobs", json_body=JOB), timeout=5)
    assert emu.job_ids == []
    record = emu.requests_for("create_job")[0]
    assert (record.status, record.fault) == (None, "drop-before")
    assert (await api.call("POST", "/v1/jobs", json_body=JOB)).status == 200


async def test_drop_after_creates_the_job(api: Client, emu: Emulator) -> None:
    """drop='after' handles the request (the job exists) but the client sees a broken connection."""
    emu.faults.add("create_job", drop="after")
    with pytest.raises((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
        await asyncio.wait_for(api.call("POST", "/v1/jobs", json_body=JOB), timeout=5)
    assert len(emu.job_ids) == 1
    assert emu.job(emu.job_ids[0])["program"] == {"id": "sampler"}
    record = emu.requests_for("create_job")[0]
    assert (record.status, record.fault) == (None, "drop-after")


async def test_delay_then_drop(api: Client, clock: ManualClock) -> None:
    """A delay combines with a drop; the record names both.

    aiohttp's ClientSession itself resends an idempotent request (GET) once after a
    disconnect, so a GET only surfaces the error when two calls are dropped.
    """

    async def no_sleep(seconds: float) -> None:
        return None

    async with run_emulator(EmulatorConfig(clock=clock, sleep=no_sleep)) as emu:
        client = Client(api.http, emu)
        emu.faults.add("get_session", delay=1.0, drop="before", times=2)
        with pytest.raises((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
            await asyncio.wait_for(client.call("GET", "/v1/sessions/x"), timeout=5)
        records = emu.requests_for("get_session")
        assert [record.fault for record in records] == ["delay+drop-before"] * 2


async def test_iam_token_faults(api: Client, emu: Emulator) -> None:
    """The IAM endpoint takes faults too; its default body is IAM-shaped."""
    emu.faults.add("iam_token", status=500)
    async with api.http.post(
        f"{emu.iam_url}/identity/token",
        data={"grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": emu.api_key},
    ) as response:
        assert response.status == 500
        assert "errorCode" in await response.json()


async def test_single_dropped_get_is_resent_by_aiohttp(api: Client, emu: Emulator) -> None:
    """One dropped GET is invisible to an aiohttp client: it resends idempotent requests once."""
    emu.faults.add("list_jobs", drop="before")
    reply = await api.call("GET", "/v1/jobs")
    assert reply.status == 200
    assert [record.status for record in emu.requests_for("list_jobs")] == [None, 200]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"operation": "create_jobs", "status": 500},
        {"operation": "create_job"},
        {"operation": "create_job", "status": 500, "drop": "after"},
        {"operation": "create_job", "nth": 0, "status": 500},
        {"operation": "create_job", "times": 0, "status": 500},
        {"operation": "create_job", "status": 99},
        {"operation": "create_job", "drop": "sideways"},
        {"operation": "create_job", "delay": -1.0},
    ],
)
def test_invalid_faults_are_refused(kwargs: dict[str, object]) -> None:
    """Malformed fault plans raise ValueError instead of silently never firing."""
    from qruntime_session.emulator import FaultPlan

    operation = str(kwargs.pop("operation"))
    with pytest.raises(ValueError, match=r"."):
        FaultPlan().add(operation, **kwargs)  # type: ignore[arg-type]
