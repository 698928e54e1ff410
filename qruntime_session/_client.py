"""RuntimeClient: the façade that hands out sessions, jobs and backends.

The connection itself — configuration, auth, the pool, the job listing — is
`RuntimeApi`; sessions (``_session.py``), jobs (``_job.py``) and backends (``_backends.py``)
depend on that, never on this module. Here they are put together:
[`RuntimeClient`][qruntime_session.RuntimeClient] adds the factories, and
[`Session`][qruntime_session.Session] is the session that builds its own client when given none.
"""

from __future__ import annotations

from typing import Any

from . import _backends, primitives
from ._api import RuntimeApi
from ._backends import BackendConfiguration, BackendInfo, BackendStatus
from ._checks import check_id
from ._job import Job
from ._models import SessionMode
from ._registry import left_open_error
from ._session import BaseSession, OnExit

__all__ = ["RuntimeClient", "Session"]


class RuntimeClient(RuntimeApi):
    """A configured connection to the Qiskit Runtime API.

    Settings are resolved once, here, by
    [`ClientConfig.load`][qruntime_session.ClientConfig.load] (explicit keywords >
    environment > qiskit-ibm-runtime's saved account > YAML file > defaults; see
    ``docs/configuration.md``), which describes the keywords passed on to it as they are:
    ``base_url``, ``access_token``, ``api_key``, ``service_crn``, ``api_version``,
    ``iam_url``, ``timeouts``, ``retry``, ``account``, ``config_file`` and ``environ``.

    The client owns one ``aiohttp.ClientSession``, created on first use, unless one is passed
    in as ``session=`` — then it is shared and never closed by the client.

    Use it as an async context manager (or call `aclose`), and open many sessions on it
    with [`session`][qruntime_session.RuntimeClient.session]:

    ```python
    async with RuntimeClient() as client:
        async with client.session("ibm_fez", "batch") as session:
            job = await session.submit_job("sampler", params)
    ```

    Args:
        session: An ``aiohttp.ClientSession`` to share; the client then never closes it.
        config: A resolved configuration to use as it is, instead of the settings (passing
            both is an error).
        poll: How often job and session statuses are polled.
        submission_tags: Tag every job with a submission tag, so that a submission whose
            answer was lost can be looked up instead of reported as unknown.
        max_jobs_per_minute: Pace job submissions to at most this many in any 60 s
            window (``None``: no pacing).
        sleep: The coroutine function used to wait (tests pass a fake clock's).
        random: The source of retry jitter in ``[0, 1)``.
        clock: The monotonic clock, in seconds.

    Raises:
        ConfigurationError: The settings are incomplete or malformed, or ``config`` was
            given together with individual settings.
        InvalidInputError: ``max_jobs_per_minute`` is not a positive integer.
    """

    async def close_all_sessions(self, *, drain: bool = False) -> tuple[str, ...]:
        """Close (``drain=True``: stop accepting jobs in) every session this client opened
        and has not closed — e.g. after a notebook cell was interrupted mid-session.

        The closes run concurrently, each bounded by ``Timeouts.close``; a session whose close
        is already in flight is waited for, not closed twice. If some could not be closed, the
        first error is raised with the ids left open in a note (they stay registered, so a
        later call tries again).

        Args:
            drain: Stop each session accepting new jobs and let its queued jobs run, instead
                of closing it outright.

        Returns:
            The ids of the sessions closed.
        """
        closed, failures = await self._close_registered_sessions("drain" if drain else "close")
        if failures:
            raise left_open_error(failures)
        return closed

    # -- factories ----------------------------------------------------------------------

    def session(
        self,
        backend: str,
        mode: SessionMode | str,
        *,
        on_exit: OnExit = "close",
    ) -> Session:
        """A [`Session`][qruntime_session.Session] on this client, opened when entered with
        ``async with``.

        Args:
            backend: The backend the session runs on (``"ibm_fez"``).
            mode: ``"dedicated"`` or ``"batch"`` (or a
                [`SessionMode`][qruntime_session.SessionMode]).
            on_exit: What leaving the ``async with`` block does: ``"close"`` the session, or
                ``"drain"`` it (no new jobs; those queued still run).

        Returns:
            The session, not yet opened: enter it with ``async with``.
        """
        return Session(backend, mode, client=self, on_exit=on_exit)

    def attach_session(
        self, session_id: str, *, backend: str | None = None, on_exit: OnExit = "close"
    ) -> Session:
        """A [`Session`][qruntime_session.Session] for an existing session id; entering it reads the
        session.

        Args:
            session_id: The id of a session opened earlier (by this or another process).
            backend: The session's backend, when known; otherwise it is read on entry.
            on_exit: What leaving the ``async with`` block does: ``"close"`` or ``"drain"``
                the session.

        Returns:
            The attached session, not yet entered.
        """
        return Session.attach(session_id, client=self, backend=backend, on_exit=on_exit)

    def job(self, job_id: str) -> Job:
        """A handle on an existing job (no request is sent until you use it).

        Args:
            job_id: The job's id.

        Returns:
            The job's handle.
        """
        check_id(job_id, "job_id")
        self._known_job_ids.add(job_id)
        return Job(job_id, client=self)

    # -- backends -----------------------------------------------------------------------

    async def backends(self, *, status: bool = True) -> list[BackendInfo]:
        """The instance's backends (``GET /v1/backends``), each with its
        [`BackendStatus`][qruntime_session.BackendStatus] fetched concurrently.

        Args:
            status: Fetch each backend's status too; ``False`` skips those requests.

        Returns:
            One entry per backend the instance can use.
        """
        return await _backends.list_backends(self, status=status)

    async def backend(self, name: str) -> BackendConfiguration:
        """A backend's configuration (``GET /v1/backends/{name}/configuration``).

        Args:
            name: The backend's name.

        Returns:
            The backend's configuration.
        """
        return await _backends.get_backend_configuration(self, name)

    async def backend_status(self, name: str) -> BackendStatus:
        """A backend's status and queue length (``GET /v1/backends/{name}/status``).

        Args:
            name: The backend's name.

        Returns:
            The backend's status.
        """
        return await _backends.get_backend_status(self, name)

    async def least_busy(
        self, *, min_qubits: int | None = None, simulator: bool | None = False
    ) -> BackendInfo | None:
        """The operational backend with the fewest pending jobs (``None`` if none qualifies).

        The candidates' configurations are fetched concurrently.

        Args:
            min_qubits: Only backends with at least this many qubits (``None``: any).
            simulator: Only simulators (``True``), only real devices (``False``), or either
                (``None``).

        Returns:
            The least busy backend that qualifies, or ``None``.
        """
        return await _backends.least_busy(self, min_qubits=min_qubits, simulator=simulator)

    async def backend_target(self, name: str) -> Any:
        """qiskit's ``Target`` for a backend, from its configuration and properties (the
        ``qiskit`` extra): transpile to it before submitting, the service runs only ISA
        circuits (``docs/results.md``).

        Args:
            name: The backend's name.

        Returns:
            A ``qiskit.transpiler.Target``.
        """
        return await _backends.get_backend_target(self, name)

    def _decode_result(
        self, body: Any, *, program_id: str, job_id: str, session_id: str | None
    ) -> Any:
        """A ``sampler`` or ``estimator`` result body decoded into a ``PrimitiveResult``."""
        # primitives loads numpy on first use, not with `import qruntime_session`
        return primitives.decode_primitive_result(
            body, program_id=program_id, job_id=job_id, session_id=session_id
        )


