"""The emulator handle, and the ways to run it: in-process, embedded, or as a server."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web

from ._app import Api, build_app
from ._clock import Clock
from ._config import EmulatorConfig
from ._faults import FaultPlan
from ._iam import issue_access_token
from ._records import RecordedRequest
from ._state import JobOutcome, Store

__all__ = ["EMULATOR_KEY", "Emulator", "create_app", "run_emulator", "serve"]

logger = logging.getLogger("qruntime_session.emulator")


class Emulator:
    """One emulated Qiskit Runtime instance: its state, its request log, its faults.

    Build it with :func:`run_emulator` (served on 127.0.0.1, ``base_url`` set) or
    :func:`create_app` (embedded in your own aiohttp server: call :meth:`bind` with its
    origin if you want ``base_url``).
    """

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config if config is not None else EmulatorConfig()
        self._store = Store(self.config)
        #: Fault injection: ``emu.faults.add("create_job", nth=1, status=503, ...)``.
        self.faults = FaultPlan()
        self._requests: collections.deque[RecordedRequest] = collections.deque(
            maxlen=self.config.request_log_size
        )
        self._origin: str | None = None
        api = Api(
            config=self.config, store=self._store, faults=self.faults, requests=self._requests
        )
        self.app = build_app(api)
        self.app[EMULATOR_KEY] = self
        self.app.on_startup.append(self._warm_results)
        self.app.on_cleanup.append(self._close_results)

    async def _warm_results(self, _app: web.Application) -> None:
        self._store.results.warm()

    async def _close_results(self, _app: web.Application) -> None:
        self._store.results.close()

    def __repr__(self) -> str:
        return f"<Emulator origin={self._origin!r} jobs={len(self._store.jobs)}>"

    # ------------------------------------------------------------------ addresses

    def bind(self, origin: str) -> None:
        """Tell the handle where it is served, e.g. ``"http://127.0.0.1:8000"``."""
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
        """Mint an IAM access token directly (as ``POST /identity/token`` would)."""
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
        """The recorded requests of one operation id."""
        return [record for record in self._requests if record.operation == operation]

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        self._requests.clear()

    # ---------------------------------------------------------------- job control

    def start_job(self, job_id: str) -> None:
        """Move a ``Queued`` job to ``Running`` now (needed when ``queue_seconds=None``).

        Raises ``KeyError`` for an unknown job and ``ValueError`` if it is not Queued.
        """
        self._store.start_job(job_id)

    def finish_job(self, job_id: str, outcome: JobOutcome | None = None) -> None:
        """End a ``Queued`` or ``Running`` job now with ``outcome`` (default: the planned
        outcome, else ``Completed``). A Queued job starts and ends at the same instant.
        """
        self._store.finish_job(job_id, outcome)

    def plan_outcome(
        self, outcome: JobOutcome, *, program_id: str | None = None, times: int | None = 1
    ) -> None:
        """Make the next ``times`` jobs created (of ``program_id`` if given; ``times=None``:
        all of them) end with ``outcome`` when their run ends.
        """
        self._store.plan_outcome(outcome, program_id=program_id, times=times)

    def job(self, job_id: str) -> dict[str, Any]:
        """The job's current ``JobResponse`` body, params included (``KeyError`` if unknown)."""
        self._store.tick()
        record = self._store.jobs.get(job_id)
        if record is None:
            raise KeyError(job_id)
        return record.to_json(include_params=True)

    def session(self, session_id: str) -> dict[str, Any]:
        """The session's current ``JobSession`` body (``KeyError`` if unknown)."""
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


EMULATOR_KEY = web.AppKey("qruntime_session.emulator", Emulator)


def create_app(config: EmulatorConfig | None = None) -> web.Application:
    """A fresh emulator as an ``aiohttp.web.Application``; ``app[EMULATOR_KEY]`` is its handle."""
    return Emulator(config).app


async def _start(emulator: Emulator, host: str, port: int) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(
        emulator.app,
        access_log=None,
        shutdown_timeout=1.0,
        keepalive_timeout=emulator.config.idle_timeout,
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_host, bound_port = runner.addresses[0][:2]
    except BaseException:
        await runner.cleanup()
        raise
    shown = f"[{bound_host}]" if ":" in str(bound_host) else str(bound_host)
    origin = f"http://{shown}:{bound_port}"
    emulator.bind(origin)
    return runner, origin


@contextlib.asynccontextmanager
async def run_emulator(config: EmulatorConfig | None = None) -> AsyncIterator[Emulator]:
    """Serve a fresh emulator on 127.0.0.1 (a free port) for the duration of the block."""
    emulator = Emulator(config)
    runner, origin = await _start(emulator, "127.0.0.1", 0)
    logger.debug("emulator serving at %s", origin)
    try:
        yield emulator
    finally:
        await runner.cleanup()


async def serve(
    host: str,
    port: int,
    config: EmulatorConfig | None = None,
    *,
    out: Callable[[str], None],
) -> None:
    """Serve an emulator on ``host:port`` until cancelled, printing how to reach it.

    This is a local test server: printing its own test token and API key is intended.
    """
    emulator = Emulator(config)
    runner, origin = await _start(emulator, host, port)
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
        await runner.cleanup()
