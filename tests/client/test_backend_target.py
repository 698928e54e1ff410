"""A backend's qiskit Target, built from its configuration and properties (the qiskit extra),
and qubit counts named as qiskit names them."""

from __future__ import annotations

import pytest
from qiskit import QuantumCircuit
from qiskit.transpiler import generate_preset_pass_manager

import qruntime_session as qrs
from qruntime_session import errors


async def test_target_transpiles_to_isa_circuits(runtime_client: qrs.RuntimeClient) -> None:
    """generate_preset_pass_manager(target=...) gives circuits that use only the backend's
    instructions on its qubits and couplings, with the properties' errors and durations."""
    target = await runtime_client.backend_target("ibm_fez")
    config = await runtime_client.backend("ibm_fez")
    assert target.num_qubits == config.num_qubits == config.n_qubits
    assert {"cz", "rz", "sx", "x", "measure", "delay"} <= set(target.operation_names)
    assert target["cz"][(0, 1)].error is not None
    assert target["measure"][(0,)].error is not None
    assert target.qubit_properties[0].t1 > 1e-6  # microseconds converted to seconds
    circuit = QuantumCircuit(3)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.cx(0, 2)
    circuit.measure_all()
    isa = generate_preset_pass_manager(optimization_level=1, target=target).run(circuit)
    coupling = {tuple(edge) for edge in config.coupling_map}
    for instruction in isa.data:
        name = instruction.operation.name
        qubits = tuple(isa.find_bit(q).index for q in instruction.qubits)
        if name == "barrier":
            continue
        assert target.instruction_supported(name, qubits), (name, qubits)
        if len(qubits) == 2:
            assert qubits in coupling


async def test_least_busy_and_backends_name_the_qubit_count(
    runtime_client: qrs.RuntimeClient,
) -> None:
    best = await runtime_client.least_busy(min_qubits=2)
    assert best is not None
    config = await runtime_client.backend(best.name)
    assert best.num_qubits == config.num_qubits
    listed = await runtime_client.backends(status=False)
    assert all(info.num_qubits for info in listed)


def test_to_target_needs_a_qubit_count() -> None:
    bare = qrs.BackendConfiguration(name="x")
    with pytest.raises(errors.InvalidInputError, match="qubit count"):
        bare.to_target()
