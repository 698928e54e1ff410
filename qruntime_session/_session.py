"""Session: the seed workflow as an async context manager.

``async with Session(backend, mode)`` runs the seed's three steps:

1. createSession   ``POST /v1/sessions`` ``{"backend", "mode"}``            → must be 200
2. runJobInSession ``POST /v1/jobs`` ``{"program_id", "backend", "session_id", "params"}`` → 200
   (once per [`Session.submit_job`][qruntime_session.Session.submit_job])
3. closeSession    ``DELETE /v1/sessions/{id}/close``                          → must be 204

and adds what the workflow cannot say: step 3 runs on *every* exit path — a normal exit, an
exception, task cancellation, ``KeyboardInterrupt``, ``asyncio.timeout`` — shielded from
cancellation and bounded in time. The user's exception always propagates; a close failure is
attached to it as a note. With ``on_exit="drain"`` step 3 is ``PATCH /v1/sessions/{id}``
``{"accepting_jobs": false}`` (→ 204) instead, so queued jobs still run.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import warnings
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

from . import _api, _telemetry, _warnings, errors, primitives
from ._api import RuntimeApi
from ._checks import check_id
from ._display import SessionDisplay
from ._job import Job
from ._models import JobInfo, SessionDetails, SessionMode, SessionState
from ._registry import shielded
from ._retry import PollPolicy
from ._submission import MAX_TAGS, Failure, Submissions, classify, new_submission_tag
from ._waiting import Progress, as_completed, wait_all
from ._wire import (
    check_json_params,
    create_job_body,
    is_nonempty_str,
)

__all__ = ["BaseSession", "OnExit", "SessionLifecycle"]

log = logging.getLogger("qruntime_session")

OnExit = Literal["close", "drain"]
_PrimitiveJobT = TypeVar("_PrimitiveJobT", bound=Job)

MAX_TAG_LENGTH = 86


class _State(enum.Enum):
    UNOPENED = "unopened"
    OPENING = "opening"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


def _parse_mode(mode: object) -> SessionMode:
    if isinstance(mode, SessionMode):
        return mode
    if isinstance(mode, str):
        try:
            return SessionMode(mode)
        except ValueError:
            pass
    raise errors.InvalidInputError(f"mode must be 'batch' or 'dedicated', not {mode!r}")


def _check_tags(tags: Iterable[str]) -> tuple[str, ...]:
    if isinstance(tags, str):
        raise errors.InvalidInputError("tags must be a sequence of strings, not a single string")
    out = tuple(tags)
    for tag in out:
        if not is_nonempty_str(tag):
            raise errors.InvalidInputError(f"each tag must be a non-empty string, not {tag!r}")
        if len(tag) > MAX_TAG_LENGTH:
            raise errors.InvalidInputError(
                f"tag {tag[:20]!r}… is longer than {MAX_TAG_LENGTH} characters"
            )
    if len(out) > MAX_TAGS:
        raise errors.InvalidInputError(f"at most {MAX_TAGS} tags per job, got {len(out)}")
    return out


class SessionLifecycle(SessionDisplay):
    """A Qiskit Runtime session's lifecycle, on a `RuntimeApi`: created (or attached)
    on ``async with``, closed or drained on every exit — shielded from cancellation, bounded
    in time — and registered with its client while open.

    Its jobs are `BaseSession`'s business.
    """

    #: The clients it accepts, and the one it builds when given none.
    _client_class: type[RuntimeApi] = RuntimeApi

    def __init__(
        self,
        backend: str,
        mode: SessionMode | str,
        *,
        client: RuntimeApi | None = None,
        on_exit: OnExit = "close",
    ) -> None:
        if not is_nonempty_str(backend):
            raise errors.InvalidInputError("backend must be a non-empty string, e.g. 'ibm_fez'")
        if on_exit not in ("close", "drain"):
            raise errors.InvalidInputError(f"on_exit must be 'close' or 'drain', not {on_exit!r}")
        if client is not None and not isinstance(client, self._client_class):
            raise errors.InvalidInputError("client must be a RuntimeClient")
        self.backend = backend
        """The backend jobs are submitted to (an attached session's is read on entry)."""
        self.mode = _parse_mode(mode)
        """The session's execution mode."""
        self.on_exit: OnExit = on_exit
        """What leaving the ``async with`` block does: ``"close"`` or ``"drain"``."""
        self.id: str | None = None
        """The session's id, once entered (``None`` before)."""
        self.state: SessionState | None = None  # from the create (or attach) response
        """The state the service last reported (on entry, or by `details`)."""
        self._client = client
        self._owns_client = client is None
        self._attach_id: str | None = None
        self._backend_known = True
        self._status = _State.UNOPENED
        self._jobs: dict[str, Job] = {}
        self._submissions: Submissions | None = None  # made for the session's first job
        self._warn_on_del = True
        self._registered = False  # this handle put its id in the client's registry

    def __del__(self) -> None:
        client = getattr(self, "_client", None)
        session_id = getattr(self, "id", None)
        if (
            getattr(self, "_warn_on_del", False)
            and getattr(self, "_registered", False)
            and client is not None
            and session_id is not None
            and session_id in client._open_sessions
        ):
            warnings.warn(
                f"Session {session_id} collected while still open on the service; "
                "use `await client.close_all_sessions()` to close it",
                ResourceWarning,
                stacklevel=2,
            )

    @classmethod
    def attach(
        cls,
        session_id: str,
        *,
        client: RuntimeApi,
        backend: str | None = None,
        on_exit: OnExit = "close",
    ) -> Self:
        """A handle on an existing session: entering it reads ``GET /v1/sessions/{id}``
        instead of creating one; exiting closes (or drains) it like any other.

        Jobs are submitted to the session's backend as the service reports it
        (``backend_name``), or to ``backend`` when given.

        Args:
            session_id: The id of a session opened earlier (by this or another process).
            client: The client to send through.
            backend: The session's backend, when known.
            on_exit: What leaving the ``async with`` block does: ``"close"`` or ``"drain"``
                the session.

        Returns:
            The handle, not yet entered.

        Raises:
            InvalidInputError: ``session_id`` is not a valid id, or ``backend`` is empty.
        """
        check_id(session_id, "session_id")
        if backend is not None and not is_nonempty_str(backend):
            raise errors.InvalidInputError("backend must be a non-empty string when given")
        self = cls(backend or "unknown", SessionMode.BATCH, client=client, on_exit=on_exit)
        self._attach_id = session_id
        self._backend_known = backend is not None
        return self

    def __repr__(self) -> str:
        return (
            f"Session(id={self.id!r}, backend={self.backend!r}, mode={self.mode.value!r}, "
            f"on_exit={self.on_exit!r}, status={self._status.value!r})"
        )

    def _new_client(self) -> RuntimeApi:
        """The client a session given none builds (and closes on exit)."""
        return self._client_class()

    @property
    def client(self) -> RuntimeApi:
        """The [`RuntimeClient`][qruntime_session.RuntimeClient] the session sends through.

        A session that builds its own client has none before it is entered
        (``SessionStateError``).
        """
        if self._client is None:
            raise errors.SessionStateError("the session has no client until it is entered")
        return self._client

    # -- entering -----------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._status is not _State.UNOPENED:
            raise errors.SessionStateError(
                f"a Session can be entered once; this one is {self._status.value}"
            )
        self._status = _State.OPENING
        if self._client is None:
            self._client = self._new_client()
        try:
            if self._attach_id is not None:
                details = await _api.get_session(self.client, self._attach_id)
                self.id = details.id
                self.state = details.state
                self.mode = details.mode or self.mode
                if not self._backend_known and details.backend_name:
                    self.backend = details.backend_name
                    self._backend_known = True
            else:
                await self._create_closing_on_cancel()
        except BaseException:
            self._status = _State.CLOSED
            if self._owns_client:
                await self._client.aclose()
            raise
        self._status = _State.OPEN
        assert self.id is not None
        self._register()
        log.info("session %s open on %s (%s)", self.id, self.backend, self.mode.value)
        return self

    async def _create_closing_on_cancel(self) -> None:
        """Create the session; if cancelled meanwhile, still learn and close what was created.

        A cancellation that arrives while ``POST /v1/sessions`` is in flight would otherwise
        leave a session open whose id the client never saw. Instead the request is allowed to
        finish (within ``Timeouts.close``), the session it created is closed, and the
        cancellation is then re-raised.
        """
        task = asyncio.ensure_future(self._create())
        self.client._registry.track_open(task)  # RuntimeClient.aclose() waits for it (issue 15)
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.cancelled():
                raise
            await shielded(self._settle_cancelled_create(task))
            raise

    async def _settle_cancelled_create(self, task: asyncio.Future[None]) -> None:
        timeout = self.client.config.timeouts.close
        try:
            async with asyncio.timeout(timeout):
                await task
        except TimeoutError:
            task.cancel()
            log.warning(
                "cancelled while creating a session; no answer within %ss, so a session may "
                "exist that this client cannot name (it closes itself when idle)",
                timeout,
            )
            return
        except errors.QRuntimeError:
            return  # the create failed: there is nothing to close
        try:
            await self._bounded_close("close")
        except errors.QRuntimeError as exc:
            log.warning(
                "cancelled while opening session %s, and closing it failed: %s", self.id, exc
            )
        else:
            log.info("cancelled while opening session %s; closed it", self.id)

    @_telemetry.traced("qruntime.session.open")
    async def _create(self) -> None:
        try:
            self.id, state = await _api.create_session(self.client, self.backend, self.mode)
        except errors.QRuntimeError as exc:
            if classify(exc) is Failure.MAY_LAND:
                exc.add_note(
                    "qruntime_session: the request may still have created a session; the API "
                    "cannot list sessions, so it cannot be named (it closes itself when idle)"
                )
            raise
        self._register()
        self.state = state

    def _require_open(self, what: str) -> RuntimeApi:
        if self._status is not _State.OPEN:
            when = (
                "before the session is entered"
                if self._status in (_State.UNOPENED, _State.OPENING)
                else "after the session was closed"
            )
            raise errors.SessionStateError(f"cannot {what} {when}", session_id=self.id)
        return self.client

    # -- session operations ---------------------------------------------------------------

    async def details(self) -> SessionDetails:
        """``GET /v1/sessions/{id}``, which also updates `state`.

        Returns:
            The session's details as the service reports them.

        Raises:
            SessionStateError: The session has not been entered.
        """
        if self.id is None:
            raise errors.SessionStateError("the session has no id until it is entered")
        try:
            details = await _api.get_session(self.client, self.id)
        except errors.QRuntimeError as exc:
            exc._attach_ids(session_id=self.id)
            raise
        self.state = details.state
        return details

    async def stop_accepting_jobs(self) -> None:
        """``PATCH /v1/sessions/{id}`` ``{"accepting_jobs": false}``: queued jobs still run.

        Raises:
            SessionStateError: The session has not been entered.
        """
        if self.id is None:
            raise errors.SessionStateError("the session has no id until it is entered")
        await _api.stop_accepting_jobs(self.client, self.id)

    async def close(self) -> None:
        """``DELETE /v1/sessions/{id}/close`` now (the seed's closeSession step). Idempotent.

        Queued jobs are stopped; running jobs finish. A 404 means the session is already
        closed and is not an error. Afterwards the session accepts no submissions.

        Raises:
            SessionStateError: The session was never opened.
        """
        if self._status in (_State.UNOPENED, _State.OPENING):
            raise errors.SessionStateError("cannot close a session that was not opened")
        if self._status is _State.CLOSED:
            return
        await self._send_close("close")
        self._status = _State.CLOSED

    @_telemetry.traced("qruntime.session.close")
    async def _send_close(self, how: OnExit) -> None:
        assert self.id is not None
        await self.client._send_close(self.id, how)
        self._registered = False

    def _register(self) -> None:
        assert self.id is not None
        self.client._open_sessions[self.id] = self.backend
        self._registered = True

    async def _close_registered(self, how: OnExit) -> None:
        """Close a session known only by id (``RuntimeClient.close_all_sessions``)."""
        self._warn_on_del = False
        self.id = self._attach_id
        self._status = _State.CLOSING
        try:
            await shielded(self._bounded_close(how))
        finally:
            self._status = _State.CLOSED

    async def _bounded_close(self, how: OnExit) -> None:
        assert self.id is not None
        # One close per session id at a time, registered with the client: aclose() waits for
        # it instead of closing the pool under it, and joins it instead of sending another.
        await self.client._registry.close_once(self.id, lambda: self._timed_close(how))

    async def _timed_close(self, how: OnExit) -> None:
        assert self.id is not None
        await self.client._timed_close(self.id, lambda: self._send_close(how))

    # -- exiting ------------------------------------------------------------------------

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._status is _State.OPEN:
                self._status = _State.CLOSING
                try:
                    await shielded(self._bounded_close(self.on_exit))
                except Exception as failure:
                    close_error = self._close_failure(failure)
                    if exc is None:
                        if close_error is failure:
                            raise  # its type is kept; str() and .session_id name the session
                        raise close_error from failure
                    exc.add_note(
                        f"qruntime_session: closing session {self.id} also failed: {close_error}"
                    )  # (the client logged the failure at WARNING when the close ended)
                finally:
                    self._status = _State.CLOSED
                    # Only a session that was closed drops its queued jobs (a close that
                    # failed, or was cut short, leaves it registered).
                    if self.id not in self.client._open_sessions:
                        self._warn_unfinished(exc)
        finally:
            if self._owns_client and self._client is not None:
                await self._release_client(exc)

    def _close_failure(self, failure: Exception) -> errors.QRuntimeError:
        """The package's error for a failed close (a foreign error is wrapped, never leaked)."""
        if isinstance(failure, errors.QRuntimeError):
            failure._attach_ids(session_id=self.id)
            return failure
        return errors.TransportError(
            f"closing session {self.id} failed unexpectedly ({type(failure).__name__}); "
            "it may still be open: `await client.close_all_sessions()` retries",
            session_id=self.id,
        )

    async def _release_client(self, exc: BaseException | None) -> None:
        assert self._client is not None
        try:
            await shielded(self._client.aclose())
        except Exception as failure:
            if exc is None:
                raise errors.TransportError(
                    f"releasing the client's connections failed ({type(failure).__name__})"
                ) from failure
            log.warning("releasing the client's connections failed: %r", failure)

    def _warn_unfinished(self, exc: BaseException | None) -> None:
        if self.on_exit != "close":
            return
        unfinished = sum(1 for job in self._jobs.values() if not job.known_final)
        if not unfinished:
            return
        try:
            _warnings.warn(
                _warnings.QueuedJobsDroppedWarning,
                log,
                "closed session %s with %d job(s) not known to have finished: closing stops "
                "queued jobs (running ones finish); use Session(..., on_exit='drain') to let "
                "queued jobs run",
                self.id,
                unfinished,
            )
        except Warning:
            # Warnings made errors: raise it, unless a cancellation or interrupt is leaving.
            if exc is None or isinstance(exc, Exception):
                raise


class BaseSession(SessionLifecycle):
    """A session's jobs: submitting them (raw, sampler, estimator), finding and waiting on them.

    The lifecycle is `SessionLifecycle`'s; what an ambiguous job POST means is
    `Submissions`'. The public [`qruntime_session.Session`][qruntime_session.Session]
    (``_client.py``) adds only which client it builds when given none (`_new_client`).
    """

    @property
    def jobs_submitted(self) -> tuple[Job, ...]:
        """Handles of the jobs submitted (or re-attached) through this session."""
        return tuple(self._jobs.values())

    @_telemetry.traced("qruntime.job.submit")
    async def submit_job(
        self,
        program_id: str,
        params: Mapping[str, Any] | None = None,
        *,
        tags: Sequence[str] = (),
    ) -> Job:
        """Submit a job into this session (the seed's runJobInSession step).

        The body is exactly ``{"program_id", "backend", "session_id", "params"}``, plus
        ``tags`` when given (or when the client's ``submission_tags`` is on). Inputs are
        checked before anything is sent. If the POST fails ambiguously (a timeout, a broken
        connection, a 5xx other than 503), the job is never re-sent blindly: the session's
        jobs are listed first, and the job is adopted if it was created, re-sent only if it
        provably was not.

        Args:
            program_id: The program to run (``"sampler"``, ``"estimator"``).
            params: The program's parameters, sent as JSON (checked to be JSON first).
            tags: Job tags, sent as given.

        Returns:
            The submitted job's handle.

        Raises:
            InvalidInputError: ``program_id``, ``params`` or ``tags`` is not valid, or the
                attached session's backend is unknown.
            SessionStateError: The session is not open.
            SubmissionUnknownError: The POST failed ambiguously and the job list could not
                tell whether the job was created.
        """
        client = self._require_open("submit a job")
        if not is_nonempty_str(program_id):
            raise errors.InvalidInputError("program_id must be a non-empty string, e.g. 'sampler'")
        clean_params = check_json_params({} if params is None else params)
        if not self._backend_known:
            raise errors.InvalidInputError(
                f"session {self.id} did not report its backend; "
                "pass backend= to attach_session() to submit jobs to it",
                session_id=self.id,
            )
        clean_tags = _check_tags(tags)
        submission_tag: str | None = None
        if client.submission_tags:
            if len(clean_tags) >= MAX_TAGS:
                raise errors.InvalidInputError(
                    f"submission_tags needs one tag slot; pass at most {MAX_TAGS - 1} tags"
                )
            submission_tag = new_submission_tag()
            clean_tags = (*clean_tags, submission_tag)
        assert self.id is not None
        if self._submissions is None:  # the first job of this session
            self._submissions = Submissions(client, self.id)
        body = create_job_body(program_id, self.backend, self.id, clean_params, clean_tags)
        job_id = await self._submissions.post(body, submission_tag)
        job = Job(job_id, client=client, session_id=self.id, program_id=program_id)
        self._jobs[job_id] = job
        return job

    async def run_sampler(
        self,
        pubs: Sequence[Any],
        *,
        shots: int | None = None,
        options: Mapping[str, Any] | None = None,
        support_qiskit: bool = False,
        tags: Sequence[str] = (),
    ) -> primitives.SamplerJob:
        """Submit a V2 ``sampler`` job built from ``pubs`` through `submit_job`.

        Pubs are checked before anything is sent (see ``docs/results.md``).

        Args:
            pubs: The sampler pubs, as for
                [`sampler_params`][qruntime_session.primitives.sampler_params].
            shots: The default shots for pubs that give none.
            options: The sampler's ``options`` parameter, sent as given.
            support_qiskit: Ask for the result in the Qiskit-encoded JSON format the official
                client asks for (``False``: plain JSON); ``job.result()`` reads both.
            tags: Job tags.

        Returns:
            The job, whose ``result()`` is a
            [`PrimitiveResult`][qruntime_session.primitives.PrimitiveResult].

        Raises:
            InvalidInputError: A pub or setting is not valid.
        """
        return await self._run_primitive(
            "sampler",
            primitives.SamplerJob,
            lambda: primitives.sampler_params(
                pubs, shots=shots, options=options, support_qiskit=support_qiskit
            ),
            tags,
        )

    async def run_estimator(
        self,
        pubs: Sequence[Any],
        *,
        precision: float | None = None,
        options: Mapping[str, Any] | None = None,
        support_qiskit: bool = False,
        tags: Sequence[str] = (),
    ) -> primitives.EstimatorJob:
        """Submit a V2 ``estimator`` job built from ``pubs`` through `submit_job`.

        Args:
            pubs: The estimator pubs, as for
                [`estimator_params`][qruntime_session.primitives.estimator_params].
            precision: The default precision for pubs that give none.
            options: The estimator's ``options`` parameter, sent as given.
            support_qiskit: Ask for the result in the Qiskit-encoded JSON format the official
                client asks for (``False``: plain JSON); ``job.result()`` reads both.
            tags: Job tags.

        Returns:
            The job, whose ``result()`` is a
            [`PrimitiveResult`][qruntime_session.primitives.PrimitiveResult].

        Raises:
            InvalidInputError: A pub or setting is not valid.
        """
        return await self._run_primitive(
            "estimator",
            primitives.EstimatorJob,
            lambda: primitives.estimator_params(
                pubs, precision=precision, options=options, support_qiskit=support_qiskit
            ),
            tags,
        )

    async def _run_primitive(
        self,
        program_id: str,
        job_class: type[_PrimitiveJobT],
        build_params: Callable[[], dict[str, Any]],
        tags: Sequence[str],
    ) -> _PrimitiveJobT:
        """Submit a ``program_id`` job through `submit_job`; the handle is a ``job_class``.

        The session is checked open before ``build_params`` checks the pubs, so that a closed
        session is reported as such whatever the pubs.
        """
        self._require_open("submit a job")
        job = await self.submit_job(program_id, build_params(), tags=tags)
        typed = job_class(job.id, client=self.client, session_id=self.id, program_id=program_id)
        self._jobs[job.id] = typed
        return typed

    def job(self, job_id: str) -> Job:
        """Re-attach to a job of this session by id (no request is sent).

        Args:
            job_id: The job's id.

        Returns:
            The job's handle, counted among this session's jobs.
        """
        check_id(job_id, "job_id")
        client = self.client
        job = self._jobs.get(job_id)
        if job is None:
            client._known_job_ids.add(job_id)
            job = Job(job_id, client=client, session_id=self.id)
            self._jobs[job_id] = job
        return job

    async def jobs(self, *, pending: bool | None = None) -> list[JobInfo]:
        """The session's jobs (``GET /v1/jobs?session_id=…``, all pages).

        Args:
            pending: Only pending jobs (``True``), only finished ones (``False``), or both
                (``None``).

        Returns:
            The jobs, newest first.

        Raises:
            SessionStateError: The session has not been entered.
        """
        if self.id is None:
            raise errors.SessionStateError("the session has no id until it is entered")
        try:
            return await self.client.list_jobs(session_id=self.id, pending=pending)
        except errors.QRuntimeError as exc:
            exc._attach_ids(session_id=self.id)
            raise

    async def wait_all(
        self,
        jobs: Iterable[Job] | None = None,
        *,
        timeout: float | None = None,
        poll: PollPolicy | None = None,
        progress: Progress | bool | None = None,
    ) -> list[JobInfo]:
        """Wait until every job (default: all submitted here) is final; one list per poll.

        Args:
            jobs: The jobs to wait for (default: every job submitted through this session).
            timeout: Seconds the whole wait may take (``None``: no bound, except the testing
                mode's).
            poll: How often statuses are polled (default: the client's ``poll``).
            progress: ``True`` shows a progress display (tqdm when installed, else a text
                line); a callable is called with a [`WaitProgress`][qruntime_session.WaitProgress]
                after each poll; ``None`` or ``False`` shows nothing.

        Returns:
            Each job's final [`JobInfo`][qruntime_session.JobInfo], in the order given.
        Raises:
            JobTimeoutError: ``timeout`` (or the testing deadline) passed first; the jobs
                keep running.
            InvalidInputError: ``progress`` is neither a callable nor a bool nor ``None``.
        """
        targets = list(self._jobs.values()) if jobs is None else list(jobs)
        return await wait_all(self.client, targets, timeout=timeout, poll=poll, progress=progress)

    def as_completed(
        self,
        jobs: Iterable[Job] | None = None,
        *,
        timeout: float | None = None,
        poll: PollPolicy | None = None,
        progress: Progress | bool | None = None,
    ) -> AsyncIterator[JobInfo]:
        """Each job's final [`JobInfo`][qruntime_session.JobInfo] as it finishes; one list per poll.

        Args:
            jobs: The jobs to wait for (default: every job submitted through this session).
            timeout: Seconds the whole wait may take (``None``: no bound, except the testing
                mode's).
            poll: How often statuses are polled (default: the client's ``poll``).
            progress: ``True`` shows a progress display (tqdm when installed, else a text
                line); a callable is called with a [`WaitProgress`][qruntime_session.WaitProgress]
                after each poll; ``None`` or ``False`` shows nothing.

        Returns:
            An async iterator of the jobs' final infos, in the order they finish.
        Raises:
            JobTimeoutError: ``timeout`` (or the testing deadline) passed first; the jobs
                keep running.
            InvalidInputError: ``progress`` is neither a callable nor a bool nor ``None``.
        """
        targets = list(self._jobs.values()) if jobs is None else list(jobs)
        return as_completed(self.client, targets, timeout=timeout, poll=poll, progress=progress)
