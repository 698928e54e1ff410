"""The emulated service's state: sessions, jobs and how they move through time.

Time is lazy: nothing runs in the background. Before every request (and every control call)
the store replays, in chronological order, every transition that the clock says is due —
job starts, job ends, a session going inactive or reaching its ``max_ttl``. Timestamps are
the scheduled instants, not the moment somebody looked.

The due transitions live in one heap, pushed when they become possible (a job created, a
job started, a session started, a session's last job ended) and checked again when popped
(a stale entry — a job cancelled before its start, a session that got a new job before it
went idle — is dropped). A request therefore costs work proportional to what changed since
the last one, never to how many jobs and sessions are stored.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import heapq
import json
import math
import random
import secrets
from collections.abc import Awaitable
from typing import Any

import attrs

from ._clock import isoformat
from ._config import EmulatorConfig
from ._devices import DeviceQueues
from ._errors import ApiError
from ._outcome import PENDING, RAN_TOO_LONG_CODE, TERMINAL, JobOutcome, JobStatus  # noqa: F401
from ._results import Computed, ResultEngine, job_logs
from ._runs import judged, run_settings
from ._simulate import SIMULATION_AVAILABLE

__all__ = [
    "PENDING",
    "TERMINAL",
    "JobOutcome",
    "JobRecord",
    "SessionRecord",
    "Store",
]

# Kinds of timed transition, in the order they apply when due at the same instant.
_START, _END, _EXPIRE, _IDLE = 0, 1, 2, 3


@attrs.define(kw_only=True)
class SessionRecord:
    """One session, mutated only by the :class:`Store`."""

    id: str
    mode: str
    backend_name: str | None
    max_ttl: int
    interactive_ttl: int
    active_ttl: int
    user_id: str
    state: str = "open"
    state_reason: str = "session_created"
    accepting_jobs: bool = True
    closing_reason: str | None = None
    started_at: float | None = None
    activated_at: float | None = None
    closed_at: float | None = None
    last_job_started: float | None = None
    last_job_completed: float | None = None
    timestamps: list[tuple[str, float]] = attrs.field(factory=list)

    def enter(self, state: str, at: float, reason: str) -> None:
        """Move to ``state`` at time ``at`` and remember why."""
        self.state = state
        self.state_reason = reason
        self.timestamps.append((state, at))
        if state == "active":
            self.activated_at = at
            if self.started_at is None:
                self.started_at = at
        elif state == "closed":
            self.closed_at = at
            self.accepting_jobs = False

    def to_json(self, now: float) -> dict[str, Any]:
        """The ``JobSession`` body. Fields not set yet are omitted (IBM types them non-null)."""
        body: dict[str, Any] = {
            "id": self.id,
            "backend_name": self.backend_name,
            "mode": self.mode,
            "state": self.state,
            "state_reason": self.state_reason,
            "accepting_jobs": self.accepting_jobs,
            "interactive_ttl": self.interactive_ttl,
            "max_ttl": self.max_ttl,
            "active_ttl": self.active_ttl,
            "timestamps": [
                {"status": state, "timestamp": isoformat(at)} for state, at in self.timestamps
            ],
            "user_id": self.user_id,
        }
        for name in (
            "started_at",
            "activated_at",
            "closed_at",
            "last_job_started",
            "last_job_completed",
        ):
            value = getattr(self, name)
            if value is not None:
                body[name] = isoformat(value)
        if self.started_at is not None:
            end = self.closed_at if self.closed_at is not None else now
            body["elapsed_time"] = round(max(end - self.started_at, 0.0), 3)
        return body


@attrs.define(kw_only=True)
class JobRecord:
    """One job, mutated only by the :class:`Store`."""

    id: str
    program_id: str
    backend: str
    session_id: str | None
    #: The params as compact JSON (a third of the memory of the decoded objects); see ``params``.
    params_json: bytes | None = attrs.field(repr=False)
    tags: list[str]
    cost: int
    log_level: str | None
    runtime: str | None
    calibration_id: str | None
    private: bool
    user_id: str
    caller: str | None
    created: float
    queue_seconds: float | None
    run_seconds: float | None
    planned: JobOutcome | None
    status: JobStatus = "Queued"
    reason: str | None = None
    reason_code: int | None = None
    reason_solution: str | None = None
    started: float | None = None
    finished: float | None = None
    result_taken: bool = False
    #: Shots executed (known once the job's result is computed).
    shots: int = 0

    @property
    def params(self) -> dict[str, Any] | None:
        """The params as sent (decoded on each use: stored jobs keep only their JSON)."""
        if self.params_json is None:
            return None
        decoded: dict[str, Any] = json.loads(self.params_json)
        return decoded

    @property
    def pending(self) -> bool:
        """Queued or Running."""
        return self.status in PENDING

    @property
    def qpu_seconds(self) -> float:
        """Emulated usage: the time the job spent Running."""
        if self.started is None or self.finished is None:
            return 0.0
        return round(max(self.finished - self.started, 0.0), 3)

    def state_json(self) -> dict[str, Any]:
        """The ``state`` object: ``status`` plus the reason fields that are set."""
        status = "Cancelled" if self.status == "Cancelled - Ran too long" else self.status
        state: dict[str, Any] = {"status": status}
        if self.reason is not None:
            state["reason"] = self.reason
        if self.reason_code is not None:
            state["reason_code"] = self.reason_code
        if self.reason_solution is not None:
            state["reason_solution"] = self.reason_solution
        return state

    def usage_json(self) -> dict[str, Any]:
        """The 2026-03-15+ ``usage`` object."""
        return {
            "qpu_charge_time_seconds": self.qpu_seconds,
            "status": "pending" if self.pending else "complete",
        }

    def to_json(self, *, include_params: bool) -> dict[str, Any]:
        """The ``JobResponse`` body."""
        body: dict[str, Any] = {
            "id": self.id,
            "backend": self.backend,
            "status": self.status,
            "state": self.state_json(),
            "program": {"id": self.program_id},
            "created": isoformat(self.created),
            "cost": self.cost,
            "user_id": self.user_id,
            "tags": list(self.tags),
            "usage": self.usage_json(),
        }
        if self.session_id is not None:
            body["session_id"] = self.session_id
        if self.runtime is not None:
            body["runtime"] = self.runtime
        if self.calibration_id is not None:
            body["calibration_id"] = self.calibration_id
        if self.private:
            body["private"] = True
        if self.run_seconds is not None:
            body["estimated_running_time_seconds"] = float(self.run_seconds)
        if include_params and not self.private and self.params_json is not None:
            body["params"] = self.params
        return body

    def metrics_json(self, qiskit_version: str) -> dict[str, Any]:
        """The 2026-04-15 ``JobMetrics`` body."""
        if self.started is None:
            execution_ns = 0
        elif self.qpu_seconds > 0:
            execution_ns = int(self.qpu_seconds * 0.8 * 1e9)
        else:
            execution_ns = (self.shots if self.program_id == "sampler" else 0) * 250_000
        timestamps = {"created": isoformat(self.created)}
        if self.started is not None:
            timestamps["running"] = isoformat(self.started)
        if self.finished is not None:
            timestamps["finished"] = isoformat(self.finished)
        body: dict[str, Any] = {
            "timestamps": timestamps,
            "usage": self.usage_json(),
            "circuits_execution_time_ns": execution_ns,
            "qiskit_version": qiskit_version,
        }
        if self.caller is not None:
            body["caller"] = self.caller
        return body

    def logs_text(self) -> str:
        """Plain-text logs for the stages reached so far."""
        return job_logs(
            job_id=self.id,
            program_id=self.program_id,
            backend=self.backend,
            session_id=self.session_id,
            params=self.params,
            created=isoformat(self.created),
            started=_iso_or_none(self.started),
            finished=_iso_or_none(self.finished),
            status=self.status,
            reason=self.reason,
        )


def _iso_or_none(timestamp: float | None) -> str | None:
    return None if timestamp is None else isoformat(timestamp)


@attrs.define
class _Plan:
    outcome: JobOutcome
    program_id: str | None
    remaining: int | None


class _Timeline:
    """The store's clockwork: due transitions, device queues, judged runs (see the module doc)."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.sessions: dict[str, SessionRecord] = {}
        self.jobs: dict[str, JobRecord] = {}
        simulate = SIMULATION_AVAILABLE if config.simulate is None else config.simulate
        self.simulate = simulate
        #: Judges and computes sampler/estimator jobs off the event loop, when they run.
        self.results = ResultEngine(
            settings=run_settings(config, simulate, None, 0.0), time_limit=config.job_time_limit
        )
        self.devices: DeviceQueues[JobRecord] = DeviceQueues(config.jobs_per_device)
        # Jobs whose run ended (emulated time) while their result was still being computed:
        # job id -> the instant their run ended.
        self._awaiting: dict[str, float] = {}
        self._counter = 0
        # The due transitions: (at, rank, sequence, record), see tick().
        self._due: list[tuple[float, int, int, Any]] = []
        self._seq = 0
        # Per session id: its jobs (creation order) and how many are Queued or Running.
        self._session_jobs: dict[str, list[JobRecord]] = {}
        self._pending: dict[str, int] = {}
        # Ids need not be unpredictable; a seed makes them reproducible. Without one, the
        # generator is seeded once from the OS (not one system call per id).
        seed = secrets.randbits(64) if config.seed is None else config.seed
        self._random = random.Random(seed)  # noqa: S311

    # ----------------------------------------------------------------------------- time

    def now(self) -> float:
        """The configured clock's time."""
        return self.config.clock.now()

    def new_id(self) -> str:
        """An xid-style id: 20 lowercase base32hex characters (time, randomness, counter)."""
        self._counter = (self._counter + 1) % (1 << 24)
        raw = (
            (int(self.now()) & 0xFFFFFFFF) << 64
            | self._random.getrandbits(40) << 24
            | self._counter
        )
        # base32hex of the 12 bytes: 96 bits padded to 100 = 20 characters of 5 bits.
        return base64.b32hexencode(raw.to_bytes(12, "big"))[:20].decode("ascii").lower()

    def tick(self) -> float:
        """Apply, in time order, every transition due by now; return now."""
        now = self.now()
        due = self._due
        while due and due[0][0] <= now:
            at, rank, _seq, record = heapq.heappop(due)
            if rank == _START:
                if record.status == "Queued":
                    self.devices.enqueue(record)
                    self._dispatch(record.backend, at)
            elif rank == _END:
                if record.status == "Running":
                    self._end(record, at)
            elif rank == _EXPIRE:
                if record.state != "closed":
                    self._expire(record, at)
            elif self._idle_since(record) == at:
                self._inactivate(record, at)
        return now

    def _end(self, job: JobRecord, at: float) -> None:
        """The job's run is over at ``at``: it ends as judged (or waits for its judgement)."""
        if job.run_seconds is not None and job.run_seconds > job.cost:
            self.results.forget(job.id)
            self._finish(job, JobOutcome.ran_too_long(), at)
            return
        if job.planned is not None and job.planned.status != "Completed":
            self.results.forget(job.id)
            self._finish(job, job.planned, at)
            return
        outcome = self.results.outcome(job.id)
        if outcome is None and not self._computing(job):
            self.results.run_now(job.id, job.program_id, job.params, self._settings(job))
            outcome = self.results.outcome(job.id)
        if outcome is None and job.program_id in ("sampler", "estimator"):
            self._awaiting[job.id] = at
            return
        self._awaiting.pop(job.id, None)
        if isinstance(outcome, Computed):
            job.shots = outcome.shots
        self._finish(job, judged(outcome, job.planned), at)

    def _computing(self, job: JobRecord) -> bool:
        return self.results.computing(job.id) is not None

    def _settings(self, job: JobRecord) -> Any:
        device = self.config.device(job.backend)
        return run_settings(self.config, self.simulate, device, job.created)

    def _judged(self, job: JobRecord) -> None:
        """The worker finished judging ``job``: end its run if that is overdue."""
        at = self._awaiting.pop(job.id, None)
        if at is not None and job.status == "Running":
            self._schedule(at, _END, job)
            self.tick()

    async def settle(self, *job_ids: str) -> None:
        """Wait (up to the job-time limit) until jobs whose run is over have their outcome.

        The emulated clock says the run ended; the worker may still be judging and simulating
        (real time). Only a request about these jobs waits; nothing else does.
        """
        self.tick()
        futures = [
            future
            for job_id in job_ids
            if job_id in self._awaiting and (future := self.results.computing(job_id))
        ]
        if not futures:
            return
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(
                asyncio.gather(*(asyncio.shield(f) for f in futures), return_exceptions=True),
                self.config.job_time_limit,
            )
        # The done callbacks run on the next loop iteration.
        await asyncio.sleep(0)
        self.tick()

    async def settle_session(self, session_id: str) -> None:
        """:meth:`settle` every job of a session."""
        self.tick()
        await self.settle(
            *(job.id for job in self._session_jobs.get(session_id, ()) if job.pending)
        )

    def _dispatch(self, backend: str, at: float) -> None:
        """Start the device's next queued jobs while it has room."""
        while True:
            job = self.devices.next(backend, self._active)
            if job is None:
                return
            self._start(job, at)

    def _active(self, session_id: str) -> bool:
        session = self.sessions.get(session_id)
        return session is not None and session.state == "active"

    def _schedule(self, at: float, rank: int, record: Any) -> None:
        self._seq += 1
        heapq.heappush(self._due, (at, rank, self._seq, record))

    def _idle_since(self, session: SessionRecord) -> float | None:
        """When an active session with no pending job goes inactive (``None``: it does not)."""
        if (
            session.state != "active"
            or session.last_job_completed is None
            or self._pending.get(session.id, 0)
        ):
            return None
        return session.last_job_completed + session.interactive_ttl

    def _rebuild_schedule(self) -> None:
        """Recompute the pending counts and the heap from the stored records (one full scan).

        Only needed when records were put into (or changed in) the store from outside the
        transitions below, e.g. when restoring a saved state.
        """
        self._due.clear()
        self._pending.clear()
        self._session_jobs.clear()
        self.devices.clear()
        for job in self.jobs.values():
            self._index_job(job)
            if job.status == "Queued" and job.queue_seconds is not None:
                self._schedule(job.created + job.queue_seconds, _START, job)
            elif job.status == "Running":
                self.devices.started(job)
                if job.run_seconds is not None:
                    assert job.started is not None
                    self._schedule(job.started + min(job.run_seconds, job.cost), _END, job)
        for session in self.sessions.values():
            if session.state == "closed":
                continue
            if session.started_at is not None:
                self._schedule(session.started_at + session.max_ttl, _EXPIRE, session)
            idle = self._idle_since(session)
            if idle is not None:
                self._schedule(idle, _IDLE, session)

    def _index_job(self, job: JobRecord) -> None:
        if job.session_id is None:
            return
        self._session_jobs.setdefault(job.session_id, []).append(job)
        if job.pending:
            self._pending[job.session_id] = self._pending.get(job.session_id, 0) + 1

    # ------------------------------------------------------------------------ transitions

    def _has_pending(self, session: SessionRecord) -> bool:
        return self._pending.get(session.id, 0) > 0

    def _start(self, job: JobRecord, at: float) -> None:
        job.status = "Running"
        job.started = at
        self.devices.started(job)
        if job.planned is None or job.planned.status == "Completed":
            self.results.start(
                job.id,
                job.program_id,
                job.params,
                self._settings(job),
                lambda: self._judged(job),
            )
        if job.run_seconds is not None:
            self._schedule(at + min(job.run_seconds, job.cost), _END, job)
        session = self.sessions.get(job.session_id or "")
        if session is None:
            return
        session.last_job_started = at
        if session.backend_name is None:
            session.backend_name = job.backend
        if session.state in ("open", "inactive"):
            first = session.started_at is None
            session.enter("active", at, "session_activated")
            if first and session.started_at is not None:
                self._schedule(session.started_at + session.max_ttl, _EXPIRE, session)

    def _finish(self, job: JobRecord, outcome: JobOutcome, at: float) -> None:
        was_running = job.status == "Running"
        if outcome.status != "Completed":
            self.results.forget(job.id)
        self._awaiting.pop(job.id, None)
        job.status = outcome.status
        job.reason = outcome.reason
        job.reason_code = outcome.reason_code
        job.reason_solution = outcome.reason_solution
        job.finished = at
        if was_running:
            self.devices.released(job)
            self._dispatch(job.backend, at)
        session = self.sessions.get(job.session_id or "")
        if session is None:
            return
        self._pending[session.id] = self._pending.get(session.id, 1) - 1
        if job.started is not None:
            session.last_job_completed = at
        self._close_if_drained(session, at)
        idle = self._idle_since(session)
        if idle is not None:
            self._schedule(idle, _IDLE, session)

    def _close_if_drained(self, session: SessionRecord, at: float) -> None:
        if (
            session.state != "closed"
            and not session.accepting_jobs
            and not self._has_pending(session)
        ):
            session.enter("closed", at, session.closing_reason or "session_closed_early")

    def _cancel_queued(self, session: SessionRecord, at: float, reason: str) -> None:
        for job in self._session_jobs.get(session.id, ()):
            if job.status == "Queued":
                self._finish(job, JobOutcome.cancelled(reason), at)

    def _expire(self, session: SessionRecord, at: float) -> None:
        session.accepting_jobs = False
        session.enter("closed", at, "session_max_ttl_exceeded")
        self._cancel_queued(session, at, "The session reached its max_ttl before the job ran.")

    def _inactivate(self, session: SessionRecord, at: float) -> None:
        session.enter("inactive", at, "session_inactivated_by_interactive_ttl")


