"""Backends and instance usage: the list, configurations, properties, status."""

from __future__ import annotations

import collections

import aiohttp

from qruntime_session.emulator import BackendSpec, EmulatorConfig, ManualClock, run_emulator
from qruntime_session.emulator._backends import heavy_hex

from .emu_support import Client, assert_ibm_error


def _connected(num_qubits: int, edges: list[list[int]]) -> bool:
    neighbours = collections.defaultdict(set)
    for a, b in edges:
        neighbours[a].add(b)
        neighbours[b].add(a)
    seen = {0}
    todo = [0]
    while todo:
        for other in neighbours[todo.pop()] - seen:
            seen.add(other)
            todo.append(other)
    return len(seen) == num_qubits


def test_heavy_hex_lattice() -> None:
    """156 qubits: 8 rows of 16 and 7 x 4 bridges, degree <= 3, connected, bridges degree 2."""
    coords, edges = heavy_hex(156)
    assert len(coords) == 156
    assert len({tuple(c) for c in coords}) == 156
    assert len(edges) == 8 * 15 + 7 * 4 * 2
    degree = collections.Counter(q for edge in edges for q in edge)
    assert max(degree.values()) == 3
    bridges = [q for q, (row, _) in enumerate(coords) if row % 2]
    assert len(bridges) == 28
    assert all(degree[q] == 2 for q in bridges)
    assert _connected(156, edges)
    for size in (1, 5, 17, 20, 127, 133):
        coords, edges = heavy_hex(size)
        assert len(coords) == size
        assert size == 1 or _connected(size, edges)


async def test_list_backends(api: Client) -> None:
    """GET /v1/backends lists the configured devices with status and queue length."""
    reply = await api.call("GET", "/v1/backends")
    assert reply.status == 200
    devices = {device["name"]: device for device in reply.body["devices"]}
    assert {"ibm_fez", "ibm_kingston", "ibm_marrakesh", "ibm_torino"} <= set(devices)
    fez = devices["ibm_fez"]
    assert fez["status"] == {"name": "online"}
    assert fez["qubits"] == 156
    assert fez["queue_length"] == 0
    assert fez["is_simulator"] is False
    assert devices["ibm_torino"]["qubits"] == 133
    assert_ibm_error(await api.call("GET", "/v1/backends", headers={"Authorization": None}), 401)


async def test_configuration_properties_status(api: Client) -> None:
    """Configuration, properties and status of a 156-qubit device, deterministic."""
    config = (await api.call("GET", "/v1/backends/ibm_fez/configuration")).body
    assert config["backend_name"] == "ibm_fez"
    assert config["n_qubits"] == 156
    assert config["simulator"] is False
    assert config["basis_gates"] == ["cz", "id", "rz", "sx", "x"]
    assert {"measure", "delay", "reset"} <= set(config["supported_instructions"])
    assert len(config["coupling_map"]) == 2 * (8 * 15 + 7 * 4 * 2)
    assert config["max_shots"] == 100_000
    assert [gate["name"] for gate in config["gates"]] == config["basis_gates"]
    properties = (await api.call("GET", "/v1/backends/ibm_fez/properties")).body
    assert len(properties["qubits"]) == 156
    names = {item["name"]: item for item in properties["qubits"][0]}
    assert {"T1", "T2", "frequency", "readout_error", "readout_length"} <= set(names)
    assert 80 <= names["T1"]["value"] <= 320
    assert names["T2"]["value"] <= 2 * names["T1"]["value"]
    assert 0 < names["readout_error"]["value"] < 0.25
    cz = [gate for gate in properties["gates"] if gate["gate"] == "cz"]
    assert len(cz) == len(config["coupling_map"])
    error = {p["name"]: p["value"] for p in cz[0]["parameters"]}
    assert 0 < error["gate_error"] < 0.01
    assert error["gate_length"] == 68.0
    again = (await api.call("GET", "/v1/backends/ibm_fez/properties")).body
    assert again == properties
    other = (await api.call("GET", "/v1/backends/ibm_kingston/properties")).body
    assert other["qubits"] != properties["qubits"]
    status = (await api.call("GET", "/v1/backends/ibm_kingston/status")).body
    assert status == {
        "state": True,
        "status": "active",
        "message": "available",
        "length_queue": 3,
        "backend_version": "1.0.0",
    }
    for suffix in ("configuration", "properties", "status"):
        assert_ibm_error(await api.call("GET", f"/v1/backends/nope/{suffix}"), 404, "1007")


async def test_configured_backend_list(clock: ManualClock) -> None:
    """devices= and backends= choose what GET /v1/backends lists and what exists."""
    config = EmulatorConfig(
        clock=clock,
        devices=(BackendSpec(name="ibm_small", num_qubits=5, status="paused", queue_length=7),),
        backends=("ibm_small", "ibm_other"),
    )
    async with run_emulator(config) as emu, aiohttp.ClientSession() as http:
        api = Client(http, emu)
        devices = (await api.call("GET", "/v1/backends")).body["devices"]
        assert [d["name"] for d in devices] == ["ibm_small", "ibm_other"]
        assert devices[0]["status"] == {"name": "paused"}
        assert devices[1]["qubits"] == 156
        small = (await api.call("GET", "/v1/backends/ibm_small/configuration")).body
        assert small["n_qubits"] == 5
        status = (await api.call("GET", "/v1/backends/ibm_small/status")).body
        assert (status["state"], status["length_queue"]) == (False, 7)
        reply = await api.call("GET", "/v1/backends/ibm_fez/configuration")
        assert_ibm_error(reply, 404, "1007")


async def test_usage(api: Client) -> None:
    """GET /v1/instances/usage names the instance and sums the QPU time of its jobs."""
    await api.create_job()
    body = (await api.call("GET", "/v1/instances/usage")).body
    assert body["instance_id"] == api.emu.service_crn
    assert body["usage_consumed_seconds"] == 0
    assert body["usage_limit_reached"] is False
    assert body["usage_period"]["start_time"].endswith("-01T00:00:00.000Z")
