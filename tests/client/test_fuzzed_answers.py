"""Hypothesis-fuzzed server answers for every client operation (issue 8).

Each example answers every request of one operation with the same fuzzed status, headers and
body (JSON built from the API's field names, random bytes, JSON nested 20,000 deep, numbers
beyond the float range). The operation must end, within a bound, in success or in an error
of the package's tree: never a foreign exception, never a hang. 12 operations x 170
examples = 2,040 examples.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aioresponses import CallbackResult, aioresponses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qruntime_session as qrs
from qruntime_session import errors

BASE = "https://quantum.cloud.ibm.com/api"
IAM = "https://iam.example.test"
TOKEN = "tok-SECRET-fuzz-8d2c"
API_KEY = "apikey-SECRET-fuzz-41aa"
CRN = "crn:v1:bluemix:public:quantum-computing:us-east:a/acct123:inst456::"
EXAMPLES = 170
ANY_URL = re.compile(r"^https://.*$")
KEYS = [
    "id", "status", "state", "jobs", "count", "errors", "trace", "code", "message", "params",
    "tags", "session_id", "backend", "program", "timestamps", "usage", "access_token",
    "expiration", "expires_in", "reason_code", "created", "mode", "backend_name", "limit",
]  # fmt: skip

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.sampled_from(["Queued", "Running", "Completed", "Failed", "Cancelled", "job-1", "s1"])
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=6)
    ),
    max_leaves=25,
)
bodies = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=80),
    st.just(b"[" * 20_000 + b"]" * 20_000),
    st.just(b'{"id": "job-1", "jobs": [], "estimated_running_time_seconds": 1' + b"0" * 400 + b"}"),
    st.just(b'{"access_token": "iam-fuzz", "expiration": 1' + b"0" * 400 + b"}"),
    st.just(b'{"id": "'),
)
statuses = st.sampled_from(
    [200, 200, 200, 201, 202, 204, 299, 302, 400, 401, 403, 404, 409, 429, 500, 502, 503, 504]
)
headers = st.fixed_dictionaries(
    {},
    optional={
        "Retry-After": st.sampled_from(["0", "1", "-5", "1e400", "soon", "Wed, 21 Oct 2015"]),
        "Content-Type": st.sampled_from(["application/json", "text/plain", "text/html"]),
    },
)

Operation = Callable[[qrs.RuntimeClient], Awaitable[Any]]


async def op_create(client: qrs.RuntimeClient) -> None:
    async with client.session("ibm_fez", "batch"):
        pass


async def op_submit(client: qrs.RuntimeClient) -> None:
    session = qrs.Session.attach("s1", client=client, backend="ibm_fez")
    session.id, session._status = "s1", type(session._status).OPEN  # entered without a request
    await session.submit_job("sampler", {"pubs": []})


async def op_close(client: qrs.RuntimeClient) -> None:
    session = qrs.Session.attach("s1", client=client, backend="ibm_fez")
    session.id, session._status = "s1", type(session._status).OPEN
    await session.close()


async def op_details(client: qrs.RuntimeClient) -> None:
    session = qrs.Session.attach("s1", client=client)
    session._warn_on_del = False  # left open on purpose: only the read is under test
    await session.__aenter__()


async def op_drain(client: qrs.RuntimeClient) -> None:
    session = qrs.Session.attach("s1", client=client, backend="ibm_fez")
    session.id, session._status = "s1", type(session._status).OPEN
    await session.stop_accepting_jobs()


OPERATIONS: dict[str, Operation] = {
    "create_session": op_create,
    "submit_job": op_submit,
    "close_session": op_close,
    "session_details": op_details,
    "drain_session": op_drain,
    "job_info": lambda c: c.job("job-1").info(),
    "job_wait": lambda c: c.job("job-1").wait(timeout=0.05),
    "job_result": lambda c: c.job("job-1").result(timeout=0.05),
    "job_cancel": lambda c: c.job("job-1").cancel(),
    "job_logs": lambda c: c.job("job-1").logs(),
    "job_metrics": lambda c: c.job("job-1").metrics(),
    "list_jobs": lambda c: c.list_jobs(),
}


async def no_sleep(delay: float) -> None:
    await asyncio.sleep(0)


async def run_once(name: str, status: int, body: bytes, head: dict[str, str], key: bool) -> None:
    def answer(url: Any, **kwargs: Any) -> CallbackResult:
        return CallbackResult(status=status, body=body, headers=head)

    with aioresponses() as mocked:
        for method in ("GET", "POST", "PATCH", "DELETE"):
            mocked.add(ANY_URL, method=method, callback=answer, repeat=True)
        credentials: dict[str, Any] = (
            {"api_key": API_KEY, "iam_url": IAM} if key else {"access_token": TOKEN}
        )
        client = qrs.RuntimeClient(
            base_url=BASE,
            service_crn=CRN,
            timeouts=qrs.Timeouts(settle=0.05, close=1.0),
            retry=qrs.RetryPolicy(max_attempts=2),
            poll=qrs.PollPolicy(initial=0.0, max_interval=0.0),
            sleep=no_sleep,
            submission_tags=True,
            **credentials,
        )
        try:
            async with asyncio.timeout(10):  # the bound: a hang fails the example
                await OPERATIONS[name](client)
        except errors.QRuntimeError as exc:
            text = str(exc) + repr(exc)
            assert TOKEN not in text
            assert API_KEY not in text
        finally:
            client._open_sessions.clear()  # the fuzzed service may never close anything
            await client.aclose()


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_fuzzed_answers_end_in_success_or_a_package_error(name: str) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(status=statuses, body=bodies, head=headers, key=st.booleans())
    def check(status: int, body: bytes, head: dict[str, str], key: bool) -> None:
        asyncio.run(run_once(name, status, body, head, key))

    check()
