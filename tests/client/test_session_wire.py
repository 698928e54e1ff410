"""Session at the wire level (aioresponses): the seed's requests and every exit path."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aioresponses import CallbackResult, aioresponses

import qruntime_session as qrs
from qruntime_session import errors

BASE = "https://quantum.cloud.ibm.com/api"
TOKEN = "tok-SECRET-0123456789"
CRN = "crn:v1:bluemix:public:quantum-computing:us-east:a/acct123:inst456::"
SESSIONS = f"{BASE}/v1/sessions"
JOBS = f"{BASE}/v1/jobs"
CLOSE = re.compile(rf"^{re.escape(BASE)}/v1/sessions/[^/]+/close$")
PATCH = re.compile(rf"^{re.escape(BASE)}/v1/sessions/[^/]+$")
PARAMS = {"pubs": [["OPENQASM 3.0;", None, 16]], "version": 2}


class Wire:
    """aioresponses plus an ordered log of (method, url, headers, json body)."""

    def __init__(self, mocked: aioresponses) -> None:
        self.m = mocked
        self.log: list[tuple[str, str, dict[str, str], Any]] = []

    def _recorder(self, method: str, status: int, payload: Any, headers: dict[str, str] | None):
        def callback(url: Any, **kwargs: Any) -> CallbackResult:
            data = kwargs.get("data")
            body = json.loads(data) if data else None
            self.log.append((method, str(url), dict(kwargs.get("headers") or {}), body))
            return CallbackResult(status=status, payload=payload, headers=headers)

        return callback

    def add(
        self,
        method: str,
        url: str | re.Pattern[str],
        status: int,
        payload: Any = None,
        *,
        headers: dict[str, str] | None = None,
        repeat: bool = False,
    ) -> None:
        self.m.add(
            url,
            method=method,
            callback=self._recorder(method, status, payload, headers),
            repeat=repeat,
        )

    def methods(self) -> list[tuple[str, str]]:
        return [(method, url.removeprefix(BASE)) for method, url, _, _ in self.log]


@pytest.fixture
def wire() -> AsyncIterator[Wire]:
    with aioresponses() as mocked:
        yield Wire(mocked)


@pytest.fixture
async def client(recording_sleep: Callable[[float], Any]) -> AsyncIterator[qrs.RuntimeClient]:
    async with qrs.RuntimeClient(
        base_url=BASE,
        access_token=TOKEN,
        service_crn=CRN,
        api_version="2026-03-15",
        sleep=recording_sleep,  # type: ignore[arg-type]
    ) as c:
        yield c


def seed_ok(wire: Wire, *, close_status: int = 204) -> None:
    wire.add("POST", SESSIONS, 200, {"id": "sess-1", "state": "open", "mode": "batch"})
    wire.add("POST", JOBS, 200, {"id": "job-1", "backend": "ibm_fez", "session_id": "sess-1"})
    wire.add("DELETE", CLOSE, close_status, repeat=close_status != 204)


async def test_plain_async_with_sends_exactly_the_seed_requests(
    wire: Wire, client: qrs.RuntimeClient
) -> None:
    """The three seed requests, in order, with the seed's bodies and headers, and nothing else."""
    seed_ok(wire)
    async with qrs.Session("ibm_fez", "batch", client=client) as session:
        assert (session.id, session.state) == ("sess-1", qrs.SessionState.OPEN)
        job = await session.submit_job("sampler", PARAMS)
        assert job.id == "job-1"
    assert wire.methods() == [
        ("POST", "/v1/sessions"),
        ("POST", "/v1/jobs"),
        ("DELETE", "/v1/sessions/sess-1/close"),
    ]
    bodies = [body for _, _, _, body in wire.log]
    assert bodies == [
        {"backend": "ibm_fez", "mode": "batch"},
        {"program_id": "sampler", "backend": "ibm_fez", "session_id": "sess-1", "params": PARAMS},
        None,
    ]
    for _, _, headers, _ in wire.log:
        assert headers["Authorization"] == f"Bearer {TOKEN}"
        assert headers["Service-CRN"] == CRN
        assert headers["IBM-API-Version"] == "2026-03-15"
        assert headers["Accept"] == "application/json"
        assert headers["User-Agent"].startswith("qruntime-session/")


