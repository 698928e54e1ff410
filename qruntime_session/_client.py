"""RuntimeClient: resolved configuration plus one HTTP connection pool."""

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
from typing import TYPE_CHECKING, Any, Self

import aiohttp

from . import _backends, errors
from ._auth import IAMApiKeyAuth, StaticTokenAuth
from ._backends import BackendConfiguration, BackendInfo, BackendStatus
from ._checks import check_id, check_positive_int
from ._config import ClientConfig
from ._job import Job
from ._models import JobInfo, SessionMode
from ._retry import PollPolicy, RetryPolicy
from ._timeouts import Timeouts
from ._transport import Authenticator, Transport
from ._wire import is_nonempty_str, jobs_page_from_api

if TYPE_CHECKING:
    from ._session import OnExit, Session

__all__ = ["RuntimeClient"]

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


class RuntimeClient:
    """A configured connection to the Qiskit Runtime API.

    Settings are resolved once, here, by :meth:`ClientConfig.load` (explicit keywords >
    environment > qiskit-ibm-runtime's saved account > YAML file > defaults; see
    ``docs/configuration.md``). The client owns one ``aiohttp.ClientSession``, created on
    first use, unless one is passed in as ``session=`` — then it is shared and never closed
    by the client.

    Use it as an async context manager (or call :meth:`aclose`), and open many sessions on it
    with :meth:`session`::

        async with RuntimeClient() as client:
            async with client.session("ibm_fez", "batch") as session:
                job = await session.submit_job("sampler", params)
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
        if config is None:
            config = ClientConfig.load(
                base_url=base_url,
                access_token=access_token,
                api_key=api_key,
                service_crn=service_crn,
                api_version=api_version,
                iam_url=iam_url,
                timeouts=timeouts,
                retry=retry,
                account=account,
                config_file=config_file,
                environ=environ,
            )
        elif any(
            v is not None
            for v in (
                base_url,
                access_token,
                api_key,
                service_crn,
                api_version,
                iam_url,
                timeouts,
                retry,
            )
        ):
            raise errors.ConfigurationError("pass either config= or individual settings, not both")
        if max_jobs_per_minute is not None:
            check_positive_int(max_jobs_per_minute, "max_jobs_per_minute")
        self.config = config
        self.poll = poll if poll is not None else PollPolicy()
        self.submission_tags = submission_tags
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
        # Sessions this client opened (or attached) and has not closed yet: id -> backend.
        # close_all_sessions() closes them; a client collected with some left warns.
        self._open_sessions: dict[str, str] = {}

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

    async def close_all_sessions(self, *, drain: bool = False) -> tuple[str, ...]:
        """Close (``drain=True``: stop accepting jobs in) every session this client opened
        and has not closed — e.g. after a notebook cell was interrupted mid-session.

        Each close is bounded by ``Timeouts.close``. Returns the ids closed. If some could
        not be closed, every other one is still tried, then the first error is raised with
        the ids left open in a note (they stay registered, so a later call tries again).
        """
        from ._session import Session

        closed: list[str] = []
        failures: list[tuple[str, errors.QRuntimeError]] = []
        for session_id, backend in list(self._open_sessions.items()):
            session = Session.attach(
                session_id,
                client=self,
                backend=backend,
                on_exit="drain" if drain else "close",
            )
            try:
                await session._close_registered("drain" if drain else "close")
            except errors.QRuntimeError as exc:
                exc._attach_ids(session_id=session_id)
                failures.append((session_id, exc))
            else:
                closed.append(session_id)
        if failures:
            first = failures[0][1]
            first.add_note(
                "qruntime_session: sessions still open: " + ", ".join(sid for sid, _ in failures)
            )
            raise first
        return tuple(closed)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> RuntimeClient:
        """A client configured from the environment and defaults only (no files)."""
        return cls(config=ClientConfig.from_env(environ), **kwargs)

    @classmethod
    def from_config(cls, config: ClientConfig, **kwargs: Any) -> RuntimeClient:
        """A client using ``config`` as it is (the other keywords as for the constructor)."""
        return cls(config=config, **kwargs)

    def __repr__(self) -> str:
        return (
            f"RuntimeClient(base_url={self.config.base_url!r}, "
            f"api_version={self.config.api_version!r}, state={self._state.value})"
        )

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` has run (a closed client sends nothing more)."""
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
        await self.aclose()

    async def aclose(self) -> None:
        """Release local resources (the connection pool, if this client created it). Idempotent.

        This does not close any remote session: :class:`Session` does that on exit.
        """
        if self._state is _ClientState.CLOSED:
            return
        self._state = _ClientState.CLOSED
        await self._transport.aclose()

    # -- factories ----------------------------------------------------------------------

    def session(
        self,
        backend: str,
        mode: SessionMode | str,
        *,
        on_exit: OnExit = "close",
    ) -> Session:
        """A :class:`Session` on this client (opened when entered with ``async with``)."""
        from ._session import Session

        return Session(backend, mode, client=self, on_exit=on_exit)

    def attach_session(
        self, session_id: str, *, backend: str | None = None, on_exit: OnExit = "close"
    ) -> Session:
        """A :class:`Session` for an existing session id; entering it reads the session."""
        from ._session import Session

        return Session.attach(session_id, client=self, backend=backend, on_exit=on_exit)

    def job(self, job_id: str) -> Job:
        """A handle on an existing job (no request is sent until you use it)."""
        check_id(job_id, "job_id")
        self._known_job_ids.add(job_id)
        return Job(job_id, client=self)

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

        ``limit`` caps how many are returned in total (``None``: all of them).
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
        :data:`MAX_PAGES` pages, whichever comes first.
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
                raise errors.UnexpectedStatusError(
                    f"list_jobs answered 200 with an unreadable body: {exc}",
                    status=response.status,
                    method="GET",
                    url=response.url,
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
                log.warning(
                    "list_jobs: the service repeated a page at offset %d; stopping", offset
                )
                return
        log.warning("list_jobs: stopped after %d pages", MAX_PAGES)

    # -- backends -----------------------------------------------------------------------

    async def backends(self, *, status: bool = True) -> list[BackendInfo]:
        """The instance's backends (``GET /v1/backends``), each with its
        :class:`BackendStatus` fetched concurrently (``status=False`` skips those requests)."""
        return await _backends.list_backends(self, status=status)

    async def backend(self, name: str) -> BackendConfiguration:
        """A backend's configuration (``GET /v1/backends/{name}/configuration``)."""
        return await _backends.get_backend_configuration(self, name)

    async def backend_status(self, name: str) -> BackendStatus:
        """A backend's status and queue length (``GET /v1/backends/{name}/status``)."""
        return await _backends.get_backend_status(self, name)

    async def least_busy(
        self, *, min_qubits: int | None = None, simulator: bool | None = False
    ) -> BackendInfo | None:
        """The operational backend with the fewest pending jobs (``None`` if none qualifies).

        ``min_qubits`` and ``simulator`` (``None``: either) filter on each candidate's
        configuration, fetched concurrently.
        """
        return await _backends.least_busy(self, min_qubits=min_qubits, simulator=simulator)

    async def backend_target(self, name: str) -> Any:
        """qiskit's ``Target`` for a backend, from its configuration and properties (the
        ``qiskit`` extra): transpile to it before submitting, the service runs only ISA
        circuits (``docs/results.md``)."""
        return await _backends.get_backend_target(self, name)

    async def _pace_submission(self) -> None:
        if self._pacer is not None:
            await self._pacer.wait_turn()
