"""Fixtures for the emulator tests: an emulator on a manual clock and a raw HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from qruntime_session.emulator import Emulator, EmulatorConfig, ManualClock, run_emulator

from .emu_support import Client


@pytest.fixture
def clock() -> ManualClock:
    """A clock that only moves when a test says so."""
    return ManualClock()


@pytest.fixture
def config(clock: ManualClock) -> EmulatorConfig:
    """Default emulator settings on the manual clock (jobs finish when first observed)."""
    return EmulatorConfig(clock=clock, noise=False)


@pytest.fixture
async def emu(config: EmulatorConfig) -> AsyncIterator[Emulator]:
    """A running emulator built from the ``config`` fixture."""
    async with run_emulator(config) as emulator:
        yield emulator


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp client session."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def api(http: aiohttp.ClientSession, emu: Emulator) -> Client:
    """Raw API calls to ``emu`` with valid credentials."""
    return Client(http, emu)
