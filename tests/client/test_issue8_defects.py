"""One test per defect of issue 8 (each fails on the code before the fix)."""

from __future__ import annotations

import asyncio
import json
import math
import re
import traceback
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aioresponses import CallbackResult, aioresponses

import qruntime_session as qrs
from qruntime_session import errors
from qruntime_session.emulator import Emulator, EmulatorConfig, run_emulator
from tests.conftest import RecordingSleep

BASE = "https://quantum.cloud.ibm.com/api"
IAM = "https://iam.example.test"
TOKEN = "tok-ISSUE8-LOCALS-5f3a9c"
API_KEY = "apikey-ISSUE8-LOCALS-77d1e0"
CRN = "crn:v1:bluemix:public:quantum-computing:us-east:a/acct123:inst456::"
PARAMS = {"pubs": [["OPENQASM 3.0;", None, 64]], "version": 2}
LISTING = re.compile(rf"^{re.escape(BASE)}/v1/jobs\?.*$")
DEEP = b"[" * 20_000 + b"]" * 20_000  # aioresponses feeds at most 64 KiB


@pytest.fixture
def mocked() -> AsyncIterator[aioresponses]:
    with aioresponses() as m:
        yield m


def make_client(sleep: RecordingSleep | None = None, **kwargs: Any) -> qrs.RuntimeClient:
    settings: dict[str, Any] = {
        "base_url": BASE,
        "service_crn": CRN,
        "sleep": sleep if sleep is not None else RecordingSleep(),
        "random": lambda: 0.5,
    }
    if "api_key" not in kwargs:
        settings["access_token"] = TOKEN
    settings.update(kwargs)
    return qrs.RuntimeClient(**settings)


def emu_client(emu: Emulator, **kwargs: Any) -> qrs.RuntimeClient:
    settings: dict[str, Any] = {
        "base_url": emu.base_url,
        "service_crn": emu.service_crn,
        "access_token": emu.token,
        "poll": qrs.PollPolicy(initial=0.01, max_interval=0.02, jitter=0.0),
    }
    settings.update(kwargs)
    return qrs.RuntimeClient(**settings)


async def handled(emu: Emulator, operation: str) -> None:
    """Wait (bounded) until every request of ``operation`` has been answered or dropped."""
    for _ in range(200):
        records = emu.requests_for(operation)
        if records and all(r.status is not None or "drop" in (r.fault or "") for r in records):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{operation} requests still in flight")


# -- 1. a POST that outlives the read timeout creates one job --------------------------------


@pytest.mark.parametrize("tags", [True, False])
async def test_1_post_outliving_the_read_timeout_creates_exactly_one_job(tags: bool) -> None:
    """The issue's reproduction: handled after 1 s with a 0.3 s read timeout."""
    async with run_emulator() as emu:
        emu.faults.add("create_job", delay=1.0)
        timeouts = qrs.Timeouts(read=0.3)  # the default settle window (20 s) covers it
        async with emu_client(emu, timeouts=timeouts, submission_tags=tags) as client:
            async with client.session("ibm_fez", "batch") as session:
                job = await session.submit_job("sampler", PARAMS)
                await handled(emu, "create_job")
        assert emu.job_ids == [job.id]
        assert len(emu.requests_for("create_job")) == 1


async def test_1_post_landing_after_the_settle_window_raises_and_is_never_resent() -> None:
    """If the job does not show up within the settle window, nothing is sent again."""
    async with run_emulator() as emu:
        emu.faults.add("create_job", delay=0.8)
        timeouts = qrs.Timeouts(read=0.2, settle=0.2)
        async with emu_client(emu, timeouts=timeouts, submission_tags=True) as client:
            async with client.session("ibm_fez", "batch") as session:
                with pytest.raises(errors.SubmissionUnknownError) as caught:
                    await session.submit_job("sampler", PARAMS)
                await handled(emu, "create_job")
                landed = await session.jobs()
        assert len(emu.job_ids) == 1
        assert len(emu.requests_for("create_job")) == 1
        tag = caught.value.submission_tag
        assert tag is not None
        assert [info.id for info in landed if tag in info.tags] == emu.job_ids


# -- 2. a handled POST with an unreadable 200 does not lose the job --------------------------


async def test_2_unreadable_200_on_job_post_adopts_the_created_job(mocked: aioresponses) -> None:
    sent: dict[str, Any] = {}

    def post(url: Any, **kwargs: Any) -> CallbackResult:
        sent.update(json.loads(kwargs["data"]))
        return CallbackResult(status=200, body=b'{"id": "job-1", "backe')

    def listing(url: Any, **kwargs: Any) -> CallbackResult:
        return CallbackResult(
            status=200,
            payload={
                "jobs": [{"id": "job-1", "status": "Queued", "tags": sent.get("tags", [])}],
                "count": 1,
            },
        )

    mocked.post(f"{BASE}/v1/sessions", payload={"id": "s1", "state": "open"})
    mocked.post(f"{BASE}/v1/jobs", callback=post)
    mocked.get(LISTING, callback=listing, repeat=True)
    mocked.delete(f"{BASE}/v1/sessions/s1/close", status=204)
    async with make_client(submission_tags=True) as client:
        async with client.session("ibm_fez", "batch") as session:
            job = await session.submit_job("sampler", {"a": 1})
    assert job.id == "job-1"


