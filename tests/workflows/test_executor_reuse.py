"""An executor built once and run many times: one schema check, one transport, same results."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import jsonschema
import pytest

from qruntime_session.emulator import Emulator, run_emulator
from qruntime_session.workflows import (
    WorkflowExecutor,
    WorkflowInputError,
    load_document,
    seed_path,
)

from .test_seed import seed_inputs


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with run_emulator() as emulator:
        yield emulator


@pytest.fixture
def schema_checks(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every call of the 2020-12 meta-schema check, recorded."""
    calls: list[Any] = []
    original = jsonschema.Draft202012Validator.check_schema

    def counting(schema: Any, *args: Any, **kwargs: Any) -> None:
        calls.append(schema)
        original(schema, *args, **kwargs)

    monkeypatch.setattr(jsonschema.Draft202012Validator, "check_schema", counting)
    return calls


async def test_schemas_are_checked_once_per_executor(
    emu: Emulator, schema_checks: list[Any]
) -> None:
    """Three runs check the seed's input schema once; inputs are still validated every run."""
    executor = WorkflowExecutor(document=load_document(seed_path()), server_url=emu.base_url)
    for _ in range(3):
        result = await executor.run(seed_inputs(emu))
        assert result.ok, result.error
    assert len(schema_checks) == 1
    bad = {**seed_inputs(emu), "mode": 12}
    with pytest.raises(WorkflowInputError, match="mode"):
        await executor.run(bad)
    assert len(schema_checks) == 1


async def test_async_with_reuses_one_connection_pool(emu: Emulator) -> None:
    """Inside ``async with`` every run goes through one transport, closed on leaving."""
    async with WorkflowExecutor(
        document=load_document(seed_path()), server_url=emu.base_url
    ) as executor:
        first = await executor.run(seed_inputs(emu))
        transport = executor._shared
        second = await executor.run(seed_inputs(emu))
        assert transport is not None
        assert executor._shared is transport
        assert not transport.session.closed
    assert first.ok
    assert second.ok
    assert executor._shared is None
    assert len(emu.requests_for("create_job")) == 2


async def test_given_session_is_reused_and_left_open(emu: Emulator) -> None:
    """With ``session=`` the executor sends through it on every run and never closes it."""
    async with aiohttp.ClientSession() as http:
        executor = WorkflowExecutor(
            document=load_document(seed_path()), server_url=emu.base_url, session=http
        )
        for _ in range(2):
            assert (await executor.run(seed_inputs(emu))).ok
        assert executor._shared is not None
        assert executor._shared.session is http
        await executor.aclose()
        assert not http.closed
        assert (await executor.run(seed_inputs(emu))).ok
        await executor.aclose()


async def test_without_context_each_run_closes_its_pool(emu: Emulator) -> None:
    """Outside ``async with`` and without ``session=``, nothing stays open between runs."""
    executor = WorkflowExecutor(document=load_document(seed_path()), server_url=emu.base_url)
    assert (await executor.run(seed_inputs(emu))).ok
    assert executor._shared is None
