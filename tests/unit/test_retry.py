"""Retry/poll maths, Retry-After parsing and the testing switch: pure, table-driven."""

from __future__ import annotations

import random as random_module
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from qruntime_session import _retry, testing
from qruntime_session._retry import (
    RETRYABLE_STATUSES,
    UNSENT_SAFE_STATUSES,
    PollPolicy,
    RetryPolicy,
    is_retryable_status,
    parse_retry_after,
)

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def const(value: float) -> Callable[[], float]:
    return lambda: value


# -- status classification -----------------------------------------------------------------


def test_status_sets_are_the_documented_ones() -> None:
    """The retryable and unsent-safe status sets hold exactly the agreed codes."""
    assert frozenset({429, 500, 502, 503, 504, 520, 521, 522, 523, 524}) == RETRYABLE_STATUSES
    assert frozenset({429, 503}) == UNSENT_SAFE_STATUSES
    assert UNSENT_SAFE_STATUSES <= RETRYABLE_STATUSES


@pytest.mark.parametrize(
    ("status", "unsent_only", "expected"),
    [
        (429, False, True),
        (429, True, True),
        (503, True, True),
        (500, False, True),
        (500, True, False),
        (502, True, False),
        (524, False, True),
        (501, False, False),
        (400, False, False),
        (404, False, False),
        (409, False, False),
        (200, False, False),
    ],
)
def test_is_retryable_status(status: int, unsent_only: bool, expected: bool) -> None:
    """Statuses are retryable per the two sets; a job POST only on 429/503."""
    assert is_retryable_status(status, unsent_only=unsent_only) is expected


# -- backoff ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("retry_number", "rand", "expected"),
    [
        (1, 0.0, 0.5),
        (2, 0.0, 1.0),
        (3, 0.0, 2.0),
        (4, 0.0, 4.0),
        (5, 0.0, 8.0),
        (6, 0.0, 8.0),  # capped
        (100, 0.0, 8.0),
        (5000, 0.0, 8.0),  # would overflow a float without the cap
        (1, 0.5, 0.375),  # jitter 0.5 x random 0.5 removes a quarter
        (3, 0.5, 1.5),
        (6, 0.5, 6.0),
        (1, 1.0, 0.25),  # at most half removed
        (6, 1.0, 4.0),
    ],
)
def test_default_backoff_table(retry_number: int, rand: float, expected: float) -> None:
    """The default policy backs off 0.5, 1, 2, 4, 8 s (capped), minus up to half as jitter."""
    assert RetryPolicy().backoff(retry_number, random=const(rand)) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("policy", "retry_number", "rand", "expected"),
    [
        (RetryPolicy(jitter=0.0), 1, 0.7, 0.5),
        (RetryPolicy(jitter=0.0), 4, 0.7, 4.0),
        (
            RetryPolicy(initial_backoff=1.0, multiplier=3.0, max_backoff=100.0, jitter=0.0),
            3,
            0.0,
            9.0,
        ),
        (RetryPolicy(initial_backoff=1.0, multiplier=1.0, jitter=0.0), 50, 0.0, 1.0),
        (RetryPolicy(initial_backoff=0.0), 5000, 0.0, 0.0),
        (RetryPolicy(max_backoff=1.0, jitter=0.0), 10, 0.0, 1.0),
        (RetryPolicy(jitter=1.0), 2, 1.0, 0.0),  # full jitter with random 1.0 removes all
        (RetryPolicy(jitter=0.2), 2, 1.0, 0.8),
    ],
)
def test_custom_backoff_table(
    policy: RetryPolicy, retry_number: int, rand: float, expected: float
) -> None:
    """Backoff is min(max, initial * multiplier**(n-1)) * (1 - jitter * random)."""
    assert policy.backoff(retry_number, random=const(rand)) == pytest.approx(expected)


def test_backoff_without_jitter_ignores_random() -> None:
    """With jitter 0 the random source has no effect on the delay."""
    policy = RetryPolicy(jitter=0.0)
    assert {policy.backoff(3, random=const(r)) for r in (0.0, 0.3, 0.99)} == {2.0}


