"""The API room: one configured connection to the Runtime service, and the job listing.

`RuntimeApi` owns what every request needs — the resolved
[`ClientConfig`][qruntime_session.ClientConfig], the authenticator, the transport and its
connection pool, the submission pace, the clocks — and the registry of sessions opened on it.
Sessions, jobs, the waiting helpers and backends send their requests through it; none of them
knows [`RuntimeClient`][qruntime_session.RuntimeClient], the façade built on top of it
(``_client.py``) that hands out sessions and jobs.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import os
import random as random_module
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Self

import aiohttp

from . import errors
from ._auth import IAMApiKeyAuth, StaticTokenAuth
from ._checks import check_id, check_positive_int, path_segment
from ._config import ClientConfig
from ._models import JobInfo, SessionDetails, SessionMode, SessionState
from ._registry import Failures, SessionRegistry, left_open_error, shielded
from ._retry import PollPolicy, RetryPolicy
from ._timeouts import Timeouts
from ._transport import Authenticator, Transport
from ._wire import (
    create_session_body,
    is_nonempty_str,
    jobs_page_from_api,
    response_id,
    session_details_from_api,
    update_session_body,
)

__all__ = [
    "RuntimeApi",
    "close_session",
    "create_job",
    "create_session",
    "get_session",
    "stop_accepting_jobs",
]

log = logging.getLogger("qruntime_session")


PAGE_LIMIT = 200  # the API's maximum page size for GET /v1/jobs
#: Most pages one listing follows (2 million jobs): a bound even for a server that misbehaves.
MAX_PAGES = 10_000


class _ClientState(enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


class _Pacer:
    """Client-side pace for job submissions: at most ``per_minute`` in any 60 s window."""

    def __init__(
        self,
        per_minute: int,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self._per_minute = per_minute
        self._clock = clock
        self._sleep = sleep
        self._sent: list[float] = []
        self._lock = asyncio.Lock()

    async def wait_turn(self) -> None:
        async with self._lock:
            while True:
                now = self._clock()
                self._sent = [t for t in self._sent if now - t < 60.0]
                if len(self._sent) < self._per_minute:
                    self._sent.append(now)
                    return
                await self._sleep(60.0 - (now - self._sent[0]))


class RuntimeApi:
    """One configured connection to the Qiskit Runtime API (the layer under
    [`RuntimeClient`][qruntime_session.RuntimeClient]; see that class for the settings and how
    they are resolved).

    It knows the transport, the job listing and the registry of open sessions; it hands out
    nothing. What a primitive job's result means is not its business: `_decode_result`
    returns the JSON as sent, and [`RuntimeClient`][qruntime_session.RuntimeClient] decodes it.
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        access_token: str | None = None,
        api_key: str | None = None,
        service_crn: str | None = None,
        api_version: str | None = None,
        iam_url: str | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        session: aiohttp.ClientSession | None = None,
        config: ClientConfig | None = None,
        account: str | None = None,
        config_file: str | os.PathLike[str] | None = None,
        environ: Mapping[str, str] | None = None,
        poll: PollPolicy | None = None,
        submission_tags: bool = False,
        max_jobs_per_minute: int | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        random: Callable[[], float] = random_module.random,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        settings: dict[str, Any] = {  # each typed in the signature above
            "base_url": base_url,
            "access_token": access_token,
            "api_key": api_key,
            "service_crn": service_crn,
            "api_version": api_version,
            "iam_url": iam_url,
            "timeouts": timeouts,
            "retry": retry,
        }
        if config is None:
            config = ClientConfig.load(
                **settings, account=account, config_file=config_file, environ=environ
            )
        elif any(value is not None for value in settings.values()):
            raise errors.ConfigurationError("pass either config= or individual settings, not both")
        if max_jobs_per_minute is not None:
            check_positive_int(max_jobs_per_minute, "max_jobs_per_minute")
        self.config = config
        """The resolved configuration (its repr hides the credential)."""
        self.poll = poll if poll is not None else PollPolicy()
        """How often job and session statuses are polled by default."""
        self.submission_tags = submission_tags
        """Whether every job is tagged so that a lost submission can be looked up."""
        self._sleep = sleep
        self._random = random
        self._clock = clock
        self._transport = Transport(
            base_url=config.base_url,
            timeouts=config.timeouts,
            retry=config.retry,
            service_crn=config.service_crn,
            api_version=config.api_version,
            session=session,
            sleep=sleep,
            random=random,
            clock=clock,
            max_response_bytes=config.max_response_bytes,
        )
        auth: Authenticator
        if config.access_token is not None:
            auth = StaticTokenAuth(config.access_token)
        elif config.api_key is not None:
            auth = IAMApiKeyAuth(config.api_key, iam_url=config.iam_url, transport=self._transport)
        else:  # ClientConfig guarantees one of them; keep the check for direct construction
            raise errors.ConfigurationError("no access token or API key configured")
        self._transport.auth = auth
        self._pacer = (
            _Pacer(max_jobs_per_minute, clock=clock, sleep=sleep) if max_jobs_per_minute else None
        )
        self._state = _ClientState.OPEN
        # Ids of jobs the user named with client.job(id); submission recovery never adopts
        # them (each session keeps the ids its own POSTs created, so this does not grow with
        # every submission of a long-lived client).
        self._known_job_ids: set[str] = set()
        # Sessions this client opened (or attached) and has not closed yet: id -> backend,
        # with the creates and closes in flight on them (see _registry). close_all_sessions()
        # and aclose() close them; a client collected with some left warns.
        self._registry = SessionRegistry(client_closed=lambda: self.closed)
        self._open_sessions: dict[str, str] = self._registry.open
        self._aclose_task: asyncio.Future[None] | None = None  # shared by concurrent aclose()s

    def __del__(self) -> None:
        open_sessions = getattr(self, "_open_sessions", None)
        if open_sessions:
            warnings.warn(
                f"RuntimeClient collected with {len(open_sessions)} session(s) still open: "
                f"{', '.join(sorted(open_sessions))}; use `await client.close_all_sessions()`",
                ResourceWarning,
                stacklevel=2,
            )

    @property
    def open_session_ids(self) -> tuple[str, ...]:
        """Ids of the sessions this client opened (or attached) and has not closed."""
        return tuple(self._open_sessions)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> Self:
        """A client configured from the environment and defaults only (no files).

        Args:
            environ: The environment to read (default: the process environment).
            **kwargs: Other constructor keywords (``session``, ``poll``, ...).

        Returns:
            The client.
        """
        return cls(config=ClientConfig.from_env(environ), **kwargs)

    @classmethod
    def from_config(cls, config: ClientConfig, **kwargs: Any) -> Self:
        """A client using ``config`` as it is.

        Args:
            config: The resolved configuration.
            **kwargs: Other constructor keywords (``session``, ``poll``, ...).

        Returns:
            The client.
        """
        return cls(config=config, **kwargs)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self.config.base_url!r}, "
            f"api_version={self.config.api_version!r}, state={self._state.value})"
        )

    @property
    def closed(self) -> bool:
        """Whether [`aclose`][qruntime_session.RuntimeClient.aclose] has run (a closed client sends
        nothing more)."""
        return self._state is _ClientState.CLOSED

    @property
    def transport(self) -> Transport:
        """The transport (private API surface; for the package's own use)."""
        if self._state is _ClientState.CLOSED:
            raise errors.SessionStateError("this RuntimeClient is closed; create a new one")
        return self._transport

    async def __aenter__(self) -> Self:
        if self._state is _ClientState.CLOSED:
            raise errors.SessionStateError("this RuntimeClient is closed; create a new one")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.aclose()
        except errors.QRuntimeError as failure:
            if exc is None:
                raise
            # Already logged at WARNING with the session ids; the leaving exception wins.
            exc.add_note(f"qruntime_session: closing the client also failed: {failure}")

    async def aclose(self) -> None:
        """Close the sessions this client still has open, then release the connection pool.

        In order: the session creates and closes in flight are waited for (together bounded
        by ``Timeouts.close``); every session still in the registry is closed, concurrently
        and each once (a close in flight is joined, not sent again); then the pool is closed
        (if this client created it). Idempotent; concurrent calls share one close. A
        cancellation that arrives meanwhile is held back until this is done (it is bounded),
        then re-raised.

        Raises:
            QRuntimeError: A session could not be closed (logged at WARNING with its id; the
                first error is raised, every id left open in a note). By ``async with``, only
                when no other exception is leaving the block (it then gets the note).
        """
        if self._state is _ClientState.CLOSED:
            return
        if self._aclose_task is None:
            self._aclose_task = asyncio.ensure_future(self._close_everything())
        await shielded(self._aclose_task)  # shared by concurrent calls

    async def _close_everything(self) -> None:
        timeout = self.config.timeouts.close
        failures: Failures = []
        try:
            await self._registry.wait_in_flight(timeout)
            if self._open_sessions:
                _closed, failures = await self._close_registered_sessions("close")
        finally:
            self._state = _ClientState.CLOSED
            await self._transport.aclose()
        if failures:
            log.warning(
                "RuntimeClient closed with %d session(s) it could not close (they may still be "
                "open, and close themselves when idle): %s",
                len(failures),
                ", ".join(sid for sid, _ in failures),
            )
            raise left_open_error(failures)

    async def _close_registered_sessions(self, how: str) -> tuple[tuple[str, ...], Failures]:
        """Close (``how="drain"``: stop accepting jobs in) every registered session by id,
        concurrently, each once and bounded by ``Timeouts.close``: the ids closed, and the
        failures (the sessions then stay registered)."""

        async def close_one(session_id: str, _backend: str) -> None:
            await self._registry.close_once(session_id, lambda: self._close_by_id(session_id, how))

        return await self._registry.close_all(close_one)

    async def _close_by_id(self, session_id: str, how: str) -> None:
        await self._timed_close(session_id, lambda: self._send_close(session_id, how))

    async def _timed_close(self, session_id: str, send: Callable[[], Awaitable[None]]) -> None:
        """``send()`` a session's close (or drain), bounded by ``Timeouts.close``."""
        timeout = self.config.timeouts.close
        try:
            async with asyncio.timeout(timeout):
                await send()
        except TimeoutError as exc:
            raise errors.RequestTimeoutError(
                f"closing session {session_id} did not finish within {timeout}s",
                session_id=session_id,
            ) from exc

    async def _send_close(self, session_id: str, how: str) -> None:
        """Close (``how="drain"``: stop accepting jobs in) a session by id, then forget it
        (a session already closed, 404, is not an error)."""
        try:
            if how == "drain":
                await stop_accepting_jobs(self, session_id)
            else:
                await close_session(self, session_id)
                log.info("session %s closed", session_id)
        except errors.NotFoundError:
            log.info("session %s was already closed", session_id)
        self._open_sessions.pop(session_id, None)

    async def list_jobs(
        self,
        *,
        session_id: str | None = None,
        pending: bool | None = None,
        program_id: str | None = None,
        exclude_params: bool = True,
        limit: int | None = None,
    ) -> list[JobInfo]:
        """Jobs visible to this instance, newest first, following pages of 200.

        Args:
            session_id: Only the jobs of this session.
            pending: Only pending jobs (``True``), only finished ones (``False``), or both
                (``None``).
            program_id: Only jobs of this program (``"sampler"``, ``"estimator"``).
            exclude_params: Leave each job's parameters out of the listing (smaller pages).
            limit: How many jobs to return at most (``None``: all of them).

        Returns:
            The jobs, newest first.

        Raises:
            InvalidInputError: ``program_id`` is empty, or ``limit`` is not a positive integer.
            UnexpectedStatusError: A page came back unreadable.
        """
        out: list[JobInfo] = []
        async for page in self.job_pages(
            session_id=session_id,
            pending=pending,
            program_id=program_id,
            exclude_params=exclude_params,
            limit=limit,
        ):
            out.extend(page)
        return out

    async def job_pages(
        self,
        *,
        session_id: str | None = None,
        pending: bool | None = None,
        program_id: str | None = None,
        exclude_params: bool = True,
        limit: int | None = None,
    ) -> AsyncIterator[list[JobInfo]]:
        """``GET /v1/jobs`` page by page (200 a page), so a caller can stop early.

        Each job is yielded once. The listing stops at the last page, at ``count``, when a
        page brings no job not seen before (a server that ignores ``offset``), or after
        `MAX_PAGES` pages, whichever comes first.

        Args:
            session_id: Only the jobs of this session.
            pending: Only pending jobs (``True``), only finished ones (``False``), or both
                (``None``).
            program_id: Only jobs of this program (``"sampler"``, ``"estimator"``).
            exclude_params: Leave each job's parameters out of the listing (smaller pages).
            limit: How many jobs to yield at most, over all pages (``None``: all of them).

        Yields:
            Each page's jobs not yielded before, newest first.

        Raises:
            InvalidInputError: ``program_id`` is empty, or ``limit`` is not a positive integer.
            UnexpectedStatusError: A page came back unreadable.
        """
        if limit is not None:
            check_positive_int(limit, "limit")
        if session_id is not None:
            check_id(session_id, "session_id")
        if program_id is not None and not is_nonempty_str(program_id):
            raise errors.InvalidInputError("program_id must be a non-empty string")
        seen = 0
        offset = 0
        ids: set[str] = set()
        for _page_number in range(MAX_PAGES):
            page_size = PAGE_LIMIT if limit is None else min(PAGE_LIMIT, limit - seen)
            if page_size <= 0:
                return
            params: list[tuple[str, str]] = [("limit", str(page_size)), ("offset", str(offset))]
            if session_id is not None:
                params.append(("session_id", session_id))
            if pending is not None:
                params.append(("pending", "true" if pending else "false"))
            if program_id is not None:
                params.append(("program", program_id))
            params.append(("exclude_params", "true" if exclude_params else "false"))
            response = await self.transport.request(
                "GET", "/v1/jobs", params=params, operation="list_jobs"
            )
            try:
                jobs, count = jobs_page_from_api(response.json())
            except ValueError as exc:
                raise response.unreadable(
                    f"list_jobs answered 200 with an unreadable body: {exc}",
                    session_id=session_id,
                ) from exc
            offset += len(jobs)
            fresh = [info for info in jobs if info.id not in ids]
            ids.update(info.id for info in fresh)
            seen += len(fresh)
            if fresh:
                yield fresh
            if not jobs or len(jobs) < page_size or (count is not None and offset >= count):
                return
            if not fresh:
                log.warning("list_jobs: the service repeated a page at offset %d; stopping", offset)
                return
        log.warning("list_jobs: stopped after %d pages", MAX_PAGES)

    async def _pace_submission(self) -> None:
        if self._pacer is not None:
            await self._pacer.wait_turn()

    def _decode_result(
        self, body: Any, *, program_id: str, job_id: str, session_id: str | None
    ) -> Any:
        """A ``sampler`` or ``estimator`` job's result body as
        [`Job.result`][qruntime_session.Job.result] returns it.

        Here: the JSON as sent. [`RuntimeClient`][qruntime_session.RuntimeClient] decodes it into
        a ``PrimitiveResult``.
        """
        return body


