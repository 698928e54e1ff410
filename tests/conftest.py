"""Shared fixtures: a clean environment for every test, and a recording sleep."""

from __future__ import annotations

import inspect
import logging
import os
import re
from collections.abc import Generator, Iterator
from types import SimpleNamespace
from typing import Any

import aioresponses.core
import pytest
from aiohttp import ClientResponse


def _patch_aioresponses_for_aiohttp_314() -> None:
    """aiohttp 3.14 (a security release) added a required ``stream_writer`` argument to
    ``ClientResponse``; aioresponses 0.7.9 does not pass it (aioresponses issue #289).
    Its mock responses are built after the request was "sent", where aiohttp only reads
    ``stream_writer.output_size``, so a stand-in with that attribute is enough."""
    if "stream_writer" not in inspect.signature(ClientResponse.__init__).parameters:
        return

    class _Response(ClientResponse):
        def __init__(self, method: str, url: Any, **kwargs: Any) -> None:
            kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
            super().__init__(method, url, **kwargs)

    aioresponses.core.ClientResponse = _Response  # type: ignore[misc]


_patch_aioresponses_for_aiohttp_314()

_PREFIXES = ("QRUNTIME_", "QISKIT_", "IAM_URL")


@pytest.fixture(autouse=True)
def clean_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """No test sees the developer's credentials, config files or saved qiskit accounts."""
    for name in list(os.environ):
        if name.startswith(_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    return


class RecordingSleep:
    """An injectable ``sleep`` that records the delays asked for and returns at once."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.calls.append(delay)


@pytest.fixture
def recording_sleep() -> RecordingSleep:
    return RecordingSleep()


# -- secrets never reach a log record, repr, exception text or CLI output -------------------

#: The fake credentials of the suite all look like one of these (emulator tokens and keys are
#: ``emu-token-…``/``emu-apikey-…``; hand-written ones contain ``SECRET`` or ``LOCALS``).
SECRET_PATTERN = re.compile(
    r"emu-token-|emu-apikey-|tok-SECRET|apikey-SECRET|ISSUE8-LOCALS"
    # a bearer token from an IAM exchange: a JWT (header.payload.signature, base64url JSON)
    r"|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+"
)


class _SecretScanner(logging.Handler):
    """Collects every record of the ``qruntime_session`` loggers, formatted with tracebacks."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.leaks: list[str] = []
        self.records = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.records += 1
        try:
            text = self.format(record)
        except Exception as exc:  # a record that cannot be formatted is a bug too
            text = f"unformattable record {record.msg!r}: {exc!r}"
        if SECRET_PATTERN.search(text):
            self.leaks.append(text[:500])


_SCANNED = {"records": 0, "reports": 0}


@pytest.fixture(autouse=True)
def no_secret_in_logs(request: pytest.FixtureRequest) -> Iterator[_SecretScanner]:
    """Every DEBUG record of the package (emulator included) is scanned for the suite's fake
    secrets; a test whose records leak one fails. Tests that print the emulator's banner on
    purpose (``serve()``) opt out with ``@pytest.mark.prints_secrets``."""
    scanner = _SecretScanner()
    logger = logging.getLogger("qruntime_session")
    previous = logger.level
    logger.addHandler(scanner)
    logger.setLevel(logging.DEBUG)
    try:
        yield scanner
    finally:
        logger.removeHandler(scanner)
        logger.setLevel(previous)
        _SCANNED["records"] += scanner.records
    if scanner.leaks and request.node.get_closest_marker("prints_secrets") is None:
        pytest.fail("a secret reached a log record:\n" + "\n".join(scanner.leaks[:5]))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Fail a test whose captured stdout/stderr or failure text shows a fake secret."""
    report = yield
    _SCANNED["reports"] += 1
    if item.get_closest_marker("prints_secrets") is not None:
        return report
    shown = "\n".join(
        [content for _, content in report.sections]
        + ([report.longreprtext] if report.failed else [])
    )
    if SECRET_PATTERN.search(shown):
        report.outcome = "failed"
        report.longrepr = f"a secret reached the output of {item.nodeid}"
    return report


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """How much the secret scan looked at (the figures quoted in docs/reliability.md)."""
    terminalreporter.write_line(
        f"secret scan: {_SCANNED['records']} log records and {_SCANNED['reports']} test "
        "reports (captured output and failure text) checked"
    )