def test_backoff_stays_within_jitter_band_for_many_randoms() -> None:
    """For any random value the delay lies in [(1 - jitter) * base, base] and below the cap."""
    rng = random_module.Random(1234)
    policy = RetryPolicy()
    for retry_number in range(1, 12):
        base = min(policy.max_backoff, policy.initial_backoff * 2.0 ** (retry_number - 1))
        for _ in range(50):
            delay = policy.backoff(retry_number, random=rng.random)
            assert (1 - policy.jitter) * base <= delay <= base <= policy.max_backoff


@pytest.mark.parametrize("bad", [0, -1, True, 1.0])
def test_backoff_rejects_bad_retry_numbers(bad: Any) -> None:
    """Retry numbers start at 1 and must be integers."""
    with pytest.raises(ValueError, match="retry_number"):
        RetryPolicy().backoff(bad, random=const(0.0))


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_backoff_rejects_random_outside_unit_interval(bad: float) -> None:
    """A random source returning values outside [0, 1] is refused, not silently used."""
    with pytest.raises(ValueError, match="random"):
        RetryPolicy().backoff(1, random=const(bad))


# -- next_delay ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "retry_number", "elapsed", "retry_after", "expected"),
    [
        # plain exponential backoff (random 0: no jitter removed)
        (RetryPolicy(), 1, 0.0, None, 0.5),
        (RetryPolicy(), 2, 1.0, None, 1.0),
        (RetryPolicy(), 3, 2.0, None, 2.0),
        # attempts used up: 4 attempts = 3 retries
        (RetryPolicy(), 4, 3.0, None, None),
        (RetryPolicy(max_attempts=2), 1, 0.0, None, 0.5),
        (RetryPolicy(max_attempts=2), 2, 0.0, None, None),
        (RetryPolicy.disabled(), 1, 0.0, None, None),
        (RetryPolicy.no_retries(), 1, 0.0, 1.0, None),
        # Retry-After takes precedence over backoff, in (0, max_retry_after]
        (RetryPolicy(), 1, 0.0, 3.0, 3.0),
        (RetryPolicy(), 3, 0.0, 0.25, 0.25),
        (RetryPolicy(), 1, 0.0, 60.0, 60.0),
        (RetryPolicy(), 1, 0.0, 60.5, None),  # longer than max_retry_after: give up
        (RetryPolicy(max_retry_after=5.0), 1, 0.0, 6.0, None),
        (RetryPolicy(), 2, 0.0, 0.0, 1.0),  # zero/past Retry-After: use backoff instead
        # total time budget, waits included
        (RetryPolicy(), 1, 59.5, None, 0.5),
        (RetryPolicy(), 1, 59.6, None, None),
        (RetryPolicy(), 1, 30.0, 31.0, None),
        (RetryPolicy(max_elapsed=5.0), 3, 3.5, None, None),
        (RetryPolicy(), 1, 61.0, None, None),
    ],
)
def test_next_delay_table(
    policy: RetryPolicy,
    retry_number: int,
    elapsed: float,
    retry_after: float | None,
    expected: float | None,
) -> None:
    """next_delay applies attempts, Retry-After precedence and limits, and the time budget."""
    delay = policy.next_delay(
        retry_number=retry_number, elapsed=elapsed, retry_after=retry_after, random=const(0.0)
    )
    assert delay == (pytest.approx(expected) if expected is not None else None)


def test_next_delay_applies_jitter_to_backoff_but_not_to_retry_after() -> None:
    """Jitter shrinks computed backoff; a Retry-After value is used exactly."""
    policy = RetryPolicy()
    kwargs: dict[str, Any] = {"retry_number": 1, "elapsed": 0.0, "random": const(1.0)}
    assert policy.next_delay(retry_after=None, **kwargs) == pytest.approx(0.25)
    assert policy.next_delay(retry_after=2.0, **kwargs) == pytest.approx(2.0)


def test_next_delay_rejects_bad_retry_number() -> None:
    """next_delay refuses retry numbers below 1."""
    with pytest.raises(ValueError, match="retry_number"):
        RetryPolicy().next_delay(retry_number=0, elapsed=0, retry_after=None, random=const(0))


