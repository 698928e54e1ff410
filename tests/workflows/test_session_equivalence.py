"""The bundled seed run by the executor and ``Session`` send the same requests.

Two emulators with the same seed, clock, token and CRN hand out the same ids, so the two
request sequences can be compared byte for byte (after JSON parsing), ids included.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from qruntime_session import RuntimeClient, Session
from qruntime_session._config import DEFAULT_API_VERSION
from qruntime_session._transport import Response
from qruntime_session.emulator import Emulator, EmulatorConfig, ManualClock, run_emulator
from qruntime_session.workflows import WorkflowExecutor, load_document, seed_path
from qruntime_session.workflows._criteria import Compare, Literal, parse_condition
from qruntime_session.workflows._expressions import Scalar

TOKEN = "emu-token-equivalence-0123456789"
PARAMS = {"pubs": [["OPENQASM 3.0; qubit q; h q;", None, 32]], "version": 2}
COMPARED_HEADERS = ("Authorization", "Service-CRN", "IBM-API-Version", "Content-Type")


def config() -> EmulatorConfig:
    return EmulatorConfig(seed=7, clock=ManualClock(), token=TOKEN)


@pytest.fixture
async def emulators() -> AsyncIterator[tuple[Emulator, Emulator]]:
    """Two identically configured emulators."""
    async with run_emulator(config()) as first, run_emulator(config()) as second:
        yield first, second


def wire(emu: Emulator) -> list[tuple[str, str, dict[str, str | None], Any]]:
    """(method, path without the /api prefix, compared headers, JSON body) per request."""
    return [
        (
            r.method,
            r.path.removeprefix("/api"),
            {name: r.headers.get(name) for name in COMPARED_HEADERS},
            r.body,
        )
        for r in emu.requests
    ]


async def test_executor_and_session_send_the_same_requests(
    emulators: tuple[Emulator, Emulator],
) -> None:
    """Same methods, paths, Authorization/Service-CRN/IBM-API-Version/Content-Type, bodies, ids."""
    first, second = emulators
    executor = WorkflowExecutor(document=load_document(seed_path()), server_url=first.base_url)
    result = await executor.run(
        {
            "accessToken": TOKEN,
            "serviceCrn": first.service_crn,
            "apiVersion": DEFAULT_API_VERSION,
            "backend": "ibm_fez",
            "mode": "batch",
            "programId": "sampler",
            "params": PARAMS,
        }
    )
    assert result.ok, result.error

    async with RuntimeClient(
        base_url=second.base_url,
        access_token=TOKEN,
        service_crn=second.service_crn,
        api_version=DEFAULT_API_VERSION,
    ) as client:
        async with Session("ibm_fez", "batch", client=client) as session:
            job = await session.submit_job("sampler", PARAMS)
        session_id = session.id

    assert wire(first) == wire(second)
    assert [r.operation for r in first.requests] == [
        "create_session",
        "create_job",
        "delete_session_close",
    ]
    assert result.outputs == {"sessionId": session_id, "jobId": job.id}


def success_code(step: Any) -> int:
    """The N of the step's single `$statusCode == N` criterion."""
    (criterion,) = step.success_criteria
    node = parse_condition(criterion.condition).root
    assert isinstance(node, Compare)
    assert node.op == "=="
    assert isinstance(node.right, Literal)
    assert not isinstance(node.left, Literal)
    assert node.left.expr == Scalar("statusCode")
    code: int = node.right.value
    return code


async def test_session_steps_pinned_to_the_bundled_document(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Session's three calls match the seed: operation, method, path, payload fields, success code."""
    document = load_document(seed_path())
    workflow = document.workflows[0]
    calls: list[dict[str, Any]] = []

    async with run_emulator(config()) as emu:
        async with RuntimeClient(
            base_url=emu.base_url,
            access_token=TOKEN,
            service_crn=emu.service_crn,
            api_version=DEFAULT_API_VERSION,
        ) as client:
            original: Callable[..., Awaitable[Response]] = client.transport.request

            async def spy(method: str, url_or_path: str, **kwargs: Any) -> Response:
                calls.append(
                    {
                        "method": method,
                        "path": url_or_path,
                        "json": kwargs.get("json"),
                        "expected": kwargs.get("expected"),
                        "operation": kwargs.get("operation"),
                    }
                )
                return await original(method, url_or_path, **kwargs)

            monkeypatch.setattr(client.transport, "request", spy)
            async with Session("ibm_fez", "dedicated", client=client) as session:
                await session.submit_job("estimator", {"pubs": []})

    assert len(calls) == len(workflow.steps) == 3
    for call, step in zip(calls, workflow.steps, strict=True):
        operation = document.operation(workflow.workflow_id, step.step_id)
        assert call["operation"] == operation.operation_id == step.operation_id
        assert call["method"] == operation.method
        assert call["path"] == operation.path.replace("{id}", str(session.id))
        assert tuple(call["expected"]) == (success_code(step),)
        if step.request_body is None:
            assert call["json"] is None
        else:
            assert sorted(call["json"]) == sorted(step.request_body.payload)
            assert step.request_body.content_type == "application/json"
    header_names = {p.name for s in workflow.steps for p in s.parameters if p.location == "header"}
    assert header_names == {"Authorization", "Service-CRN", "IBM-API-Version"}
