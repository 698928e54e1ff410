"""The ambiguous-submission protocol: one session's job POSTs, and finding a job again.

A ``POST /v1/jobs`` that fails without a clear answer (a timeout, a broken connection, a
gateway 5xx, a 500, a 2xx without a readable id) may or may not have created a job. The rules,
in one place (``docs/retries.md`` describes them for users):

- `classify` says what the failure proves; `may_send_again` is the one decision
  point for sending the POST again (only after an answered 500 and a listing showing no job);
- `Submissions.post` looks for the job in the session (`settle_schedule` spaces the
  looks over ``Timeouts.settle``), matches candidates by submission tag or by body, and adopts
  the one that is the submission's, or raises
  [`SubmissionUnknownError`][qruntime_session.errors.SubmissionUnknownError].

`BaseSession` owns one `Submissions` per open session
and calls it for every job it submits.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from . import errors
from ._api import RuntimeApi, create_job
from ._models import JobInfo

__all__ = [
    "MAX_RESUBMISSIONS",
    "MAX_TAGS",
    "SUBMISSION_TAG_PREFIX",
    "Failure",
    "Submissions",
    "classify",
    "may_send_again",
    "new_submission_tag",
    "settle_schedule",
]

log = logging.getLogger("qruntime_session")

MAX_TAGS = 8  # the API's limit of tags per job
SUBMISSION_TAG_PREFIX = "qrs-submit-"
# How many times a job POST may be re-sent after the client proved the earlier one created nothing.
MAX_RESUBMISSIONS = 2
# While settling an ambiguous submission: first look at once, then wait this long, growing by
# SETTLE_GROWTH up to SETTLE_MAX_INTERVAL, until the waits add up to ``Timeouts.settle``.
SETTLE_FIRST_INTERVAL = 0.05
SETTLE_GROWTH = 1.5
SETTLE_MAX_INTERVAL = 1.0


class Failure(enum.Enum):
    """How a ``POST /v1/jobs`` failed, as far as "was a job created?" goes."""

    ANSWERED = "answered"  # the service answered 500: it is done with the request
    HANDLED = "handled"  # it answered 2xx, unreadably: a job was created
    MAY_LAND = "may-land"  # no answer (timeout, broken connection, gateway 5xx): it may still


def classify(exc: errors.QRuntimeError) -> Failure | None:
    """``None`` when the failure is definite (nothing created: raise it as it is)."""
    if isinstance(exc, errors.ConnectError | errors.UsageError):
        return None  # the request never left, or was never built
    if isinstance(exc, errors.TransportError):
        return Failure.MAY_LAND
    if isinstance(exc, errors.ServerError):
        if exc.status == 503:
            return None  # the service refused it (maintenance): nothing was created
        return Failure.ANSWERED if exc.status == 500 else Failure.MAY_LAND
    if isinstance(exc, errors.UnexpectedStatusError) and exc.status is not None:
        return Failure.HANDLED if 200 <= exc.status < 300 else None
    return None  # 4xx: refused


def may_send_again(failure: Failure) -> bool:
    """The one decision point for "may this job POST be sent again?".

    Only when the service *answered* (a 500: it finished with the request) and a listing
    taken after that answer shows no job for the submission. After a timeout, a broken
    connection or a gateway error the first request may still be handled later, and after a
    2xx it was; the client then never sends again (it looks for the job instead).
    """
    return failure is Failure.ANSWERED


def settle_schedule(settle: float) -> list[float]:
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


def new_submission_tag() -> str:
    """A fresh submission tag: ``qrs-submit-`` and a random UUID."""
    return SUBMISSION_TAG_PREFIX + uuid.uuid4().hex


class _Recovery:
    """One submission being looked for without a submission tag."""

    __slots__ = ("body", "shared")

    def __init__(self, body: Mapping[str, Any]) -> None:
        self.body = body
        # Set when an identical submission adopted a job while this one was being looked
        # for: that job may have been this one's.
        self.shared = False


class Submissions:
    """One open session's job POSTs, and the search for a job an ambiguous POST created.

    It keeps the ids this session's POSTs created (known as soon as a POST answers), so that
    recovery never mistakes one of them for a lost submission; and, without submission tags,
    a gate that holds this session's other POSTs back while a recovery lists its jobs.
    """

    def __init__(self, client: RuntimeApi, session_id: str) -> None:
        self._client = client
        self._session_id = session_id
        self._created_ids: set[str] = set()
        # Job POSTs in flight, and a gate that submission recovery closes while it lists the
        # session's jobs, so that no concurrent submission of this session is mistaken for it.
        # All three are made only when a recovery needs them (most sessions never do).
        self._inflight = 0
        self._idle: asyncio.Event | None = None  # set when the in-flight POSTs reach 0
        self._gate: asyncio.Event | None = None  # present (unset) while recovery holds POSTs
        self._recovery_lock: asyncio.Lock | None = None
        # Recoveries under way without a submission tag, by body: identical submissions (same
        # program, backend, tags and params) recovering together share their jobs.
        self._recovering: list[_Recovery] = []

    async def _post_once(self, body: Mapping[str, Any]) -> str:
        client = self._client
        while self._gate is not None:  # a recovery is listing this session's jobs
            await self._gate.wait()
        await client._pace_submission()
        self._inflight += 1
        try:
            job_id = await create_job(client, body)
            self._created_ids.add(job_id)
            return job_id
        finally:
            self._inflight -= 1
            if self._inflight == 0 and self._idle is not None:
                self._idle.set()

    async def post(self, body: Mapping[str, Any], submission_tag: str | None) -> str:
        """``POST /v1/jobs`` with ``body``; the job's id, found again if the POST failed
        ambiguously (see the module's docstring), or
        [`SubmissionUnknownError`][qruntime_session.errors.SubmissionUnknownError]."""
        client = self._client
        resubmissions = 0
        while True:
            try:
                return await self._post_once(body)
            except errors.QRuntimeError as exc:
                failure = classify(exc)
                if failure is None:
                    exc._attach_ids(session_id=self._session_id)
                    raise
                ambiguous = exc
            log.warning(
                "job submission to session %s failed ambiguously (%s); "
                "looking for the job in the session",
                self._session_id,
                type(ambiguous).__name__,
            )
            recovery = _Recovery(body)
            if submission_tag is None:  # registered before the first await: others count it
                self._recovering.append(recovery)
            try:
                found = await self._recover(body, submission_tag, ambiguous, failure, recovery)
            finally:
                if submission_tag is None:
                    self._recovering.remove(recovery)
            if found is not None:
                log.warning("job %s was created despite the failure; adopting it", found)
                self._created_ids.add(found)
                return found
            if recovery.shared and failure is Failure.ANSWERED:
                raise errors.SubmissionUnknownError(
                    "job submission failed ambiguously (the service answered 500) while an "
                    "identical submission of this session adopted a job that may have been "
                    "this one's, and no other job for it appeared in the session within "
                    f"{client.config.timeouts.settle}s; it was not sent again",
                    session_id=self._session_id,
                ) from ambiguous
            if may_send_again(failure) and resubmissions < MAX_RESUBMISSIONS:
                resubmissions += 1
                log.warning(
                    "the service answered and no job was created; submitting again "
                    "(resubmission %d)",
                    resubmissions,
                )
                continue
            if failure is Failure.ANSWERED:
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
                session_id=self._session_id,
                submission_tag=submission_tag,
            ) from ambiguous

    async def _recover(
        self,
        body: Mapping[str, Any],
        submission_tag: str | None,
        ambiguous: errors.QRuntimeError,
        failure: Failure,
        recovery: _Recovery,
    ) -> str | None:
        """Find the job an ambiguous POST may have created; ``None`` if none showed up.

        After a 500 one look suffices (the service is done with the request). Otherwise the
        session's jobs are looked at repeatedly for ``Timeouts.settle`` seconds, since the
        request may still be handled. With a submission tag the match is exact and other
        submissions go on meanwhile; without one, this session's other submissions are held
        back while it looks, so a concurrent one cannot be mistaken for the lost one, and
        identical submissions recovering together share the jobs they find (see `_look`).
        """
        client = self._client
        settle = client.config.timeouts.settle
        deadline = client._clock() + settle
        if submission_tag is not None:
            waits = [0.0] if failure is Failure.ANSWERED else settle_schedule(settle)
            return await self._look(body, submission_tag, ambiguous, waits, deadline)
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
                # After a 500, one look suffices, unless an identical submission adopted a
                # job meanwhile: that job may have been this one's, and then the job of the
                # other may still land, within the settle window, for this one to adopt.
                single = failure is Failure.ANSWERED and not recovery.shared
                waits = [0.0] if single else settle_schedule(settle)
                return await self._look(body, None, ambiguous, waits, deadline)
            finally:
                self._gate = None
                gate.set()

    async def _look(
        self,
        body: Mapping[str, Any],
        submission_tag: str | None,
        ambiguous: errors.QRuntimeError,
        waits: list[float],
        deadline: float,
    ) -> str | None:
        client = self._client
        listing_failed: errors.QRuntimeError | None = None
        for number, wait in enumerate(waits):
            if number and client._clock() >= deadline:
                break
            if wait:
                await client._sleep(wait)
            try:
                listed = await client.list_jobs(
                    session_id=self._session_id, exclude_params=submission_tag is not None
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
            if exact and submission_tag is not None and len(candidates) == 1:
                return candidates[0].id
            identical = [r for r in self._recovering if r.body == body]
            if exact and submission_tag is None and len(candidates) <= len(identical):
                # Each candidate is the job of one of these identical submissions, and
                # identical jobs are interchangeable: adopt the oldest (the listing is newest
                # first); the others go on looking for the rest.
                for other in identical:
                    other.shared = True
                return candidates[-1].id
            ids = [c.id for c in candidates]
            beyond = (
                ""
                if submission_tag is not None
                else f" (more than the {len(identical)} identical submission(s) of this "
                "session being looked for)"
            )
            raise errors.SubmissionUnknownError(
                "job submission failed ambiguously and the session holds "
                f"{len(ids)} unknown job(s) that may be it{beyond}: {', '.join(ids)}; "
                "not resubmitting",
                session_id=self._session_id,
                candidates=ids,
                submission_tag=submission_tag,
            ) from ambiguous
        if listing_failed is not None:
            raise errors.SubmissionUnknownError(
                "job submission failed ambiguously and listing the session's jobs to check "
                f"failed too ({type(listing_failed).__name__}); the job may or may not exist",
                session_id=self._session_id,
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
        if set(body.get("tags", ())) != set(info.tags):
            return False
        return info.params is None or dict(info.params) == dict(body["params"])
