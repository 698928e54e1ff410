"""Session lifecycle: create/get/patch/close, close vs drain, TTL timers, job rejection."""

from __future__ import annotations

import pytest

from qruntime_session.emulator import Emulator, EmulatorConfig, ManualClock, run_emulator
from qruntime_session.emulator._clock import isoformat, parse_timestamp

from .emu_support import Client, assert_ibm_error


@pytest.fixture
def config(clock: ManualClock) -> EmulatorConfig:
    """Jobs stay Queued / Running until the test releases them."""
    return EmulatorConfig(clock=clock, queue_seconds=None, run_seconds=None)


async def test_create_and_get_session_fields(api: Client, clock: ManualClock) -> None:
    """A new session is open, accepting, with IBM's defaults and one 'open' timestamp."""
    created = await api.create_session(mode="batch", backend="ibm_marrakesh")
    assert created["mode"] == "batch"
    assert created["backend_name"] == "ibm_marrakesh"
    assert created["state"] == "open"
    assert created["state_reason"] == "session_created"
    assert created["accepting_jobs"] is True
    assert created["max_ttl"] == 28800
    assert created["active_ttl"] == 28800
    assert created["interactive_ttl"] == 60
    assert created["timestamps"] == [{"status": "open", "timestamp": isoformat(clock.now())}]
    # Not set yet: omitted, not null (IBM's schema types them as non-nullable strings/numbers).
    for unset in ("started_at", "activated_at", "closed_at", "last_job_started",
                  "last_job_completed", "elapsed_time"):  # fmt: skip
        assert unset not in created
    assert created["user_id"]
    fetched = await api.session(created["id"])
    assert fetched == created


async def test_create_session_honours_ttls_and_backend_name(api: Client) -> None:
    """max_ttl, active_ttl, interactive_ttl and the backend_name fallback are used."""
    created = await api.create_session(
        backend=None, backend_name="ibm_fez", max_ttl=600, active_ttl=300, interactive_ttl=5
    )
    assert (created["max_ttl"], created["active_ttl"], created["interactive_ttl"]) == (
        600,
        300,
        5,
    )
    assert created["backend_name"] == "ibm_fez"


@pytest.mark.parametrize(
    "body",
    [
        {"backend": "ibm_fez"},
        {"mode": "exclusive"},
        {"mode": "batch", "max_ttl": 0},
        {"mode": "batch", "max_ttl": "600"},
        {"mode": "batch", "max_ttl": 100, "active_ttl": 200},
        {"mode": "batch", "active_ttl": 10, "interactive_ttl": 20},
        {"mode": "batch", "backend": 7},
        ["mode", "batch"],
    ],
)
async def test_create_session_rejects_invalid_bodies(api: Client, body: object) -> None:
    """An invalid create-session body answers 400 with an IBM error body."""
    reply = await api.call("POST", "/v1/sessions", json_body=body)
    assert_ibm_error(reply, 400, "bad_request")


async def test_create_session_rejects_non_json(api: Client) -> None:
    """A body that is not JSON answers 400."""
    reply = await api.call(
        "POST", "/v1/sessions", data=b"mode=batch", headers={"Content-Type": "text/plain"}
    )
    assert_ibm_error(reply, 400)


async def test_unknown_session_is_404(api: Client) -> None:
    """GET, PATCH and DELETE of an unknown session answer 404 not_found."""
    for method, path, body in [
        ("GET", "/v1/sessions/nope", None),
        ("PATCH", "/v1/sessions/nope", {"accepting_jobs": False}),
        ("DELETE", "/v1/sessions/nope/close", None),
    ]:
        reply = await api.call(method, path, json_body=body)
        assert_ibm_error(reply, 404, "not_found")


@pytest.mark.parametrize("body", [{}, {"accepting_jobs": "false"}, {"accepting_jobs": 0}, []])
async def test_patch_requires_boolean_accepting_jobs(api: Client, body: object) -> None:
    """PATCH without a boolean accepting_jobs answers 400 and changes nothing."""
    session = await api.create_session()
    reply = await api.call("PATCH", f"/v1/sessions/{session['id']}", json_body=body)
    assert_ibm_error(reply, 400, "bad_request")
    assert (await api.session(session["id"]))["accepting_jobs"] is True


