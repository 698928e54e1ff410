"""Real simulation (the sim extra): counts and expectation values come from the circuit."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import math
import threading
import zlib
from typing import Any

import pytest
from qiskit import QuantumCircuit, qasm3, qpy
from qiskit.transpiler import CouplingMap, generate_preset_pass_manager
from qiskit_ibm_runtime import RuntimeDecoder

from qruntime_session.emulator import Emulator, EmulatorConfig, JobOutcome, ManualClock, _results
from qruntime_session.emulator._backends import heavy_hex

from .emu_support import Client


def _h(circuit: QuantumCircuit, qubit: int) -> None:
    """h in ibm_fez's basis (cz id rz sx x): rz(pi/2) sx rz(pi/2)."""
    circuit.rz(math.pi / 2, qubit)
    circuit.sx(qubit)
    circuit.rz(math.pi / 2, qubit)


def _cx(circuit: QuantumCircuit, control: int, target: int) -> None:
    _h(circuit, target)
    circuit.cz(control, target)
    _h(circuit, target)


def _bell(measure: bool = True) -> QuantumCircuit:
    """A Bell pair written in the device's basis (an ISA circuit on qubits 0 and 1)."""
    circuit = QuantumCircuit(2)
    _h(circuit, 0)
    _cx(circuit, 0, 1)
    if measure:
        circuit.measure_all()
    return circuit


def _qpy(circuit: QuantumCircuit) -> dict[str, str]:
    buffer = io.BytesIO()
    qpy.dump(circuit, buffer, version=17)  # the highest the service reads
    packed = base64.b64encode(zlib.compress(buffer.getvalue())).decode()
    return {"__type__": "QuantumCircuit", "__value__": packed}