# -- policy validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"max_attempts": True},
        {"max_attempts": 2.0},
        {"initial_backoff": -1.0},
        {"initial_backoff": float("nan")},
        {"max_backoff": -0.5},
        {"multiplier": 0.5},
        {"multiplier": float("inf")},
        {"jitter": -0.1},
        {"jitter": 1.5},
        {"max_elapsed": 0.0},
        {"max_retry_after": -1.0},
        {"initial_backoff": "1"},
    ],
)
def test_retry_policy_rejects_bad_values(kwargs: dict[str, Any]) -> None:
    """RetryPolicy validates every field on construction."""
    with pytest.raises(ValueError, match="RetryPolicy"):
        RetryPolicy(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [{"initial": -1.0}, {"max_interval": -1.0}, {"multiplier": 0.9}, {"jitter": 2.0}],
)
def test_poll_policy_rejects_bad_values(kwargs: dict[str, Any]) -> None:
    """PollPolicy validates every field on construction."""
    with pytest.raises(ValueError, match="PollPolicy"):
        PollPolicy(**kwargs)


def test_policy_defaults() -> None:
    """The defaults are the documented ones."""
    assert RetryPolicy() == RetryPolicy(
        max_attempts=4,
        initial_backoff=0.5,
        max_backoff=8.0,
        multiplier=2.0,
        jitter=0.5,
        max_elapsed=60.0,
        max_retry_after=60.0,
    )
    assert PollPolicy() == PollPolicy(initial=0.5, max_interval=5.0, multiplier=1.5, jitter=0.25)


# -- Retry-After -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("2", 2.0),
        (" 120 ", 120.0),
        ("0", 0.0),
        ("2.5", 2.5),
        (".5", 0.5),
        ("-5", 0.0),
        ("+3", 3.0),
        ("abc", None),
        ("inf", None),
        ("nan", None),
        ("1e3", None),
        ("9" * 400, None),  # too large for a float
        ("5 seconds", None),
        ("Thu, 01 Jan 2026 12:00:30 GMT", 30.0),  # IMF-fixdate
        ("Thursday, 01-Jan-26 12:00:30 GMT", 30.0),  # obsolete RFC 850 form
        ("Thu Jan  1 12:01:00 2026", 60.0),  # obsolete asctime form (no zone: UTC)
        ("Thu, 01 Jan 2026 14:00:30 +0200", 30.0),
        ("Thu, 01 Jan 2026 11:59:00 GMT", 0.0),  # in the past
        ("Mon, 01 Jan 1990 00:00:00 GMT", 0.0),
        ("Thu, 32 Jan 2026 12:00:00 GMT", None),  # impossible date
    ],
)
def test_parse_retry_after_table(value: str | None, expected: float | None) -> None:
    """Retry-After delta-seconds and HTTP-dates parse to seconds; garbage gives None."""
    result = parse_retry_after(value, now=NOW)
    assert result == (pytest.approx(expected) if expected is not None else None)


def test_parse_retry_after_naive_now_is_utc() -> None:
    """A naive `now` is taken as UTC."""
    naive = NOW.replace(tzinfo=None)
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:10 GMT", now=naive) == pytest.approx(10.0)


def test_parse_retry_after_defaults_to_the_system_clock() -> None:
    """Without `now`, dates are compared with the current time."""
    assert parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT") > 0  # type: ignore[operator]
    assert parse_retry_after("Mon, 01 Jan 1990 00:00:00 GMT") == 0.0


# -- polling ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("poll_number", "rand", "expected"),
    [
        (1, 0.0, 0.5),
        (2, 0.0, 0.75),
        (3, 0.0, 1.125),
        (5, 0.0, 0.5 * 1.5**4),
        (10, 0.0, 5.0),  # capped at max_interval
        (10_000, 0.0, 5.0),
        (1, 1.0, 0.375),  # jitter 0.25 removes at most a quarter
        (10, 0.5, 4.375),
    ],
)
def test_poll_interval_table(poll_number: int, rand: float, expected: float) -> None:
    """Poll intervals grow by 1.5x from 0.5 s up to 5 s, minus up to 25 % jitter."""
    assert PollPolicy().interval(poll_number, random=const(rand)) == pytest.approx(expected)