async def test_2_unreadable_200_on_the_emulator_adopts_the_job() -> None:
    async with run_emulator() as emu:
        emu.faults.add("create_job", status=200, body=b'{"id": "', handled=True)
        async with emu_client(emu, submission_tags=True) as client:
            async with client.session("ibm_fez", "batch") as session:
                job = await session.submit_job("sampler", PARAMS)
        assert emu.job_ids == [job.id]


# -- 3. foreign exceptions never escape ------------------------------------------------------


async def test_3_deep_json_answer_is_a_package_error(mocked: aioresponses) -> None:
    mocked.get(f"{BASE}/v1/jobs/job-1?exclude_params=false", status=200, body=DEEP)
    async with make_client() as client:
        with pytest.raises(errors.UnexpectedStatusError):
            await client.job("job-1").info()


async def test_3_deep_json_error_body_is_a_package_error(mocked: aioresponses) -> None:
    mocked.get(f"{BASE}/v1/jobs/job-1?exclude_params=false", status=404, body=DEEP)
    async with make_client() as client:
        with pytest.raises(errors.NotFoundError):
            await client.job("job-1").info()


async def test_3_huge_number_in_a_float_field_is_tolerated(mocked: aioresponses) -> None:
    body = (
        b'{"id": "job-1", "status": "Queued", "estimated_running_time_seconds": 1'
        + (b"0" * 400)
        + b"}"
    )
    mocked.get(f"{BASE}/v1/jobs/job-1?exclude_params=false", status=200, body=body)
    async with make_client() as client:
        info = await client.job("job-1").info()
    assert info.estimated_running_time_seconds is None


async def test_3_huge_iam_expiry_is_tolerated(mocked: aioresponses) -> None:
    body = b'{"access_token": "iam-tok", "expiration": 1' + b"0" * 400 + b"}"
    mocked.post(f"{IAM}/identity/token", status=200, body=body)
    mocked.get(f"{BASE}/v1/jobs/job-1?exclude_params=true", payload={"id": "job-1"})
    async with make_client(api_key=API_KEY, iam_url=IAM) as client:
        assert await client.job("job-1").status() is qrs.JobStatus.UNKNOWN


@pytest.mark.parametrize(
    "make",
    [
        lambda: qrs.Timeouts(read=-1),
        lambda: qrs.Timeouts(read="1"),
        lambda: qrs.Timeouts(connect=math.nan),
        lambda: qrs.RetryPolicy(max_attempts=0),
        lambda: qrs.RetryPolicy(initial_backoff="1"),
        lambda: make_client(max_jobs_per_minute="5"),
        lambda: make_client(max_jobs_per_minute=0),
    ],
    ids=["read-1", "read-str", "connect-nan", "attempts0", "backoff-str", "pace-str", "pace0"],
)
def test_3_bad_settings_raise_invalid_input(make: Any) -> None:
    with pytest.raises(errors.InvalidInputError):
        make()


def test_3_invalid_input_is_also_value_and_type_error() -> None:
    assert issubclass(errors.InvalidInputError, ValueError)
    assert issubclass(errors.InvalidInputError, TypeError)


async def test_3_bad_call_arguments_raise_invalid_input_before_sending(
    mocked: aioresponses,
) -> None:
    mocked.post(f"{BASE}/v1/sessions", payload={"id": "s1", "state": "open"})
    mocked.delete(f"{BASE}/v1/sessions/s1/close", status=204)
    cyclic: dict[str, Any] = {}
    cyclic["self"] = cyclic
    deep: list[Any] = []
    node = deep
    for _ in range(5000):
        node.append([])
        node = node[0]
    async with make_client() as client:
        with pytest.raises(errors.InvalidInputError):
            await client.job("job-1").wait(timeout="1")  # type: ignore[arg-type]
        with pytest.raises(errors.InvalidInputError):
            await client.list_jobs(limit="10")  # type: ignore[arg-type]
        async with client.session("ibm_fez", "batch") as session:
            for params in (cyclic, {"deep": deep}):
                with pytest.raises(errors.InvalidInputError):
                    await session.submit_job("sampler", params)
    assert ("POST", BASE + "/v1/jobs") not in {(m, str(u)) for m, u in mocked.requests}


async def test_3_a_foreign_error_on_close_never_replaces_the_users_exception(
    mocked: aioresponses, monkeypatch: pytest.MonkeyPatch
) -> None:
    mocked.post(f"{BASE}/v1/sessions", payload={"id": "s1", "state": "open"}, repeat=True)

    async def broken_close(self: Any, how: str) -> None:
        raise RuntimeError("something foreign")

    monkeypatch.setattr(qrs.Session, "_send_close", broken_close)
    async with make_client() as client:
        first, second = client.session("ibm_fez", "batch"), client.session("ibm_fez", "batch")
        with pytest.raises(KeyError) as caught:
            async with first:
                raise KeyError("user")
        assert any("s1" in note for note in getattr(caught.value, "__notes__", []))
        with pytest.raises(errors.QRuntimeError) as wrapped:
            async with second:
                pass
        assert isinstance(wrapped.value.__cause__, RuntimeError)
        client._open_sessions.clear()  # the close was made impossible on purpose


