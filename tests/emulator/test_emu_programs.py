"""The ``executor`` and ``noise-learner`` programs: bodies as the official client sends them,
results checked with IBM's own models and the official client's decoders (test-only)."""

from __future__ import annotations

import json

import numpy as np
from ibm_quantum_schemas.executor.version_2_0.models import QuantumProgramResultModel
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit_ibm_runtime import QuantumProgram, RuntimeEncoder
from qiskit_ibm_runtime.decoders.noise_learner import NoiseLearnerResultDecoder
from qiskit_ibm_runtime.options_models.executor import ExecutorOptions
from qiskit_ibm_runtime.quantum_program.params_converters import (
    QUANTUM_PROGRAM_PARAMS_CONVERTERS,
)

from qruntime_session.emulator._executor import decode_tensor
from qruntime_session.emulator._noise_learner import DEFAULT_OPTIONS

from .emu_support import Client


def _bell(theta: Parameter) -> QuantumCircuit:
    circuit = QuantumCircuit(4, 2)
    circuit.rz(theta, 2)
    circuit.sx(2)
    circuit.cz(2, 3)
    circuit.sx(3)
    circuit.measure([2, 3], [0, 1])
    return circuit


async def _result(api: Client, program_id: str, params: dict[str, object]) -> str:
    created = await api.create_job(program_id=program_id, backend="ibm_fez", params=params)
    reply = await api.call("GET", f"/v1/jobs/{created['id']}/results")
    assert reply.status == 200, reply.text
    return reply.text


async def test_executor_circuit_item(api: Client) -> None:
    """A circuit item: registers shaped item_shape + (shots, bits); IBM's model validates."""
    theta = Parameter("theta")
    program = QuantumProgram(shots=50, passthrough_data={"k": [1, 2]})
    program.append_circuit_item(_bell(theta), circuit_arguments=np.zeros((3, 1)))
    params = QUANTUM_PROGRAM_PARAMS_CONVERTERS["v2.0"].encoder(program, ExecutorOptions())
    text = await _result(api, "executor", params.model_dump(mode="json"))
    model = QuantumProgramResultModel.model_validate_json(text)
    assert model.passthrough_data == {"k": [1, 2]}
    body = json.loads(text)
    bits = decode_tensor(body["data"][0]["results"]["c"])
    assert bits.shape == (3, 50, 2)
    # sx on both qubits around a cz: outcomes vary, so the run was not a constant answer
    assert 0 < bits.mean() < 1
    [chunk] = body["metadata"]["chunk_timing"]
    assert chunk["parts"] == [
        {"idx_item": 0, "size": 3, "permutation": [0], "element_range": [0, 3, 1]}
    ]


async def test_executor_bad_program_answers_500(api: Client) -> None:
    """A program the emulator cannot read fails its result with the reason."""
    created = await api.create_job(
        program_id="executor", backend="ibm_fez", params={"quantum_program": {"shots": 0}}
    )
    reply = await api.call("GET", f"/v1/jobs/{created['id']}/results")
    assert reply.status == 500
    assert "shots" in reply.text


async def test_noise_learner_layers_from_calibration(api: Client) -> None:
    """One LayerError per distinct two-qubit layer, rates from the served gate errors."""
    first = QuantumCircuit(3)
    first.cz(0, 1)
    first.cz(1, 2)
    first.cz(0, 1)
    circuits = json.loads(json.dumps([first], cls=RuntimeEncoder))
    params = {"circuits": circuits, "options": {"max_layers_to_learn": 5}, "version": 2}
    result = NoiseLearnerResultDecoder.decode(await _result(api, "noise-learner", params))
    assert [layer.qubits for layer in result.data] == [[0, 1], [1, 2]]
    for layer in result.data:
        assert layer.circuit.num_qubits == 2
        assert layer.error.num_qubits == 2
        assert len(layer.error.generators) == 15
        assert all(0 < rate < 0.01 for rate in layer.error.rates)
    assert result.metadata["backend"] == "ibm_fez"
    assert result.metadata["input_options"] == {**DEFAULT_OPTIONS, "max_layers_to_learn": 5}
    params["options"] = {"max_layers_to_learn": 0}
    empty = NoiseLearnerResultDecoder.decode(await _result(api, "noise-learner", params))
    assert empty.data == []


async def test_noise_learner_v3(api: Client) -> None:
    """v3 inputs (boxed instructions): lindblad for gate boxes, trex for measurement boxes."""
    from ibm_quantum_schemas.noise_learner_v3.version_0_3 import NoiseLearnerV3ResultsModel
    from qiskit.transpiler import generate_preset_pass_manager
    from qiskit_ibm_runtime.fake_provider import FakeFez
    from qiskit_ibm_runtime.noise_learner_v3.converters.version_0_3 import (
        noise_learner_v3_inputs_to_0_3,
    )
    from qiskit_ibm_runtime.options_models.noise_learner_v3 import NoiseLearnerV3Options
    from samplomatic.transpiler import generate_boxing_pass_manager
    from samplomatic.utils import find_unique_box_instructions

    manager = generate_preset_pass_manager(backend=FakeFez(), optimization_level=0)
    manager.post_scheduling = generate_boxing_pass_manager(
        enable_gates=True, enable_measures=True, inject_noise_site="after"
    )
    circuit = QuantumCircuit(3)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.cx(1, 2)
    circuit.measure_all()
    instructions = find_unique_box_instructions(manager.run(circuit))
    model = noise_learner_v3_inputs_to_0_3(instructions, NoiseLearnerV3Options())
    text = await _result(api, "noise-learner", json.loads(model.model_dump_json()))
    result = NoiseLearnerV3ResultsModel.model_validate_json(text)
    protocols = [datum.metadata.learning_protocol for datum in result.data]
    assert protocols == ["lindblad", "lindblad", "trex"]
    trex = result.data[-1]
    assert len(trex.generators_sparse) == trex.num_qubits
    assert all(0 < rate < 0.1 for rate in trex.rates.to_numpy())