async def test_patch_on_empty_session_closes_it_at_once(api: Client, clock: ManualClock) -> None:
    """accepting_jobs=false on an empty session: closed now, session_closed_early, 204."""
    session = await api.create_session()
    clock.advance(3)
    reply = await api.call(
        "PATCH", f"/v1/sessions/{session['id']}", json_body={"accepting_jobs": False}
    )
    assert reply.status == 204
    assert reply.text == ""
    after = await api.session(session["id"])
    assert after["state"] == "closed"
    assert after["state_reason"] == "session_closed_early"
    assert after["accepting_jobs"] is False
    assert after["closed_at"] == isoformat(clock.now())
    assert [stamp["status"] for stamp in after["timestamps"]] == ["open", "closed"]
    # Sending true later flips the flag, but a closed session stays closed.
    await api.call("PATCH", f"/v1/sessions/{session['id']}", json_body={"accepting_jobs": True})
    reopened = await api.session(session["id"])
    assert reopened["accepting_jobs"] is True
    assert reopened["state"] == "closed"


async def test_delete_cancels_queued_and_lets_running_finish(
    api: Client, emu: Emulator, clock: ManualClock
) -> None:
    """DELETE close: queued jobs end Cancelled at once, the running job finishes, then closed."""
    session = await api.create_session()
    running = await api.create_job(session_id=session["id"])
    queued = await api.create_job(session_id=session["id"])
    emu.start_job(running["id"])
    clock.advance(2)
    reply = await api.call("DELETE", f"/v1/sessions/{session['id']}/close")
    assert reply.status == 204
    assert reply.text == ""
    assert (await api.job(queued["id"]))["status"] == "Cancelled"
    assert (await api.job(running["id"]))["status"] == "Running"
    during = await api.session(session["id"])
    assert during["accepting_jobs"] is False
    assert during["state"] == "active"
    clock.advance(5)
    emu.finish_job(running["id"])
    assert (await api.job(running["id"]))["status"] == "Completed"
    closed = await api.session(session["id"])
    assert closed["state"] == "closed"
    assert closed["state_reason"] == "session_cancelled"
    assert closed["closed_at"] == isoformat(clock.now())


async def test_drain_lets_queued_and_running_jobs_finish(
    api: Client, emu: Emulator, clock: ManualClock
) -> None:
    """PATCH accepting_jobs=false: queued and running jobs complete; closes after the last."""
    session = await api.create_session()
    first = await api.create_job(session_id=session["id"])
    second = await api.create_job(session_id=session["id"])
    emu.start_job(first["id"])
    reply = await api.call(
        "PATCH", f"/v1/sessions/{session['id']}", json_body={"accepting_jobs": False}
    )
    assert reply.status == 204
    assert (await api.job(second["id"]))["status"] == "Queued"
    clock.advance(1)
    emu.finish_job(first["id"])
    assert (await api.session(session["id"]))["state"] == "active"
    clock.advance(1)
    emu.finish_job(second["id"])
    assert (await api.job(first["id"]))["status"] == "Completed"
    assert (await api.job(second["id"]))["status"] == "Completed"
    closed = await api.session(session["id"])
    assert closed["state"] == "closed"
    assert closed["state_reason"] == "session_closed_early"
    assert closed["closed_at"] == isoformat(clock.now())
    assert closed["last_job_completed"] == closed["closed_at"]


async def test_closed_session_rejects_jobs_with_1217(api: Client, emu: Emulator) -> None:
    """Submitting into a closed session answers 409, code 1217, and creates no job."""
    session = await api.create_session()
    await api.call("DELETE", f"/v1/sessions/{session['id']}/close")
    reply = await api.call(
        "POST",
        "/v1/jobs",
        json_body={"program_id": "sampler", "backend": "ibm_fez", "session_id": session["id"]},
    )
    assert_ibm_error(reply, 409, "1217")
    assert reply.body["errors"][0]["message"] == "Session has been closed."
    assert emu.job_ids == []