# -- the session and job-creation requests ---------------------------------------------------
# What a session sends, one function per operation of the seed workflow and the API; the
# session decides when, and what a failure means (``_session.py``, ``_submission.py``).


async def create_session(
    api: RuntimeApi, backend: str, mode: SessionMode
) -> tuple[str, SessionState]:
    """``POST /v1/sessions``: the new session's id and the state it was answered with."""
    response = await api.transport.request(
        "POST",
        "/v1/sessions",
        json=create_session_body(backend, mode),
        expected=(200,),
        retry="unsent",
        operation="create_session",
    )
    try:
        data = response.json()
        session_id = response_id(data, "create_session")
    except ValueError as exc:
        raise response.unreadable(
            f"create_session answered 200 without a readable session id: {exc}; "
            "a session was probably created, and as the API cannot list sessions it "
            "cannot be named: it closes itself after its interactive timeout",
        ) from exc
    return session_id, SessionState.parse(data.get("state"))


async def get_session(api: RuntimeApi, session_id: str) -> SessionDetails:
    """``GET /v1/sessions/{id}``."""
    response = await api.transport.request(
        "GET", f"/v1/sessions/{path_segment(session_id)}", operation="get_session"
    )
    try:
        return session_details_from_api(response.json())
    except ValueError as exc:
        raise response.unreadable(
            f"get_session answered with an unreadable body: {exc}",
            session_id=session_id,
        ) from exc


