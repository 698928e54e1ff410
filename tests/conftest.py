"""Shared fixtures: a clean environment for every test, and a recording sleep."""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterator
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
