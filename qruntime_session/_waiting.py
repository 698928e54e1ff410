"""Waiting on many jobs with O(1) requests per poll interval.

Instead of one ``GET /v1/jobs/{id}`` per job, each poll lists a session's pending jobs
(``GET /v1/jobs?session_id=…&pending=true``, 200 a page); a watched job missing from that list
has finished, and its final record is read from ``pending=false`` pages, stopping as soon as
every newly finished job has been found. Jobs outside any session are polled one by one.
"""

from __future__ import annotations

import collections
from collections.abc import AsyncIterator, Callable, Iterable, Mapping

import attrs

from . import errors
from ._api import RuntimeApi
from ._checks import check_deadline
from ._display import ProgressDisplay
from ._job import Job
from ._models import JobInfo, JobStatus
from ._retry import PollPolicy, wait_limit

__all__ = ["Progress", "WaitProgress", "as_completed", "wait_all"]


@attrs.frozen(kw_only=True)
class WaitProgress:
    """What a progress callback receives after each poll.

    Args:
        done: How many of the jobs are final.
        total: How many jobs are waited on.
        counts: How many jobs are in each status, by each job's last known status.
        polls: How many polls have been made so far.
    """

    done: int
    """How many of the jobs are final."""
    total: int
    """How many jobs are waited on."""
    counts: Mapping[JobStatus, int]  # last known status of every watched job
    """How many jobs are in each status, by each job's last known status."""
    polls: int
    """How many polls have been made so far."""


Progress = Callable[[WaitProgress], None]


async def _poll_session(
    client: RuntimeApi, session_id: str, watched: dict[str, Job]
) -> list[JobInfo]:
    """One poll of one session: refresh watched jobs; return the newly final ones."""
    still_pending: set[str] = set()
    async for page in client.job_pages(session_id=session_id, pending=True):
        for info in page:
            job = watched.get(info.id)
            if job is not None:
                job._record(info)
                still_pending.add(info.id)
    finished_ids = {jid for jid in watched if jid not in still_pending}
    found: list[JobInfo] = []
    if finished_ids:
        async for page in client.job_pages(session_id=session_id, pending=False):
            for info in page:
                if info.id in finished_ids:
                    watched[info.id]._record(info)
                    found.append(info)
                    finished_ids.discard(info.id)
            if not finished_ids:
                break
    # A job in neither list moved between the two listings; it is looked at again next poll.
    return [info for info in found if info.is_final]


async def as_completed(
    client: RuntimeApi,
    jobs: Iterable[Job],
    *,
    timeout: float | None = None,
    poll: PollPolicy | None = None,
    progress: Progress | bool | None = None,
) -> AsyncIterator[JobInfo]:
    """Yield each job's final [`JobInfo`][qruntime_session.JobInfo] as it finishes.

    Jobs already known to be final come first.

    Args:
        client: The client the jobs belong to.
        jobs: The jobs to wait on (duplicates are waited on once).
        timeout: Seconds the whole wait may take (``None``: no bound, except the testing
            mode's).
        poll: The polling policy (default: the client's).
        progress: A callback given a [`WaitProgress`][qruntime_session.WaitProgress] after
            each poll; or ``True`` for a progress display (a tqdm bar when tqdm is installed,
            else a text line on stderr). Off by default.

    Yields:
        Each job's final info, in the order the jobs finish.

    Raises:
        JobTimeoutError: ``timeout`` (or the testing deadline) passed first; the jobs keep
            running.
        InvalidInputError: ``progress`` is neither a callable nor a bool nor ``None``.
    """
    display = None
    callback: Progress | None = None
    if progress is True:
        targets = list(jobs)
        display = ProgressDisplay(len({job.id for job in targets}))
        jobs = targets
        callback = display
    elif progress is not False and progress is not None:
        if not callable(progress):
            raise errors.InvalidInputError(
                "progress must be a callable taking a WaitProgress, True, False or None"
            )
        callback = progress
    finished = 0
    try:
        async for info in _as_completed(
            client, jobs, timeout=timeout, poll=poll, progress=callback
        ):
            finished += 1
            yield info
    finally:
        if display is not None:
            display.close(done=finished)


