"""``input_providers``: an input asked for again before every request (a token that expires)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from qruntime_session import errors
from qruntime_session._auth import IAMApiKeyAuth
from qruntime_session._transport import Transport
from qruntime_session.emulator import Emulator, run_emulator
from qruntime_session.workflows import WorkflowExecutor, load_document, seed_path

from .test_seed import seed_inputs


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with run_emulator() as emulator:
        yield emulator


async def iam_token(emu: Emulator) -> str:
    transport = Transport()
    try:
        auth = IAMApiKeyAuth(emu.api_key, iam_url=emu.iam_url, transport=transport)
        return (await auth.token()).reveal()
    finally:
        await transport.aclose()


def bearers(emu: Emulator) -> list[str]:
    return [
        r.headers["Authorization"].removeprefix("Bearer ")
        for r in emu.requests
        if r.path.startswith("/api/")
    ]


async def test_each_request_carries_the_current_value(emu: Emulator) -> None:
    """The value changes between two steps: the later requests carry the new one, masked."""
    first, second = emu.token, await iam_token(emu)
    values = iter([first, first, second, second])
    calls: list[str] = []

    async def token() -> str:
        calls.append("token")
        return next(values)

    inputs = {**seed_inputs(emu), "accessToken": "given-but-replaced"}
    executor = WorkflowExecutor(
        document=load_document(seed_path()),
        server_url=emu.base_url,
        input_providers={"accessToken": token},
    )
    result = await executor.run(inputs)
    assert result.ok, result.error
    assert len(calls) == 4  # once at the start, then once before each of the three requests
    assert bearers(emu) == [first, second, second]
    trace = json.dumps(result.trace_json())
    assert first not in trace
    assert second not in trace
    assert "given-but-replaced" not in bearers(emu)


async def test_plan_does_not_call_the_providers(emu: Emulator) -> None:
    async def token() -> str:
        raise AssertionError("plan() must not ask for the token")

    executor = WorkflowExecutor(
        document=load_document(seed_path()),
        server_url=emu.base_url,
        input_providers={"accessToken": token},
    )
    plan = await executor.plan(seed_inputs(emu))
    assert [p.step_id for p in plan] == ["createSession", "runJobInSession", "closeSession"]
    assert emu.requests == []


async def test_a_failed_renewal_fails_the_step_and_sends_nothing(emu: Emulator) -> None:
    """A provider that fails mid-run fails the step about to be sent (``error_type`` input)."""
    calls = 0

    async def token() -> str:
        nonlocal calls
        calls += 1
        if calls > 2:
            raise errors.AuthenticationError("IAM refused the API key: expired", status=400)
        return emu.token

    executor = WorkflowExecutor(
        document=load_document(seed_path()),
        server_url=emu.base_url,
        input_providers={"accessToken": token},
    )
    result = await executor.run(seed_inputs(emu))
    assert result.status == "failed"
    assert result.failed_step == "runJobInSession"
    last = result.trace[-1]
    assert (last.request, last.error_type) == (None, "input")
    assert last.error == (
        "input 'accessToken' could not be renewed: AuthenticationError: IAM refused the API "
        "key: expired; nothing was sent"
    )
    assert [r.path for r in emu.requests if r.path.startswith("/api/")] == ["/api/v1/sessions"]
    assert [r.output for r in result.left_open] == ["sessionId"]


async def test_a_failure_at_the_start_is_raised(emu: Emulator) -> None:
    async def token() -> str:
        raise errors.AuthenticationError("IAM refused the API key: nope", status=400)

    executor = WorkflowExecutor(
        document=load_document(seed_path()),
        server_url=emu.base_url,
        input_providers={"accessToken": token},
    )
    with pytest.raises(errors.AuthenticationError, match="nope"):
        await executor.run(seed_inputs(emu))
    assert emu.requests == []
