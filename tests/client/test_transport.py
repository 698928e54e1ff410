"""Transport at the wire level (aioresponses): retries, error mapping, auth, redaction."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import aiohttp
import pytest
from aioresponses import CallbackResult, aioresponses

import qruntime_session as qrs
from qruntime_session import errors
from tests.conftest import RecordingSleep

BASE = "https://quantum.cloud.ibm.com/api"
IAM = "https://iam.example.test"
TOKEN = "tok-SECRET-0123456789"
API_KEY = "apikey-SECRET-abcdef"
CRN = "crn:v1:bluemix:public:quantum-computing:us-east:a/acct123:inst456::"
JOB_URL = f"{BASE}/v1/jobs/job-1?exclude_params=true"
JOB_INFO = {
    "id": "job-1",
    "status": "Queued",
    "state": {"status": "Queued"},
    "program": {"id": "sampler"},
}


@pytest.fixture
def mocked() -> AsyncIterator[aioresponses]:
    with aioresponses() as m:
        yield m


def make_client(sleep: RecordingSleep, **kwargs: Any) -> qrs.RuntimeClient:
    settings: dict[str, Any] = {
        "base_url": BASE,
        "service_crn": CRN,
        "sleep": sleep,
        "random": lambda: 0.5,
    }
    if "api_key" not in kwargs:
        settings["access_token"] = TOKEN
    settings.update(kwargs)
    return qrs.RuntimeClient(**settings)


def calls(m: aioresponses, method: str, url: str) -> int:
    from yarl import URL

    return len(m.requests.get((method, URL(url)), []))


async def test_get_is_retried_on_retryable_statuses(
    mocked: aioresponses, recording_sleep: RecordingSleep
) -> None:
    """A GET answered 502 then 503 then 200 succeeds on the third attempt after two backoffs."""
    mocked.get(JOB_URL, status=502)
    mocked.get(JOB_URL, status=503)
    mocked.get(JOB_URL, payload=JOB_INFO)
    async with make_client(recording_sleep) as client:
        assert await client.job("job-1").status() is qrs.JobStatus.QUEUED
    assert calls(mocked, "GET", JOB_URL) == 3
    assert len(recording_sleep.calls) == 2
    assert recording_sleep.calls[0] < recording_sleep.calls[1]  # exponential


async def test_retry_after_seconds_is_honoured(
    mocked: aioresponses, recording_sleep: RecordingSleep
) -> None:
    """A 429 with Retry-After: 2 waits exactly 2 s (through the injected sleep) and retries."""
    mocked.get(JOB_URL, status=429, headers={"Retry-After": "2"})
    mocked.get(JOB_URL, payload=JOB_INFO)
    async with make_client(recording_sleep) as client:
        await client.job("job-1").status()
    assert recording_sleep.calls == [2.0]


async def test_retry_after_http_date_is_honoured(
    mocked: aioresponses, recording_sleep: RecordingSleep
) -> None:
    """A Retry-After given as an HTTP date waits until then."""
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    mocked.get(JOB_URL, status=503, headers={"Retry-After": when})
    mocked.get(JOB_URL, payload=JOB_INFO)
    async with make_client(recording_sleep) as client:
        await client.job("job-1").status()
    assert len(recording_sleep.calls) == 1
    assert 27.0 <= recording_sleep.calls[0] <= 30.0


async def test_retries_are_bounded_and_the_last_error_is_typed(
    mocked: aioresponses, recording_sleep: RecordingSleep
) -> None:
    """After max_attempts a 429 surfaces as RateLimitError carrying retry_after and the IBM code."""
    body = {"trace": "t-429", "errors": [{"code": "1202", "message": "limit is 5 per minute"}]}
    mocked.get(JOB_URL, status=429, headers={"Retry-After": "1"}, payload=body, repeat=True)
    async with make_client(recording_sleep, retry=qrs.RetryPolicy(max_attempts=3)) as client:
        with pytest.raises(errors.RateLimitError) as info:
            await client.job("job-1").status()
    assert calls(mocked, "GET", JOB_URL) == 3
    err = info.value
    assert (err.status, err.code, err.trace_id, err.retry_after) == (429, "1202", "t-429", 1.0)
    assert err.job_id == "job-1"


async def test_client_errors_are_not_retried(
    mocked: aioresponses, recording_sleep: RecordingSleep
) -> None:
    """A 404 is raised at once as NotFoundError, with no retry."""
    mocked.get(
        JOB_URL,
        status=404,
        payload={"errors": [{"code": "not_found", "message": "Job not found."}]},
    )
    async with make_client(recording_sleep) as client:
        with pytest.raises(errors.NotFoundError, match="Job not found"):
            await client.job("job-1").status()
    assert recording_sleep.calls == []


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (aiohttp.ServerDisconnectedError(), errors.ConnectionLostError),
        (aiohttp.ClientOSError(104, "Connection reset by peer"), errors.ConnectionLostError),
        (aiohttp.SocketTimeoutError(), errors.RequestTimeoutError),
        (TimeoutError(), errors.RequestTimeoutError),
        (aiohttp.ClientPayloadError("truncated"), errors.ConnectionLostError),
    ],
)
async def test_aiohttp_errors_are_translated(
    mocked: aioresponses,
    recording_sleep: RecordingSleep,
    raised: Exception,
    expected: type[Exception],
) -> None:
    """aiohttp exceptions become the package's transport errors, chained with `from`."""
    mocked.get(JOB_URL, exception=raised, repeat=True)
    async with make_client(recording_sleep, retry=qrs.RetryPolicy.no_retries()) as client:
        with pytest.raises(expected) as info:
            await client.job("job-1").status()
    assert not isinstance(info.value, aiohttp.ClientError)
    assert info.value.__cause__ is raised