async def test_default_api_version_is_the_live_one(wire: Wire) -> None:
    """Without api_version the client sends IBM-API-Version 2026-04-15."""
    seed_ok(wire)
    async with (
        qrs.RuntimeClient(base_url=BASE, access_token=TOKEN, service_crn=CRN) as c,
        qrs.Session("ibm_fez", qrs.SessionMode.DEDICATED, client=c),
    ):
        pass
    assert wire.log[0][2]["IBM-API-Version"] == "2026-04-15"
    assert wire.log[0][3] == {"backend": "ibm_fez", "mode": "dedicated"}


async def test_exception_in_block_closes_and_propagates_unchanged(
    wire: Wire, client: qrs.RuntimeClient
) -> None:
    """An exception inside the block closes the session and is re-raised as the same object."""
    seed_ok(wire)
    boom = ValueError("user code failed")
    with pytest.raises(ValueError, match="user code failed") as info:
        async with qrs.Session("ibm_fez", "batch", client=client):
            raise boom
    assert info.value is boom
    assert wire.methods()[-1] == ("DELETE", "/v1/sessions/sess-1/close")


async def test_task_cancellation_closes_the_session(wire: Wire, client: qrs.RuntimeClient) -> None:
    """Cancelling the task inside the block still sends the close, and the task ends cancelled."""
    seed_ok(wire)
    entered = asyncio.Event()

    async def body() -> None:
        async with qrs.Session("ibm_fez", "batch", client=client):
            entered.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(body())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ("DELETE", "/v1/sessions/sess-1/close") in wire.methods()


async def test_keyboard_interrupt_closes_the_session(wire: Wire, client: qrs.RuntimeClient) -> None:
    """A KeyboardInterrupt raised in the block (a notebook's Ctrl-C) closes and propagates."""
    seed_ok(wire)
    with pytest.raises(KeyboardInterrupt):
        async with qrs.Session("ibm_fez", "batch", client=client):
            raise KeyboardInterrupt
    assert wire.methods()[-1] == ("DELETE", "/v1/sessions/sess-1/close")


async def test_asyncio_timeout_closes_the_session(wire: Wire, client: qrs.RuntimeClient) -> None:
    """asyncio.timeout firing inside the block closes the session and raises TimeoutError."""
    seed_ok(wire)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05), qrs.Session("ibm_fez", "batch", client=client):
            await asyncio.sleep(3600)
    assert wire.methods()[-1] == ("DELETE", "/v1/sessions/sess-1/close")


async def test_second_cancellation_during_close_still_closes_and_is_not_swallowed(
    wire: Wire, client: qrs.RuntimeClient
) -> None:
    """A cancel that arrives while the close is in flight waits for it, then propagates."""
    release = asyncio.Event()
    wire.add("POST", SESSIONS, 200, {"id": "sess-1", "state": "open"})

    async def slow_close(url: Any, **kwargs: Any) -> CallbackResult:
        wire.log.append(("DELETE", str(url), {}, None))
        await release.wait()
        return CallbackResult(status=204)

    wire.m.add(CLOSE, method="DELETE", callback=slow_close)

    async def body() -> None:
        async with qrs.Session("ibm_fez", "batch", client=client):
            pass

    task = asyncio.create_task(body())
    while not wire.log or wire.log[-1][0] != "DELETE":
        await asyncio.sleep(0)
    task.cancel()
    await asyncio.sleep(0.01)
    assert not task.done(), "the close must not be abandoned by a cancellation"
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_failed_create_sends_nothing_else(wire: Wire, client: qrs.RuntimeClient) -> None:
    """When createSession fails, no job and no close are sent, and the error is typed."""
    wire.add(
        "POST",
        SESSIONS,
        400,
        {
            "trace": "tr-1",
            "errors": [{"code": 1352, "message": "not on the open plan", "more_info": "x"}],
        },
    )
    with pytest.raises(errors.BadRequestError) as info:
        async with qrs.Session("ibm_fez", "dedicated", client=client) as session:
            await session.submit_job("sampler", PARAMS)
    assert wire.methods() == [("POST", "/v1/sessions")]
    err = info.value
    assert (err.status, err.codes, err.trace_id) == (400, ("1352",), "tr-1")
    assert err.errors[0].message == "not on the open plan"
    assert err.method == "POST"
    assert err.url == SESSIONS


