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
        """Return the current time in seconds since the epoch."""
        ...


@attrs.define
class SystemClock:
    """The real wall clock (``time.time()``)."""

    def now(self) -> float:
        """Return ``time.time()``."""
        return time.time()


@attrs.define
class ManualClock:
    """A clock that only moves when told to: ``advance(seconds)`` or ``set(timestamp)``."""

    current: float = _DEFAULT_START

    def now(self) -> float:
        """Return the clock's current time."""
        return self.current

    def advance(self, seconds: float) -> float:
        """Move the clock forward by ``seconds`` (not backwards) and return the new time."""
        if seconds < 0:
            raise ValueError("a ManualClock cannot go backwards")
        self.current += seconds
        return self.current

    def set(self, timestamp: float) -> None:
        """Jump to ``timestamp`` (POSIX seconds); it may not be earlier than the current time."""
        if timestamp < self.current:
            raise ValueError("a ManualClock cannot go backwards")
        self.current = timestamp


def isoformat(timestamp: float) -> str:
    """Format POSIX seconds as IBM does: ISO 8601 UTC with milliseconds and a ``Z``."""
    moment = datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_timestamp(text: str) -> float:
    """Parse an ISO 8601 date-time (``Z`` or offset; naive means UTC) into POSIX seconds.

    Raises ``ValueError`` for anything else.
    """
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    moment = datetime.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.timestamp()
