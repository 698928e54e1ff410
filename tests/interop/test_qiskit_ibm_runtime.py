"""IBM's official client, qiskit-ibm-runtime, unmodified, against the in-process emulator.

qiskit-ibm-runtime is synchronous (requests), so the emulator runs on its own event loop in
a background thread (``emulator_thread``) and the client is called from the test's thread. The client is pointed
at the emulator the documented ways: ``IAM_URL`` for the token exchange, ``url_resolver=``
for the API, and ``QISKIT_FUNCTIONS_EXPERIMENTAL=1`` to skip IBM Cloud's global catalog.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp
from qiskit.transpiler import generate_preset_pass_manager
from qiskit_ibm_runtime import Batch, EstimatorV2, QiskitRuntimeService, SamplerV2, Session

from qruntime_session.emulator import Emulator, EmulatorConfig, emulator_thread

pytestmark = [
    pytest.mark.filterwarnings("ignore:The SamplerV2 class is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The EstimatorV2 class is deprecated:DeprecationWarning"),
]


def _service(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> QiskitRuntimeService:
    monkeypatch.setenv("IAM_URL", emu.iam_url)
    monkeypatch.setenv("QISKIT_FUNCTIONS_EXPERIMENTAL", "1")
    api = f"{emu.base_url}/v1"
    return QiskitRuntimeService(
        channel="ibm_quantum_platform",
        token=emu.api_key,
        instance=emu.service_crn,
        url=emu.origin,
        url_resolver=lambda _url, _instance, _private, _channel: api,
    )


@pytest.fixture
def served(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """A threaded emulator; ``@pytest.mark.parametrize("served", [config], indirect=True)``."""
    config = getattr(request, "param", None) or EmulatorConfig()
    with emulator_thread(config) as emu:
        yield emu


def _bell(measure: bool) -> QuantumCircuit:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    if measure:
        circuit.measure_all()
    return circuit


def test_session_sampler_and_estimator(served: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """service.backend, a preset pass manager, Session, SamplerV2 (mostly 00/11), EstimatorV2."""
    emu = served
    service = _service(emu, monkeypatch)
    backend = service.backend("ibm_fez")
    assert backend.num_qubits == 156
    manager = generate_preset_pass_manager(optimization_level=1, backend=backend)
    isa = manager.run(_bell(measure=True))
    assert isa.num_qubits == 156
    with Session(backend=backend) as session:
        counts = SamplerV2(mode=session).run([isa], shots=500).result()[0].data.meas.get_counts()
        # Noise from ibm_fez's served calibration data: mostly 00 and 11, a few 01/10.
        assert counts.get("00", 0) + counts.get("11", 0) >= 0.85 * 500
        assert sum(counts.values()) == 500
        isa_state = manager.run(_bell(measure=False))
        observable = SparsePauliOp("ZZ").apply_layout(isa_state.layout)
        result = EstimatorV2(mode=session).run([(isa_state, observable)]).result()
        assert float(result[0].data.evs) == pytest.approx(1.0, abs=0.05)
        session_id = session.session_id
    jobs = emu.call_from_thread(lambda: [emu.job(job_id) for job_id in emu.job_ids])
    assert [job["program"]["id"] for job in jobs] == ["sampler", "estimator"]
    assert all(job["session_id"] == session_id for job in jobs)
    created = emu.call_from_thread(emu.requests_for, "create_job")
    assert created[0].body["log_level"] == "WARNING"
    assert created[0].body["params"]["support_qiskit"] is True
    assert emu.call_from_thread(emu.session, session_id)["mode"] == "dedicated"
    operations = {record.operation for record in emu.call_from_thread(lambda: emu.requests)}
    assert {
        "iam_token",
        "list_backends",
        "get_backend_configuration",
        "get_backend_properties",
        "get_backend_status",
        "get_usage",
    } <= operations


@pytest.mark.parametrize("served", [EmulatorConfig(queue_seconds=None)], indirect=True)
def test_batch_job_cancel_and_session_cancel(
    served: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batch mode, job.cancel() on a queued job, then session.cancel() closes the batch."""
    emu = served
    service = _service(emu, monkeypatch)
    backend = service.backend("ibm_kingston")
    isa = generate_preset_pass_manager(optimization_level=1, backend=backend).run(
        _bell(measure=True)
    )
    batch = Batch(backend=backend)
    try:
        job = SamplerV2(mode=batch).run([isa], shots=10)
        job.cancel()
        assert job.status() == "CANCELLED"
        assert emu.call_from_thread(emu.job, job.job_id())["status"] == "Cancelled"
        batch.cancel()
        state = emu.call_from_thread(emu.session, batch.session_id)
        assert state["mode"] == "batch"
        assert state["state"] == "closed"
        assert state["accepting_jobs"] is False
    finally:
        batch.close()
