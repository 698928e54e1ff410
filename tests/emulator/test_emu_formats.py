"""IBM's two result formats: plain JSON and Qiskit-encoded JSON (decoded by IBM's own client)."""

from __future__ import annotations

import base64
import io
import json
import zlib
from typing import Any

import numpy as np
import pytest
from qiskit import QuantumCircuit, qpy
from qiskit.circuit import ClassicalRegister, Parameter, QuantumRegister
from qiskit.primitives.containers import BitArray, DataBin, PrimitiveResult, SamplerPubResult
from qiskit_ibm_runtime import RuntimeDecoder

from qruntime_session.emulator import EmulatorConfig, ManualClock, run_emulator
from qruntime_session.emulator._npy import decode_ndarray, encode_ndarray, npy_bytes, read_npy
from qruntime_session.emulator._qasm import classical_registers, is_qasm, qubit_count

from .emu_support import Client

BELL = (
    'OPENQASM 3.0; include "stdgates.inc"; bit[2] c; qubit[2] q; '
    # A Bell pair in ibm_fez's basis (cz id rz sx x): h = rz(pi/2) sx rz(pi/2), cx = h cz h.
    "rz(pi/2) q[0]; sx q[0]; rz(pi/2) q[0]; rz(pi/2) q[1]; sx q[1]; rz(pi/2) q[1]; "
    "cz q[0], q[1]; rz(pi/2) q[1]; sx q[1]; rz(pi/2) q[1]; c = measure q;"
)


async def _result(api: Client, program_id: str, params: dict[str, Any]) -> str:
    created = await api.create_job(program_id=program_id, params=params)
    reply = await api.call("GET", f"/v1/jobs/{created['id']}/results")
    assert reply.status == 200, reply.text
    return reply.text


def _qpy_envelope(circuit: QuantumCircuit) -> dict[str, str]:
    buffer = io.BytesIO()
    qpy.dump(circuit, buffer, version=17)
    packed = base64.b64encode(zlib.compress(buffer.getvalue())).decode()
    return {"__type__": "QuantumCircuit", "__value__": packed}


def test_npy_bytes_are_numpys_own_format() -> None:
    """The pure-Python .npy writer produces what numpy.load reads, and reads numpy.save's."""
    data = bytes(range(12))
    loaded = np.load(io.BytesIO(npy_bytes("|u1", (2, 3, 2), data)))
    assert loaded.dtype == np.uint8
    assert loaded.shape == (2, 3, 2)
    assert loaded.tobytes() == data
    buffer = io.BytesIO()
    np.save(buffer, np.array([[1.5, -2.0], [0.25, 3.0]]))
    parsed = read_npy(buffer.getvalue())
    assert (parsed.descr, parsed.shape) == ("<f8", (2, 2))
    assert parsed.tolist() == [[1.5, -2.0], [0.25, 3.0]]
    envelope = encode_ndarray("<f8", (), np.float64(0.5).tobytes())
    assert decode_ndarray(envelope["__value__"]) == 0.5
    with pytest.raises(ValueError, match="do not fill"):
        npy_bytes("|u1", (3,), b"\x00")


def test_qasm_registers_are_read_in_declaration_order() -> None:
    """OpenQASM 2 and 3 register declarations, comments ignored, physical qubits counted."""
    text = "OPENQASM 3.0; // bit[9] nope;\nbit[2] a; output bit b; /* bit[4] x; */ qubit[3] q;"
    assert is_qasm(text)
    assert classical_registers(text) == [("a", 2), ("b", 1)]
    assert qubit_count(text) == 3
    two = "OPENQASM 2.0; qreg q[5]; creg meas[5]; creg extra[1];"
    assert classical_registers(two) == [("meas", 5), ("extra", 1)]
    assert qubit_count("OPENQASM 3.0; bit[1] c; c[0] = measure $7;") == 8
    assert not is_qasm("eJwL9Az29gwRZGJjYoA")


async def test_plain_json_sampler_format(api: Client) -> None:
    """support_qiskit false: hex samples, num_bits, one member per register; counts derivable."""
    body = json.loads(
        await _result(
            api, "sampler", {"pubs": [[BELL, None, 300]], "version": 2, "support_qiskit": False}
        )
    )
    assert set(body) == {"results", "metadata"}
    [pub] = body["results"]
    assert set(pub["data"]) == {"c"}
    samples = pub["data"]["c"]["samples"]
    assert len(samples) == 300
    assert pub["data"]["c"]["num_bits"] == 2
    assert set(samples) <= {"0x0", "0x3"}
    assert body["metadata"]["qruntime_emulator"] == {"results": "simulated"}


async def test_absent_flag_means_plain_json(api: Client) -> None:
    """Without support_qiskit the answer is plain JSON (the documented default)."""
    body = json.loads(await _result(api, "sampler", {"pubs": [[BELL, None, 8]], "version": 2}))
    assert "results" in body
    assert "__type__" not in body


