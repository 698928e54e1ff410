"""run_sampler / run_estimator: V2 params built from pubs, checked before anything is sent."""

from __future__ import annotations

import base64
import io
import json
import re
import zlib
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest
from aioresponses import CallbackResult, aioresponses
from qiskit import QuantumCircuit, qpy
from qiskit.circuit import Parameter
from qiskit.quantum_info import SparsePauliOp

import qruntime_session as qrs
from qruntime_session import errors
from qruntime_session.primitives import estimator_params, sampler_params

BASE = "https://quantum.cloud.ibm.com/api"
BELL = """OPENQASM 3.0;
include "stdgates.inc";
bit[2] meas;
qubit[2] q;
h q[0];
cx q[0], q[1];
meas[0] = measure q[0];
meas[1] = measure q[1];
"""
SWEEP = """OPENQASM 3.0;
include "stdgates.inc";
input float[64] theta;
input float[64] phi;
bit[1] c;
qubit[1] q;
rx(theta) q[0];
rz(phi) q[0];
c[0] = measure q[0];
"""


def unwrap(envelope: Any) -> Any:
    """The nested lists of an ``ndarray`` envelope (base64 of zlib-compressed .npy)."""
    assert envelope["__type__"] == "ndarray"
    raw = zlib.decompress(base64.b64decode(envelope["__value__"]))
    return np.load(io.BytesIO(raw), allow_pickle=False).tolist()


def readable(pubs: list[list[Any]]) -> list[list[Any]]:
    return [
        [unwrap(x) if isinstance(x, dict) and x.get("__type__") == "ndarray" else x for x in pub]
        for pub in pubs
    ]


def test_sampler_params_are_canonical() -> None:
    """Every pub is [circuit, ndarray envelope, shots]; job-wide shots fold into the pubs."""
    params = sampler_params([BELL, (SWEEP, [[0.1, 0.2], [0.3, 0.4]]), (BELL, None, 100)], shots=64)
    assert readable(params["pubs"]) == [
        [BELL, [], 64],
        [SWEEP, [[0.1, 0.2], [0.3, 0.4]], 64],
        [BELL, [], 100],
    ]
    assert params.keys() == {"pubs", "version", "support_qiskit"}
    with_options = sampler_params([BELL], options={"default_shots": 10}, support_qiskit=True)
    assert with_options["options"] == {"default_shots": 10}
    assert with_options["support_qiskit"] is True
    assert with_options["pubs"][0][2] == 10
    assert sampler_params([BELL])["pubs"][0][2] == 4096


def test_parameter_values_from_numpy_arrays() -> None:
    values = np.linspace(0, 1, 6).reshape(3, 2)
    params = sampler_params([(SWEEP, values)])
    assert unwrap(params["pubs"][0][1]) == values.tolist()


def test_estimator_params_shape() -> None:
    params = estimator_params(
        [
            (BELL, "ZZ"),
            (BELL, ["ZZ", {"XX": 0.5, "YY": -0.5}]),
            (SWEEP, ["Z", "X"], [[[0.1, 0.2]], [[0.3, 0.4]], [[0.5, 0.6]]], 0.01),
        ],
        precision=0.02,
    )
    assert readable(params["pubs"]) == [
        [BELL, {"ZZ": 1.0}, [], 0.02],
        [BELL, [{"ZZ": 1.0}, {"XX": 0.5, "YY": -0.5}], [], 0.02],
        [SWEEP, [{"Z": 1.0}, {"X": 1.0}], [[[0.1, 0.2]], [[0.3, 0.4]], [[0.5, 0.6]]], 0.01],
    ]
    with pytest.raises(errors.InvalidInputError, match="flat list"):
        estimator_params([(SWEEP, [["Z"], ["X"]], [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])])
    assert "precision" not in params
    assert params["version"] == 2
    assert estimator_params([(BELL, "ZZ")])["pubs"][0][3] is None


