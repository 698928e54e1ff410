"""``emulator_thread``: an emulator served from a background thread, for synchronous code."""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import pytest

from qruntime_session.emulator import API_VERSIONS, Emulator, EmulatorConfig, emulator_thread
from qruntime_session.emulator import _thread as thread_module


def _request(emu: Emulator, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """A plain synchronous HTTP call (no proxy, no event loop) to the emulator's API."""
    address = urlsplit(emu.origin)
    assert address.hostname == "127.0.0.1"
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        headers = {
            "Authorization": f"Bearer {emu.token}",
            "Service-CRN": emu.service_crn,
            "Content-Type": "application/json",
            "IBM-API-Version": API_VERSIONS[-1].version,
        }
        data = None if body is None else json.dumps(body)
        connection.request(method, f"/api{path}", body=data, headers=headers)
        response = connection.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None
    finally:
        connection.close()


def _refuses_connections(origin: str) -> bool:
    address = urlsplit(origin)
    assert address.hostname is not None
    try:
        socket.create_connection((address.hostname, address.port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def _our_threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("qruntime-emulator")}


def _wait_no_threads_of_ours() -> set[str]:
    """The emulator's threads still alive after a short grace (its simulation worker exits
    on its own once shut down)."""
    deadline = time.monotonic() + 5
    while _our_threads() and time.monotonic() < deadline:
        time.sleep(0.02)
    return _our_threads()


JOB = {
    "program_id": "sampler",
    "backend": "ibm_fez",
    "params": {"pubs": [["OPENQASM 3.0; bit[2] c;", {}, 100]], "version": 2},
}


def test_serves_from_a_thread_and_stops_on_exit() -> None:
    """The block gets a listening emulator on 127.0.0.1; its state is reached from the caller's
    thread with call_from_thread (functions and coroutine functions); leaving the block closes
    the port and ends the thread."""
    assert _wait_no_threads_of_ours() == set()
    with emulator_thread(EmulatorConfig(queue_seconds=None, noise=False)) as emu:
        assert emu.origin.startswith("http://127.0.0.1:")
        assert emu.base_url == f"{emu.origin}/api"
        assert "qruntime-emulator" in _our_threads()
        status, job = _request(emu, "POST", "/v1/jobs", JOB)
        assert status == 200, job
        assert emu.call_from_thread(emu.job, job["id"])["status"] == "Queued"
        emu.call_from_thread(emu.finish_job, job["id"])
        assert _request(emu, "GET", f"/v1/jobs/{job['id']}")[1]["status"] == "Completed"

        async def job_count() -> int:
            await asyncio.sleep(0)
            return len(emu.job_ids)

        assert emu.call_from_thread(job_count) == 1
        with pytest.raises(TimeoutError):
            emu.call_from_thread(asyncio.sleep, 10, timeout=0.05)
        # On the loop's own thread, the emulator is called directly.
        with pytest.raises(RuntimeError, match="other threads"):
            emu.call_from_thread(lambda: emu.call_from_thread(len, []))
    assert _refuses_connections(emu.origin)
    assert _wait_no_threads_of_ours() == set()
    with pytest.raises(RuntimeError, match="not being served"):
        emu.call_from_thread(len, [])


def test_an_exception_in_the_block_still_stops_it() -> None:
    """Leaving the block by an exception stops the server and its thread, and the exception
    comes out unchanged."""
    origins: list[str] = []

    def fail_inside() -> None:
        with emulator_thread() as emu:
            origins.append(emu.origin)
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        fail_inside()
    (origin,) = origins
    assert _refuses_connections(origin)
    assert _wait_no_threads_of_ours() == set()


def test_a_failing_start_raises_in_the_callers_thread() -> None:
    """A port already listened on: the OSError from the emulator's thread is raised by the
    with statement, and no thread is left behind."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match="address already in use"), emulator_thread(port=port):
            pytest.fail("the block must not run")  # pragma: no cover
    assert _wait_no_threads_of_ours() == set()


def test_a_start_that_hangs_times_out_and_is_cancelled(monkeypatch: pytest.MonkeyPatch) -> None:
    """No listening emulator within start_timeout: TimeoutError, and the thread is stopped."""

    async def never_listens(*_args: object) -> Any:
        await asyncio.sleep(3600)

    monkeypatch.setattr(thread_module, "_start", never_listens)
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="did not start"), emulator_thread(start_timeout=0.2):
        pytest.fail("the block must not run")  # pragma: no cover
    assert time.monotonic() - started < 10
    assert _wait_no_threads_of_ours() == set()