async def test_draining_session_rejects_jobs_with_1217(api: Client, emu: Emulator) -> None:
    """A session that no longer accepts jobs (still draining) refuses new ones too."""
    session = await api.create_session()
    kept = await api.create_job(session_id=session["id"])
    await api.call("PATCH", f"/v1/sessions/{session['id']}", json_body={"accepting_jobs": False})
    assert (await api.session(session["id"]))["state"] == "open"
    reply = await api.call(
        "POST",
        "/v1/jobs",
        json_body={"program_id": "sampler", "backend": "ibm_fez", "session_id": session["id"]},
    )
    assert_ibm_error(reply, 409, "1217")
    assert emu.job_ids == [kept["id"]]


async def test_closed_session_status_is_configurable(api: Client, clock: ManualClock) -> None:
    """closed_session_status changes the status of the 1217 refusal."""
    async with run_emulator(EmulatorConfig(clock=clock, closed_session_status=400)) as other:
        client = Client(api.http, other)
        session = await client.create_session()
        await client.call("DELETE", f"/v1/sessions/{session['id']}/close")
        reply = await client.call(
            "POST",
            "/v1/jobs",
            json_body={"program_id": "sampler", "backend": "ibm_fez", "session_id": session["id"]},
        )
    assert_ibm_error(reply, 400, "1217")


async def test_job_into_unknown_session_is_404(api: Client, emu: Emulator) -> None:
    """A job naming a session that does not exist answers 404 and is not created."""
    reply = await api.call(
        "POST",
        "/v1/jobs",
        json_body={"program_id": "sampler", "backend": "ibm_fez", "session_id": "missing"},
    )
    assert_ibm_error(reply, 404, "not_found")
    assert emu.job_ids == []


async def test_job_backend_must_match_session_backend(api: Client) -> None:
    """A job for another backend than its session's answers 400."""
    session = await api.create_session(backend="ibm_fez")
    reply = await api.call(
        "POST",
        "/v1/jobs",
        json_body={"program_id": "sampler", "backend": "ibm_kingston", "session_id": session["id"]},
    )
    assert_ibm_error(reply, 400, "bad_request")


async def test_session_goes_active_inactive_and_active_again(
    api: Client, emu: Emulator, clock: ManualClock
) -> None:
    """First job start activates; interactive_ttl of idleness inactivates; a new job reactivates."""
    session = await api.create_session(backend=None)
    assert session["backend_name"] is None
    job = await api.create_job(session_id=session["id"])
    clock.advance(4)
    emu.start_job(job["id"])
    started = clock.now()
    active = await api.session(session["id"])
    assert active["state"] == "active"
    assert active["backend_name"] == "ibm_fez"
    assert active["started_at"] == active["activated_at"] == isoformat(started)
    assert active["last_job_started"] == isoformat(started)
    clock.advance(10)
    emu.finish_job(job["id"])
    finished = clock.now()
    clock.advance(59)
    assert (await api.session(session["id"]))["state"] == "active"
    clock.advance(1)
    idle = await api.session(session["id"])
    assert idle["state"] == "inactive"
    assert idle["state_reason"] == "session_inactivated_by_interactive_ttl"
    assert idle["timestamps"][-1]["timestamp"] == isoformat(finished + 60)
    assert idle["elapsed_time"] == pytest.approx(clock.now() - started)
    again = await api.create_job(session_id=session["id"])
    emu.start_job(again["id"])
    back = await api.session(session["id"])
    assert back["state"] == "active"
    assert back["activated_at"] == isoformat(clock.now())
    assert back["started_at"] == isoformat(started)
    assert [stamp["status"] for stamp in back["timestamps"]] == [
        "open",
        "active",
        "inactive",
        "active",
    ]


async def test_max_ttl_closes_session_and_cancels_queued_jobs(
    api: Client, emu: Emulator, clock: ManualClock
) -> None:
    """When max_ttl elapses after the start, the session closes; queued jobs are cancelled."""
    session = await api.create_session(max_ttl=100)
    running = await api.create_job(session_id=session["id"])
    queued = await api.create_job(session_id=session["id"])
    emu.start_job(running["id"])
    start = clock.now()
    clock.advance(150)
    closed = await api.session(session["id"])
    assert closed["state"] == "closed"
    assert closed["closed_at"] == isoformat(start + 100)
    assert (await api.job(queued["id"]))["status"] == "Cancelled"
    assert (await api.job(running["id"]))["status"] == "Running"
    assert parse_timestamp(closed["closed_at"]) == start + 100