async def test_create_answering_201_is_not_success(wire: Wire, client: qrs.RuntimeClient) -> None:
    """The seed's success criterion is exactly 200: a 201 is an UnexpectedStatusError."""
    wire.add("POST", SESSIONS, 201, {"id": "sess-1", "state": "open"})
    with pytest.raises(errors.UnexpectedStatusError):
        async with qrs.Session("ibm_fez", "batch", client=client):
            pass
    assert wire.methods() == [("POST", "/v1/sessions")]


async def test_job_error_carries_session_id_and_session_still_closes(
    wire: Wire, client: qrs.RuntimeClient
) -> None:
    """A rejected submission raises an error holding the session id; the close still happens."""
    wire.add("POST", SESSIONS, 200, {"id": "sess-9", "state": "open"})
    wire.add(
        "POST",
        JOBS,
        400,
        {"trace": "tr-2", "errors": [{"code": "1217", "message": "Session has been closed."}]},
    )
    wire.add("DELETE", CLOSE, 204)
    with pytest.raises(errors.BadRequestError) as info:
        async with qrs.Session("ibm_fez", "batch", client=client) as session:
            await session.submit_job("sampler", PARAMS)
    assert info.value.session_id == "sess-9"
    assert "sess-9" in str(info.value)
    assert wire.methods()[-1] == ("DELETE", "/v1/sessions/sess-9/close")


async def test_user_exception_survives_a_failing_close(
    wire: Wire, client: qrs.RuntimeClient
) -> None:
    """If the close fails, the user's exception still propagates, with the failure as a note."""
    seed_ok(wire, close_status=500)
    session = qrs.Session("ibm_fez", "batch", client=client)
    with pytest.raises(ValueError, match="mine") as info:
        async with session:
            raise ValueError("mine")
    notes = getattr(info.value, "__notes__", [])
    assert any("sess-1" in note and "closing" in note for note in notes)
    client._open_sessions.clear()  # the close was made impossible on purpose


async def test_clean_exit_with_failing_close_raises_naming_the_session(
    wire: Wire, client: qrs.RuntimeClient
) -> None:
    """A clean exit whose close fails raises a typed error that names the session id."""
    seed_ok(wire, close_status=500)
    session = qrs.Session("ibm_fez", "batch", client=client)
    with pytest.raises(errors.ServerError) as info:
        async with session:
            pass
    assert info.value.session_id == "sess-1"
    assert "sess-1" in str(info.value)
    assert client.open_session_ids == ("sess-1",)  # close_all_sessions() would retry it
    client._open_sessions.clear()


async def test_close_404_means_already_closed(wire: Wire, client: qrs.RuntimeClient) -> None:
    """A 404 on close is not an error: the session is already closed."""
    seed_ok(wire, close_status=404)
    async with qrs.Session("ibm_fez", "batch", client=client):
        pass
    assert wire.methods()[-1][0] == "DELETE"


async def test_close_is_bounded_in_time(wire: Wire) -> None:
    """A close that never answers gives up after Timeouts.close and reports the session."""
    wire.add("POST", SESSIONS, 200, {"id": "sess-1", "state": "open"})

    async def hang(url: Any, **kwargs: Any) -> CallbackResult:
        await asyncio.sleep(3600)
        return CallbackResult(status=204)

    wire.m.add(CLOSE, method="DELETE", callback=hang)
    async with qrs.RuntimeClient(
        base_url=BASE, access_token=TOKEN, service_crn=CRN, timeouts=qrs.Timeouts(close=0.05)
    ) as c:
        session = qrs.Session("ibm_fez", "batch", client=c)
        with pytest.raises(errors.RequestTimeoutError) as info:
            async with session:
                pass
        c._open_sessions.clear()  # the close was made impossible on purpose
    assert info.value.session_id == "sess-1"