class Session(BaseSession):
    """A Qiskit Runtime session, opened on ``async with`` and closed on every exit.

    ``Session(backend, mode)`` without ``client=`` builds a
    [`RuntimeClient`][qruntime_session.RuntimeClient] from the environment and closes it on exit;
    for more than a script, share one client and use
    [`RuntimeClient.session`][qruntime_session.RuntimeClient.session].

    Args:
        backend: The backend the session runs on (``"ibm_fez"``).
        mode: ``"dedicated"`` or ``"batch"`` (or a
            [`SessionMode`][qruntime_session.SessionMode]).
        client: The [`RuntimeClient`][qruntime_session.RuntimeClient] to send through;
            without one, a client is built from the environment on entry and closed on
            exit.
        on_exit: What leaving the ``async with`` block does: ``"close"`` the session, or
            ``"drain"`` it (no new jobs; those queued still run).

    Raises:
        InvalidInputError: ``backend`` is empty, ``on_exit`` is neither ``"close"`` nor
            ``"drain"``, or ``client`` is not a
            [`RuntimeClient`][qruntime_session.RuntimeClient].
    """

    _client_class = RuntimeClient

    @property
    def client(self) -> RuntimeClient:
        """The [`RuntimeClient`][qruntime_session.RuntimeClient] the session sends through.

        A session that builds its own client has none before it is entered
        (``SessionStateError``).
        """
        client = super().client
        assert isinstance(client, RuntimeClient)  # the only class __init__ accepts
        return client
