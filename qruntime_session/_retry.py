"""Retry and polling policy: pure maths, no I/O.

Everything here is a pure function of its inputs. The transport owns the loop (it sleeps, it
measures elapsed time, it supplies the random source); this module only answers "how long do
I wait before the next attempt, if at all?" and "how long until the next poll?".

Which statuses are retried
--------------------------
``RETRYABLE_STATUSES`` are the statuses worth another attempt for a request that is safe to
repeat (GET, PATCH of a flag, DELETE of a close). ``UNSENT_SAFE_STATUSES`` is the subset for
which the service provably did not act on the request (it refused it: rate limited or in
maintenance), so even ``POST /v1/jobs`` -- which would create a second job if replayed after
an ambiguous failure -- may be sent again.

The testing switch
------------------
``set_testing`` (exposed publicly as
[`qruntime_session.testing.set_testing`][qruntime_session.testing.set_testing]) makes every
[`RetryPolicy.next_delay`][qruntime_session.RetryPolicy.next_delay] answer ``0.0`` (never
wait) and caps the number of attempts, and makes every
[`PollPolicy.interval`][qruntime_session.PollPolicy.interval] answer ``0.0``. The transport and
``Job.wait`` need not know about it: they ask the policy and obey. Job polling does not spin
either: it pauses briefly (1 ms, doubling up to 50 ms) so that the event loop -- and an
in-process emulator on a manual clock -- gets the time, and every wait is bounded by the
mode's ``deadline`` (``wait_limit``), so a job nothing will finish ends in
[`JobTimeoutError`][qruntime_session.errors.JobTimeoutError] instead of hanging a test run.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import attrs

from .errors import InvalidInputError

__all__ = [
    "DEFAULT_TESTING_DEADLINE",
    "RETRYABLE_STATUSES",
    "UNSENT_SAFE_STATUSES",
    "PollPolicy",
    "RetryPolicy",
    "attempts_cap",
    "is_retryable_status",
    "is_testing",
    "no_waiting",
    "parse_retry_after",
    "set_testing",
    "testing_deadline",
    "wait_limit",
]

RETRYABLE_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504, 520, 521, 522, 523, 524})
"""Statuses that may be retried when the request is safe to repeat.

429 (rate limited), the 5xx family IBM's own SDK retries (500, 502, 503, 504) and Cloudflare's
520-524 ("the origin did not answer properly"), which IBM's SDK lists as safe to retry.
"""

UNSENT_SAFE_STATUSES: frozenset[int] = frozenset({429, 503})
"""Statuses that prove the service refused the request without acting on it: 429 and 503.