@pytest.mark.parametrize(
    ("backend", "mode", "params", "match"),
    [
        ("ibm_fez", "interactive", PARAMS, "mode"),
        ("", "batch", PARAMS, "backend"),
        ("   ", "batch", PARAMS, "backend"),
        ("ibm_fez", "batch", ["not", "an", "object"], "params"),
        ("ibm_fez", "batch", {"x": {1, 2}}, "set"),
        ("ibm_fez", "batch", {"x": float("nan")}, "JSON"),
        ("ibm_fez", "batch", {1: "non-string key"}, "key"),
    ],
)
async def test_bad_input_is_rejected_before_any_request(
    wire: Wire, client: qrs.RuntimeClient, backend: str, mode: str, params: Any, match: str
) -> None:
    """Bad backend, mode or params raise InvalidInputError and send nothing at all."""
    wire.add("POST", SESSIONS, 200, {"id": "sess-1", "state": "open"})
    wire.add("DELETE", CLOSE, 204)
    with pytest.raises(errors.InvalidInputError, match=match):
        async with qrs.Session(backend, mode, client=client) as session:
            await session.submit_job("sampler", params)
    sent_jobs = [m for m in wire.methods() if m == ("POST", "/v1/jobs")]
    assert sent_jobs == []
    if mode != "batch" or not backend.strip():
        assert wire.log == []


async def test_submit_outside_the_block_is_refused(wire: Wire, client: qrs.RuntimeClient) -> None:
    """submit_job before entering or after exit raises SessionStateError and sends nothing."""
    seed_ok(wire)
    session = qrs.Session("ibm_fez", "batch", client=client)
    with pytest.raises(errors.SessionStateError, match="before"):
        await session.submit_job("sampler", PARAMS)
    assert wire.log == []
    async with session:
        pass
    count = len(wire.log)
    with pytest.raises(errors.SessionStateError, match="after"):
        await session.submit_job("sampler", PARAMS)
    assert len(wire.log) == count


async def test_drain_sends_patch_instead_of_delete(wire: Wire, client: qrs.RuntimeClient) -> None:
    """on_exit='drain' sends PATCH {"accepting_jobs": false} and no DELETE."""
    wire.add("POST", SESSIONS, 200, {"id": "sess-1", "state": "open"})
    wire.add("PATCH", PATCH, 204)
    async with qrs.Session("ibm_fez", "batch", client=client, on_exit="drain"):
        pass
    assert wire.methods() == [("POST", "/v1/sessions"), ("PATCH", "/v1/sessions/sess-1")]
    assert wire.log[-1][3] == {"accepting_jobs": False}


async def test_closing_with_unfinished_jobs_warns_once(
    wire: Wire, client: qrs.RuntimeClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Closing with jobs not known to be final logs one WARNING with the count and the remedy."""
    seed_ok(wire)
    wire.add("POST", JOBS, 200, {"id": "job-2", "backend": "ibm_fez"})
    caplog.set_level(logging.WARNING, logger="qruntime_session")

    async def leave_with_two_queued_jobs() -> None:
        async with qrs.Session("ibm_fez", "batch", client=client) as session:
            await session.submit_job("sampler", PARAMS)
            await session.submit_job("sampler", PARAMS)

    with pytest.warns(qrs.QueuedJobsDroppedWarning) as caught:
        await leave_with_two_queued_jobs()
    assert len(caught) == 1
    assert caught[0].filename == __file__  # attributed to the code that left the block
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].getMessage() == str(caught[0].message)
    text = warnings[0].getMessage()
    assert "2 job(s)" in text
    assert "queued" in text
    assert "drain" in text


async def test_no_warning_when_draining(
    wire: Wire, client: qrs.RuntimeClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Draining lets queued jobs run, so there is nothing to warn about."""
    wire.add("POST", SESSIONS, 200, {"id": "sess-1", "state": "open"})
    wire.add("POST", JOBS, 200, {"id": "job-1"})
    wire.add("PATCH", PATCH, 204)
    caplog.set_level(logging.WARNING, logger="qruntime_session")
    async with qrs.Session("ibm_fez", "batch", client=client, on_exit="drain") as session:
        await session.submit_job("sampler", PARAMS)
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]


