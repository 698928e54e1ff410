"""The emulator's event-driven clock and its bounded request log.

Transitions are kept in a heap and checked again when they fall due; these tests pin the
cases where a scheduled transition must be dropped or replaced, and the ring-buffer log.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from qruntime_session.emulator import EmulatorConfig, JobOutcome, ManualClock, run_emulator
from qruntime_session.emulator._state import Store

from .emu_support import Client


def _store(clock: ManualClock, **config: Any) -> Store:
    return Store(EmulatorConfig(clock=clock, seed=7, **config))


def _job(store: Store, session_id: str | None = None) -> str:
    return store.create_job(
        program_id="sampler",
        backend="ibm_fez",
        params={"pubs": []},
        session_id=session_id,
    ).id


def _session(store: Store, **ttls: int) -> str:
    return store.create_session(
        mode="batch",
        backend="ibm_fez",
        max_ttl=ttls.get("max_ttl"),
        interactive_ttl=ttls.get("interactive_ttl"),
        active_ttl=None,
    ).id


def test_chain_of_transitions_applies_in_order_within_one_tick() -> None:
    """Queued -> Running -> Completed -> session inactive, all replayed by one late look."""
    clock = ManualClock()
    store = _store(clock, queue_seconds=1.0, run_seconds=2.0, interactive_ttl=5)
    session_id = _session(store)
    created = clock.now()
    job_id = _job(store, session_id)
    clock.advance(100)
    store.tick()
    job = store.jobs[job_id]
    session = store.sessions[session_id]
    assert (job.status, job.started, job.finished) == ("Completed", created + 1, created + 3)
    assert [state for state, _ in session.timestamps] == ["open", "active", "inactive"]
    assert session.timestamps[-1][1] == created + 3 + 5
    assert [entry[0] for entry in store._due] == [created + 1 + 28800]  # its max_ttl expiry


def test_cancelled_queued_job_never_starts() -> None:
    """A job cancelled while Queued drops its scheduled start."""
    clock = ManualClock()
    store = _store(clock, queue_seconds=10.0, run_seconds=10.0)
    job_id = _job(store)
    store.cancel_job(store.jobs[job_id])
    clock.advance(30)
    store.tick()
    job = store.jobs[job_id]
    assert job.status == "Cancelled"
    assert job.started is None


def test_new_job_postpones_inactivity() -> None:
    """The idle transition planned at the last job's end is dropped when a new job arrives."""
    clock = ManualClock()
    store = _store(clock, queue_seconds=None, run_seconds=None, interactive_ttl=10)
    session_id = _session(store)
    first = _job(store, session_id)
    store.finish_job(first, None)
    clock.advance(5)
    second = _job(store, session_id)
    store.start_job(second)
    clock.advance(20)
    store.tick()
    assert store.sessions[session_id].state == "active"
    store.finish_job(second, JobOutcome.failed())
    ended = clock.now()
    clock.advance(10)
    store.tick()
    session = store.sessions[session_id]
    assert session.state == "inactive"
    assert session.timestamps[-1][1] == ended + 10


def test_max_ttl_expiry_is_scheduled_once_and_cancels_queued_jobs() -> None:
    """A session re-activated after going idle still expires at started_at + max_ttl."""
    clock = ManualClock()
    store = _store(clock, queue_seconds=None, run_seconds=None, interactive_ttl=1)
    session_id = _session(store, max_ttl=50)
    first = _job(store, session_id)
    store.finish_job(first, None)
    started = clock.now()
    clock.advance(2)
    second = _job(store, session_id)
    store.start_job(second)
    waiting = _job(store, session_id)
    clock.advance(100)
    store.tick()
    session = store.sessions[session_id]
    assert (session.state, session.closed_at) == ("closed", started + 50)
    assert session.state_reason == "session_max_ttl_exceeded"
    assert store.jobs[waiting].status == "Cancelled"
    assert store.jobs[second].status == "Running"


def test_many_jobs_end_at_their_own_instants() -> None:
    """Thousands of due jobs: each ends at its scheduled time, and nothing stays queued up."""
    clock = ManualClock()
    store = _store(clock, queue_seconds=1.0, run_seconds=1.0, jobs_per_device=None)
    created = {}
    for _ in range(2000):
        created[_job(store)] = clock.now()
        clock.advance(0.001)
    clock.advance(10)
    store.tick()
    assert all(job.status == "Completed" for job in store.jobs.values())
    assert all(job.finished == created[job.id] + 2 for job in store.jobs.values())
    assert not store._due


def test_rebuilt_schedule_matches_the_incremental_one() -> None:
    """Rebuilding the heap from the records gives the same future as the incremental heap."""
    outcomes = []
    for rebuild in (False, True):
        clock = ManualClock()
        store = _store(clock, queue_seconds=3.0, run_seconds=4.0, interactive_ttl=2)
        session_id = _session(store, max_ttl=9)
        jobs = [_job(store, session_id) for _ in range(3)]
        clock.advance(1)
        _job(store)
        clock.advance(3)
        store.tick()
        if rebuild:
            store._rebuild_schedule()
        clock.advance(50)
        store.tick()
        session = store.sessions[session_id]
        outcomes.append(
            (
                [(store.jobs[j].status, store.jobs[j].finished) for j in store.jobs],
                session.timestamps,
                jobs,
            )
        )
    assert outcomes[0][:2] == outcomes[1][:2]


async def test_request_log_is_a_ring_buffer() -> None:
    """Only the last request_log_size requests are kept, oldest forgotten first."""
    async with run_emulator(EmulatorConfig(request_log_size=3)) as emu:
        async with aiohttp.ClientSession() as http:
            api = Client(http, emu)
            for _ in range(5):
                await api.create_session()
            await api.call("GET", "/v1/versions")
        log = emu.requests
        assert [r.operation for r in log] == ["create_session", "create_session", "get_versions"]
        assert log[0].body == {"mode": "dedicated", "backend": "ibm_fez"}
        assert log[-1].body is None


async def test_request_log_can_be_unbounded() -> None:
    """request_log_size=None keeps every request."""
    async with run_emulator(EmulatorConfig(request_log_size=None)) as emu:
        async with aiohttp.ClientSession() as http:
            api = Client(http, emu)
            for _ in range(12):
                await api.call("GET", "/v1/versions")
        assert len(emu.requests) == 12
