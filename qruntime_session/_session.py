"""Session: the seed workflow as an async context manager.

``async with Session(backend, mode)`` runs the seed's three steps:

1. createSession   ``POST /v1/sessions`` ``{"backend", "mode"}``            → must be 200
2. runJobInSession ``POST /v1/jobs`` ``{"program_id", "backend", "session_id", "params"}`` → 200
   (once per :meth:`Session.submit_job`)
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
import uuid
import warnings
from collections.abc import AsyncIterator, Awaitable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self, TypeVar

from . import _telemetry, _warnings, errors
from ._checks import check_id, path_segment
from ._client import RuntimeClient
from ._job import Job
from ._models import JobInfo, SessionDetails, SessionMode, SessionState
from ._retry import PollPolicy
from ._waiting import Progress, as_completed, wait_all
from ._wire import (
    check_json_params,
    create_job_body,
    create_session_body,
    is_nonempty_str,
    response_id,
    session_details_from_api,
    update_session_body,
)

if TYPE_CHECKING:
    from .primitives import EstimatorJob, SamplerJob

__all__ = ["OnExit", "Session"]

log = logging.getLogger("qruntime_session")

OnExit = Literal["close", "drain"]
T = TypeVar("T")

MAX_TAGS = 8
MAX_TAG_LENGTH = 86
SUBMISSION_TAG_PREFIX = "qrs-submit-"
# How many times a job POST may be re-sent after the client proved the earlier one created nothing.
MAX_RESUBMISSIONS = 2
# While settling an ambiguous submission: first look at once, then wait this long, growing by
# SETTLE_GROWTH up to SETTLE_MAX_INTERVAL, until the waits add up to ``Timeouts.settle``.
SETTLE_FIRST_INTERVAL = 0.05
SETTLE_GROWTH = 1.5
SETTLE_MAX_INTERVAL = 1.0


class _Failure(enum.Enum):
    """How a ``POST /v1/jobs`` failed, as far as "was a job created?" goes."""

    ANSWERED = "answered"  # the service answered 500: it is done with the request
    HANDLED = "handled"  # it answered 2xx, unreadably: a job was created
    MAY_LAND = "may-land"  # no answer (timeout, broken connection, gateway 5xx): it may still


def _classify(exc: errors.QRuntimeError) -> _Failure | None:
    """``None`` when the failure is definite (nothing created: raise it as it is)."""
    if isinstance(exc, errors.ConnectError | errors.UsageError):
        return None  # the request never left, or was never built
    if isinstance(exc, errors.TransportError):
        return _Failure.MAY_LAND
    if isinstance(exc, errors.ServerError):
        if exc.status == 503:
            return None  # the service refused it (maintenance): nothing was created
        return _Failure.ANSWERED if exc.status == 500 else _Failure.MAY_LAND
    if isinstance(exc, errors.UnexpectedStatusError) and exc.status is not None:
        return _Failure.HANDLED if 200 <= exc.status < 300 else None
    return None  # 4xx: refused


def may_send_again(failure: _Failure) -> bool:
    """The one decision point for "may this job POST be sent again?".

    Only when the service *answered* (a 500: it finished with the request) and a listing
    taken after that answer shows no job for the submission. After a timeout, a broken
    connection or a gateway error the first request may still be handled later, and after a
    2xx it was; the client then never sends again (it looks for the job instead).
    """
    return failure is _Failure.ANSWERED


def _settle_schedule(settle: float) -> list[float]:
    """Waits before each look at the session's jobs: 0 first, then growing, summing >= settle."""
    waits = [0.0]
    total = 0.0
    step = SETTLE_FIRST_INTERVAL
    while total < settle:
        wait = min(step, settle - total)
        waits.append(wait)
        total += wait
        step = min(step * SETTLE_GROWTH, SETTLE_MAX_INTERVAL)
    return waits


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