async def test_session_without_client_uses_environment_and_closes_its_client(
    wire: Wire, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Session() without client= reads QRUNTIME_ACCESS_TOKEN, QISKIT_IBM_INSTANCE, QRUNTIME_BASE_URL."""
    monkeypatch.setenv("QRUNTIME_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("QISKIT_IBM_INSTANCE", CRN)
    monkeypatch.setenv("QRUNTIME_BASE_URL", BASE)
    seed_ok(wire)
    session = qrs.Session("ibm_fez", "batch")
    async with session:
        pass
    assert wire.log[0][2]["Authorization"] == f"Bearer {TOKEN}"
    assert session.client.closed


async def test_missing_credentials_is_a_configuration_error() -> None:
    """Without a token or a CRN anywhere, entering fails with a ConfigurationError (a ValueError)."""
    with pytest.raises(errors.ConfigurationError) as info:
        async with qrs.Session("ibm_fez", "batch"):
            pass
    assert isinstance(info.value, ValueError)


async def test_concurrent_submissions_share_one_pool(wire: Wire) -> None:
    """asyncio.gather of submit_job calls on one session all succeed through one ClientSession."""
    wire.add("POST", SESSIONS, 200, {"id": "sess-1", "state": "open"})
    counter = iter(range(100))

    def make_job(url: Any, **kwargs: Any) -> CallbackResult:
        return CallbackResult(status=200, payload={"id": f"job-{next(counter)}"})

    wire.m.add(JOBS, method="POST", callback=make_job, repeat=True)
    wire.add("DELETE", CLOSE, 204)
    async with aiohttp.ClientSession() as shared:
        async with (
            qrs.RuntimeClient(
                base_url=BASE, access_token=TOKEN, service_crn=CRN, session=shared
            ) as c,
            qrs.Session("ibm_fez", "batch", client=c) as session,
        ):
            jobs = await asyncio.gather(*(session.submit_job("sampler", PARAMS) for _ in range(20)))
            assert c.transport.session is shared
        assert len({j.id for j in jobs}) == 20
        assert not shared.closed, "a borrowed aiohttp session is never closed by the client"


def test_works_in_a_loop_it_did_not_start() -> None:
    """Objects built outside any loop work in a loop started later (as in a notebook)."""
    client = qrs.RuntimeClient(base_url=BASE, access_token=TOKEN, service_crn=CRN)
    session = qrs.Session("ibm_fez", "batch", client=client)

    async def cell() -> str | None:
        with aioresponses() as mocked:
            w = Wire(mocked)
            seed_ok(w)
            async with client, session:
                return session.id

    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(cell()) == "sess-1"
    finally:
        loop.close()


async def test_attached_session_without_a_known_backend_refuses_to_guess(
    wire: Wire, client: qrs.RuntimeClient
) -> None:
    """An attached session whose backend the service does not report sends no job without backend=."""
    details = {"id": "sess-7", "state": "open", "backend_name": None, "mode": "batch"}
    wire.add("GET", f"{SESSIONS}/sess-7", 200, details, repeat=True)
    wire.add("DELETE", CLOSE, 204, repeat=True)
    wire.add("POST", JOBS, 200, {"id": "job-1"})
    async with client.attach_session("sess-7") as session:
        with pytest.raises(errors.InvalidInputError, match="backend"):
            await session.submit_job("sampler", PARAMS)
    async with client.attach_session("sess-7", backend="ibm_fez") as session:
        await session.submit_job("sampler", PARAMS)
    job_bodies = [body for method, url, _, body in wire.log if url == JOBS]
    assert job_bodies == [
        {"program_id": "sampler", "backend": "ibm_fez", "session_id": "sess-7", "params": PARAMS}
    ]
    assert wire.methods().count(("DELETE", "/v1/sessions/sess-7/close")) == 2


async def test_cancellation_while_creating_closes_what_was_created(
    wire: Wire, client: qrs.RuntimeClient
) -> None:
    """A cancel during POST /v1/sessions waits for its answer, closes that session, then propagates."""
    release = asyncio.Event()
    started = asyncio.Event()

    async def slow_create(url: Any, **kwargs: Any) -> CallbackResult:
        wire.log.append(("POST", str(url), {}, None))
        started.set()
        await release.wait()
        return CallbackResult(status=200, payload={"id": "sess-late", "state": "open"})

    wire.m.add(SESSIONS, method="POST", callback=slow_create)
    wire.add("DELETE", CLOSE, 204)
    session = qrs.Session("ibm_fez", "batch", client=client)

    async def body() -> None:
        async with session:
            raise AssertionError("the block must not run")

    task = asyncio.create_task(body())
    await started.wait()
    task.cancel()
    await asyncio.sleep(0.01)
    assert not task.done(), "the create's answer is awaited, not abandoned"
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert wire.methods() == [("POST", "/v1/sessions"), ("DELETE", "/v1/sessions/sess-late/close")]
    assert session.id == "sess-late"
