"""Fault injection: make chosen calls of an operation answer badly.

A fault targets one operation (an OpenAPI operation id, ``iam_token``, ``get_versions``, or
``"*"`` for every request) and a window of its calls, counted from the moment the fault is
added: calls ``nth`` .. ``nth + times - 1`` (``times=None``: every call from ``nth`` on).
Faults are applied before authentication and validation, like a misbehaving gateway.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs

__all__ = ["OPERATIONS", "Fault", "FaultPlan"]

OPERATIONS: tuple[str, ...] = (
    "create_session",
    "get_session",
    "update_session",
    "delete_session_close",
    "create_job",
    "list_jobs",
    "get_job",
    "get_job_results_jid",
    "cancel_job_jid",
    "get_jog_logs_jid",
    "get_job_metrics_jid",
    "delete_job_jid",
    "replace_job_tags",
    "list_backends",
    "get_backend_configuration",
    "get_backend_properties",
    "get_backend_status",
    "get_usage",
    "get_versions",
    "get_openapi",
    "iam_token",
    "account_search",
    "account_catalog_entry",
    "account_list_instances",
    "account_get_instance",
)
"""Every operation the emulator answers, as recorded in ``RecordedRequest.operation``."""

DropMode = Literal["before", "after"]


@attrs.define(kw_only=True)
class Fault:
    """One planned fault; ``FaultPlan.add`` builds it (see there for what each kind does).

    Args:
        operation: The operation id it targets, or ``"*"`` for every request.
        nth: The first call it hits, counted from 1 since the fault was added.
        times: How many calls it hits from ``nth`` on; ``None``: every call.
        status: The HTTP status it answers instead, if any.
        body: The body answered with ``status`` (``None``: IBM's error body for it).
        headers: Headers answered with ``status``.
        delay: Seconds to wait before anything else, if any.
        drop: ``"before"`` or ``"after"`` handling: close the connection instead of answering.
        start: The operation's call count when the fault was added.
        handled: Whether the request is handled before ``status`` is answered.
        hits: How many calls it has affected so far.
    """

    operation: str
    nth: int
    times: int | None
    status: int | None
    body: Any = attrs.field(repr=False)
    headers: Mapping[str, str]
    delay: float | None
    drop: DropMode | None
    start: int = attrs.field(repr=False)
    handled: bool = False
    hits: int = 0

    def covers(self, call_index: int) -> bool:
        """Whether a call falls in the fault's window.

        Args:
            call_index: The call's number, 1-based, counted like ``start`` (all calls of the
                operation, or of every operation for ``"*"``).

        Returns:
            ``True`` when the call is one of ``nth`` .. ``nth + times - 1`` after ``start``.
        """
        relative = call_index - self.start
        if relative < self.nth:
            return False
        return self.times is None or relative < self.nth + self.times

    @property
    def exhausted(self) -> bool:
        """True once every call in the fault's window has happened."""
        return self.times is not None and self.hits >= self.times


@attrs.define
class FaultPlan:
    """The emulator's list of faults (``emu.faults``), and its count of calls by operation.

    Args:
        faults: Faults to start with (normally none: plan them with ``add``).
        calls: Calls counted so far, by operation id (normally none).
    """

    _faults: list[Fault] = attrs.field(factory=list)
    _calls: dict[str, int] = attrs.field(factory=dict)

    def add(
        self,
        operation: str,
        *,
        nth: int = 1,
        times: int | None = 1,
        status: int | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        delay: float | None = None,
        drop: DropMode | None = None,
        handled: bool = False,
    ) -> Fault:
        """Plan a fault for calls ``nth`` .. ``nth + times - 1`` of ``operation``.

        A fault needs at least one of ``status``, ``drop`` and ``delay``.

        Args:
            operation: An operation id of ``OPERATIONS``, or ``"*"`` for every request.
            nth: The first call hit, counted from 1 since the fault is added.
            times: How many calls are hit; ``None``: every call from ``nth`` on.
            status: Answer this HTTP status instead of handling the request.
            body: The body answered with ``status``: a dict or list (sent as JSON), ``str``
                (text) or ``bytes``; ``None`` sends IBM's error body for the status.
            headers: Headers answered with ``status``.
            delay: Wait this many seconds first (alone: then handle the request normally).
            drop: ``"before"``: close the connection without handling the request (nothing
                is created). ``"after"``: handle the request (a job IS created), then close
                the connection instead of answering.
            handled: With ``status``: handle the request first (a job or session IS
                created), then answer the canned ``status``/``body`` instead of the real
                answer — e.g. ``status=500`` (an error after the work was done), or
                ``status=200`` with an unreadable ``body`` (``b'{"id": "'`` or JSON nested
                100,000 deep).

        Returns:
            The planned fault (its ``hits`` count the calls it affects).

        Raises:
            ValueError: An unknown operation, a window that does not count from 1, both
                ``status`` and ``drop``, none of ``status``/``drop``/``delay``, an invalid
                status, drop mode or delay, or ``handled`` without ``status``.
        """
        if operation != "*" and operation not in OPERATIONS:
            raise ValueError(f"unknown operation {operation!r}; expected one of {OPERATIONS}")
        if nth < 1:
            raise ValueError("nth counts from 1")
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 or None")
        if status is not None and drop is not None:
            raise ValueError("a fault either answers a status or drops the connection, not both")
        if status is None and drop is None and delay is None:
            raise ValueError("a fault needs status=, drop= or delay=")
        if status is not None and not 100 <= status <= 599:
            raise ValueError(f"invalid HTTP status {status}")
        if drop is not None and drop not in ("before", "after"):
            raise ValueError("drop must be 'before' or 'after'")
        if delay is not None and delay < 0:
            raise ValueError("delay must be >= 0")
        if handled and status is None:
            raise ValueError("handled=True needs a status= to answer after handling")
        fault = Fault(
            operation=operation,
            nth=nth,
            times=times,
            status=status,
            body=body,
            headers=dict(headers or {}),
            delay=delay,
            drop=drop,
            start=self._calls.get(operation, 0),
            handled=handled,
        )
        self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every planned fault (call counters keep running)."""
        self._faults.clear()

    @property
    def faults(self) -> list[Fault]:
        """The planned faults, in the order they were added."""
        return list(self._faults)

    def on_call(self, operation: str) -> Fault | None:
        """Count one call of an operation and find the fault that hits it.

        Args:
            operation: The operation id of the call.

        Returns:
            The first planned fault covering the call (its ``hits`` counted), or ``None``.
        """
        count = self._calls[operation] = self._calls.get(operation, 0) + 1
        every = self._calls["*"] = self._calls.get("*", 0) + 1
        for fault in self._faults:
            index = every if fault.operation == "*" else count
            if (fault.operation in ("*", operation)) and fault.covers(index):
                fault.hits += 1
                return fault
        return None