# -- 4. pagination stops on repeated pages ----------------------------------------------------


async def test_4_pagination_stops_when_a_server_repeats_full_pages(mocked: aioresponses) -> None:
    page = {"jobs": [{"id": f"job-{i}", "status": "Queued"} for i in range(200)]}
    served: list[int] = []

    def repeat_page(url: Any, **kwargs: Any) -> CallbackResult:
        served.append(1)
        if len(served) > 50:  # a client that never stops gets an error instead of a hang
            return CallbackResult(status=400, payload={"errors": [{"message": "enough"}]})
        return CallbackResult(status=200, payload=page)

    mocked.get(LISTING, callback=repeat_page, repeat=True)
    async with make_client() as client:
        everything = await client.list_jobs()
        pages = [page async for page in client.job_pages(session_id="s1")]
    assert len(everything) == 200
    assert len(pages) == 1
    assert len(served) == 4  # two listings, each stopped by its second (repeated) page


# -- 5. close is retried after a garbled 2xx -------------------------------------------------


async def test_5_close_is_sent_again_after_a_garbled_2xx() -> None:
    async with run_emulator() as emu:
        emu.faults.add("delete_session_close", status=200, body=b"{garbled")
        async with emu_client(emu) as client:
            async with client.session("ibm_fez", "batch") as session:
                pass
        assert emu.session(session.id or "")["state"] == "closed"
        assert len(emu.requests_for("delete_session_close")) == 2


# -- 6. ids are validated before going into URL paths ----------------------------------------


@pytest.mark.parametrize("bad", ["../sessions/X", "a?b=1", "a/b", "..", "a#b", "a b", "%2e%2e"])
async def test_6_unsafe_ids_are_rejected_before_sending(mocked: aioresponses, bad: str) -> None:
    async with make_client() as client:
        with pytest.raises(errors.InvalidInputError):
            client.job(bad)
        with pytest.raises(errors.InvalidInputError):
            client.attach_session(bad)
        with pytest.raises(errors.InvalidInputError):
            await client.list_jobs(session_id=bad)
    assert not mocked.requests


# -- 7. NaN / negative / infinite wait deadlines are rejected --------------------------------


@pytest.mark.parametrize("timeout", [math.nan, -1.0, math.inf, "1"])
async def test_7_nonsense_wait_timeouts_are_rejected(timeout: Any) -> None:
    async with run_emulator(EmulatorConfig(queue_seconds=None)) as emu:
        async with emu_client(emu) as client, client.session("ibm_fez", "batch") as session:
            job = await session.submit_job("sampler", PARAMS)
            async with asyncio.timeout(5):
                with pytest.raises(errors.InvalidInputError):
                    await job.wait(timeout=timeout)
                with pytest.raises(errors.InvalidInputError):
                    await session.wait_all(timeout=timeout)
                with pytest.raises(errors.InvalidInputError):
                    async for _ in session.as_completed(timeout=timeout):
                        pass


# -- 8. the token never sits in clear in the transport's frames ------------------------------


def formatted_with_locals(exc: BaseException) -> str:
    return "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format())


async def test_8_tracebacks_with_locals_never_show_the_token_or_key(
    mocked: aioresponses,
) -> None:
    mocked.get(f"{BASE}/v1/jobs/job-1?exclude_params=true", status=500, repeat=True)
    mocked.get(f"{BASE}/v1/jobs/job-2?exclude_params=true", exception=TimeoutError(), repeat=True)
    mocked.post(f"{IAM}/identity/token", status=500, repeat=True)
    texts: list[str] = []
    async with make_client(retry=qrs.RetryPolicy(max_attempts=2)) as client:
        for job_id in ("job-1", "job-2", "job-3"):  # 500, timeout, no route (connection error)
            with pytest.raises(errors.QRuntimeError) as caught:
                await client.job(job_id).status()
            texts.append(formatted_with_locals(caught.value))
    async with make_client(api_key=API_KEY, iam_url=IAM) as client:
        with pytest.raises(errors.QRuntimeError) as caught:
            await client.job("job-1").status()
        texts.append(formatted_with_locals(caught.value))
    assert all("Traceback" in text for text in texts)
    for text in texts:
        assert TOKEN not in text
        assert API_KEY not in text


async def test_8_emulator_failures_with_locals_never_show_the_token() -> None:
    async with run_emulator() as emu:
        emu.faults.add("get_job", drop="before", times=None)
        async with emu_client(emu) as client:
            with pytest.raises(errors.QRuntimeError) as caught:
                await client.job("job-1").info()
            text = formatted_with_locals(caught.value)
    assert "Traceback" in text
    assert emu.token not in text