async def test_connection_refused_is_a_connect_error_on_a_real_socket() -> None:
    """Connecting to a closed port raises ConnectError, never an aiohttp exception."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleep = RecordingSleep()
    async with make_client(sleep, base_url=f"http://127.0.0.1:{port}/api") as client:
        with pytest.raises(errors.ConnectError):
            await client.job("job-1").status()
    assert len(sleep.calls) == qrs.RetryPolicy().max_attempts - 1  # GET retries connect errors


async def test_job_post_is_retried_on_503_and_429(
    mocked: aioresponses, recording_sleep: RecordingSleep
) -> None:
    """POST /v1/jobs is re-sent when the service refused it (503, 429): nothing was created."""
    sessions = f"{BASE}/v1/sessions"
    mocked.post(sessions, payload={"id": "s1", "state": "open"})
    mocked.post(f"{BASE}/v1/jobs", status=503)
    mocked.post(f"{BASE}/v1/jobs", status=429, headers={"Retry-After": "3"})
    mocked.post(f"{BASE}/v1/jobs", payload={"id": "job-1"})
    mocked.delete(f"{BASE}/v1/sessions/s1/close", status=204)
    async with make_client(recording_sleep) as client, client.session("ibm_fez", "batch") as s:
        job = await s.submit_job("sampler", {})
    assert job.id == "job-1"
    assert calls(mocked, "POST", f"{BASE}/v1/jobs") == 3
    assert recording_sleep.calls[-1] == 3.0


async def test_session_post_is_not_retried_after_an_ambiguous_error(
    mocked: aioresponses, recording_sleep: RecordingSleep
) -> None:
    """POST /v1/sessions after a 500 or a broken connection is not re-sent blindly."""
    mocked.post(f"{BASE}/v1/sessions", status=500, repeat=True)
    async with make_client(recording_sleep) as client:
        with pytest.raises(errors.ServerError):
            async with client.session("ibm_fez", "batch"):
                pass
    assert calls(mocked, "POST", f"{BASE}/v1/sessions") == 1


async def test_ambiguous_job_post_adopts_the_job_that_was_created(
    mocked: aioresponses, recording_sleep: RecordingSleep
) -> None:
    """After a 500 on POST /v1/jobs the client lists the session's jobs and adopts the match."""
    params = {"pubs": [["qasm", None, 8]]}
    mocked.post(f"{BASE}/v1/sessions", payload={"id": "s1", "state": "open"})
    mocked.post(f"{BASE}/v1/jobs", status=500)
    listing = re.compile(rf"^{re.escape(BASE)}/v1/jobs\?.*session_id=s1.*$")
    created = {
        **JOB_INFO,
        "id": "job-77",
        "backend": "ibm_fez",
        "session_id": "s1",
        "params": params,
    }
    mocked.get(listing, payload={"jobs": [created], "count": 1, "offset": 0, "limit": 200})
    mocked.delete(f"{BASE}/v1/sessions/s1/close", status=204)
    async with make_client(recording_sleep) as client, client.session("ibm_fez", "batch") as s:
        job = await s.submit_job("sampler", params)
    assert job.id == "job-77"
    assert calls(mocked, "POST", f"{BASE}/v1/jobs") == 1