def test_qiskit_circuit_is_sent_as_capped_qpy_envelope() -> None:
    """A QuantumCircuit goes out as base64(zlib(QPY)) in the Qiskit envelope, QPY version <= 17."""
    theta = Parameter("theta")
    circuit = QuantumCircuit(2, 2)
    circuit.rx(theta, 0)
    circuit.cx(0, 1)
    circuit.measure([0, 1], [0, 1])
    params = sampler_params([(circuit, [[0.5]])])
    envelope = params["pubs"][0][0]
    assert envelope["__type__"] == "QuantumCircuit"
    raw = zlib.decompress(base64.b64decode(envelope["__value__"]))
    assert raw[:6] == b"QISKIT"
    assert raw[6] <= 17
    (loaded,) = qpy.load(io.BytesIO(raw))
    assert loaded == circuit
    json.dumps(params)  # JSON-serialisable as sent
    with pytest.raises(errors.InvalidInputError, match="1 parameter"):
        sampler_params([(circuit, [[0.5, 0.6]])])


def test_sparse_pauli_op_observable() -> None:
    op = SparsePauliOp.from_list([("ZZ", 1.0), ("XX", 0.5)])
    params = estimator_params([(BELL, op)])
    assert params["pubs"][0][1] == {"ZZ": 1.0, "XX": 0.5}
    with pytest.raises(errors.InvalidInputError, match="complex"):
        estimator_params([(BELL, SparsePauliOp.from_list([("ZZ", 1j)]))])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: sampler_params(BELL), "list of sampler pubs"),
        (lambda: sampler_params([]), "empty"),
        (lambda: sampler_params([42]), "pub is a circuit"),
        (lambda: sampler_params([""]), "empty string"),
        (lambda: sampler_params([(BELL, None, 0)]), "positive integer"),
        (lambda: sampler_params([(BELL, None, True)]), "positive integer"),
        (lambda: sampler_params([BELL], shots=-1), "positive integer"),
        (lambda: sampler_params([(BELL, None, 1, "x")]), "1 to 3"),
        (lambda: sampler_params([SWEEP]), "2 parameter"),
        (lambda: sampler_params([(SWEEP, [[0.1]])]), "2 parameter"),
        (lambda: sampler_params([(SWEEP, [[0.1, 0.2], [0.3]])]), "ragged"),
        (lambda: sampler_params([(SWEEP, [[0.1, "a"]])]), "real number"),
        (lambda: sampler_params([(SWEEP, [[0.1, float("nan")]])]), "JSON"),
        (lambda: sampler_params([(BELL, [[0.1]])]), "0 parameter"),
        (lambda: sampler_params([BELL], options={"x": object()}), "JSON"),
        (lambda: estimator_params([BELL]), "observables"),
        (lambda: estimator_params([(BELL, "ZA")]), "I, X, Y and Z"),
        (lambda: estimator_params([(BELL, "zz")]), "I, X, Y and Z"),
        (lambda: estimator_params([(BELL, "ZZZ")]), "expected 2"),
        (lambda: estimator_params([(BELL, ["ZZ", ["ZZ"]])]), "ragged"),
        (lambda: estimator_params([(BELL, [])]), "empty"),
        (lambda: estimator_params([(BELL, {"ZZ": "1"})]), "real number"),
        (lambda: estimator_params([(BELL, {})]), "at least one"),
        (lambda: estimator_params([(BELL, 5)]), "Pauli string"),
        (lambda: estimator_params([(BELL, "ZZ")], precision=0), "positive number"),
        (lambda: estimator_params([(BELL, "ZZ", None, -0.1)]), "positive number"),
        (
            lambda: estimator_params([(SWEEP, ["Z", "X"], [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])]),
            "broadcast",
        ),
    ],
)
def test_bad_pubs_are_rejected(call: Any, message: str) -> None:
    with pytest.raises(errors.InvalidInputError, match=message):
        call()


def test_deeply_nested_values_are_rejected_without_recursion() -> None:
    deep: Any = [0.1]
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(errors.InvalidInputError, match="nested"):
        sampler_params([(SWEEP, deep)])
    cyclic: dict[str, Any] = {}
    cyclic["again"] = cyclic
    with pytest.raises(errors.InvalidInputError, match="nested"):
        sampler_params([BELL], options=cyclic)
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(errors.InvalidInputError, match="nested"):
        estimator_params([(BELL, loop)])


