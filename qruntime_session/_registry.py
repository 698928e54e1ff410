"""The sessions a client opened and has not closed, with the creates and closes in flight.

``RuntimeClient.aclose()`` must not pull the connection pool from under a close (issue 15):
a cancelled ``gather`` of sessions leaves their closes still waiting for a connection when the
client's block exits. So the registry knows, besides the open ids, every session create and
every close in flight; a close runs once per session id at a time (a second caller joins it),
and the client waits for them, then closes what is left, before it closes the pool.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from . import errors

__all__ = ["Failures", "SessionRegistry", "shielded"]

T = TypeVar("T")

log = logging.getLogger("qruntime_session")

Failures = list[tuple[str, errors.QRuntimeError]]


async def shielded(awaitable: Awaitable[T]) -> T:
    """Run ``awaitable`` to completion even if the caller is cancelled meanwhile.

    A cancellation that arrives while it runs is held back until it is done, then re-raised
    (never swallowed). The awaitable must bound its own duration. A task or future is awaited
    as it is, so concurrent callers can share one.
    """
    task = asyncio.ensure_future(awaitable)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.cancelled():
                raise
            cancelled = True
    if cancelled:
        task.exception()  # retrieved: its outcome gives way to the cancellation
        raise asyncio.CancelledError
    return task.result()


class SessionRegistry:
    """Open session ids (id -> backend) and the work in flight on them; one per client."""

    def __init__(self, *, client_closed: Callable[[], bool]) -> None:
        self.open: dict[str, str] = {}
        self._client_closed = client_closed
        self._closes: dict[str, asyncio.Future[None]] = {}  # the close in flight, by id
        self._opens: set[asyncio.Future[Any]] = set()  # session creates in flight

    def track_open(self, task: asyncio.Future[Any]) -> None:
        """Note a session create in flight: the client waits for it before it sweeps."""
        self._opens.add(task)
        task.add_done_callback(self._opens.discard)

    async def close_once(
        self, session_id: str, close: Callable[[], Coroutine[Any, Any, None]]
    ) -> None:
        """Run ``close()`` for ``session_id`` unless a close of it is in flight already, and
        wait for whichever runs: one close per session at a time, whoever asks (the session's
        own exit, ``close_all_sessions``, ``aclose``).

        Once the client is closed nothing can be sent: a session its ``aclose`` closed is
        done; one it could not close raises ``SessionStateError``. A failed close is logged at
        WARNING when it ends, so that no failure is lost when a cancellation is leaving.
        """
        task = self._closes.get(session_id)
        if task is None:
            if self._client_closed():
                if session_id not in self.open:
                    return  # closed by the client's aclose()
                raise errors.SessionStateError(
                    f"this RuntimeClient is closed and could not close session {session_id}; "
                    "it may still be open (it closes itself when idle)",
                    session_id=session_id,
                )
            task = asyncio.ensure_future(close())
            self._closes[session_id] = task
            task.add_done_callback(functools.partial(self._close_ended, session_id))
        await asyncio.shield(task)

    def _close_ended(self, session_id: str, task: asyncio.Future[None]) -> None:
        if self._closes.get(session_id) is task:
            del self._closes[session_id]
        failure = None if task.cancelled() else task.exception()
        if task.cancelled() or failure is not None:
            log.warning(
                "closing session %s failed; it may still be open: %s",
                session_id,
                # str(): a log record keeps its args, and an error's traceback holds frames
                str(failure) if failure is not None else "the close was cancelled",
            )

    async def wait_in_flight(self, timeout: float) -> None:
        """Wait (at most ``timeout`` seconds) for the creates and closes in flight."""
        in_flight = [*self._opens, *self._closes.values()]
        if in_flight:
            await asyncio.wait(in_flight, timeout=timeout)

    async def close_all(
        self, close_one: Callable[[str, str], Awaitable[None]]
    ) -> tuple[tuple[str, ...], Failures]:
        """``close_one(id, backend)`` for every open session, concurrently (each bounds its
        own time). Returns the ids closed and the failures, in registry order; a foreign
        error becomes the package's, a cancellation or interrupt goes through."""

        async def one(session_id: str, backend: str) -> None:
            if session_id in self.open:  # not closed meanwhile
                await close_one(session_id, backend)

        registered = list(self.open.items())
        outcomes = await asyncio.gather(
            *(one(sid, backend) for sid, backend in registered), return_exceptions=True
        )
        closed: list[str] = []
        failures: Failures = []
        for (session_id, _), outcome in zip(registered, outcomes, strict=True):
            if outcome is None:
                closed.append(session_id)
                continue
            if isinstance(outcome, errors.QRuntimeError):
                failure = outcome
            elif isinstance(outcome, Exception):  # never leak a foreign error
                failure = errors.TransportError(
                    f"closing session {session_id} failed unexpectedly ({type(outcome).__name__})"
                )
            else:
                raise outcome
            failure._attach_ids(session_id=session_id)
            failures.append((session_id, failure))
        return tuple(closed), failures


def left_open_error(failures: Failures) -> errors.QRuntimeError:
    """The first failure, with a note naming every session left open."""
    first = failures[0][1]
    first.add_note(
        "qruntime_session: sessions still open: " + ", ".join(sid for sid, _ in failures)
    )
    return first