async def test_ambiguous_job_post_resubmits_when_nothing_was_created(
    mocked: aioresponses, recording_sleep: RecordingSleep
) -> None:
    """After an answered 500, if the session shows no matching unknown job, the job is
    submitted again, once (a broken connection is never re-sent: see test_lifecycle)."""
    mocked.post(f"{BASE}/v1/sessions", payload={"id": "s1", "state": "open"})
    mocked.post(f"{BASE}/v1/jobs", status=500)
    mocked.post(f"{BASE}/v1/jobs", payload={"id": "job-2"})
    listing = re.compile(rf"^{re.escape(BASE)}/v1/jobs\?.*session_id=s1.*$")
    mocked.get(listing, payload={"jobs": [], "count": 0, "offset": 0, "limit": 200})
    mocked.delete(f"{BASE}/v1/sessions/s1/close", status=204)
    async with make_client(recording_sleep) as client, client.session("ibm_fez", "batch") as s:
        job = await s.submit_job("sampler", {"a": 1})
    assert job.id == "job-2"
    assert calls(mocked, "POST", f"{BASE}/v1/jobs") == 2


async def test_ambiguous_job_post_reports_plainly_when_it_cannot_tell(
    mocked: aioresponses, recording_sleep: RecordingSleep
) -> None:
    """If listing the session's jobs fails too, SubmissionUnknownError says so and nothing is re-sent."""
    mocked.post(f"{BASE}/v1/sessions", payload={"id": "s1", "state": "open"})
    mocked.post(f"{BASE}/v1/jobs", exception=TimeoutError())
    listing = re.compile(rf"^{re.escape(BASE)}/v1/jobs\?.*$")
    mocked.get(listing, status=500, repeat=True)
    mocked.delete(f"{BASE}/v1/sessions/s1/close", status=204)
    async with make_client(recording_sleep) as client:
        with pytest.raises(errors.SubmissionUnknownError) as info:
            async with client.session("ibm_fez", "batch") as s:
                await s.submit_job("sampler", {"a": 1})
    assert info.value.session_id == "s1"
    assert isinstance(info.value.__cause__, errors.RequestTimeoutError)
    assert calls(mocked, "POST", f"{BASE}/v1/jobs") == 1


async def test_submission_tag_makes_matching_exact(
    mocked: aioresponses, recording_sleep: RecordingSleep
) -> None:
    """With submission_tags on, a tag is sent and recovery matches on it without params."""
    seen: list[Any] = []

    def first_post(url: Any, **kwargs: Any) -> CallbackResult:
        import json

        seen.append(json.loads(kwargs["data"]))
        return CallbackResult(status=502)

    mocked.post(f"{BASE}/v1/sessions", payload={"id": "s1", "state": "open"})
    mocked.post(f"{BASE}/v1/jobs", callback=first_post)

    def listing_cb(url: Any, **kwargs: Any) -> CallbackResult:
        tag = seen[0]["tags"][-1]
        other = {**JOB_INFO, "id": "job-other", "tags": ["qrs-submit-someoneelse"]}
        mine = {**JOB_INFO, "id": "job-mine", "tags": [tag]}
        return CallbackResult(
            payload={"jobs": [other, mine], "count": 2, "offset": 0, "limit": 200}
        )

    mocked.get(re.compile(rf"^{re.escape(BASE)}/v1/jobs\?.*$"), callback=listing_cb)
    mocked.delete(f"{BASE}/v1/sessions/s1/close", status=204)
    async with (
        make_client(recording_sleep, submission_tags=True) as client,
        client.session("ibm_fez", "batch") as s,
    ):
        job = await s.submit_job("sampler", {"a": 1}, tags=["mine"])
    assert job.id == "job-mine"
    assert seen[0]["tags"][0] == "mine"
    assert seen[0]["tags"][1].startswith("qrs-submit-")


async def test_iam_exchange_is_single_flight_and_key_never_reaches_runtime(
    mocked: aioresponses, recording_sleep: RecordingSleep
) -> None:
    """Many concurrent requests cause one IAM exchange; the Runtime API only sees the bearer token."""

    def iam(url: Any, **kwargs: Any) -> CallbackResult:
        assert b"apikey=apikey-SECRET-abcdef" in kwargs["data"]
        assert b"grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey" in kwargs["data"]
        return CallbackResult(
            payload={"access_token": "iam-token-1", "expires_in": 3600, "token_type": "Bearer"}
        )

    mocked.post(f"{IAM}/identity/token", callback=iam, repeat=True)
    mocked.get(JOB_URL, payload=JOB_INFO, repeat=True)
    async with make_client(recording_sleep, api_key=API_KEY, iam_url=IAM) as client:
        await asyncio.gather(*(client.job("job-1").status() for _ in range(30)))
    assert calls(mocked, "POST", f"{IAM}/identity/token") == 1
    from yarl import URL

    for call in mocked.requests[("GET", URL(JOB_URL))]:
        assert call.kwargs["headers"]["Authorization"] == "Bearer iam-token-1"
        assert API_KEY not in str(call.kwargs)


