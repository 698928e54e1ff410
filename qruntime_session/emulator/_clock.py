"""Time sources for the emulator.

Every time-dependent decision of the emulator (job progress, session timers, token expiry,
rate limiting, timestamps) reads one injectable clock, so tests can move time by hand.
"""

from __future__ import annotations

import datetime
import time
from typing import Protocol

import attrs

__all__ = ["Clock", "ManualClock", "SystemClock"]

# 2026-04-15T12:00:00Z: the default start of a ManualClock (a date the live API version exists).
_DEFAULT_START = 1776254400.0


class Clock(Protocol):
    """Anything with ``now()`` answering POSIX seconds (UTC wall-clock time)."""

    def now(self) -> float:
        """The current time.

        Returns:
            POSIX seconds (UTC wall-clock time).
        """
        ...


@attrs.define
class SystemClock:
    """The real wall clock (``time.time()``)."""

    def now(self) -> float:
        """The current wall-clock time.

        Returns:
            ``time.time()``: POSIX seconds.
        """
        return time.time()


@attrs.define
class ManualClock:
    """A clock that only moves when told to: ``advance(seconds)`` or ``set(timestamp)``.

    Args:
        current: The starting time, POSIX seconds (default 2026-04-15T12:00:00Z, a date on
            which the live API version exists).
    """

    current: float = _DEFAULT_START

    def now(self) -> float:
        """The clock's current time.

        Returns:
            POSIX seconds, as last advanced or set.
        """
        return self.current

    def advance(self, seconds: float) -> float:
        """Move the clock forward.

        Args:
            seconds: How far, in seconds; not negative.

        Returns:
            The new time, POSIX seconds.

        Raises:
            ValueError: ``seconds`` is negative (a clock never goes backwards).
        """
        if seconds < 0:
            raise ValueError("a ManualClock cannot go backwards")
        self.current += seconds
        return self.current

    def set(self, timestamp: float) -> None:
        """Jump to a moment.

        Args:
            timestamp: The new time, POSIX seconds; not earlier than the current time.

        Raises:
            ValueError: ``timestamp`` is earlier than the current time.
        """
        if timestamp < self.current:
            raise ValueError("a ManualClock cannot go backwards")
        self.current = timestamp


def isoformat(timestamp: float) -> str:
    """Format a moment as IBM does.

    Args:
        timestamp: POSIX seconds.

    Returns:
        ISO 8601 UTC with milliseconds and a ``Z``, e.g. ``2026-04-15T12:00:00.000Z``.
    """
    moment = datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_timestamp(text: str) -> float:
    """Parse an ISO 8601 date-time.

    Args:
        text: A date-time with ``Z`` or an offset; a naive one means UTC.

    Returns:
        POSIX seconds.

    Raises:
        ValueError: ``text`` is not an ISO 8601 date-time.
    """
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    moment = datetime.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.timestamp()
