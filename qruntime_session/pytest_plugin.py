"""A pytest plugin for testing code that uses ``qruntime_session``.

Install it with the ``pytest`` extra:

```console
pip install "qruntime-session[pytest] @ git+https://github.com/qruntime-session/qruntime-session"
```

The package registers this module through the ``pytest11`` entry point, so pytest loads it by
itself. Its fixtures are async (pytest-asyncio, which the extra installs); without
pytest-asyncio the module defines nothing and pytest sees no new fixtures.

- ``runtime_emulator``: a fresh in-process emulator
  ([`Emulator`][qruntime_session.emulator.Emulator]) served on 127.0.0.1 for one test, driven
  by a manual clock (``runtime_clock``), with fault injection
  (``runtime_emulator.faults.add(...)``) and the request log (``runtime_emulator.requests``).
- ``runtime_client``: a [`RuntimeClient`][qruntime_session.RuntimeClient] pointed at
  ``runtime_emulator``, with waiting switched off for the test
  ([`no_waiting`][qruntime_session.testing.no_waiting]): retries never sleep, job polling
  pauses only milliseconds, and any job wait ends after the ``qruntime_wait_deadline`` ini
  option's seconds (default 5) in ``JobTimeoutError``, so a job nothing finishes cannot hang
  the run.
- ``runtime_clock``: the emulator's [`ManualClock`][qruntime_session.emulator.ManualClock];
  ``advance(seconds)`` moves emulated time (job durations, token expiry, rate limits).
- ``runtime_emulator_config``: the [`EmulatorConfig`][qruntime_session.emulator.EmulatorConfig]
  the emulator is built from (``clock=runtime_clock``; jobs complete as soon as they are
  observed). Override it in your ``conftest.py`` to change the emulator, e.g.
  ``EmulatorConfig(clock=runtime_clock, queue_seconds=None)`` to hold jobs until
  ``emu.start_job`` / ``emu.finish_job``.

pytest-asyncio wants ``asyncio_default_fixture_loop_scope`` set (it warns otherwise); the
fixtures work with ``"function"``, e.g. in ``pyproject.toml``:

```toml
[tool.pytest.ini_options]
asyncio_mode = "auto"
asyncio_default_fixture_loop_scope = "function"
```
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from . import RuntimeClient
    from .emulator import Emulator, EmulatorConfig, ManualClock

__all__: list[str] = []

#: The ini option bounding every job wait of a ``runtime_client`` test (seconds).
DEADLINE_OPTION = "qruntime_wait_deadline"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the ``qruntime_wait_deadline`` ini option.

    Args:
        parser: pytest's option parser.
    """
    parser.addini(
        DEADLINE_OPTION,
        "seconds a job wait may last in a runtime_client test before JobTimeoutError "
        "(waiting is switched off there; default 5)",
        default="5.0",
    )


def _deadline(config: pytest.Config) -> float:
    """The ``qruntime_wait_deadline`` ini option as a number of seconds."""
    text = str(config.getini(DEADLINE_OPTION)).strip()
    try:
        value = float(text)
    except ValueError:
        raise pytest.UsageError(
            f"{DEADLINE_OPTION} must be a number of seconds, not {text!r}"
        ) from None
    if not 0 < value < float("inf"):
        raise pytest.UsageError(f"{DEADLINE_OPTION} must be a finite number > 0, not {text!r}")
    return value


#: Whether the plugin is active: pytest-asyncio (from the ``pytest`` extra) is installed.
ACTIVE = importlib.util.find_spec("pytest_asyncio") is not None

if ACTIVE:
    import pytest_asyncio

    __all__ = [
        "runtime_client",
        "runtime_clock",
        "runtime_emulator",
        "runtime_emulator_config",
    ]

    @pytest.fixture
    def runtime_clock() -> ManualClock:
        """The manual clock the emulator reads (starts at 2026-04-15T12:00:00Z).

        Returns:
            A new clock for the test.
        """
        from .emulator import ManualClock

        return ManualClock()

    @pytest.fixture
    def runtime_emulator_config(runtime_clock: ManualClock) -> EmulatorConfig:
        """The emulator's configuration; override this fixture to change it.

        Args:
            runtime_clock: The clock the emulator reads (the fixture).

        Returns:
            The configuration, with ``clock=runtime_clock`` and everything else default.
        """
        from .emulator import EmulatorConfig

        return EmulatorConfig(clock=runtime_clock)

    @pytest_asyncio.fixture
    async def runtime_emulator(
        runtime_emulator_config: EmulatorConfig,
    ) -> AsyncIterator[Emulator]:
        """A fresh emulator served on 127.0.0.1 for the duration of the test.

        Args:
            runtime_emulator_config: The emulator's configuration (the fixture).

        Yields:
            The running emulator, stopped after the test.
        """
        from .emulator import run_emulator

        async with run_emulator(runtime_emulator_config) as emulator:
            yield emulator

    @pytest_asyncio.fixture
    async def runtime_client(
        runtime_emulator: Emulator, pytestconfig: pytest.Config
    ) -> AsyncIterator[RuntimeClient]:
        """A [`RuntimeClient`][qruntime_session.RuntimeClient] pointed at ``runtime_emulator``,
        with waiting switched off.

        Args:
            runtime_emulator: The emulator the client talks to (the fixture).
            pytestconfig: pytest's configuration, for the ``qruntime_wait_deadline`` option.

        Yields:
            The client, closed after the test.
        """
        from . import RetryPolicy, RuntimeClient, testing

        deadline = _deadline(pytestconfig)
        with testing.no_waiting(attempts=RetryPolicy().max_attempts, deadline=deadline):
            async with RuntimeClient(
                base_url=runtime_emulator.base_url,
                access_token=runtime_emulator.token,
                service_crn=runtime_emulator.service_crn,
            ) as client:
                yield client
