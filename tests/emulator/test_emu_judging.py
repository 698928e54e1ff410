"""Jobs judged as the service judges them, when they run, off the event loop (issues 13, 15).

Accepting a job stores it without reading its circuits; judging (IBM's params models, ISA,
the size limits of ``EmulatorConfig``) and simulating happen when it runs, in a worker
thread. A job past a limit or not matching its device ends ``Failed`` with a reason; the
emulator never answers 500 and keeps answering everyone else meanwhile.
"""

from __future__ import annotations

import asyncio
import base64
import io
import itertools
import math
import struct
import time
import zlib
from typing import Any

import pytest
from qiskit import QuantumCircuit, qpy

from qruntime_session.emulator import EmulatorConfig, ManualClock, _results
from qruntime_session.emulator._npy import encode_ndarray
from qruntime_session.emulator._state import Store

from .emu_support import Client

ISA_TEXT = "Circuits do not match the target definition (non-ISA circuits)."
BELL_ISA = (
    'OPENQASM 3.0; include "stdgates.inc"; bit[2] c; qubit[2] q; '
    "rz(pi/2) q[0]; sx q[0]; rz(pi/2) q[0]; rz(pi/2) q[1]; sx q[1]; rz(pi/2) q[1]; "
    "cz q[0], q[1]; rz(pi/2) q[1]; sx q[1]; rz(pi/2) q[1]; c = measure q;"
)
BELL_UNTRANSPILED = (
    'OPENQASM 3.0; include "stdgates.inc"; bit[2] c; qubit[2] q; '
    "h q[0]; cx q[0], q[1]; c = measure q;"
)


def _qpy(circuit: QuantumCircuit) -> dict[str, str]:
    buffer = io.BytesIO()
    qpy.dump(circuit, buffer, version=17)
    return {
        "__type__": "QuantumCircuit",
        "__value__": base64.b64encode(zlib.compress(buffer.getvalue())).decode(),
    }


async def _ended(api: Client, params: dict[str, Any], program_id: str = "sampler") -> Any:
    created = await api.create_job(program_id=program_id, params=params)
    return await api.job(created["id"])


def _failed(job: dict[str, Any], code: int, text: str) -> None:
    assert job["status"] == "Failed", job
    assert job["state"]["reason_code"] == code, job["state"]
    assert text in job["state"]["reason"], job["state"]


# --------------------------------------------------------------------------- accepting