async def test_qiskit_format_decodes_with_ibms_decoder(api: Client) -> None:
    """support_qiskit true: qiskit-ibm-runtime's RuntimeDecoder gives qiskit's PrimitiveResult."""
    text = await _result(
        api, "sampler", {"pubs": [[BELL, None, 200]], "version": 2, "support_qiskit": True}
    )
    result = json.loads(text, cls=RuntimeDecoder)
    assert isinstance(result, PrimitiveResult)
    assert isinstance(result[0], SamplerPubResult)
    assert isinstance(result[0].data, DataBin)
    bits = result[0].data.c
    assert isinstance(bits, BitArray)
    assert (bits.num_shots, bits.num_bits, bits.shape) == (200, 2, ())
    counts = bits.get_counts()
    assert set(counts) <= {"00", "11"}
    assert sum(counts.values()) == 200
    spans = result.metadata["execution"]["execution_spans"]
    assert len(spans) == 1
    assert spans[0].size == 200
    assert result.metadata["version"] == 2


async def test_qpy_circuits_registers_and_parameter_sweeps(api: Client) -> None:
    """QPY (envelope and plain base64) circuits name the registers; sweeps shape the data."""
    theta = Parameter("theta")
    circuit = QuantumCircuit(QuantumRegister(9, "q"), ClassicalRegister(9, "wide"))
    circuit.add_register(ClassicalRegister(1, "flag"))
    # rx(theta) in the device's basis: h rz(theta) h, with h = rz(pi/2) sx rz(pi/2).
    for gate in ("h", "rz", "h"):
        if gate == "rz":
            circuit.rz(theta, 0)
        else:
            circuit.rz(np.pi / 2, 0)
            circuit.sx(0)
            circuit.rz(np.pi / 2, 0)
    circuit.measure(range(9), range(9))
    circuit.measure(0, 9)
    buffer = io.BytesIO()
    qpy.dump(circuit, buffer, version=17)
    plain = base64.b64encode(buffer.getvalue()).decode()
    sweep = [[0.0], [np.pi], [0.0]]
    params = {
        "pubs": [[_qpy_envelope(circuit), sweep, 50], [plain, [np.pi], 10]],
        "version": 2,
        "support_qiskit": True,
    }
    result = json.loads(await _result(api, "sampler", params), cls=RuntimeDecoder)
    first = result[0].data
    assert first.wide.shape == (3,)
    assert first.wide.num_bits == 9
    assert first.flag.num_bits == 1
    assert first.wide.get_counts(loc=0) == {"000000000": 50}
    assert first.wide.get_counts(loc=1) == {"000000001": 50}
    assert result[1].data.flag.get_counts() == {"1": 10}
    plain_body = json.loads(await _result(api, "sampler", {**params, "support_qiskit": False}))
    wide = plain_body["results"][0]["data"]["wide"]
    assert len(wide["samples"]) == 3
    assert wide["samples"][1] == ["0x1"] * 50
    assert wide["num_bits"] == 9


async def test_estimator_formats(api: Client) -> None:
    """Estimator: evs/stds/ensemble_standard_error shaped like the observables, both formats."""
    circuit = (
        'OPENQASM 3.0; include "stdgates.inc"; qubit[2] q; rz(pi/2) q[0]; sx q[0]; '
        "rz(pi/2) q[0]; rz(pi/2) q[1]; sx q[1]; rz(pi/2) q[1]; cz q[0], q[1]; "
        "rz(pi/2) q[1]; sx q[1]; rz(pi/2) q[1];"
    )
    pubs = [[circuit, [["ZZ", "XX"], ["ZI", {"ZZ": 0.5, "II": 1}]]]]
    plain = json.loads(await _result(api, "estimator", {"pubs": pubs, "version": 2}))
    data = plain["results"][0]["data"]
    assert data["evs"][0] == [1.0, 1.0]
    assert data["evs"][1][1] == 1.5
    assert data["stds"][0] == [0.0, 0.0]
    assert set(data) == {"evs", "stds", "ensemble_standard_error"}
    decoded = json.loads(
        await _result(api, "estimator", {"pubs": pubs, "version": 2, "support_qiskit": True}),
        cls=RuntimeDecoder,
    )
    evs = decoded[0].data.evs
    assert evs.shape == (2, 2)
    assert evs[0, 0] == 1.0
    assert abs(evs[1, 0]) < 0.1
    assert decoded[0].metadata["target_precision"] == 0.015625


async def test_plausible_results_without_simulation(clock: ManualClock) -> None:
    """simulate=False: made-up numbers in the same formats, marked plausible."""
    import aiohttp

    async with (
        run_emulator(EmulatorConfig(clock=clock, simulate=False)) as emu,
        aiohttp.ClientSession() as http,
    ):
        api = Client(http, emu)
        params = {"pubs": [[BELL, None, 100]], "version": 2, "support_qiskit": True}
        result = json.loads(await _result(api, "sampler", params), cls=RuntimeDecoder)
        assert result.metadata["qruntime_emulator"] == {"results": "plausible"}
        assert sum(result[0].data.c.get_counts().values()) == 100
        plain = json.loads(await _result(api, "sampler", {**params, "support_qiskit": False}))
        assert plain["metadata"]["qruntime_emulator"] == {"results": "plausible"}
        assert len(plain["results"][0]["data"]["c"]["samples"]) == 100
        estimator = json.loads(
            await _result(api, "estimator", {"pubs": [[BELL, ["ZZ", "XX"]]], "version": 2})
        )
        assert len(estimator["results"][0]["data"]["evs"]) == 2