A non-idempotent request (a job submission) answered with one of them may be sent again.
"""


def is_retryable_status(status: int, *, unsent_only: bool = False) -> bool:
    """Whether a response with ``status`` may be retried.

    Args:
        status: The HTTP status of the response.
        unsent_only: For requests that must not be replayed if they may have been processed,
            such as ``POST /v1/jobs``: only ``UNSENT_SAFE_STATUSES`` qualify.

    Returns:
        ``True`` when another attempt may be made.
    """
    return status in (UNSENT_SAFE_STATUSES if unsent_only else RETRYABLE_STATUSES)


# -- the global testing switch --------------------------------------------------------------


DEFAULT_TESTING_DEADLINE = 5.0
"""Seconds a job wait may last while the testing mode is on, unless ``set_testing`` /
``no_waiting`` is given another ``deadline``."""

#: How many jobs of one client may be polled at the full session rate at once: beyond this,
#: the session interval stretches in proportion (never beyond the backoff), so concurrent
#: ``Job.wait`` calls cost a bounded number of requests per second. ``wait_all`` and
#: ``as_completed`` list a session's jobs instead: one request per poll however many jobs.
SESSION_FAST_WAITS = 20

#: The pauses between job polls in testing mode: 1 ms, doubling, at most 50 ms.
_TESTING_FIRST_PAUSE = 0.001
_TESTING_MAX_PAUSE = 0.05


@attrs.define
class _TestingState:
    enabled: bool = False
    attempts: int = 1
    deadline: float = DEFAULT_TESTING_DEADLINE


_TESTING = _TestingState()


def set_testing(
    enabled: bool, *, attempts: int = 1, deadline: float = DEFAULT_TESTING_DEADLINE
) -> None:
    """Turn the testing mode on or off for the whole process.

    While on, retries never wait (every delay is ``0.0``), each call makes at most
    ``attempts`` attempts (the policy's own ``max_attempts`` still applies when it is lower),
    job polling pauses only briefly (1 ms, doubling up to 50 ms: it yields to the event loop
    rather than spinning), and no job wait lasts longer than ``deadline`` seconds.

    Args:
        enabled: ``True`` to switch the testing mode on, ``False`` to switch it off.
        attempts: The most attempts any call makes while the mode is on (at least 1).
        deadline: The longest a ``Job.wait``, ``Job.result``, ``wait_all`` or ``as_completed``
            may wait while the mode is on (seconds, ``> 0``); past it they raise
            [`JobTimeoutError`][qruntime_session.errors.JobTimeoutError] naming the job and
            its status.

    Raises:
        InvalidInputError: ``attempts`` is not an integer of at least 1, or ``deadline`` is
            not a finite number ``> 0``.
    """
    if not _is_int(attempts) or attempts < 1:
        raise InvalidInputError("attempts must be an integer >= 1")
    if not _is_number(deadline) or not 0 < deadline < math.inf:
        raise InvalidInputError("deadline must be a finite number > 0")
    _TESTING.enabled = bool(enabled)
    _TESTING.attempts = attempts
    _TESTING.deadline = float(deadline)


def is_testing() -> bool:
    """Whether the testing mode is on.

    Returns:
        ``True`` between ``set_testing(True)`` and ``set_testing(False)``, and inside
        ``no_waiting``.
    """
    return _TESTING.enabled


def attempts_cap() -> int | None:
    """The attempts cap of the testing mode, or ``None`` when the mode is off."""
    return _TESTING.attempts if _TESTING.enabled else None


def testing_deadline() -> float | None:
    """The testing mode's bound on a job wait.

    Returns:
        Seconds (the ``deadline`` given to ``set_testing`` / ``no_waiting``), or ``None``
        while the testing mode is off.
    """
    return _TESTING.deadline if _TESTING.enabled else None


def wait_limit(timeout: float | None) -> tuple[float | None, bool]:
    """The bound a job wait obeys, and whether it is the testing mode's deadline.

    Args:
        timeout: The caller's timeout in seconds (already validated), or ``None`` for none.

    Returns:
        ``timeout`` lowered to ``testing_deadline()`` while the testing mode is on, and
        ``True`` when that deadline is the lower of the two.
    """
    deadline = testing_deadline()
    if deadline is not None and (timeout is None or deadline < timeout):
        return deadline, True
    return timeout, False


@contextlib.contextmanager
def no_waiting(*, attempts: int = 1, deadline: float = DEFAULT_TESTING_DEADLINE) -> Iterator[None]:
    """Turn the testing mode on inside a ``with`` block; the previous state comes back after.

    Args:
        attempts: The most attempts any call makes inside the block (at least 1).
        deadline: The longest any job wait lasts inside the block, in seconds.

    Returns:
        A context manager; nothing is bound by ``with … as``.

    Raises:
        InvalidInputError: ``attempts`` is not an integer of at least 1, or ``deadline`` is
            not a finite number ``> 0``.
    """
    previous = (_TESTING.enabled, _TESTING.attempts, _TESTING.deadline)
    set_testing(True, attempts=attempts, deadline=deadline)
    try:
        yield
    finally:
        _TESTING.enabled, _TESTING.attempts, _TESTING.deadline = previous


# -- validators -----------------------------------------------------------------------------


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _name(instance: object, attribute: attrs.Attribute[Any]) -> str:
    return f"{type(instance).__name__}.{attribute.name}"


def _non_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not _is_number(value) or not value >= 0:
        raise InvalidInputError(f"{_name(instance, attribute)} must be a number >= 0")


def _optional_non_negative(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (not _is_number(value) or not value >= 0):
        raise InvalidInputError(f"{_name(instance, attribute)} must be None or a number >= 0")


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not _is_number(value) or not value > 0:
        raise InvalidInputError(f"{_name(instance, attribute)} must be a number > 0")


def _at_least_one(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not _is_number(value) or not 1 <= value < math.inf:
        raise InvalidInputError(f"{_name(instance, attribute)} must be a finite number >= 1")


def _fraction(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not _is_number(value) or not 0 <= value <= 1:
        raise InvalidInputError(f"{_name(instance, attribute)} must be between 0 and 1")


def _attempts(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not _is_int(value) or value < 1:
        raise InvalidInputError(f"{_name(instance, attribute)} must be an integer >= 1")


def _exponential(
    number: int,
    *,
    initial: float,
    multiplier: float,
    cap: float,
    jitter: float,
    random: Callable[[], float],
    what: str,
) -> float:
    """``min(cap, initial * multiplier ** (number - 1))`` shrunk by up to ``jitter`` of itself."""
    if not _is_int(number) or number < 1:
        raise ValueError(f"{what} must be an integer >= 1")
    try:
        raw = initial * float(multiplier) ** (number - 1) if initial else 0.0
    except OverflowError:
        raw = math.inf
    base = min(cap, raw)
    r = random()
    if not 0.0 <= r <= 1.0:
        raise ValueError("random() must return a number in [0, 1]")
    return base * (1.0 - jitter * r)


# -- retries --------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How a failed request is retried: bounded by attempts *and* by total time.

    ``max_attempts`` counts every attempt, the first included (``1`` never retries).
    Before retry number *n* (1 for the first retry) the client waits
    ``min(max_backoff, initial_backoff * multiplier ** (n - 1))``, minus a random share of up
    to ``jitter`` of that value (so with ``jitter=0.5`` the wait lies between half the value
    and the value itself, and never exceeds ``max_backoff``).

    A ``Retry-After`` the service sent replaces that computed wait when it is in
    ``(0, max_retry_after]``. A longer one is not waited for: the call gives up at once, and
    the caller sees the error (``RateLimitError.retry_after`` tells how long the service
    wanted). A zero or past ``Retry-After`` falls back to the computed wait, so a
    misconfigured server cannot make the client spin.

    No attempt is started if its wait would carry the call past ``max_elapsed`` seconds
    (measured from the first attempt, waits and previous attempts included).

    Every field is validated; a bad value raises
    [`InvalidInputError`][qruntime_session.errors.InvalidInputError].
    """

    max_attempts: int = attrs.field(default=4, validator=_attempts)
    """Attempts per call, the first included (``1`` never retries)."""
    initial_backoff: float = attrs.field(default=0.5, validator=_non_negative)
    """Seconds before the first retry, before jitter."""
    max_backoff: float = attrs.field(default=8.0, validator=_non_negative)
    """The longest computed wait between two attempts, in seconds."""
    multiplier: float = attrs.field(default=2.0, validator=_at_least_one)
    """Growth of the wait from one retry to the next (at least 1)."""
    jitter: float = attrs.field(default=0.5, validator=_fraction)
    """The largest share (0 to 1) of a wait removed at random, so clients do not retry in step."""
    max_elapsed: float = attrs.field(default=60.0, validator=_positive)
    """No attempt starts later than this many seconds after the first one."""
    max_retry_after: float = attrs.field(default=60.0, validator=_non_negative)
    """The longest ``Retry-After`` waited for; a longer one ends the call with the error."""

    @classmethod
    def disabled(cls) -> RetryPolicy:
        """A policy that never retries (one attempt).

        Returns:
            ``RetryPolicy(max_attempts=1)``.
        """
        return cls(max_attempts=1)

    @classmethod
    def no_retries(cls) -> RetryPolicy:
        """Same as [`disabled`][qruntime_session.RetryPolicy.disabled].

        Returns:
            ``RetryPolicy(max_attempts=1)``.
        """
        return cls.disabled()

    @property
    def effective_max_attempts(self) -> int:
        """``max_attempts``, lowered to the testing-mode cap while that mode is on."""
        cap = attempts_cap()
        return self.max_attempts if cap is None else min(self.max_attempts, cap)

    def backoff(self, retry_number: int, *, random: Callable[[], float]) -> float:
        """The computed wait before retry ``retry_number`` (1 for the first retry).

        This ignores the testing mode;
        [`next_delay`][qruntime_session.RetryPolicy.next_delay] applies it.

        Args:
            retry_number: 1 for the first retry, 2 for the second, and so on.
            random: Returns a float in ``[0, 1]`` (``random.random`` in production, a
                constant in tests).

        Returns:
            The wait in seconds, jitter applied.

        Raises:
            ValueError: ``retry_number`` is not an integer of at least 1, or ``random``
                returned a number outside ``[0, 1]``.
        """
        return _exponential(
            retry_number,
            initial=self.initial_backoff,
            multiplier=self.multiplier,
            cap=self.max_backoff,
            jitter=self.jitter,
            random=random,
            what="retry_number",
        )

    def next_delay(
        self,
        *,
        retry_number: int,
        elapsed: float,
        retry_after: float | None,
        random: Callable[[], float],
    ) -> float | None:
        """The wait before retry ``retry_number``, or ``None`` to stop retrying.

        Stops when the attempts are used up, when ``retry_after`` exceeds
        ``max_retry_after``, or when waiting would go past ``max_elapsed``. In testing mode
        the same decisions are made with the attempts cap applied, but the wait is ``0.0``.

        Args:
            retry_number: 1 when the first attempt just failed.
            elapsed: Seconds since the first attempt started.
            retry_after: The last response's ``Retry-After`` in seconds, or ``None``.
            random: Returns a float in ``[0, 1]``, for the jitter.

        Returns:
            The wait in seconds before the next attempt, or ``None`` to give up.

        Raises:
            ValueError: ``retry_number`` is not an integer of at least 1.
        """
        if not _is_int(retry_number) or retry_number < 1:
            raise ValueError("retry_number must be an integer >= 1")
        if retry_number >= self.effective_max_attempts:
            return None
        if retry_after is not None and retry_after > self.max_retry_after:
            return None
        if retry_after is not None and retry_after > 0:
            delay = float(retry_after)
        else:
            delay = self.backoff(retry_number, random=random)
        if is_testing():
            delay = 0.0
        if elapsed + delay > self.max_elapsed:
            return None
        return delay


_DELTA_SECONDS = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait according to a ``Retry-After`` header value, or ``None``.

    Accepts delay-seconds (``"120"``; a decimal fraction such as ``"2.5"`` is accepted too,
    although RFC 9110 only allows whole numbers) and HTTP-dates (IMF-fixdate
    ``Sun, 06 Nov 1994 08:49:37 GMT`` and the obsolete RFC 850 and asctime forms). A date
    without a zone is taken as UTC. A negative number or a date in the past gives ``0.0``.
    Anything else (absent, empty, garbage, infinite) gives ``None``.

    Args:
        value: The header's value, or ``None`` when it was absent.
        now: The current time for HTTP-dates (default: the system clock, UTC).

    Returns:
        Seconds to wait (``0.0`` or more), or ``None`` when the value says nothing usable.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if _DELTA_SECONDS.fullmatch(text):
        seconds = float(text)
        if not math.isfinite(seconds):
            return None
        return max(0.0, seconds)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


# -- polling --------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class PollPolicy:
    """How often ``Job.wait`` asks for the job status: exponential, capped, with jitter.

    The wait before poll number *n* (1 for the first wait) is
    ``min(max_interval, initial * multiplier ** (n - 1))`` minus a random share of up to
    ``jitter`` of it. A job in a session is polled at least every ``session_interval``
    seconds (0.1 s, as IBM's own client does there), so the next step of an iterative
    session loop starts as soon as the previous job ends; ``None`` lets session jobs back
    off too. In testing mode (``set_testing``) the pauses are 1 ms, doubling up to 50 ms.
    """

    initial: float = attrs.field(default=0.5, validator=_non_negative)
    """Seconds before the first poll, before jitter."""
    max_interval: float = attrs.field(default=5.0, validator=_non_negative)
    """The longest wait between two polls, in seconds."""
    multiplier: float = attrs.field(default=1.5, validator=_at_least_one)
    """Growth of the wait from one poll to the next (at least 1)."""
    jitter: float = attrs.field(default=0.25, validator=_fraction)
    """The largest share (0 to 1) of a wait removed at random."""
    session_interval: float | None = attrs.field(default=0.1, validator=_optional_non_negative)
    """The longest wait between two polls of jobs that all run in a session (``None``: no cap)."""

    def interval(
        self,
        poll_number: int,
        *,
        random: Callable[[], float],
        in_session: bool = False,
        concurrent: int = 1,
    ) -> float:
        """Seconds to wait before poll ``poll_number``.

        Args:
            poll_number: 1 for the first wait, 2 for the second, and so on.
            random: Returns a float in ``[0, 1]``, for the jitter.
            in_session: Whether every job being polled runs in a session: the wait is then
                at most ``session_interval``.
            concurrent: How many session jobs of the same client are being waited on one by
                one at the same time. Above ``SESSION_FAST_WAITS`` the session interval grows
                in proportion (never beyond the backoff), which bounds the client's poll rate.

        Returns:
            The wait in seconds.

        Raises:
            ValueError: ``poll_number`` is not an integer of at least 1, or ``random()`` left
                ``[0, 1]``.
        """
        if is_testing():
            if not _is_int(poll_number) or poll_number < 1:
                raise ValueError("poll_number must be an integer >= 1")
            exponent = min(poll_number - 1, 16)
            return min(_TESTING_MAX_PAUSE, _TESTING_FIRST_PAUSE * 2.0**exponent)
        delay = _exponential(
            poll_number,
            initial=self.initial,
            multiplier=self.multiplier,
            cap=self.max_interval,
            jitter=self.jitter,
            random=random,
            what="poll_number",
        )
        if in_session and self.session_interval is not None:
            stretch = max(1.0, concurrent / SESSION_FAST_WAITS)
            return min(delay, self.session_interval * stretch)
        return delay