async def test_accepting_a_job_reads_none_of_its_circuits(
    api: Client, emu: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """POST stores the job; nothing is read, judged or computed until it runs."""
    calls: list[Any] = []
    original = _results.compute

    def counted(*args: Any) -> Any:
        calls.append(args)
        return original(*args)

    monkeypatch.setattr(_results, "compute", counted)
    monkeypatch.setattr(_results, "read_pubs", lambda *_a: pytest.fail("read at POST"))
    created = await api.create_job(params={"pubs": [["garbage" * 1000, "x", -5]]})
    assert calls == []
    assert emu._store.jobs[created["id"]].status == "Queued"


# ----------------------------------------------------------------------------- limits


@pytest.mark.parametrize(
    ("params", "program_id", "text"),
    [
        ({"pubs": [[BELL_ISA, None, 10**9]]}, "sampler", "EmulatorConfig.max_shots"),
        ({"pubs": [[BELL_ISA, None, 10**30]]}, "sampler", "EmulatorConfig.max_shots"),
        ({"pubs": [[BELL_ISA, ["ZZ"], None, 1e-12]]}, "estimator", "max_estimator_shots"),
        ({"pubs": [[BELL_ISA, ["ZZ"], None, 1e-300]]}, "estimator", "max_estimator_shots"),
        ({"pubs": [[BELL_ISA, None, 10]] * 1001}, "sampler", "EmulatorConfig.max_pubs"),
        ({"pubs": [[BELL_ISA, None, 10]], "options": {"default_shots": 5}}, "sampler", "pubs"),
    ],
    ids=["shots-1e9", "shots-1e30", "precision-1e-12", "precision-1e-300", "pubs", "ok"],
)
async def test_declared_sizes_past_the_limits_fail_the_job(
    api: Client, params: dict[str, Any], program_id: str, text: str
) -> None:
    """Shots, precision and pubs past the limits: Failed with the limit named, no 500."""
    job = await _ended(api, params, program_id)
    if text == "pubs":
        assert job["status"] == "Completed"
        return
    _failed(job, 1002, text)
    results = await api.call("GET", f"/v1/jobs/{job['id']}/results")
    assert results.status == 204


async def test_params_nested_500_deep_fail_the_job(api: Client) -> None:
    """Nesting 500 deep is stored, then fails when the job runs (never a 500)."""
    deep: Any = 1
    for _ in range(500):
        deep = [deep]
    job = await _ended(api, {"pubs": [[BELL_ISA, deep, 10]]})
    _failed(job, 1002, "EmulatorConfig.max_nesting")
    listed = await api.call("GET", f"/v1/jobs/{job['id']}?exclude_params=false")
    assert listed.status == 200


def _qpy_claiming(qubits: int) -> dict[str, str]:
    """A real one-qubit QPY file whose header claims ``qubits`` qubits."""
    buffer = io.BytesIO()
    qpy.dump(QuantumCircuit(1), buffer, version=17)
    data = bytearray(buffer.getvalue())
    (offset,) = struct.unpack_from("!Q", data, 20)
    struct.pack_into("!I", data, offset + 2 + 1 + 2, qubits)
    return {
        "__type__": "QuantumCircuit",
        "__value__": base64.b64encode(zlib.compress(bytes(data))).decode(),
    }


def _bomb(size: int) -> dict[str, str]:
    packed = zlib.compress(b"\0" * size, 9)
    return {"__type__": "ndarray", "__value__": base64.b64encode(packed).decode()}


async def test_hostile_jobs_fail_while_everyone_else_is_answered(api: Client) -> None:
    """A QPY circuit claiming 2**31-1 qubits, a zlib bomb and a 10**6-point sweep: each ends
    Failed, and another client's GET answers within 100 ms throughout."""
    sweep = encode_ndarray("<f8", (1_000_000, 1), bytes(8_000_000))  # about 10 KB
    hostile = [
        {"pubs": [[_qpy_claiming(2**31 - 1), None, 10]]},
        {"pubs": [[BELL_ISA, _bomb(64_000_000), 10]]},
        {"pubs": [[BELL_ISA, sweep, 10]]},
    ]
    for params in hostile:
        created = await api.create_job(params=params)
        done = asyncio.create_task(api.job(created["id"]))
        slowest = 0.0
        while not done.done():
            started = time.perf_counter()
            assert (await api.call("GET", "/v1/backends/ibm_fez/status")).status == 200
            slowest = max(slowest, time.perf_counter() - started)
            await asyncio.sleep(0.005)
        job = await done
        assert job["status"] == "Failed", job
        assert job["state"]["reason"]
        assert slowest < 0.1, (params["pubs"][0][0] if len(str(params)) < 300 else "", slowest)


# ------------------------------------------------------------------------------- ISA


@pytest.mark.parametrize("simulate", [True, False], ids=["sim-extra", "text-only"])
async def test_non_isa_circuits_fail_with_1517(
    api: Client, emu: Any, simulate: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Untranspiled Bell, cz on uncoupled qubits, 157 qubits on a 156-qubit device: 1517."""
    monkeypatch.setattr(emu._store, "simulate", simulate)
    uncoupled = 'OPENQASM 3.0; include "stdgates.inc"; cz $0, $2;'
    wide = "OPENQASM 3.0; qubit[157] q;"
    for circuit, detail in (
        (BELL_UNTRANSPILED, "The instruction h on qubits (0,)"),
        (uncoupled, "The instruction cz on qubits (0, 2)"),
        (wide, "157 qubits"),
    ):
        _failed(await _ended(api, {"pubs": [[circuit, None, 10]]}), 1517, ISA_TEXT)
        job = await _ended(api, {"pubs": [[circuit, None, 10]]})
        assert detail in job["state"]["reason"]
        assert "generate_preset_pass_manager" in job["state"]["reason_solution"]
    assert (await _ended(api, {"pubs": [[BELL_ISA, None, 10]]}))["status"] == "Completed"
    coupled = 'OPENQASM 3.0; include "stdgates.inc"; cz $0, $1;'
    assert (await _ended(api, {"pubs": [[coupled, None, 10]]}))["status"] == "Completed"


async def test_non_isa_qpy_fails_with_1517(api: Client) -> None:
    """The official client's encoding is judged too: an h gate is outside ibm_fez's basis."""
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.measure_all()
    job = await _ended(api, {"pubs": [[_qpy(circuit), None, 10]]})
    _failed(job, 1517, "The instruction h on qubits (0,)")


# ---------------------------------------------------------------------------- params


async def test_params_refused_as_ibms_models_refuse(api: Client) -> None:
    """An extra field, a wrong version or bad pub items fail with code 1002."""
    for params, text in (
        ({"pubs": [[BELL_ISA, None, 10]], "shotz": 5}, "shotz: extra inputs"),
        ({"pubs": [[BELL_ISA, None, 10]], "version": 1}, "version"),
        ({"pubs": [[BELL_ISA, None, 0]]}, "pubs.0.2"),
        ({"pubs": [[5, None, 10]]}, "pubs.0"),
        ({"shots": 10}, "pubs"),
    ):
        _failed(await _ended(api, params), 1002, text)


async def test_short_forms_of_ibms_rest_guides_are_accepted(api: Client) -> None:
    """[circuit] pubs, top-level shots, plain-list values, bare Pauli strings, nested shapes."""
    sampler = {"pubs": [[BELL_ISA]], "shots": 20, "version": 2, "support_qiskit": False}
    assert (await _ended(api, sampler))["status"] == "Completed"
    estimator = {"pubs": [[BELL_ISA, [["ZZ"], ["XX"]]]], "precision": 0.1}
    assert (await _ended(api, estimator, "estimator"))["status"] == "Completed"


# ------------------------------------------------------------------- backends, queue


async def test_unknown_backends_are_refused_at_session_and_job_creation(api: Client) -> None:
    """IBM answers 1007 "Backend not found" for a name it does not serve."""
    session = await api.call("POST", "/v1/sessions", json_body={"mode": "batch", "backend": "x"})
    assert (session.status, session.body["errors"][0]["code"]) == (404, "1007")
    job = await api.call(
        "POST", "/v1/jobs", json_body={"program_id": "sampler", "backend": "ibm_nowhere"}
    )
    assert (job.status, job.body["errors"][0]["code"]) == (404, "1007")


def test_a_device_runs_one_job_at_a_time_in_queue_order() -> None:
    """10 five-second jobs in one session take 50 s of emulated time, one after another."""
    clock = ManualClock()
    store = Store(EmulatorConfig(clock=clock, queue_seconds=0.0, run_seconds=5.0))
    session = store.create_session(
        mode="dedicated", backend="ibm_fez", max_ttl=None, interactive_ttl=None, active_ttl=None
    )
    other = store.create_job(program_id="noise-learner", backend="ibm_fez", params={})
    jobs = [
        store.create_job(
            program_id="noise-learner", backend="ibm_fez", params={}, session_id=session.id
        )
        for _ in range(10)
    ]
    start = clock.now()
    clock.advance(1000)
    store.tick()
    spans = sorted((job.started, job.finished) for job in [other, *jobs])
    assert all(job.status == "Completed" for job in [other, *jobs])
    for (_, end), (begin, _) in itertools.pairwise(spans):
        assert begin is not None
        assert end is not None
        assert begin >= end
    assert max(job.finished or 0 for job in jobs) - start >= 50
    # Another device is free meanwhile.
    elsewhere = store.create_job(program_id="noise-learner", backend="ibm_kingston", params={})
    clock.advance(5)
    store.tick()
    assert elsewhere.status == "Completed"


def test_the_active_sessions_jobs_go_first() -> None:
    """While a session holds the device, its queued jobs run before earlier jobs of others."""
    clock = ManualClock()
    store = Store(EmulatorConfig(clock=clock, queue_seconds=0.0, run_seconds=5.0))
    session = store.create_session(
        mode="dedicated", backend="ibm_fez", max_ttl=None, interactive_ttl=None, active_ttl=None
    )
    first = store.create_job(
        program_id="noise-learner", backend="ibm_fez", params={}, session_id=session.id
    )
    store.tick()
    assert first.status == "Running"
    outsider = store.create_job(program_id="noise-learner", backend="ibm_fez", params={})
    clock.advance(1)
    second = store.create_job(
        program_id="noise-learner", backend="ibm_fez", params={}, session_id=session.id
    )
    clock.advance(100)
    store.tick()
    assert second.started is not None
    assert outsider.started is not None
    assert second.started < outsider.started


# ------------------------------------------------------------------------- estimator


def test_the_estimator_keeps_one_state_per_parameter_row_alive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A sweep of many points never holds more than one statevector at a time."""
    import weakref

    import qiskit.quantum_info

    from qruntime_session.emulator._runs import run_settings

    live: set[int] = set()
    most = [0]
    original = qiskit.quantum_info.Statevector

    class Counted(original):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            key = id(self)
            live.add(key)
            most[0] = max(most[0], len(live))
            weakref.finalize(self, live.discard, key)

    monkeypatch.setattr(qiskit.quantum_info, "Statevector", Counted)
    circuit = (
        'OPENQASM 3.0; include "stdgates.inc"; input float theta; qubit[1] q; '
        "sx q[0]; rz(theta) q[0];"
    )
    points = [[0.1 * k] for k in range(200)]
    config = EmulatorConfig(noise=False)
    settings = run_settings(config, True, config.device("ibm_fez"), 0.0)
    computed = _results.compute("j", "estimator", {"pubs": [[circuit, "Y", points]]}, settings)
    assert len(computed.pubs[0].evs) == 200  # type: ignore[union-attr]
    assert most[0] <= 2


# ----------------------------------------------------------------------------- noise


@pytest.fixture
def config(clock: ManualClock) -> EmulatorConfig:
    """Noise on (the default): the served calibration data shapes the counts."""
    return EmulatorConfig(clock=clock)


async def test_a_noisy_bell_pair_shows_what_the_served_properties_predict(api: Client) -> None:
    """10,000 shots of an ISA Bell pair on ibm_fez: 01/10 within 4 sigma of the prediction.

    Prediction from ``GET /properties``: the cz's depolarizing error leaves odd parity with
    probability 2/3 of its gate error (single-qubit gates and relaxation add < 1e-3), then
    each qubit's readout flips 0 -> 1 with prob_meas1_prep0 and 1 -> 0 with prob_meas0_prep1.
    """
    properties = (await api.call("GET", "/v1/backends/ibm_fez/properties")).body
    qubit = [{item["name"]: item["value"] for item in entry} for entry in properties["qubits"]]
    cz = next(g for g in properties["gates"] if g["gate"] == "cz" and g["qubits"] == [0, 1])
    error = next(p["value"] for p in cz["parameters"] if p["name"] == "gate_error")
    odd_before = 2 * error / 3
    up = [qubit[q]["prob_meas1_prep0"] for q in (0, 1)]
    down = [qubit[q]["prob_meas0_prep1"] for q in (0, 1)]

    def flips(one: list[float]) -> float:
        """P(exactly one bit flips) when the qubits hold bits ``one`` flip rates."""
        return one[0] * (1 - one[1]) + one[1] * (1 - one[0])

    def keeps(flip: list[float]) -> float:
        return (1 - flip[0]) * (1 - flip[1]) + flip[0] * flip[1]

    even_odd = 0.5 * flips(up) + 0.5 * flips(down)  # from 00 / 11
    odd_states = [[up[0], down[1]], [down[0], up[1]]]  # from 01 / 10 (bit 0 = qubit 0)
    odd_kept = 0.5 * keeps(odd_states[0]) + 0.5 * keeps(odd_states[1])
    predicted = (1 - odd_before) * even_odd + odd_before * odd_kept
    shots = 10_000
    job = await _ended(api, {"pubs": [[BELL_ISA, None, shots]], "support_qiskit": False})
    assert job["status"] == "Completed", job
    body = (await api.call("GET", f"/v1/jobs/{job['id']}/results")).body
    samples = body["results"][0]["data"]["c"]["samples"]
    odd = sum(sample in ("0x1", "0x2") for sample in samples) / shots
    sigma = math.sqrt(predicted * (1 - predicted) / shots)
    assert predicted > 0.005  # the noise is visible at all
    assert abs(odd - predicted) < 4 * sigma, (odd, predicted, sigma)


def test_noise_off_keeps_results_exact() -> None:
    """With noise=False the same Bell pair reads only 00 and 11."""
    from qruntime_session.emulator._runs import run_settings

    config = EmulatorConfig(noise=False)
    settings = run_settings(config, True, config.device("ibm_fez"), 0.0)
    computed = _results.compute("j", "sampler", {"pubs": [[BELL_ISA, None, 2000]]}, settings)
    register = computed.pubs[0].registers[0]  # type: ignore[union-attr]
    assert set(register.values()) == {0, 3}


def test_a_job_past_its_time_frees_the_worker() -> None:
    """The worker checks the job's time between steps: a long job fails instead of running on."""
    from qruntime_session.emulator._runs import run_settings

    config = EmulatorConfig(noise=False, job_time_limit=0.05)
    settings = run_settings(config, True, config.device("ibm_fez"), 0.0)
    circuit = 'OPENQASM 3.0; include "stdgates.inc"; input float theta; qubit[1] q; rz(theta) q[0];'
    points = [[0.001 * k] for k in range(50_000)]
    started = time.perf_counter()
    with pytest.raises(_results.JobRejected, match="job_time_limit"):
        _results.compute("j", "estimator", {"pubs": [[circuit, "Z", points]]}, settings)
    assert time.perf_counter() - started < 30


def test_the_estimator_sees_the_devices_gate_noise() -> None:
    """<ZZ> of a Bell pair: exactly 1 on an ideal device, a little less with ibm_fez's noise."""
    from qruntime_session.emulator._runs import run_settings

    circuit = BELL_ISA.replace(" c = measure q;", "").replace("bit[2] c; ", "")
    found = {}
    for noise in (False, True):
        config = EmulatorConfig(noise=noise)
        settings = run_settings(config, True, config.device("ibm_fez"), 0.0)
        params = {"pubs": [[circuit, ["ZZ"], None, 0.001]]}
        computed = _results.compute("j", "estimator", params, settings)
        found[noise] = computed.pubs[0].evs[0]  # type: ignore[union-attr]
    assert found[False] == 1.0
    assert 0.95 < found[True] < 1.0
