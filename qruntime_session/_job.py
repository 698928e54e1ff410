"""Job: a handle on one Runtime job (status, waiting, results, cancel, logs, metrics)."""

from __future__ import annotations

import logging
import weakref
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from typing import Any, TypeVar

from . import _telemetry, errors
from ._api import RuntimeApi
from ._checks import check_deadline, check_id, path_segment
from ._display import JobDisplay
from ._models import JobInfo, JobMetrics, JobStatus
from ._retry import PollPolicy, wait_limit
from ._transport import Response, RetryMode
from ._wire import job_info_from_api, job_metrics_from_api

__all__ = ["Job", "outcome_error"]

log = logging.getLogger("qruntime_session")
T = TypeVar("T")

#: Session jobs each client is waiting on one by one (``Job.wait``) right now: the poll
#: interval stretches when there are many (``PollPolicy.interval(concurrent=...)``).
_session_waits: weakref.WeakKeyDictionary[RuntimeApi, int] = weakref.WeakKeyDictionary()


def outcome_error(info: JobInfo) -> errors.JobError | None:
    """The error that stands for a job's final outcome, or ``None`` for ``Completed``."""
    state = info.state
    common: dict[str, Any] = {
        "reason": state.reason,
        "reason_code": state.reason_code,
        "reason_solution": state.reason_solution,
        "job_id": info.id,
        "session_id": info.session_id,
    }
    detail = f": {state.reason}" if state.reason else ""
    if info.status is JobStatus.FAILED:
        return errors.JobFailedError(f"job {info.id} failed{detail}", **common)
    if info.status in (JobStatus.CANCELLED, JobStatus.CANCELLED_RAN_TOO_LONG):
        return errors.JobCancelledError(f"job {info.id} was cancelled{detail}", **common)
    return None


