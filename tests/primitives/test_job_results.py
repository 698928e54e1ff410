"""Job.result() / result_json() at the wire (aioresponses): GET /v1/jobs/{id} then /results."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest
from aioresponses import aioresponses
from qiskit.primitives.containers import BitArray, DataBin, PrimitiveResult, SamplerPubResult
from qiskit_ibm_runtime import RuntimeEncoder

import qruntime_session as qrs
from qruntime_session import errors, primitives

BASE = "https://quantum.cloud.ibm.com/api"
INFO = re.compile(rf"^{re.escape(BASE)}/v1/jobs/job-7\?.*$")
RESULTS = f"{BASE}/v1/jobs/job-7/results"
PLAIN = {"results": [{"data": {"meas": {"samples": ["0x1", "0x1", "0x2"], "num_bits": 2}}}]}


def info(program: str) -> dict[str, Any]:
    return {
        "id": "job-7",
        "status": "Completed",
        "state": {"status": "Completed"},
        "program": {"id": program},
        "session_id": "sess-3",
        "backend": "ibm_fez",
    }


@pytest.fixture
async def client() -> AsyncIterator[qrs.RuntimeClient]:
    async with qrs.RuntimeClient(base_url=BASE, access_token="tok", service_crn="crn:v1:x") as c:
        yield c


async def test_program_id_is_learnt_from_job_info(client: qrs.RuntimeClient) -> None:
    """client.job(id) knows nothing; the job's info says sampler, so result() is typed."""
    with aioresponses() as m:
        m.get(INFO, payload=info("sampler"), repeat=True)
        m.get(RESULTS, payload=PLAIN, repeat=True)
        job = client.job("job-7")
        result = await job.result()
        assert isinstance(result, primitives.PrimitiveResult)
        assert result[0].data.meas.get_counts() == {"01": 2, "10": 1}
        assert job.program_id == "sampler"
        assert await job.result_json() == PLAIN


async def test_qiskit_encoded_body_through_the_job(client: qrs.RuntimeClient) -> None:
    bits = BitArray(np.array([[3], [0]], dtype=np.uint8), 2)
    body = json.loads(
        json.dumps(PrimitiveResult([SamplerPubResult(DataBin(meas=bits))]), cls=RuntimeEncoder)
    )
    with aioresponses() as m:
        m.get(INFO, payload=info("sampler"), repeat=True)
        m.get(RESULTS, payload=body)
        result = await client.job("job-7").result()
    assert result[0].data.meas.get_counts() == {"11": 1, "00": 1}


async def test_other_programs_get_the_json(client: qrs.RuntimeClient) -> None:
    with aioresponses() as m:
        m.get(INFO, payload=info("circuit-runner"), repeat=True)
        m.get(RESULTS, payload={"anything": [1, 2]})
        assert await client.job("job-7").result() == {"anything": [1, 2]}


async def test_malformed_result_names_the_job_and_session(client: qrs.RuntimeClient) -> None:
    with aioresponses() as m:
        m.get(INFO, payload=info("estimator"), repeat=True)
        m.get(RESULTS, payload={"unexpected": True}, repeat=True)
        job = client.job("job-7")
        with pytest.raises(errors.ResultDecodeError) as caught:
            await job.result()
        assert caught.value.job_id == "job-7"
        assert caught.value.session_id == "sess-3"
        assert await job.result_json() == {"unexpected": True}


async def test_absurdly_deep_json_is_a_typed_error(client: qrs.RuntimeClient) -> None:
    with aioresponses() as m:
        m.get(INFO, payload=info("sampler"), repeat=True)
        m.get(RESULTS, body="[" * 20_000 + "]" * 20_000, content_type="application/json")
        with pytest.raises(errors.ResultDecodeError) as caught:
            await client.job("job-7").result()
    assert caught.value.job_id == "job-7"