class Store(_Timeline):
    """All sessions and jobs of the emulated instance, plus the rules that move them."""

    def __init__(self, config: EmulatorConfig) -> None:
        super().__init__(config)
        self._plans: list[_Plan] = []
        self._creations: collections.deque[float] = collections.deque()

    # --------------------------------------------------------------------------- sessions

    def create_session(
        self,
        *,
        mode: str,
        backend: str | None,
        max_ttl: int | None,
        interactive_ttl: int | None,
        active_ttl: int | None,
    ) -> SessionRecord:
        """Open a session (state ``open``)."""
        now = self.tick()
        self._check_backend(backend)
        ttl = max_ttl if max_ttl is not None else self.config.default_max_ttl
        session = SessionRecord(
            id=self.new_id(),
            mode=mode,
            backend_name=backend,
            max_ttl=ttl,
            interactive_ttl=(
                interactive_ttl if interactive_ttl is not None else self.config.interactive_ttl
            ),
            active_ttl=active_ttl if active_ttl is not None else ttl,
            user_id=self.config.user_id,
        )
        session.timestamps.append(("open", now))
        self.sessions[session.id] = session
        return session

    def session(self, session_id: str) -> SessionRecord:
        """The session with this id, or a 404 ``ApiError``."""
        session = self.sessions.get(session_id)
        if session is None:
            raise ApiError(404, "not_found", f"Session not found. Session ID: {session_id}")
        return session

    def set_accepting(self, session: SessionRecord, accepting: bool) -> None:
        """PATCH: ``False`` drains the session (closes once no job is queued or running)."""
        now = self.tick()
        session.accepting_jobs = accepting
        if accepting:
            if session.state != "closed":
                session.closing_reason = None
            return
        session.closing_reason = session.closing_reason or "session_closed_early"
        self._close_if_drained(session, now)

    def cancel_session(self, session: SessionRecord) -> None:
        """DELETE …/close: refuse jobs, cancel queued ones, let running ones finish."""
        now = self.tick()
        if session.state == "closed":
            return
        session.accepting_jobs = False
        session.closing_reason = "session_cancelled"
        self._cancel_queued(session, now, "The session was closed before the job ran.")
        self._close_if_drained(session, now)

    # ------------------------------------------------------------------------------- jobs

    def _check_backend(self, backend: str | None) -> None:
        """IBM refuses an unknown backend name at session and job creation (1007)."""
        if backend is not None and self.config.device(backend) is None:
            raise ApiError(404, "1007", f"Backend not found: {backend}")

    def _check_rate(self, now: float) -> None:
        limit = self.config.job_rate_limit
        if limit is None:
            return
        period = self.config.job_rate_period
        while self._creations and self._creations[0] <= now - period:
            self._creations.popleft()
        if len(self._creations) >= limit:
            wait = self._creations[0] + period - now
            headers = (
                {"Retry-After": str(max(1, math.ceil(wait)))}
                if self.config.rate_limit_retry_after
                else {}
            )
            raise ApiError(
                429,
                "1202",
                f"Too many requests. The limit is {limit} jobs per {period:g} seconds.",
                headers=headers,
            )

    def create_job(
        self,
        *,
        program_id: str,
        backend: str,
        params: dict[str, Any] | None,
        session_id: str | None = None,
        tags: list[str] | None = None,
        log_level: str | None = None,
        cost: int | None = None,
        runtime: str | None = None,
        calibration_id: str | None = None,
        private: bool = False,
        caller: str | None = None,
    ) -> JobRecord:
        """Queue a job, or refuse it (rate limit, unknown backend/session, closed session).

        The optional fields default to what ``POST /v1/jobs`` stores when a body omits them.
        """
        now = self.tick()
        self._check_rate(now)
        self._check_backend(backend)
        if session_id is not None:
            session = self.session(session_id)
            if session.state == "closed" or not session.accepting_jobs:
                message = (
                    "Session has been closed."
                    if session.state == "closed"
                    else "Session is not accepting jobs."
                )
                raise ApiError(self.config.closed_session_status, "1217", message)
            if session.backend_name is not None and session.backend_name != backend:
                raise ApiError(
                    400,
                    "bad_request",
                    f"Backend {backend} does not match the session's backend "
                    f"{session.backend_name}.",
                )
            if session.backend_name is None:
                session.backend_name = backend
        capped = self.config.max_job_cost if cost is None else min(cost, self.config.max_job_cost)
        job = JobRecord(
            id=self.new_id(),
            program_id=program_id,
            backend=backend,
            session_id=session_id,
            params_json=_compact_json(params),
            tags=list(tags or ()),
            cost=capped,
            log_level=log_level,
            runtime=runtime,
            calibration_id=calibration_id,
            private=private,
            user_id=self.config.user_id,
            caller=caller,
            created=now,
            queue_seconds=self.config.queue_seconds,
            run_seconds=self.config.run_seconds,
            planned=self._take_plan(program_id),
        )
        self.jobs[job.id] = job
        self._index_job(job)
        if job.queue_seconds is not None:
            self._schedule(now + job.queue_seconds, _START, job)
        if self.config.job_rate_limit is not None:
            self._creations.append(now)
        return job

    def _take_plan(self, program_id: str) -> JobOutcome | None:
        for plan in self._plans:
            if plan.program_id in (None, program_id):
                if plan.remaining is not None:
                    plan.remaining -= 1
                    if plan.remaining == 0:
                        self._plans.remove(plan)
                return plan.outcome
        return None

    def plan_outcome(
        self, outcome: JobOutcome, *, program_id: str | None, times: int | None
    ) -> None:
        """The next ``times`` created jobs (of ``program_id``, if given) end with ``outcome``."""
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 or None")
        self._plans.append(_Plan(outcome, program_id, times))

    def job(self, job_id: str) -> JobRecord:
        """The job with this id, or a 404 ``ApiError``."""
        job = self.jobs.get(job_id)
        if job is None:
            raise ApiError(404, "not_found", f"Job not found. Job ID: {job_id}")
        return job

    def cancel_job(self, job: JobRecord) -> None:
        """POST …/cancel: a Queued or Running job ends Cancelled; anything else is a 409."""
        now = self.tick()
        if not job.pending:
            raise ApiError(
                409,
                "job_not_cancellable",
                f"Job {job.id} is in non cancellable status {job.status}.",
            )
        self._finish(job, JobOutcome.cancelled("The job was cancelled by the user."), now)

    def delete_job(self, job: JobRecord) -> None:
        """DELETE /v1/jobs/{id}: forget a job (its record, session index entry and result).

        A finished job is forgotten as it is. A Queued job is first withdrawn from its queue
        (it ends, never started, so its session's pending count drops and its scheduled start
        and queue entries go stale) and then forgotten: IBM's own integration suite deletes a
        Queued job and expects it gone, although the jobs description asks for a terminal
        state. A Running job is refused with a 400.
        """
        now = self.tick()
        if job.status == "Running":
            raise ApiError(
                400,
                "bad_request",
                f"Job {job.id} is Running: only a Queued, Completed, Failed or Cancelled job "
                "can be deleted.",
            )
        if job.status == "Queued":
            self._finish(job, JobOutcome.cancelled("The job was deleted before it ran."), now)
        self.jobs.pop(job.id, None)
        if job.session_id is not None:
            siblings = self._session_jobs.get(job.session_id)
            if siblings is not None and job in siblings:
                siblings.remove(job)
        self.results.forget(job.id)

    def take_result(self, job: JobRecord) -> Awaitable[bytes] | None:
        """The final result of a Completed job, serialised, to await (``None``: answer 204).

        Private jobs' results are read once.
        """
        self.tick()
        if job.status != "Completed" or job.result_taken:
            return None
        if job.private:
            job.result_taken = True
        assert job.started is not None
        assert job.finished is not None
        return self.results.body(
            job_id=job.id,
            program_id=job.program_id,
            backend=job.backend,
            params=job.params,
            started=isoformat(job.started),
            finished=isoformat(job.finished),
        )

    # ------------------------------------------------------------------- test controls

    def start_job(self, job_id: str) -> None:
        """Release a Queued job: it starts Running now."""
        now = self.tick()
        job = self._known(job_id)
        if job.status != "Queued":
            raise ValueError(f"job {job_id} is {job.status}, not Queued")
        self._start(job, now)

    def finish_job(self, job_id: str, outcome: JobOutcome | None) -> None:
        """End a Queued or Running job now (Queued jobs start first, at the same instant)."""
        now = self.tick()
        job = self._known(job_id)
        if not job.pending:
            raise ValueError(f"job {job_id} already ended as {job.status}")
        if job.status == "Queued":
            self._start(job, now)
        if outcome is None:
            if job.planned is None or job.planned.status == "Completed":
                self.results.run_now(job.id, job.program_id, job.params, self._settings(job))
            self._end(job, now)
            if job.status == "Running":
                # Judged in a worker thread: the job ends once the outcome is known.
                return
        else:
            self._finish(job, outcome, now)

    def _known(self, job_id: str) -> JobRecord:
        job = self.jobs.get(job_id)
        if job is None:
            raise KeyError(f"no job {job_id!r}")
        return job

    def list_jobs(
        self,
        *,
        pending: bool | None,
        program: str | None,
        backend: str | None,
        session_id: str | None,
        tags: list[str],
        created_after: float | None,
        created_before: float | None,
        ascending: bool,
    ) -> list[JobRecord]:
        """The jobs matching every given filter, sorted by creation time."""
        self.tick()
        # Both sources iterate in creation order; a session's jobs are indexed.
        candidates = (
            self.jobs.values() if session_id is None else self._session_jobs.get(session_id, ())
        )
        selected = [
            job
            for job in candidates
            if (pending is None or job.pending == pending)
            and (program is None or job.program_id == program)
            and (backend is None or job.backend == backend)
            and (session_id is None or job.session_id == session_id)
            and all(tag in job.tags for tag in tags)
            and (created_after is None or job.created > created_after)
            and (created_before is None or job.created < created_before)
        ]
        # A stable sort keeps creation order among equal timestamps; newest first reverses it.
        selected.sort(key=_created)
        if not ascending:
            selected.reverse()
        return selected


def _compact_json(params: dict[str, Any] | None) -> bytes | None:
    if params is None:
        return None
    try:
        return json.dumps(params, separators=(",", ":"), allow_nan=True).encode()
    except (RecursionError, ValueError, TypeError) as exc:
        raise ApiError(400, "bad_request", "params must be JSON that nests less deeply.") from exc


def _created(job: JobRecord) -> float:
    return job.created
