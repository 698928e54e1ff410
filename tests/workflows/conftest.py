"""Fixtures for the Arazzo executor tests: a scripted server and a recording sleep."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .support import Recorder, ScriptedServer


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    """A scripted aiohttp server on 127.0.0.1 (port 0) that records every request."""
    scripted = ScriptedServer()
    await scripted.start()
    try:
        yield scripted
    finally:
        await scripted.stop()


@pytest.fixture
def sleep() -> Recorder:
    """An injected sleep that records the requested delays and returns at once."""
    return Recorder()