async def _as_completed(
    client: RuntimeApi,
    jobs: Iterable[Job],
    *,
    timeout: float | None,
    poll: PollPolicy | None,
    progress: Progress | None,
) -> AsyncIterator[JobInfo]:
    timeout = check_deadline(timeout)
    limit, testing = wait_limit(timeout)
    policy = poll if poll is not None else client.poll
    clock = client._clock
    deadline = None if limit is None else clock() + limit
    all_jobs = list({job.id: job for job in jobs}.values())
    total = len(all_jobs)
    done = 0
    waiting: dict[str | None, dict[str, Job]] = collections.defaultdict(dict)
    for job in all_jobs:
        if job.known_final and job.last_info is not None:
            done += 1
            yield job.last_info
        else:
            waiting[job.session_id][job.id] = job
    polls = 0
    while any(waiting.values()):
        polls += 1
        for session_id, watched in list(waiting.items()):
            if not watched:
                continue
            if session_id is None:
                finished = []
                for job in list(watched.values()):
                    info = await job.info(exclude_params=True)
                    if info.is_final:
                        finished.append(info)
            else:
                finished = await _poll_session(client, session_id, watched)
            for info in finished:
                watched.pop(info.id, None)
                done += 1
                yield info
        if progress is not None:
            counts = collections.Counter(
                job.last_info.status if job.last_info else JobStatus.UNKNOWN for job in all_jobs
            )
            progress(WaitProgress(done=done, total=total, counts=dict(counts), polls=polls))
        if not any(waiting.values()):
            return
        # Every pending job in a session: one listing per session per poll, so the session's
        # short interval costs O(sessions) requests however many jobs are watched.
        delay = policy.interval(polls, random=client._random, in_session=not waiting.get(None))
        if deadline is not None:
            remaining = deadline - clock()
            if remaining <= 0:
                left_jobs = [job for watched in waiting.values() for job in watched.values()]
                left = [job.id for job in left_jobs]
                sessions = {sid for sid, watched in waiting.items() if watched}
                named = ", ".join(
                    f"{job.id} ({job.last_info.status.value if job.last_info else 'unknown'})"
                    for job in left_jobs[:5]
                )
                more = f" and {len(left) - 5} more" if len(left) > 5 else ""
                why = " with waiting switched off (the testing mode's deadline)" if testing else ""
                raise errors.JobTimeoutError(
                    f"{len(left)} of {total} job(s) were not final after {limit}s{why}: "
                    f"{named}{more}",
                    job_id=left[0] if len(left) == 1 else None,
                    job_ids=left,
                    session_id=next(iter(sessions)) if len(sessions) == 1 else None,
                )
            delay = min(delay, remaining)
        await client._sleep(delay)


async def wait_all(
    client: RuntimeApi,
    jobs: Iterable[Job],
    *,
    timeout: float | None = None,
    poll: PollPolicy | None = None,
    progress: Progress | bool | None = None,
) -> list[JobInfo]:
    """Wait until every job is final.

    Args:
        client: The client the jobs belong to.
        jobs: The jobs to wait on.
        timeout: Seconds the whole wait may take (``None``: no bound, except the testing
            mode's).
        poll: The polling policy (default: the client's).
        progress: A callback given a [`WaitProgress`][qruntime_session.WaitProgress] after
            each poll; or ``True`` for a progress display. Off by default.

    Returns:
        The jobs' final infos, in the order given.

    Raises:
        JobTimeoutError: ``timeout`` (or the testing deadline) passed first; the jobs keep
            running.
        InvalidInputError: ``progress`` is neither a callable nor a bool nor ``None``.
    """
    timeout = check_deadline(timeout)
    targets = list(jobs)
    finals: dict[str, JobInfo] = {}
    async for info in as_completed(client, targets, timeout=timeout, poll=poll, progress=progress):
        finals[info.id] = info
    return [finals[job.id] for job in targets]
