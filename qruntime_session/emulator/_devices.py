"""Which queued job a device runs next: one job at a time (a setting), in queue order.

A job joins its device's queue when its ``queue_seconds`` have passed. A device runs at most
``capacity`` jobs at once; when one ends, the next starts at that instant: first the
earliest queued job of the session holding the device (the session of the job it ran last,
while that session is ``active``), else the earliest queued job. So on one device the queue
and run times of its jobs add up, as on hardware.

Cost per decision is logarithmic in the queue: a heap per device and a FIFO per session, with
stale entries (a job cancelled or started elsewhere) skipped when met.
"""

from __future__ import annotations

import collections
import heapq
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

__all__ = ["DeviceQueues", "QueuedJob"]


class QueuedJob(Protocol):
    """What the queues read of a job (the store's ``JobRecord`` has it)."""

    @property
    def id(self) -> str: ...
    @property
    def backend(self) -> str: ...
    @property
    def session_id(self) -> str | None: ...
    @property
    def status(self) -> str: ...


JobRecord = TypeVar("JobRecord", bound=QueuedJob)


class DeviceQueues(Generic[JobRecord]):
    """Per device: running jobs, queued jobs in order, and the session holding it."""

    def __init__(self, capacity: int | None) -> None:
        self.capacity = capacity
        self._running: dict[str, set[str]] = {}
        self._queue: dict[str, list[tuple[int, JobRecord]]] = {}
        self._by_session: dict[str, collections.deque[JobRecord]] = {}
        self._holder: dict[str, str] = {}
        self._seq = 0

    def clear(self) -> None:
        """Forget everything (the store rebuilds it)."""
        self._running.clear()
        self._queue.clear()
        self._by_session.clear()
        self._holder.clear()

    def enqueue(self, job: JobRecord) -> None:
        """``job`` waits for its device (its ``queue_seconds`` have passed)."""
        self._seq += 1
        heapq.heappush(self._queue.setdefault(job.backend, []), (self._seq, job))
        if job.session_id is not None:
            self._by_session.setdefault(job.session_id, collections.deque()).append(job)

    def started(self, job: JobRecord) -> None:
        """``job`` runs on its device now."""
        self._running.setdefault(job.backend, set()).add(job.id)
        if job.session_id is not None:
            self._holder[job.backend] = job.session_id

    def released(self, job: JobRecord) -> None:
        """``job`` no longer runs on its device."""
        running = self._running.get(job.backend)
        if running is not None:
            running.discard(job.id)

    def running(self, backend: str) -> int:
        """How many jobs the device runs now."""
        return len(self._running.get(backend, ()))

    def next(self, backend: str, active: Callable[[str], bool]) -> JobRecord | None:
        """The job the device starts now, taken off its queue (``None``: busy or empty)."""
        if self.capacity is not None and self.running(backend) >= self.capacity:
            return None
        holder = self._holder.get(backend)
        if holder is not None and active(holder):
            waiting = self._by_session.get(holder)
            while waiting:
                job = waiting.popleft()
                if job.status == "Queued" and job.backend == backend:
                    return job
        queue = self._queue.get(backend)
        while queue:
            _, job = heapq.heappop(queue)
            if job.status == "Queued":
                return job
        return None
