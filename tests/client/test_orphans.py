"""Orphan recovery: the client's registry of open sessions, close_all_sessions, and the
ResourceWarning when a Session or client is collected with sessions still open."""

from __future__ import annotations

import asyncio
import gc
import warnings
from typing import Any

import pytest

import qruntime_session as qrs
from qruntime_session import errors
from qruntime_session.emulator import Emulator, run_emulator

PARAMS = {"pubs": [["OPENQASM 3.0;", None, 64]], "version": 2}


def emu_client(emu: Emulator, **kwargs: Any) -> qrs.RuntimeClient:
    return qrs.RuntimeClient(
        base_url=emu.base_url,
        service_crn=emu.service_crn,
        access_token=emu.token,
        retry=qrs.RetryPolicy(max_attempts=2, initial_backoff=0.01),
        **kwargs,
    )


def open_sessions(emu: Emulator) -> list[str]:
    return [sid for sid in emu.session_ids if emu.session(sid)["state"] != "closed"]


async def test_the_notebook_case_an_interrupted_cell_then_close_all_sessions() -> None:
    """A cell runs three sessions and is interrupted (its task cancelled) while the service
    refuses every close; re-running the cell's recovery closes every one of them."""
    async with run_emulator() as emu:
        client = emu_client(emu, timeouts=qrs.Timeouts(close=0.5))
        started = asyncio.Event()
        sessions: list[qrs.Session] = []

        async def one_session() -> None:
            async with client.session("ibm_fez", "batch") as session:
                sessions.append(session)
                await session.submit_job("sampler", PARAMS)
                if len(sessions) == 3:
                    started.set()
                await asyncio.Event().wait()  # the cell's long computation

        async def cell() -> None:
            async with asyncio.TaskGroup() as group:
                for _ in range(3):
                    group.create_task(one_session())

        emu.faults.add("delete_session_close", status=500, times=None)  # close impossible
        task = asyncio.create_task(cell())
        await started.wait()
        task.cancel()  # the interrupt
        with pytest.raises(asyncio.CancelledError):
            await task
        left = sorted(s.id or "" for s in sessions)
        assert sorted(open_sessions(emu)) == left
        assert sorted(client.open_session_ids) == left

        # The next cell: the service is healthy again.
        emu.faults.clear()
        closed = await client.close_all_sessions()
        assert sorted(closed) == left
        assert open_sessions(emu) == []
        assert client.open_session_ids == ()
        await client.aclose()


async def test_close_all_sessions_names_what_it_could_not_close() -> None:
    async with run_emulator() as emu:
        async with emu_client(emu, timeouts=qrs.Timeouts(close=0.3)) as client:
            session = await client.session("ibm_fez", "batch").__aenter__()
            emu.faults.add("delete_session_close", status=500, times=None)
            with pytest.raises(errors.ServerError) as caught:
                await client.close_all_sessions()
            assert caught.value.session_id == session.id
            assert any(session.id in note for note in caught.value.__notes__)
            assert client.open_session_ids == (session.id,)
            emu.faults.clear()
            assert await client.close_all_sessions(drain=True) == (session.id,)
            assert client.open_session_ids == ()


async def test_a_session_collected_while_open_warns_naming_it() -> None:
    async with run_emulator() as emu:
        async with emu_client(emu) as client:
            session = await client.session("ibm_fez", "batch").__aenter__()
            session_id = session.id
            assert session_id is not None
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                del session
                gc.collect()
            assert any(
                w.category is ResourceWarning and session_id in str(w.message) for w in caught
            )
            await client.close_all_sessions()
        assert open_sessions(emu) == []


async def test_a_client_collected_with_open_sessions_warns_naming_them() -> None:
    async with run_emulator() as emu:
        client = emu_client(emu)
        session = await client.session("ibm_fez", "batch").__aenter__()
        session_id = session.id
        assert session_id is not None
        session._warn_on_del = False  # only the client's warning is under test here
        # aclose() closes what it can (issue 15): make this close fail, so one is left.
        emu.faults.add("delete_session_close", times=None, status=403)
        with pytest.raises(errors.PermissionDeniedError) as refused:
            await client.aclose()
        assert any(session_id in note for note in refused.value.__notes__)
        emu.faults.clear()
        for _ in range(3):  # let the close's done-callbacks run (they hold the client)
            await asyncio.sleep(0)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            del client, session, refused
            gc.collect()
        assert any(w.category is ResourceWarning and session_id in str(w.message) for w in caught)
        async with emu_client(emu) as cleanup:
            attached = await cleanup.attach_session(session_id).__aenter__()
            assert await cleanup.close_all_sessions() == (attached.id,)
        assert open_sessions(emu) == []


async def test_closed_sessions_leave_the_registry() -> None:
    async with run_emulator() as emu, emu_client(emu) as client:
        async with client.session("ibm_fez", "batch") as first:
            assert client.open_session_ids == (first.id,)
        async with client.attach_session(first.id or "") as again:
            assert client.open_session_ids == (again.id,)
        assert client.open_session_ids == ()
        assert await client.close_all_sessions() == ()