async def _shielded(awaitable: Awaitable[T]) -> T:
    """Run ``awaitable`` to completion even if the caller is cancelled meanwhile.

    A cancellation that arrives while it runs is held back until it is done, then re-raised
    (never swallowed). The awaitable must bound its own duration.
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


class Session:
    """A Qiskit Runtime session, opened on ``async with`` and closed on every exit.

    ``Session(backend, mode)`` without ``client=`` builds a :class:`RuntimeClient` from the
    environment and closes it on exit; for more than a script, share one client and use
    :meth:`RuntimeClient.session`.
    """

    def __init__(
        self,
        backend: str,
        mode: SessionMode | str,
        *,
        client: RuntimeClient | None = None,
        on_exit: OnExit = "close",
    ) -> None:
        if not is_nonempty_str(backend):
            raise errors.InvalidInputError("backend must be a non-empty string, e.g. 'ibm_fez'")
        if on_exit not in ("close", "drain"):
            raise errors.InvalidInputError(f"on_exit must be 'close' or 'drain', not {on_exit!r}")
        if client is not None and not isinstance(client, RuntimeClient):
            raise errors.InvalidInputError("client must be a RuntimeClient")
        self.backend = backend
        self.mode = _parse_mode(mode)
        self.on_exit: OnExit = on_exit
        self.id: str | None = None
        self.state: SessionState | None = None  # from the create (or attach) response
        self._client = client
        self._owns_client = client is None
        self._attach_id: str | None = None
        self._backend_known = True
        self._status = _State.UNOPENED
        self._jobs: dict[str, Job] = {}
        # Ids of the jobs this session's POSTs created (known as soon as the POST answers):
        # submission recovery never mistakes one of them for a lost submission.
        self._created_ids: set[str] = set()
        # Job POSTs in flight, and a gate that submission recovery closes while it lists the
        # session's jobs, so that no concurrent submission of this session is mistaken for it.
        # All three are made only when a recovery needs them (most sessions never do).
        self._inflight = 0
        self._idle: asyncio.Event | None = None  # set when the in-flight POSTs reach 0
        self._gate: asyncio.Event | None = None  # present (unset) while recovery holds POSTs
        self._recovery_lock: asyncio.Lock | None = None
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
        client: RuntimeClient,
        backend: str | None = None,
        on_exit: OnExit = "close",
    ) -> Session:
        """A handle on an existing session: entering it reads ``GET /v1/sessions/{id}``
        instead of creating one; exiting closes (or drains) it like any other.

        Jobs are submitted to the session's backend as the service reports it
        (``backend_name``), or to ``backend`` when given.
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

    @property
    def client(self) -> RuntimeClient:
        """The :class:`RuntimeClient` the session sends through.

        A session that builds its own client has none before it is entered
        (``SessionStateError``).
        """
        if self._client is None:
            raise errors.SessionStateError("the session has no client until it is entered")
        return self._client

    @property
    def jobs_submitted(self) -> tuple[Job, ...]:
        """Handles of the jobs submitted (or re-attached) through this session."""
        return tuple(self._jobs.values())

    # -- entering -----------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._status is not _State.UNOPENED:
            raise errors.SessionStateError(
                f"a Session can be entered once; this one is {self._status.value}"
            )
        self._status = _State.OPENING
        if self._client is None:
            self._client = RuntimeClient()
        try:
            if self._attach_id is not None:
                details = await self._read_details(self._attach_id)
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
            await _shielded(self._settle_cancelled_create(task))
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
        client = self.client
        try:
            response = await client.transport.request(
                "POST",
                "/v1/sessions",
                json=create_session_body(self.backend, self.mode),
                expected=(200,),
                retry="unsent",
                operation="create_session",
            )
        except errors.QRuntimeError as exc:
            if _classify(exc) is _Failure.MAY_LAND:
                exc.add_note(
                    "qruntime_session: the request may still have created a session; the API "
                    "cannot list sessions, so it cannot be named (it closes itself when idle)"
                )
            raise
        try:
            data = response.json()
            self.id = response_id(data, "create_session")
        except ValueError as exc:
            raise errors.UnexpectedStatusError(
                f"create_session answered 200 without a readable session id: {exc}; "
                "a session was probably created, and as the API cannot list sessions it "
                "cannot be named: it closes itself after its interactive timeout",
                status=response.status,
                method="POST",
                url=response.url,
            ) from exc
        self._register()
        self.state = SessionState.parse(data.get("state"))

    # -- jobs ---------------------------------------------------------------------------

    def _require_open(self, what: str) -> RuntimeClient:
        if self._status is not _State.OPEN:
            when = (
                "before the session is entered"
                if self._status in (_State.UNOPENED, _State.OPENING)
                else "after the session was closed"
            )
            raise errors.SessionStateError(f"cannot {what} {when}", session_id=self.id)
        return self.client

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
        provably was not, and :class:`SubmissionUnknownError` is raised when it cannot tell.
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
            submission_tag = SUBMISSION_TAG_PREFIX + uuid.uuid4().hex
            clean_tags = (*clean_tags, submission_tag)
        assert self.id is not None
        body = create_job_body(program_id, self.backend, self.id, clean_params, clean_tags)
        job_id = await self._post_job(client, body, submission_tag)
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
    ) -> SamplerJob:
        """Submit a V2 ``sampler`` job built from ``pubs`` through :meth:`submit_job`.

        Pubs are checked before anything is sent (see ``docs/results.md``); the returned job's
        ``result()`` is a ``PrimitiveResult``.
        """
        from .primitives import SamplerJob, sampler_params

        self._require_open("submit a job")
        params = sampler_params(pubs, shots=shots, options=options, support_qiskit=support_qiskit)
        job = await self.submit_job("sampler", params, tags=tags)
        typed = SamplerJob(job.id, client=self.client, session_id=self.id, program_id="sampler")
        self._jobs[job.id] = typed
        return typed

    async def run_estimator(
        self,
        pubs: Sequence[Any],
        *,
        precision: float | None = None,
        options: Mapping[str, Any] | None = None,
        support_qiskit: bool = False,
        tags: Sequence[str] = (),
    ) -> EstimatorJob:
        """Submit a V2 ``estimator`` job built from ``pubs`` through :meth:`submit_job`."""
        from .primitives import EstimatorJob, estimator_params

        self._require_open("submit a job")
        params = estimator_params(
            pubs, precision=precision, options=options, support_qiskit=support_qiskit
        )
        job = await self.submit_job("estimator", params, tags=tags)
        typed = EstimatorJob(job.id, client=self.client, session_id=self.id, program_id="estimator")
        self._jobs[job.id] = typed
        return typed

    async def _post_once(self, client: RuntimeClient, body: Mapping[str, Any]) -> str:
        while self._gate is not None:  # a recovery is listing this session's jobs
            await self._gate.wait()
        await client._pace_submission()
        self._inflight += 1
        try:
            response = await client.transport.request(
                "POST",
                "/v1/jobs",
                json=body,
                expected=(200,),
                retry="unsent",
                operation="create_job",
            )
            try:
                job_id = response_id(response.json(), "create_job")
            except ValueError as exc:
                # A job was created: the caller looks for it rather than losing it.
                raise errors.UnexpectedStatusError(
                    f"create_job answered 200 without a readable job id: {exc}",
                    status=response.status,
                    method="POST",
                    url=response.url,
                ) from exc
            self._created_ids.add(job_id)
            return job_id
        finally:
            self._inflight -= 1
            if self._inflight == 0 and self._idle is not None:
                self._idle.set()

    async def _post_job(
        self, client: RuntimeClient, body: Mapping[str, Any], submission_tag: str | None
    ) -> str:
        resubmissions = 0
        while True:
            try:
                return await self._post_once(client, body)
            except errors.QRuntimeError as exc:
                failure = _classify(exc)
                if failure is None:
                    exc._attach_ids(session_id=self.id)
                    raise
                ambiguous = exc
            log.warning(
                "job submission to session %s failed ambiguously (%s); "
                "looking for the job in the session",
                self.id,
                type(ambiguous).__name__,
            )
            found = await self._recover(client, body, submission_tag, ambiguous, failure)
            if found is not None:
                log.warning("job %s was created despite the failure; adopting it", found)
                self._created_ids.add(found)
                return found
            if may_send_again(failure) and resubmissions < MAX_RESUBMISSIONS:
                resubmissions += 1
                log.warning(
                    "the service answered and no job was created; submitting again "
                    "(resubmission %d)",
                    resubmissions,
                )
                continue
            if failure is _Failure.ANSWERED:
                detail = "each time the session showed no such job, so none was created"
            else:
                settle = client.config.timeouts.settle
                detail = (
                    f"no job for it appeared in the session within {settle}s, but the first "
                    "request may still create one, so it was not sent again"
                )
                if submission_tag is not None:
                    detail += f"; look for tag {submission_tag!r} in the session's jobs later"
            raise errors.SubmissionUnknownError(
                f"job submission failed ambiguously ({type(ambiguous).__name__}); {detail}",
                session_id=self.id,
                submission_tag=submission_tag,
            ) from ambiguous

    async def _recover(
        self,
        client: RuntimeClient,
        body: Mapping[str, Any],
        submission_tag: str | None,
        ambiguous: errors.QRuntimeError,
        failure: _Failure,
    ) -> str | None:
        """Find the job an ambiguous POST may have created; ``None`` if none showed up.

        After a 500 one look suffices (the service is done with the request). Otherwise the
        session's jobs are looked at repeatedly for ``Timeouts.settle`` seconds, since the
        request may still be handled. With a submission tag the match is exact and other
        submissions go on meanwhile; without one, this session's other submissions are held
        back while it looks, so a concurrent one cannot be mistaken for the lost one.
        """
        settle = client.config.timeouts.settle
        waits = [0.0] if failure is _Failure.ANSWERED else _settle_schedule(settle)
        deadline = client._clock() + settle
        if submission_tag is not None:
            return await self._look(client, body, submission_tag, ambiguous, waits, deadline)
        if self._recovery_lock is None:
            self._recovery_lock = asyncio.Lock()
        async with self._recovery_lock:
            gate = self._gate = asyncio.Event()
            try:
                if self._inflight:  # let this session's other submissions finish first
                    idle = self._idle = asyncio.Event()
                    try:
                        await idle.wait()
                    finally:
                        self._idle = None
                return await self._look(client, body, None, ambiguous, waits, deadline)
            finally:
                self._gate = None
                gate.set()

    async def _look(
        self,
        client: RuntimeClient,
        body: Mapping[str, Any],
        submission_tag: str | None,
        ambiguous: errors.QRuntimeError,
        waits: list[float],
        deadline: float,
    ) -> str | None:
        listing_failed: errors.QRuntimeError | None = None
        for number, wait in enumerate(waits):
            if number and client._clock() >= deadline:
                break
            if wait:
                await client._sleep(wait)
            try:
                listed = await client.list_jobs(
                    session_id=self.id, exclude_params=submission_tag is not None
                )
            except errors.QRuntimeError as exc:
                listing_failed = exc  # looked at again while the window lasts
                continue
            listing_failed = None
            candidates = [
                info
                for info in listed
                if info.id not in self._created_ids
                and info.id not in client._known_job_ids
                and self._matches(info, body, submission_tag)
            ]
            if not candidates:
                continue
            exact = submission_tag is not None or all(
                info.params is not None for info in candidates
            )
            if len(candidates) == 1 and exact:
                return candidates[0].id
            ids = [c.id for c in candidates]
            raise errors.SubmissionUnknownError(
                "job submission failed ambiguously and the session holds "
                f"{len(ids)} unknown job(s) that may be it: {', '.join(ids)}; not resubmitting",
                session_id=self.id,
                candidates=ids,
                submission_tag=submission_tag,
            ) from ambiguous
        if listing_failed is not None:
            raise errors.SubmissionUnknownError(
                "job submission failed ambiguously and listing the session's jobs to check "
                f"failed too ({type(listing_failed).__name__}); the job may or may not exist",
                session_id=self.id,
                submission_tag=submission_tag,
            ) from ambiguous
        return None

    @staticmethod
    def _matches(info: JobInfo, body: Mapping[str, Any], submission_tag: str | None) -> bool:
        if submission_tag is not None:
            return submission_tag in info.tags
        if info.program_id is not None and info.program_id != body["program_id"]:
            return False
        if info.backend is not None and info.backend != body["backend"]:
            return False
        if not set(body.get("tags", ())).issubset(info.tags):
            return False
        return info.params is None or dict(info.params) == dict(body["params"])

    def job(self, job_id: str) -> Job:
        """Re-attach to a job of this session by id (no request is sent)."""
        check_id(job_id, "job_id")
        client = self.client
        job = self._jobs.get(job_id)
        if job is None:
            job = client.job(job_id)
            job.session_id = self.id
            self._jobs[job_id] = job
        return job

    async def jobs(self, *, pending: bool | None = None) -> list[JobInfo]:
        """The session's jobs (``GET /v1/jobs?session_id=…``, all pages)."""
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
        progress: Progress | None = None,
    ) -> list[JobInfo]:
        """Wait until every job (default: all submitted here) is final; one list per poll."""
        targets = list(self._jobs.values()) if jobs is None else list(jobs)
        return await wait_all(self.client, targets, timeout=timeout, poll=poll, progress=progress)

    def as_completed(
        self,
        jobs: Iterable[Job] | None = None,
        *,
        timeout: float | None = None,
        poll: PollPolicy | None = None,
        progress: Progress | None = None,
    ) -> AsyncIterator[JobInfo]:
        """Yield each job's final :class:`JobInfo` as it finishes; one list per poll."""
        targets = list(self._jobs.values()) if jobs is None else list(jobs)
        return as_completed(self.client, targets, timeout=timeout, poll=poll, progress=progress)

    # -- session operations ---------------------------------------------------------------

    async def _read_details(self, session_id: str) -> SessionDetails:
        response = await self.client.transport.request(
            "GET", f"/v1/sessions/{path_segment(session_id)}", operation="get_session"
        )
        try:
            return session_details_from_api(response.json())
        except ValueError as exc:
            raise errors.UnexpectedStatusError(
                f"get_session answered with an unreadable body: {exc}",
                status=response.status,
                method="GET",
                url=response.url,
                session_id=session_id,
            ) from exc

    async def details(self) -> SessionDetails:
        """``GET /v1/sessions/{id}`` as a :class:`SessionDetails`."""
        if self.id is None:
            raise errors.SessionStateError("the session has no id until it is entered")
        try:
            details = await self._read_details(self.id)
        except errors.QRuntimeError as exc:
            exc._attach_ids(session_id=self.id)
            raise
        self.state = details.state
        return details

    async def stop_accepting_jobs(self) -> None:
        """``PATCH /v1/sessions/{id}`` ``{"accepting_jobs": false}``: queued jobs still run."""
        if self.id is None:
            raise errors.SessionStateError("the session has no id until it is entered")
        try:
            await self.client.transport.request(
                "PATCH",
                f"/v1/sessions/{path_segment(self.id)}",
                json=update_session_body(accepting_jobs=False),
                expected=(204,),
                operation="update_session",
            )
        except errors.QRuntimeError as exc:
            exc._attach_ids(session_id=self.id)
            raise
        log.info("session %s stopped accepting jobs (draining)", self.id)

    async def close(self) -> None:
        """``DELETE /v1/sessions/{id}/close`` now (the seed's closeSession step). Idempotent.

        Queued jobs are stopped; running jobs finish. A 404 means the session is already
        closed and is not an error. Afterwards the session accepts no submissions.
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
        client = self.client
        try:
            if how == "drain":
                await self.stop_accepting_jobs()
            else:
                await self._delete_close(client)
                log.info("session %s closed", self.id)
        except errors.NotFoundError:
            log.info("session %s was already closed", self.id)
        client._open_sessions.pop(self.id, None)
        self._registered = False

    def _register(self) -> None:
        assert self.id is not None
        self.client._open_sessions[self.id] = self.backend
        self._registered = True

    async def _delete_close(self, client: RuntimeClient) -> None:
        """``DELETE …/close``, sent again after a garbled 2xx (the close is idempotent)."""
        assert self.id is not None
        transport = client.transport
        start = client._clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                await transport.request(
                    "DELETE",
                    f"/v1/sessions/{path_segment(self.id)}/close",
                    expected=(204,),
                    operation="delete_session_close",
                )
                return
            except errors.UnexpectedStatusError as exc:
                if exc.status is None or not 200 <= exc.status < 300:
                    raise
                delay = transport.retry.next_delay(
                    retry_number=attempt,
                    elapsed=client._clock() - start,
                    retry_after=None,
                    random=client._random,
                )
                if delay is None:
                    raise
                log.debug("close of session %s answered %d; sending it again", self.id, exc.status)
                await client._sleep(delay)

    async def _close_registered(self, how: OnExit) -> None:
        """Close a session known only by id (``RuntimeClient.close_all_sessions``)."""
        self._warn_on_del = False
        self.id = self._attach_id
        self._status = _State.CLOSING
        try:
            await _shielded(self._bounded_close(how))
        finally:
            self._status = _State.CLOSED

    async def _bounded_close(self, how: OnExit) -> None:
        assert self.id is not None
        # One close per session id at a time, registered with the client: aclose() waits for
        # it instead of closing the pool under it, and joins it instead of sending another.
        await self.client._registry.close_once(self.id, lambda: self._timed_close(how))

    async def _timed_close(self, how: OnExit) -> None:
        timeout = self.client.config.timeouts.close
        try:
            async with asyncio.timeout(timeout):
                await self._send_close(how)
        except TimeoutError as exc:
            raise errors.RequestTimeoutError(
                f"closing session {self.id} did not finish within {timeout}s", session_id=self.id
            ) from exc

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
                    await _shielded(self._bounded_close(self.on_exit))
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
            await _shielded(self._client.aclose())
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