# -- through a session, at the wire ----------------------------------------------------------


@pytest.fixture
async def client() -> AsyncIterator[qrs.RuntimeClient]:
    async with qrs.RuntimeClient(base_url=BASE, access_token="tok", service_crn="crn:v1:x") as c:
        yield c


async def test_run_sampler_submits_through_submit_job(client: qrs.RuntimeClient) -> None:
    """The job POST carries the seed's body with the built params; result() is typed."""
    sent: list[Any] = []

    def record(url: Any, **kwargs: Any) -> CallbackResult:
        sent.append(json.loads(kwargs["data"]))
        return CallbackResult(status=200, payload={"id": "job-1"})

    with aioresponses() as m:
        m.post(f"{BASE}/v1/sessions", payload={"id": "sess-1", "state": "open"})
        m.post(f"{BASE}/v1/jobs", callback=record)
        m.post(f"{BASE}/v1/jobs", callback=record)
        m.get(
            re.compile(rf"^{re.escape(BASE)}/v1/jobs/job-1\?.*$"),
            payload={"id": "job-1", "status": "Completed", "state": {"status": "Completed"}},
        )
        m.get(
            f"{BASE}/v1/jobs/job-1/results",
            payload={"results": [{"data": {"meas": {"samples": ["0x0", "0x3"], "num_bits": 2}}}]},
        )
        m.delete(f"{BASE}/v1/sessions/sess-1/close", status=204)
        async with client.session("ibm_fez", "batch") as session:
            job = await session.run_sampler([BELL], shots=2, tags=["t"])
            assert isinstance(job, qrs.primitives.SamplerJob)
            assert isinstance(job, qrs.Job)
            assert session.jobs_submitted == (job,)
            result = await job.result()
            assert result[0].data.meas.get_counts() == {"00": 1, "11": 1}
            estimator_job = await session.run_estimator([(BELL, "ZZ")], precision=0.1)
            assert isinstance(estimator_job, qrs.primitives.EstimatorJob)
    assert sent[0] == {
        "program_id": "sampler",
        "backend": "ibm_fez",
        "session_id": "sess-1",
        "params": sampler_params([BELL], shots=2),
        "tags": ["t"],
    }
    assert sent[0]["params"]["pubs"][0][2] == 2
    assert sent[1]["program_id"] == "estimator"
    assert sent[1]["params"]["pubs"][0][3] == 0.1


async def test_bad_pubs_send_nothing(client: qrs.RuntimeClient) -> None:
    with aioresponses() as m:
        m.post(f"{BASE}/v1/sessions", payload={"id": "sess-1", "state": "open"})
        m.delete(f"{BASE}/v1/sessions/sess-1/close", status=204)
        async with client.session("ibm_fez", "batch") as session:
            with pytest.raises(errors.InvalidInputError):
                await session.run_sampler([(BELL, None, 0)])
            with pytest.raises(errors.InvalidInputError):
                await session.run_estimator([(BELL, "QQ")])
        posted = [key for key in m.requests if key[0] == "POST"]
        assert [str(url) for _, url in posted] == [f"{BASE}/v1/sessions"]


async def test_run_sampler_needs_an_open_session(client: qrs.RuntimeClient) -> None:
    session = client.session("ibm_fez", "batch")
    with pytest.raises(errors.SessionStateError):
        await session.run_sampler([BELL])


def test_numpy_scalars_are_accepted() -> None:
    """numpy integers and floats count as numbers for shots, precision, values and coefficients."""
    params = sampler_params(
        [(SWEEP, [[np.float64(0.1), np.int64(2)]], np.int64(7))], shots=np.int64(5)
    )
    assert readable(params["pubs"])[0][1:] == [[[0.1, 2.0]], 7]
    assert type(params["pubs"][0][2]) is int
    assert type(sampler_params([SWEEP and BELL], shots=np.int64(5))["pubs"][0][2]) is int
    json.dumps(params)
    est = estimator_params([(BELL, {"ZZ": np.float32(0.5)})], precision=np.float64(0.1))
    assert est["pubs"][0][1] == {"ZZ": 0.5}
    assert type(est["pubs"][0][3]) is float
    json.dumps(est)