async def stop_accepting_jobs(api: RuntimeApi, session_id: str) -> None:
    """``PATCH /v1/sessions/{id}`` ``{"accepting_jobs": false}``; an error names the session."""
    try:
        await api.transport.request(
            "PATCH",
            f"/v1/sessions/{path_segment(session_id)}",
            json=update_session_body(accepting_jobs=False),
            expected=(204,),
            operation="update_session",
        )
    except errors.QRuntimeError as exc:
        exc._attach_ids(session_id=session_id)
        raise
    log.info("session %s stopped accepting jobs (draining)", session_id)


async def close_session(api: RuntimeApi, session_id: str) -> None:
    """``DELETE /v1/sessions/{id}/close``, sent again after a garbled 2xx (it is idempotent)."""
    transport = api.transport
    start = api._clock()
    attempt = 0
    while True:
        attempt += 1
        try:
            await transport.request(
                "DELETE",
                f"/v1/sessions/{path_segment(session_id)}/close",
                expected=(204,),
                operation="delete_session_close",
            )
            return
        except errors.UnexpectedStatusError as exc:
            if exc.status is None or not 200 <= exc.status < 300:
                raise
            delay = transport.retry.next_delay(
                retry_number=attempt,
                elapsed=api._clock() - start,
                retry_after=None,
                random=api._random,
            )
            if delay is None:
                raise
            log.debug("close of session %s answered %d; sending it again", session_id, exc.status)
            await api._sleep(delay)


async def create_job(api: RuntimeApi, body: Mapping[str, Any]) -> str:
    """``POST /v1/jobs`` once (never re-sent here): the new job's id.

    A 200 without a readable id raises
    [`UnexpectedStatusError`][qruntime_session.errors.UnexpectedStatusError] with that status: a
    job was created, and the caller looks for it.
    """
    response = await api.transport.request(
        "POST", "/v1/jobs", json=body, expected=(200,), retry="unsent", operation="create_job"
    )
    try:
        return response_id(response.json(), "create_job")
    except ValueError as exc:
        raise response.unreadable(
            f"create_job answered 200 without a readable job id: {exc}",
        ) from exc