async def _samples(api: Client, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    created = await api.create_job(params=params)
    reply = await api.call("GET", f"/v1/jobs/{created['id']}/results")
    assert reply.status == 200, reply.text
    return created["id"], reply.body


async def test_bell_pair_gives_only_00_and_11(api: Client) -> None:
    """A Bell pair measured 2000 times: only 0x0 and 0x3, both present."""
    _, body = await _samples(api, {"pubs": [[qasm3.dumps(_bell()), None, 2000]], "version": 2})
    samples = body["results"][0]["data"]["meas"]["samples"]
    assert set(samples) == {"0x0", "0x3"}
    assert 800 < samples.count("0x3") < 1200


async def test_a_jobs_answer_is_stable_and_seed_simulator_is_honoured(api: Client) -> None:
    """Re-reading a job gives the same samples; two jobs differ unless seed_simulator is set."""
    circuit = qasm3.dumps(_bell())
    params = {"pubs": [[circuit, None, 64]], "version": 2}
    one_id, one = await _samples(api, params)
    again = await api.call("GET", f"/v1/jobs/{one_id}/results")
    assert again.body == one
    _, two = await _samples(api, params)
    assert one["results"] != two["results"]
    seeded = {**params, "options": {"simulator": {"seed_simulator": 42}}}
    _, three = await _samples(api, seeded)
    _, four = await _samples(api, seeded)
    assert three["results"] == four["results"]


async def test_circuit_laid_out_on_a_whole_device_simulates_only_used_qubits(api: Client) -> None:
    """A Bell pair transpiled onto 156 qubits (2 in use) simulates; estimator <ZZ> = 1."""
    _, edges = heavy_hex(156)
    manager = generate_preset_pass_manager(
        optimization_level=1,
        coupling_map=CouplingMap(edges),
        basis_gates=["cz", "rz", "sx", "x"],
        seed_transpiler=1,
    )
    isa = manager.run(_bell())
    assert isa.num_qubits == 156
    for encoded in (qasm3.dumps(isa), _qpy(isa)):
        _, body = await _samples(api, {"pubs": [[encoded, None, 500]], "version": 2})
        assert set(body["results"][0]["data"]["meas"]["samples"]) == {"0x0", "0x3"}
    unmeasured = manager.run(_bell(measure=False))
    layout = unmeasured.layout.final_index_layout()
    label = ["I"] * 156
    for qubit in layout:
        label[155 - qubit] = "Z"
    created = await api.create_job(
        program_id="estimator",
        params={
            "pubs": [
                [_qpy(unmeasured), ["".join(label), "Z" * 156, "X" * 156]],
                [qasm3.dumps(unmeasured), ["".join(label)]],
            ],
            "version": 2,
        },
    )
    result = (await api.call("GET", f"/v1/jobs/{created['id']}/results")).body
    assert result["results"][0]["data"]["evs"][:2] == [1.0, 1.0]
    assert abs(result["results"][0]["data"]["evs"][2]) < 0.1  # exactly 0, plus shot noise
    assert result["results"][1]["data"]["evs"] == [1.0]


@pytest.fixture
def config(clock: ManualClock) -> EmulatorConfig:
    """Small simulation limit so 'too large' is cheap to reach."""
    return EmulatorConfig(clock=clock, max_simulated_qubits=4, noise=False)


async def test_too_large_to_simulate_ends_failed_with_a_reason(api: Client) -> None:
    """Non-Clifford circuits over the limit fail; large Clifford circuits still run."""
    circuit = QuantumCircuit(6)
    circuit.sx(range(6))
    circuit.rz(0.3, range(6))
    circuit.measure_all()
    created = await api.create_job(params={"pubs": [[qasm3.dumps(circuit), None, 10]]})
    job = await api.job(created["id"])
    assert job["status"] == "Failed"
    assert job["state"]["reason_code"] == 1517
    assert "at most 4" in job["state"]["reason"]
    assert (await api.call("GET", f"/v1/jobs/{created['id']}/results")).status == 204
    ghz = QuantumCircuit(16)  # along ibm_fez's first row of qubits
    _h(ghz, 0)
    for qubit in range(15):
        _cx(ghz, qubit, qubit + 1)
    ghz.measure_all()
    _, body = await _samples(api, {"pubs": [[qasm3.dumps(ghz), None, 50]]})
    assert set(body["results"][0]["data"]["meas"]["samples"]) == {"0x0", hex(2**16 - 1)}


async def test_unreadable_circuit_fails_the_job(api: Client) -> None:
    """A circuit that is neither OpenQASM nor QPY ends the job Failed, as the service does."""
    created = await api.create_job(params={"pubs": [["not a circuit", None, 10]]})
    job = await api.job(created["id"])
    assert job["status"] == "Failed"
    assert "pub 0" in job["state"]["reason"]


async def test_a_planned_outcome_still_wins(api: Client, emu: Emulator) -> None:
    """A test-planned outcome is not overridden by the input check."""
    emu.plan_outcome(JobOutcome.cancelled())
    created = await api.create_job(params={"pubs": [["not a circuit", None, 10]]})
    assert (await api.job(created["id"]))["status"] == "Cancelled"


async def test_simulation_runs_off_the_event_loop(
    api: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a job is judged and simulated in its worker thread the emulator keeps answering."""
    release = threading.Event()
    original = _results.compute

    def blocked(*args: Any) -> Any:
        if not release.wait(timeout=30):
            raise RuntimeError("never released")
        return original(*args)

    monkeypatch.setattr(_results, "compute", blocked)
    created = await api.create_job(
        params={"pubs": [[qasm3.dumps(_bell()), None, 10]], "support_qiskit": True}
    )
    fetch = asyncio.create_task(api.call("GET", f"/v1/jobs/{created['id']}/results"))
    await asyncio.sleep(0.05)
    # The loop is free: other requests are answered while the job is being computed, and the
    # job shows Running until its outcome is known.
    listed = await api.call("GET", "/v1/jobs")
    assert [job["status"] for job in listed.body["jobs"]] == ["Running"]
    assert (await api.call("GET", "/v1/backends")).status == 200
    assert not fetch.done()
    release.set()
    reply = await fetch
    result = json.loads(reply.text, cls=RuntimeDecoder)
    assert set(result[0].data.meas.get_counts()) <= {"00", "11"}


async def test_a_simulation_that_fails_while_running_fails_the_job(
    api: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error inside the worker ends the job Failed with a reason, never an HTTP 500."""

    def broken(*_args: Any) -> Any:
        raise MemoryError("out of memory")

    monkeypatch.setattr(_results, "compute", broken)
    created = await api.create_job(params={"pubs": [[qasm3.dumps(_bell()), None, 10]]})
    job = await api.job(created["id"])
    assert job["status"] == "Failed"
    assert "MemoryError" in job["state"]["reason"]
    assert (await api.call("GET", f"/v1/jobs/{created['id']}/results")).status == 204
