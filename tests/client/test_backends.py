"""client.backends() / backend(name) / backend_status(name) / least_busy() at the wire."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aioresponses import CallbackResult, aioresponses

import qruntime_session as qrs
from qruntime_session import errors

BASE = "https://quantum.cloud.ibm.com/api"
BACKENDS = f"{BASE}/v1/backends"


def status_body(queue: int, *, state: bool = True, status: str = "active") -> dict[str, Any]:
    return {
        "state": state,
        "status": status,
        "message": "available",
        "length_queue": queue,
        "backend_version": "1.2.3",
    }


def config_body(name: str, n_qubits: int, *, simulator: bool = False) -> dict[str, Any]:
    return {
        "backend_name": name,
        "backend_version": "1.2.3",
        "n_qubits": n_qubits,
        "basis_gates": ["cz", "id", "rz", "sx", "x"],
        "gates": [{"name": "cz", "parameters": [], "qasm_def": "", "coupling_map": [[0, 1]]}],
        "coupling_map": [[0, 1], [1, 0]],
        "max_shots": 100000,
        "max_experiments": 300,
        "simulator": simulator,
        "processor_type": {"family": "Heron", "revision": 2},
        "supported_instructions": ["measure", "delay"],
    }


@pytest.fixture
async def client() -> AsyncIterator[qrs.RuntimeClient]:
    async with qrs.RuntimeClient(base_url=BASE, access_token="tok", service_crn="crn:v1:x") as c:
        yield c


async def test_backends_with_status_fetched_concurrently(client: qrs.RuntimeClient) -> None:
    """Each device's status is requested while the others are still in flight."""
    in_flight = 0
    peak = 0
    queues = {"ibm_fez": 12, "ibm_torino": 3, "ibm_kingston": 40}

    async def slow_status(url: Any, **kwargs: Any) -> CallbackResult:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        in_flight -= 1
        name = str(url).split("/")[-2]
        return CallbackResult(payload=status_body(queues[name]))

    with aioresponses() as m:
        m.get(BACKENDS, payload={"devices": [{"name": n, "class": "x"} for n in queues]})
        m.get(re.compile(rf"^{BACKENDS}/[^/]+/status$"), callback=slow_status, repeat=True)
        infos = await client.backends()
    assert [i.name for i in infos] == list(queues)
    assert [i.pending_jobs for i in infos] == list(queues.values())
    assert all(i.operational for i in infos)
    assert infos[0].status is not None
    assert infos[0].status.status == "active"
    assert infos[0].status.backend_version == "1.2.3"
    assert infos[0].raw == {"name": "ibm_fez", "class": "x"}
    assert peak > 1


async def test_backends_without_status_sends_one_request(client: qrs.RuntimeClient) -> None:
    with aioresponses() as m:
        m.get(BACKENDS, payload={"devices": ["ibm_fez", {"name": "ibm_torino"}, 7, {}]})
        infos = await client.backends(status=False)
        assert len(m.requests) == 1
    assert [(i.name, i.status) for i in infos] == [("ibm_fez", None), ("ibm_torino", None)]


async def test_backend_configuration_is_typed_and_keeps_unknown_fields(
    client: qrs.RuntimeClient,
) -> None:
    with aioresponses() as m:
        m.get(f"{BACKENDS}/ibm_fez/configuration", payload=config_body("ibm_fez", 156))
        config = await client.backend("ibm_fez")
    assert config.name == "ibm_fez"
    assert config.n_qubits == 156
    assert config.basis_gates == ("cz", "id", "rz", "sx", "x")
    assert config.coupling_map == ((0, 1), (1, 0))
    assert config.max_shots == 100000
    assert config.simulator is False
    assert config.gates == ("cz",)
    assert config.processor_type == {"family": "Heron", "revision": 2}
    assert config.raw["supported_instructions"] == ["measure", "delay"]


async def test_backend_status_and_errors(client: qrs.RuntimeClient) -> None:
    with aioresponses() as m:
        m.get(f"{BACKENDS}/ibm_fez/status", payload=status_body(-3, state=False, status="paused"))
        m.get(
            f"{BACKENDS}/nope/status",
            status=404,
            payload={"errors": [{"code": "1007", "message": "backend not found"}]},
        )
        m.get(BACKENDS, payload={"unexpected": []})
        status = await client.backend_status("ibm_fez")
        assert (status.operational, status.status, status.pending_jobs) == (False, "paused", 0)
        with pytest.raises(errors.NotFoundError) as caught:
            await client.backend_status("nope")
        assert caught.value.code == "1007"
        with pytest.raises(errors.UnexpectedStatusError):
            await client.backends()
    with pytest.raises(errors.InvalidInputError):
        await client.backend("")


async def test_least_busy_filters_and_picks_the_shortest_queue(client: qrs.RuntimeClient) -> None:
    devices = {
        "ibm_small": (0, True, 5),  # shortest queue but too few qubits
        "ibm_paused": (1, False, 156),  # not operational
        "ibm_fez": (9, True, 156),
        "ibm_torino": (4, True, 133),
        "sim": (0, True, 200),  # a simulator
    }
    with aioresponses() as m:
        m.get(BACKENDS, payload={"devices": [{"name": n} for n in devices]}, repeat=True)
        for name, (queue, up, qubits) in devices.items():
            m.get(f"{BACKENDS}/{name}/status", payload=status_body(queue, state=up), repeat=True)
            m.get(
                f"{BACKENDS}/{name}/configuration",
                payload=config_body(name, qubits, simulator=name == "sim"),
                repeat=True,
            )
        best = await client.least_busy(min_qubits=100)
        assert best is not None
        assert best.name == "ibm_torino"
        assert (await client.least_busy(min_qubits=150)).name == "ibm_fez"  # type: ignore[union-attr]
        assert await client.least_busy(min_qubits=1000) is None
        assert (await client.least_busy(simulator=None)).name in ("ibm_small", "sim")  # type: ignore[union-attr]
        with pytest.raises(errors.InvalidInputError):
            await client.least_busy(min_qubits=0)


async def test_a_failing_status_cancels_the_others_and_raises(client: qrs.RuntimeClient) -> None:
    with aioresponses() as m:
        m.get(BACKENDS, payload={"devices": [{"name": "a"}, {"name": "b"}]})
        m.get(f"{BACKENDS}/a/status", payload=status_body(1))
        m.get(f"{BACKENDS}/b/status", status=403, payload={"errors": [{"code": "1200"}]})
        with pytest.raises(errors.PermissionDeniedError):
            await client.backends()