async def test_a_401_refreshes_the_token_once_and_replays(
    mocked: aioresponses, recording_sleep: RecordingSleep
) -> None:
    """A 401 from the API triggers one new IAM exchange and one replay of the request."""
    tokens = iter(["iam-token-1", "iam-token-2"])
    mocked.post(
        f"{IAM}/identity/token",
        callback=lambda url, **kw: CallbackResult(
            payload={"access_token": next(tokens), "expires_in": 3600}
        ),
        repeat=True,
    )
    mocked.get(JOB_URL, status=401, payload={"errors": [{"code": "1219", "message": "expired"}]})
    mocked.get(JOB_URL, payload=JOB_INFO)
    async with make_client(recording_sleep, api_key=API_KEY, iam_url=IAM) as client:
        assert await client.job("job-1").status() is qrs.JobStatus.QUEUED
    assert calls(mocked, "POST", f"{IAM}/identity/token") == 2


async def test_iam_refusal_is_an_authentication_error_without_the_key(
    mocked: aioresponses, recording_sleep: RecordingSleep
) -> None:
    """IAM's 400 for a bad key becomes AuthenticationError with IAM's code; the key is not in it."""
    mocked.post(
        f"{IAM}/identity/token",
        status=400,
        payload={
            "errorCode": "BXNIM0415E",
            "errorMessage": "Provided API key could not be found.",
            "context": {"requestId": "req-9"},
        },
    )
    async with make_client(recording_sleep, api_key=API_KEY, iam_url=IAM) as client:
        with pytest.raises(errors.AuthenticationError) as info:
            await client.job("job-1").status()
    err = info.value
    assert (err.code, err.trace_id) == ("BXNIM0415E", "req-9")
    assert API_KEY not in str(err)
    assert API_KEY not in repr(err)


async def test_secrets_never_reach_logs_or_reprs(
    mocked: aioresponses, recording_sleep: RecordingSleep, caplog: pytest.LogCaptureFixture
) -> None:
    """DEBUG request logs, client reprs and config reprs contain neither token nor API key."""
    caplog.set_level(logging.DEBUG, logger="qruntime_session")
    mocked.get(JOB_URL, status=503)
    mocked.get(JOB_URL, payload=JOB_INFO)
    async with make_client(recording_sleep) as client:
        await client.job("job-1").status()
        text = caplog.text + repr(client) + repr(client.config) + repr(client.transport.auth)
    assert "GET /api/v1/jobs/job-1 -> 200" in caplog.text  # the DEBUG line per request exists
    assert "exclude_params" not in caplog.text  # queries are not logged (they may hold secrets)
    assert TOKEN not in text
    key_client = make_client(recording_sleep, api_key=API_KEY, iam_url=IAM)
    assert API_KEY not in repr(key_client.config) + repr(key_client.transport.auth)
    await key_client.aclose()


async def test_job_pace_spaces_submissions(
    mocked: aioresponses, recording_sleep: RecordingSleep
) -> None:
    """max_jobs_per_minute=2 makes the third submission wait for the window to free up."""
    now = [1000.0]
    mocked.post(f"{BASE}/v1/sessions", payload={"id": "s1", "state": "open"})
    ids = iter(range(10))
    mocked.post(
        f"{BASE}/v1/jobs",
        callback=lambda url, **kw: CallbackResult(payload={"id": f"j{next(ids)}"}),
        repeat=True,
    )
    mocked.delete(f"{BASE}/v1/sessions/s1/close", status=204)

    class AdvancingSleep(RecordingSleep):
        async def __call__(self, delay: float) -> None:
            self.calls.append(delay)
            now[0] += delay

    sleep = AdvancingSleep()
    async with (
        make_client(sleep, max_jobs_per_minute=2, clock=lambda: now[0]) as client,
        client.session("ibm_fez", "batch") as s,
    ):
        for _ in range(3):
            await s.submit_job("sampler", {})
    assert sleep.calls == [60.0]
