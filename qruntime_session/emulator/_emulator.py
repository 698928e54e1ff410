"""The emulator handle, and the ways to run it: in-process, embedded, or as a server."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar, overload

from aiohttp import web

from ._app import build_app
from ._clock import Clock
from ._config import EmulatorConfig
from ._connections import ConnectionGuards
from ._faults import FaultPlan
from ._iam import issue_access_token
from ._records import RecordedRequest
from ._state import JobOutcome, Store

__all__ = ["EMULATOR_KEY", "Emulator", "create_app", "run_emulator", "serve"]

logger = logging.getLogger("qruntime_session.emulator")

_T = TypeVar("_T")


class Emulator:
    """One emulated Qiskit Runtime instance: its state, its request log, its faults.

    Build it with [`run_emulator`][qruntime_session.emulator.run_emulator] (served on
    127.0.0.1, ``base_url`` set) or [`create_app`][qruntime_session.emulator.create_app]
    (embedded in your own aiohttp server: call
    [`bind`][qruntime_session.emulator.Emulator.bind] with its origin if you want
    ``base_url``).

    Args:
        config: How the emulator behaves (default: ``EmulatorConfig()``).
    """

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config if config is not None else EmulatorConfig()
        """How this emulator behaves (its durations, credentials, limits and clock)."""
        self._store = Store(self.config)
        self.faults = FaultPlan()
        """Fault injection: ``emu.faults.add("create_job", nth=1, status=503, ...)``."""
        self._requests: collections.deque[RecordedRequest] = collections.deque(
            maxlen=self.config.request_log_size
        )
        self._origin: str | None = None
        # The event loop serving the app (set on its startup, cleared on its cleanup).
        self._loop: asyncio.AbstractEventLoop | None = None
        self.app = build_app(
            config=self.config, store=self._store, faults=self.faults, requests=self._requests
        )
        """The ``aiohttp.web.Application`` serving this emulator's API and IAM endpoints."""
        self.app[EMULATOR_KEY] = self
        #: Idle/header/body timeouts and the connection cap, when served by run_emulator or
        #: serve (the middleware steps aside for an app embedded with create_app).
        self.connections = ConnectionGuards(self.config)
        """The connection guards (idle, header and body timeouts, the connection cap) of the
        served app."""
        self.app.middlewares.insert(0, self.connections.middleware())
        self.app.on_startup.append(self._on_startup)
        self.app.on_cleanup.append(self._on_cleanup)

    async def _on_startup(self, _app: web.Application) -> None:
        self._loop = asyncio.get_running_loop()
        self._store.results.warm()

    async def _on_cleanup(self, _app: web.Application) -> None:
        self._loop = None
        self._store.results.close()

    def __repr__(self) -> str:
        return f"<Emulator origin={self._origin!r} jobs={len(self._store.jobs)}>"

    # ------------------------------------------------------------------ addresses

    def bind(self, origin: str) -> None:
        """Tell the handle where it is served.

        Args:
            origin: ``scheme://host:port`` of the server, e.g. ``"http://127.0.0.1:8000"``.
        """
        self._origin = origin.rstrip("/")

    @property
    def origin(self) -> str:
        """``http://host:port`` the emulator is served at."""
        if self._origin is None:
            raise RuntimeError("this emulator is not served yet (use run_emulator or bind())")
        return self._origin

    @property
    def base_url(self) -> str:
        """The API base URL, like ``https://quantum.cloud.ibm.com/api``: ``<origin>/api``."""
        return f"{self.origin}/api"

    @property
    def iam_url(self) -> str:
        """The IAM base URL; its token endpoint is ``<iam_url>/identity/token``."""
        return self.origin

    # ---------------------------------------------------------------- credentials

    @property
    def token(self) -> str:
        """A static bearer token the API always accepts."""
        return self.config.token

    @property
    def api_key(self) -> str:
        """The API key the IAM endpoint accepts."""
        return self.config.api_key

    @property
    def service_crn(self) -> str:
        """The instance CRN the API serves."""
        return self.config.service_crn

    @property
    def clock(self) -> Clock:
        """The clock every decision reads (``config.clock``)."""
        return self.config.clock

    def issue_token(self, lifetime: int | None = None) -> str:
        """Mint an IAM access token directly (as ``POST /identity/token`` would).

        Args:
            lifetime: Seconds until it expires (default: ``config.token_lifetime``).

        Returns:
            The signed access token, accepted by this emulator's API until it expires.
        """
        token, _ = issue_access_token(
            secret=self.config.token_secret,
            now=self.config.clock.now(),
            lifetime=self.config.token_lifetime if lifetime is None else lifetime,
            user_id=self.config.user_id,
            issuer=f"{self._origin or 'http://emulator'}/identity",
        )
        return token

    # ---------------------------------------------------------------- request log

    @property
    def requests(self) -> list[RecordedRequest]:
        """The requests received so far, oldest first (a copy); at most
        ``config.request_log_size`` of them (the most recent).
        """
        return list(self._requests)

    def requests_for(self, operation: str) -> list[RecordedRequest]:
        """The recorded requests of one operation.

        Args:
            operation: An operation id of the API (``create_job``, ``get_job`` and so on).

        Returns:
            Those requests, oldest first (a copy).
        """
        return [record for record in self._requests if record.operation == operation]

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        self._requests.clear()

    # ---------------------------------------------------------------- job control

    def start_job(self, job_id: str) -> None:
        """Move a ``Queued`` job to ``Running`` now (needed when ``queue_seconds=None``).

        Args:
            job_id: The job to start.

        Raises:
            KeyError: No job has this id.
            ValueError: The job is not ``Queued``.
        """
        self._store.start_job(job_id)

    def finish_job(self, job_id: str, outcome: JobOutcome | None = None) -> None:
        """End a ``Queued`` or ``Running`` job now.

        A ``Queued`` job starts and ends at the same instant.

        Args:
            job_id: The job to end.
            outcome: How it ends (default: the planned outcome, else ``Completed``).

        Raises:
            KeyError: No job has this id.
            ValueError: The job has already ended.
        """
        self._store.finish_job(job_id, outcome)

    def plan_outcome(
        self, outcome: JobOutcome, *, program_id: str | None = None, times: int | None = 1
    ) -> None:
        """Make the next jobs created end with ``outcome`` when their run ends.

        Args:
            outcome: How those jobs end.
            program_id: Only jobs of this program (``sampler`` or ``estimator``); default any.
            times: How many jobs; ``None`` for every job created from now on.
        """
        self._store.plan_outcome(outcome, program_id=program_id, times=times)

    def job(self, job_id: str) -> dict[str, Any]:
        """The job's current ``JobResponse`` body, as ``GET /v1/jobs/{id}`` would send it.

        Args:
            job_id: The job.

        Returns:
            The body, params included.

        Raises:
            KeyError: No job has this id.
        """
        self._store.tick()
        record = self._store.jobs.get(job_id)
        if record is None:
            raise KeyError(job_id)
        return record.to_json(include_params=True)

    def session(self, session_id: str) -> dict[str, Any]:
        """The session's current ``JobSession`` body, as ``GET /v1/sessions/{id}`` would send it.

        Args:
            session_id: The session.

        Returns:
            The body.

        Raises:
            KeyError: No session has this id.
        """
        now = self._store.tick()
        record = self._store.sessions.get(session_id)
        if record is None:
            raise KeyError(session_id)
        return record.to_json(now)

    @property
    def job_ids(self) -> list[str]:
        """Ids of every job created, oldest first."""
        return list(self._store.jobs)

    @property
    def session_ids(self) -> list[str]:
        """Ids of every session created, oldest first."""
        return list(self._store.sessions)

    # ------------------------------------------------------------- other threads

    @overload
    def call_from_thread(
        self, function: Callable[..., Awaitable[_T]], *args: Any, timeout: float | None = ...
    ) -> _T: ...
    @overload
    def call_from_thread(
        self, function: Callable[..., _T], *args: Any, timeout: float | None = ...
    ) -> _T: ...
    def call_from_thread(
        self, function: Callable[..., Any], *args: Any, timeout: float | None = 30.0
    ) -> Any:
        """Run ``function(*args)`` on the emulator's event loop from another thread.

        The emulator's state is not thread-safe: code in another thread (a synchronous test
        beside [`emulator_thread`][qruntime_session.emulator.emulator_thread]) inspects or
        changes it through this, e.g. ``emu.call_from_thread(emu.job, job_id)`` or
        ``emu.call_from_thread(emu.finish_job, job_id)``. ``function`` may also be a
        coroutine function: its coroutine is awaited on the loop.

        Args:
            function: What to run on the loop (a function or a coroutine function).
            *args: Its positional arguments.
            timeout: Seconds to wait for its result (``None``: no limit).

        Returns:
            What ``function`` returned (awaited first when it is awaitable).

        Raises:
            RuntimeError: The emulator is not being served, or this is its loop's own
                thread (call the emulator directly there).
            TimeoutError: No result within ``timeout`` (the call is cancelled).
        """
        loop = self._loop
        if loop is None or loop.is_closed():
            raise RuntimeError("this emulator is not being served")
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:  # no loop runs in this thread: the expected case
            running = None
        if running is loop:
            raise RuntimeError(
                "call_from_thread is for other threads; on the emulator's loop, call it directly"
            )

        async def run() -> Any:
            result = function(*args)
            return await result if inspect.isawaitable(result) else result

        future = asyncio.run_coroutine_threadsafe(run(), loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise


EMULATOR_KEY = web.AppKey("qruntime_session.emulator", Emulator)
"""The key of an emulator app's [`Emulator`][qruntime_session.emulator.Emulator] handle."""


def create_app(config: EmulatorConfig | None = None) -> web.Application:
    """A fresh emulator as an ``aiohttp.web.Application``, to serve or embed yourself.

    Args:
        config: How the emulator behaves; ``None``: ``EmulatorConfig()``'s defaults.

    Returns:
        The application; ``app[EMULATOR_KEY]`` is its
        [`Emulator`][qruntime_session.emulator.Emulator] handle.
    """
    return Emulator(config).app


class _Served:
    """A running server: aiohttp's runner behind a listening socket of guarded connections."""

    def __init__(self, runner: web.AppRunner, server: asyncio.AbstractServer) -> None:
        self.runner = runner
        self.server = server

    async def cleanup(self) -> None:
        self.server.close()  # accept no more connections
        if self.runner.server is not None:  # close the open ones (aiohttp < 3.14 needs this)
            await self.runner.server.shutdown(1.0)
        await self.runner.cleanup()


async def _start(emulator: Emulator, host: str, port: int) -> tuple[_Served, str]:
    runner = web.AppRunner(
        emulator.app,
        access_log=None,
        shutdown_timeout=1.0,
        keepalive_timeout=emulator.config.idle_timeout,
    )
    await runner.setup()
    try:
        assert runner.server is not None
        emulator.connections.bind(runner.server)
        # Not a TCPSite: each connection is wrapped in its guard (see _connections.py).
        server = await asyncio.get_running_loop().create_server(
            emulator.connections, host, port, reuse_address=True
        )
        bound_host, bound_port = server.sockets[0].getsockname()[:2]
    except BaseException:
        await runner.cleanup()
        raise
    shown = f"[{bound_host}]" if ":" in str(bound_host) else str(bound_host)
    origin = f"http://{shown}:{bound_port}"
    emulator.bind(origin)
    return _Served(runner, server), origin


@contextlib.asynccontextmanager
async def run_emulator(config: EmulatorConfig | None = None) -> AsyncIterator[Emulator]:
    """Serve a fresh emulator on 127.0.0.1 (a free port) for the duration of the block.

    Args:
        config: How the emulator behaves; ``None``: ``EmulatorConfig()``'s defaults.

    Yields:
        The running emulator (its ``base_url``, ``token``, ``service_crn``, ``faults``…).
    """
    emulator = Emulator(config)
    served, origin = await _start(emulator, "127.0.0.1", 0)
    logger.debug("emulator serving at %s", origin)
    try:
        yield emulator
    finally:
        await served.cleanup()


async def serve(
    host: str,
    port: int,
    config: EmulatorConfig | None = None,
    *,
    out: Callable[[str], None],
) -> None:
    """Serve an emulator on ``host:port`` until cancelled, printing how to reach it.

    This is a local test server: printing its own test token and API key is intended.

    Args:
        host: The address to listen on.
        port: The port to listen on (``0``: a free one, printed).
        config: How the emulator behaves; ``None``: ``EmulatorConfig()``'s defaults.
        out: Where the lines telling how to reach it go (``print``, a logger…).
    """
    emulator = Emulator(config)
    served, origin = await _start(emulator, host, port)
    try:
        out(f"qruntime_session emulator listening on {origin}")
        out(f"  API base URL : {emulator.base_url}")
        out(f"  IAM URL      : {emulator.iam_url}  (POST /identity/token)")
        out(f"  Bearer token : {emulator.token}")
        out(f"  API key      : {emulator.api_key}")
        out(f"  Service-CRN  : {emulator.service_crn}")
        out(f"  OpenAPI      : {emulator.base_url}/openapi.json")
        out("Press Ctrl+C to stop.")
        await asyncio.Event().wait()
    finally:
        await served.cleanup()