def test_poll_interval_rejects_bad_poll_number() -> None:
    """Poll numbers start at 1."""
    with pytest.raises(ValueError, match="poll_number"):
        PollPolicy().interval(0, random=const(0.0))


# -- testing switch --------------------------------------------------------------------------


def test_testing_mode_removes_waits_and_caps_attempts() -> None:
    """With set_testing(True, attempts=3) delays are 0 and the third retry is refused."""
    testing.set_testing(True, attempts=3)
    assert testing.is_testing()
    policy = RetryPolicy(max_attempts=10)
    delays = [
        policy.next_delay(retry_number=n, elapsed=0.0, retry_after=None, random=const(0.0))
        for n in (1, 2, 3)
    ]
    assert delays == [0.0, 0.0, None]
    assert policy.effective_max_attempts == 3
    # polls do not spin: they pause 1 ms, doubling, at most 50 ms (the loop gets the time)
    pauses = [PollPolicy().interval(n, random=const(0.0)) for n in range(1, 9)]
    assert pauses == [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.05, 0.05]
    assert PollPolicy().interval(10_000, random=const(1.0), in_session=True) == 0.05


def test_testing_mode_zeroes_retry_after_waits_but_keeps_the_limit() -> None:
    """In testing mode an honoured Retry-After is not waited for; a too-long one still stops."""
    testing.set_testing(True, attempts=5)
    policy = RetryPolicy()
    kwargs: dict[str, Any] = {"retry_number": 1, "elapsed": 0.0, "random": const(0.0)}
    assert policy.next_delay(retry_after=30.0, **kwargs) == 0.0
    assert policy.next_delay(retry_after=600.0, **kwargs) is None


def test_testing_mode_cap_never_raises_the_policy_limit() -> None:
    """A policy allowing fewer attempts than the testing cap keeps its own limit."""
    testing.set_testing(True, attempts=5)
    policy = RetryPolicy(max_attempts=2)
    assert policy.effective_max_attempts == 2
    assert policy.next_delay(retry_number=2, elapsed=0, retry_after=None, random=const(0)) is None


def test_testing_mode_default_attempts_is_one() -> None:
    """set_testing(True) alone means a single attempt: no retries at all."""
    testing.set_testing(True)
    assert (
        RetryPolicy().next_delay(retry_number=1, elapsed=0, retry_after=None, random=const(0))
        is None
    )


def test_set_testing_off_restores_real_delays() -> None:
    """Turning the mode off brings back the computed delays."""
    testing.set_testing(True, attempts=2)
    testing.set_testing(False)
    assert not testing.is_testing()
    assert _retry.attempts_cap() is None
    assert RetryPolicy().next_delay(
        retry_number=1, elapsed=0, retry_after=None, random=const(0)
    ) == pytest.approx(0.5)
    assert PollPolicy().interval(1, random=const(0.0)) == pytest.approx(0.5)


@pytest.mark.parametrize("bad", [0, -1, True, 1.5])
def test_set_testing_rejects_bad_attempts(bad: Any) -> None:
    """attempts must be a positive integer; the state is left unchanged on error."""
    with pytest.raises(ValueError, match="attempts"):
        testing.set_testing(True, attempts=bad)
    assert not testing.is_testing()


def test_no_waiting_context_manager_restores_previous_state() -> None:
    """testing.no_waiting() turns the mode on inside the block and restores it after."""
    testing.set_testing(True, attempts=7)
    with testing.no_waiting(attempts=2):
        assert testing.is_testing()
        assert _retry.attempts_cap() == 2
    assert testing.is_testing()
    assert _retry.attempts_cap() == 7
    testing.set_testing(False)
    seen: list[bool] = []

    def fail_inside() -> None:
        with testing.no_waiting():
            seen.append(testing.is_testing())
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail_inside()
    assert seen == [True]
    assert not testing.is_testing()


def test_testing_module_exports() -> None:
    """The public testing module exports exactly its documented names."""
    assert sorted(testing.__all__) == [
        "DEFAULT_TESTING_DEADLINE",
        "is_testing",
        "no_waiting",
        "set_testing",
        "testing_deadline",
    ]
    for name in testing.__all__:
        if name.isupper():
            assert getattr(testing, name) == 5.0
        else:
            assert callable(getattr(testing, name))