class Job(JobDisplay):
    """A job in the Runtime service. Cheap to create; every method sends requests.

    Get one from [`Session.submit_job`][qruntime_session.Session.submit_job] or
    [`RuntimeClient.job`][qruntime_session.RuntimeClient.job] rather than building it.
    """

    def __init__(
        self,
        job_id: str,
        *,
        client: RuntimeApi,
        session_id: str | None = None,
        program_id: str | None = None,
    ) -> None:
        """A handle on the job ``job_id`` (no request is sent).

        Args:
            job_id: The job's id.
            client: The client requests are sent through.
            session_id: The session the job belongs to, when known.
            program_id: The job's program (``"sampler"``, ``"estimator"``), when known; it
                decides how [`result`][qruntime_session.Job.result] decodes the result.

        Raises:
            InvalidInputError: ``job_id`` is not a valid id.
        """
        self.id = check_id(job_id, "job_id")
        """The job's id."""
        self.session_id = session_id
        """The session the job belongs to (``None``: outside any session, or not known yet)."""
        self.program_id = program_id  # known from submission, else learnt from the job's info
        """The job's program, known from the submission or learnt from the job's info."""
        self._client = client
        self.last_info: JobInfo | None = None
        """The most recent [`JobInfo`][qruntime_session.JobInfo] this handle saw (``None``
        before any)."""

    def __repr__(self) -> str:
        status = self.last_info.status.value if self.last_info else "unknown"
        return f"Job(id={self.id!r}, session_id={self.session_id!r}, last_status={status!r})"

    @property
    def known_final(self) -> bool:
        """Whether this handle has seen the job in a final status."""
        return self.last_info is not None and self.last_info.is_final

    def _record(self, info: JobInfo) -> JobInfo:
        self.last_info = info
        if self.session_id is None:
            self.session_id = info.session_id
        if self.program_id is None:
            self.program_id = info.program_id
        return info

    def _ids(self, exc: errors.QRuntimeError) -> errors.QRuntimeError:
        """Record this job's ids on ``exc`` (they exist, so the error must name them)."""
        exc._attach_ids(job_id=self.id, session_id=self.session_id)
        return exc

    async def _request(
        self,
        method: str,
        suffix: str,
        operation: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        expected: Collection[int] = (200,),
        retry: RetryMode = "idempotent",
    ) -> Response:
        """``method`` on this job's URL followed by ``suffix``; an error names the job's ids."""
        try:
            return await self._client.transport.request(
                method,
                f"/v1/jobs/{path_segment(self.id)}{suffix}",
                params=params,
                headers=headers,
                expected=expected,
                retry=retry,
                operation=operation,
            )
        except errors.QRuntimeError as exc:
            self._ids(exc)
            raise

    def _read(self, response: Response, parse: Callable[[Any], T], operation: str) -> T:
        """The answer's JSON body, parsed; an unreadable one raises `UnexpectedStatusError`."""
        try:
            return parse(response.json())
        except ValueError as exc:
            raise self._ids(
                errors.UnexpectedStatusError(f"{operation} answered with an unreadable body: {exc}")
            ) from exc

    async def info(self, *, exclude_params: bool = False) -> JobInfo:
        """``GET /v1/jobs/{id}``, tolerant of unknown fields; updates `last_info`.

        Args:
            exclude_params: Leave the job's parameters out of the answer.

        Returns:
            The job's info.

        Raises:
            UnexpectedStatusError: The answer's body could not be read.
        """
        response = await self._request(
            "GET",
            "",
            "get_job",
            params={"exclude_params": "true" if exclude_params else "false"},
        )
        return self._record(self._read(response, job_info_from_api, "get_job"))

    async def status(self) -> JobStatus:
        """The job's current status (one request).

        Returns:
            The status.
        """
        return (await self.info(exclude_params=True)).status

    async def statuses(self, *, poll: PollPolicy | None = None) -> AsyncIterator[JobStatus]:
        """Yield the job's status each time it changes, ending after a final status.

        Args:
            poll: The polling policy (default: the client's).

        Yields:
            Each new status, the last one final.

        Raises:
            JobTimeoutError: In testing mode, the mode's deadline passed first (the iteration
                is bounded like [`wait`][qruntime_session.Job.wait]).
        """
        policy = poll if poll is not None else self._client.poll
        limit, _ = wait_limit(None)
        clock = self._client._clock
        deadline = None if limit is None else clock() + limit
        previous: JobStatus | None = None
        number = 0
        while True:
            info = await self.info(exclude_params=True)
            if info.status is not previous:
                previous = info.status
                yield info.status
            if info.is_final:
                return
            if deadline is not None and clock() >= deadline:
                raise self._timeout(info, limit, testing=True)
            number += 1
            await self._client._sleep(
                policy.interval(
                    number, random=self._client._random, in_session=self.session_id is not None
                )
            )

    def _timeout(
        self, info: JobInfo, limit: float | None, *, testing: bool
    ) -> errors.JobTimeoutError:
        why = (
            " with waiting switched off (the testing mode's deadline: nothing finished the job; "
            "start or finish it on the emulator, advance its clock, or pass "
            "testing.no_waiting(deadline=...))"
            if testing
            else ""
        )
        return errors.JobTimeoutError(
            f"job {self.id} was still {info.status.value} after {limit}s{why}",
            job_id=self.id,
            session_id=self.session_id,
        )

    @_telemetry.traced("qruntime.job.wait")
    async def wait(
        self, timeout: float | None = None, *, poll: PollPolicy | None = None
    ) -> JobInfo:
        """Poll until the job is final and return its last [`JobInfo`][qruntime_session.JobInfo].

        A job in a session is polled every 0.1 s (``PollPolicy.session_interval``, as IBM's
        client does); other jobs back off exponentially with jitter (``PollPolicy``: from
        about 0.5 s to a cap). In testing mode
        ([`no_waiting`][qruntime_session.testing.no_waiting]) the wait is also bounded by the
        mode's deadline. A failed or cancelled job is returned, not raised: use
        [`result`][qruntime_session.Job.result] to get an error for those.

        Args:
            timeout: Seconds the wait may take (``None``: no bound); the job itself is not
                cancelled when it passes.
            poll: The polling policy (default: the client's).

        Returns:
            The job's final info.

        Raises:
            JobTimeoutError: ``timeout`` (or the testing deadline) passed first.
        """
        timeout = check_deadline(timeout)
        limit, testing = wait_limit(timeout)
        policy = poll if poll is not None else self._client.poll
        clock = self._client._clock
        deadline = None if limit is None else clock() + limit
        number = 0
        counted = False
        client = self._client
        try:
            while True:
                info = await self.info(exclude_params=True)
                if info.is_final:
                    return info
                if not counted and self.session_id is not None:
                    _session_waits[client] = _session_waits.get(client, 0) + 1
                    counted = True
                number += 1
                delay = policy.interval(
                    number,
                    random=client._random,
                    in_session=counted,
                    concurrent=_session_waits.get(client, 1),
                )
                if deadline is not None:
                    remaining = deadline - clock()
                    if remaining <= 0:
                        raise self._timeout(info, limit, testing=testing)
                    delay = min(delay, remaining)
                await client._sleep(delay)
        finally:
            if counted:
                left = _session_waits.get(client, 1) - 1
                if left > 0:
                    _session_waits[client] = left
                else:
                    _session_waits.pop(client, None)

    async def result(self, timeout: float | None = None) -> Any:
        """Wait for the job, then return its result.

        Args:
            timeout: Seconds the wait may take (``None``: no bound).

        Returns:
            For a ``sampler`` or ``estimator`` job, a
            [`PrimitiveResult`][qruntime_session.primitives.PrimitiveResult] decoded from
            either result format; for any other program, the JSON as
            [`result_json`][qruntime_session.Job.result_json] returns it.

        Raises:
            ResultDecodeError: A primitive result's body is malformed.
            JobFailedError: The job failed.
            JobCancelledError: The job was cancelled.
            JobResultUnavailableError: The service has no result for the job (204).
            JobTimeoutError: ``timeout`` (or the testing deadline) passed first.
        """
        body = await self.result_json(timeout)
        if self.program_id not in ("sampler", "estimator"):
            return body
        try:
            return self._client._decode_result(
                body, program_id=self.program_id, job_id=self.id, session_id=self.session_id
            )
        except errors.QRuntimeError as exc:
            self._ids(exc)
            raise

    async def result_json(self, timeout: float | None = None) -> Any:
        """Wait for the job, then return its result (``GET …/results``) as JSON, as sent.

        Args:
            timeout: Seconds the wait may take (``None``: no bound).

        Returns:
            The decoded JSON body, or the text of a body that is not JSON.

        Raises:
            JobFailedError: The job failed (with ``reason``, ``reason_code`` and
                ``reason_solution``).
            JobCancelledError: The job was cancelled (with the same fields).
            JobResultUnavailableError: The service answered 204: the job has no result.
            JobTimeoutError: ``timeout`` (or the testing deadline) passed first.
        """
        info = await self.wait(check_deadline(timeout))
        failure = outcome_error(info)
        if failure is not None:
            raise failure
        response = await self._request(
            "GET", "/results", "get_job_results_jid", expected=(200, 204)
        )
        if response.status == 204:
            raise errors.JobResultUnavailableError(
                f"job {self.id} has no final result (the service answered 204)",
                status=204,
                method="GET",
                url=response.url,
                job_id=self.id,
                session_id=self.session_id,
                reason=info.state.reason,
                reason_code=info.state.reason_code,
                reason_solution=info.state.reason_solution,
            )
        try:
            return response.json()
        except ValueError:  # not JSON, or JSON nested too deeply (``_wire.loads``)
            return response.text

    async def cancel(self) -> None:
        """``POST /v1/jobs/{id}/cancel``.

        Raises:
            ConflictError: The job is already final.
        """
        await self._request("POST", "/cancel", "cancel_job_jid", expected=(204,), retry="unsent")
        log.debug("cancelled job %s", self.id)

    async def logs(self) -> str:
        """The job's log (``GET …/logs``, text/plain).

        Returns:
            The log text.
        """
        response = await self._request(
            "GET", "/logs", "get_jog_logs_jid", headers={"Accept": "text/plain"}
        )
        return response.text

    async def metrics(self) -> JobMetrics:
        """``GET …/metrics``: the job's timestamps, usage and queue figures.

        Returns:
            The job's metrics.

        Raises:
            UnexpectedStatusError: The answer's body could not be read.
        """
        response = await self._request("GET", "/metrics", "get_job_metrics_jid")
        return self._read(response, job_metrics_from_api, "get_job_metrics")
