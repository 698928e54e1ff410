"""Outputs, results, traces, masking, transport failures and dry runs (OUT-01..OUT-05)."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from pathlib import Path
from typing import Any

import pytest

from qruntime_session import errors
from qruntime_session._timeouts import Timeouts
from qruntime_session.workflows import StepFailedError, WorkflowExecutor

from .support import Reply, ScriptedServer, arazzo, executor, load, ok, run, step, workflow

TOKEN = "tok-SECRET-123456"
PASSWORD = "hunter2-password"
KEY = "key-abcdef-987"


def secret_document() -> dict[str, Any]:
    inputs = {
        "type": "object",
        "properties": {
            "accessToken": {"type": "string"},
            "pin": {"type": "string", "format": "password"},
            "apiKey": {"type": "string"},
            "user": {"type": "string"},
        },
    }
    return arazzo(
        [
            workflow(
                [
                    step(
                        "login",
                        "getToken",
                        parameters=[
                            {
                                "name": "Authorization",
                                "in": "header",
                                "value": "Bearer $inputs.accessToken",
                            },
                            {"name": "X-API-Key", "in": "header", "value": "$inputs.apiKey"},
                            {"name": "X-User", "in": "header", "value": "$inputs.user"},
                            {"name": "echo", "in": "query", "value": "$inputs.accessToken"},
                        ],
                        requestBody={
                            "payload": {
                                "pin": "$inputs.pin",
                                "user": "$inputs.user",
                                "password": "x",
                            }
                        },
                        successCriteria=ok(),
                        outputs={"sessionToken": "$response.body#/access_token"},
                    ),
                    step(
                        "use",
                        parameters=[
                            {
                                "name": "q",
                                "in": "query",
                                "value": "$steps.login.outputs.sessionToken",
                            },
                        ],
                        successCriteria=ok(),
                    ),
                ],
                inputs=inputs,
            )
        ]
    )


SECRET_INPUTS = {"accessToken": TOKEN, "pin": PASSWORD, "apiKey": KEY, "user": "alice"}


async def test_trace_records_each_attempt(tmp_path: Path, server: ScriptedServer) -> None:
    """OUT-02: one trace entry per attempt: request, status, criteria, action, sleep, timing."""
    server.script("POST", "/base/items", Reply(status=503), Reply(status=200, body={"id": 1}))
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "s",
                        "createItem",
                        requestBody={"payload": {"a": 1}},
                        successCriteria=ok(),
                        onFailure=[{"name": "again", "type": "retry", "retryAfter": 0.5}],
                    )
                ]
            )
        ]
    )
    ticks = iter(range(100))
    result = await run(tmp_path, server, document, clock=lambda: float(next(ticks)))
    first, second = result.trace
    assert (first.attempt, first.status, first.success, first.action, first.sleep) == (
        1,
        503,
        False,
        "retry",
        0.5,
    )
    assert (second.attempt, second.status, second.success, second.action, second.sleep) == (
        2,
        200,
        True,
        "next",
        None,
    )
    assert first.request is not None
    assert (first.request.method, first.request.url, first.request.body) == (
        "POST",
        f"{server.base}/items",
        {"a": 1},
    )
    assert first.request.headers["Content-Type"] == "application/json"
    assert first.criteria[0].passed is False
    assert second.response_body == {"id": 1}
    assert first.elapsed == 1.0  # two clock readings, one tick apart
    data = result.trace_json()
    json.dumps(data)  # JSON-compatible
    assert data[0]["response"]["status"] == 503
    assert data[0]["criteria"][0] == {
        "condition": "$statusCode == 200",
        "type": "simple",
        "passed": False,
        "diagnostic": None,
        "mode": None,
    }


async def test_secrets_are_masked(
    tmp_path: Path, server: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    """OUT-02: tokens, keys, password inputs and secret-named body members never reach the trace or logs."""
    server.script("POST", "/base/token", Reply(body={"access_token": "fresh-TOKEN-777", "n": 1}))
    caplog.set_level(logging.DEBUG, logger="qruntime_session")
    result = await run(tmp_path, server, secret_document(), SECRET_INPUTS)
    assert result.ok
    # the real values were sent
    login = server.requests[0]
    assert login.headers["Authorization"] == f"Bearer {TOKEN}"
    assert login.json["pin"] == PASSWORD
    # nothing secret in the trace, the result's repr, or the log
    ours = "\n".join(
        r.getMessage() for r in caplog.records if r.name.startswith("qruntime_session.workflows")
    )
    assert "step w/login attempt 1" in ours
    text = json.dumps(result.trace_json()) + repr(result) + ours
    for secret in (TOKEN, PASSWORD, KEY, "fresh-TOKEN-777"):
        assert secret not in text
    request = result.trace[0].request
    assert request is not None
    assert request.headers["Authorization"] == "Bearer ***"
    assert request.headers["X-API-Key"] == "***"
    assert request.headers["X-User"] == "alice"
    assert request.url == f"{server.base}/token?echo=***"
    assert request.body == {"pin": "***", "user": "alice", "password": "***"}
    assert result.trace[0].response_body == {"access_token": "***", "n": 1}
    used = result.trace[1].request
    assert used is not None
    assert used.url == f"{server.base}/items?q=***"
    # the outputs handed to the caller are the real values
    assert result.step_outputs["login"]["sessionToken"] == "fresh-TOKEN-777"


async def test_outputs_keep_types(tmp_path: Path, server: ScriptedServer) -> None:
    """OUT-01: step and workflow outputs, with and without pointers, keep their JSON types."""
    server.script(
        "GET", "/base/items", Reply(body={"list": [1, 2], "flag": False, "nil": None, "f": 1.5})
    )
    document = arazzo(
        [
            workflow(
                [step("s", outputs={"body": "$response.body", "first": "$response.body#/list/0"})],
                outputs={
                    "body": "$steps.s.outputs.body",
                    "flag": "$steps.s.outputs.body#/flag",
                    "nil": "$steps.s.outputs.body#/nil",
                    "f": "$steps.s.outputs.body#/f",
                    "first": "$steps.s.outputs.first",
                    "text": "n={$steps.s.outputs.first}",
                },
            )
        ]
    )
    result = await run(tmp_path, server, document)
    assert result.outputs == {
        "body": {"list": [1, 2], "flag": False, "nil": None, "f": 1.5},
        "flag": False,
        "nil": None,
        "f": 1.5,
        "first": 1,
        "text": "n=1",
    }
    assert result.step("s").outputs["first"] == 1


async def test_timeout_is_a_step_failure(tmp_path: Path, server: ScriptedServer) -> None:
    """OUT-03: a slow server gives a step failure of type timeout, handled by onFailure."""
    hold = asyncio.Event()
    server.script("GET", "/base/items", Reply(hold=hold))
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "slow",
                        successCriteria=ok(),
                        onFailure=[
                            {
                                "name": "fallback",
                                "type": "goto",
                                "stepId": "fallback",
                                "criteria": [{"condition": "$statusCode == null"}],
                            }
                        ],
                    ),
                    step(
                        "never", "deleteItem", parameters=[{"name": "id", "in": "path", "value": 1}]
                    ),
                    step("fallback", "getToken"),
                ]
            )
        ]
    )
    try:
        result = await run(tmp_path, server, document, timeouts=Timeouts(read=0.2))
    finally:
        hold.set()
    assert result.ok
    assert result.trace[0].error_type == "timeout"
    assert result.trace[0].status is None
    assert result.steps[0].action == "goto:fallback"
    assert [r.path for r in server.requests if r.method == "POST"] == ["/base/token"]


async def test_overall_timeout_cancels_cleanly(tmp_path: Path, server: ScriptedServer) -> None:
    """OUT-03: a caller's asyncio timeout cancels the run cleanly (no leaked sessions)."""
    hold = asyncio.Event()
    server.script("GET", "/base/items", Reply(hold=hold))
    document = arazzo([workflow([step("slow")])])
    try:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await run(tmp_path, server, document)
    finally:
        hold.set()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_connection_refused_is_a_step_failure(tmp_path: Path) -> None:
    """OUT-04: connection refused is a step failure, not a crash; $statusCode is unset."""
    document = load(
        tmp_path,
        arazzo([workflow([step("s", successCriteria=[{"condition": "$statusCode != 200"}])])]),
    )
    engine = WorkflowExecutor(document=document, server_url=f"http://127.0.0.1:{free_port()}/base")
    result = await engine.run()
    assert result.status == "failed"
    attempt = result.trace[0]
    assert attempt.error_type == "connect"
    assert attempt.status is None
    assert attempt.criteria == ()  # nothing to evaluate without a response
    assert result.steps[0].error is not None
    assert result.steps[0].error.startswith("ConnectError:")
    assert result.status_code is None


async def test_dry_run_sends_nothing(tmp_path: Path, server: ScriptedServer) -> None:
    """OUT-05: a dry run resolves every request without sending; secrets masked."""
    document = load(tmp_path, secret_document())
    plan = await executor(document, server).plan(SECRET_INPUTS)
    assert server.requests == []
    assert [(r.step_id, r.method) for r in plan] == [("login", "POST"), ("use", "GET")]
    assert plan[0].headers["Authorization"] == "Bearer ***"
    assert plan[0].body == {"pin": "***", "user": "alice", "password": "***"}
    assert plan[1].url == f"{server.base}/items?q=%3C%24steps.login.outputs.sessionToken%3E"
    assert TOKEN not in json.dumps([r.as_json() for r in plan])


async def test_left_open_on_failure(tmp_path: Path, server: ScriptedServer) -> None:
    """The seed's gap: a failure after the session opened names the session left open."""
    server.script("POST", "/base/sessions", Reply(body={"id": "sess-42"}))
    server.script("POST", "/base/items", Reply(status=400, body={"errors": [{"code": 1217}]}))
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "open",
                        "openSession",
                        successCriteria=ok(),
                        outputs={"sessionId": "$response.body#/id"},
                    ),
                    step(
                        "submit",
                        "createItem",
                        successCriteria=ok(),
                        outputs={"jobId": "$response.body#/id"},
                    ),
                    step(
                        "close",
                        "closeSession",
                        parameters=[
                            {"name": "id", "in": "path", "value": "$steps.open.outputs.sessionId"}
                        ],
                    ),
                ],
                outputs={
                    "sessionId": "$steps.open.outputs.sessionId",
                    "jobId": "$steps.submit.outputs.jobId",
                },
            )
        ]
    )
    result = await run(tmp_path, server, document)
    assert result.status == "failed"
    assert [(r.step_id, r.output, r.value) for r in result.left_open] == [
        ("open", "sessionId", "sess-42")
    ]
    assert result.outputs == {"sessionId": "sess-42"}
    with pytest.raises(StepFailedError) as info:
        result.raise_for_status()
    error = info.value
    assert isinstance(error, errors.QRuntimeError)
    assert (error.step_id, error.status, error.session_id) == ("submit", 400, "sess-42")
    assert error.step_outputs == {"open": {"sessionId": "sess-42"}}
    assert "resources possibly left open: sessionId=sess-42 (from step open)" in str(error)


async def test_graceful_close_releases(tmp_path: Path, server: ScriptedServer) -> None:
    """A later successful PATCH with accepting_jobs false counts as releasing the session."""
    api_paths = {
        "/sessions": {"post": {"operationId": "openSession"}},
        "/sessions/{id}": {
            "patch": {
                "operationId": "updateSession",
                "parameters": [{"name": "id", "in": "path"}],
                "requestBody": {"content": {"application/json": {}}},
            }
        },
    }
    from .support import openapi

    server.script("POST", "/base/sessions", Reply(body={"id": "s9"}))
    server.script("PATCH", "/base/sessions/s9", Reply(status=204, body=None))
    document = arazzo(
        [
            workflow(
                [
                    step("open", "openSession", outputs={"session_id": "$response.body#/id"}),
                    step(
                        "stop",
                        "updateSession",
                        parameters=[
                            {"name": "id", "in": "path", "value": "$steps.open.outputs.session_id"}
                        ],
                        requestBody={"payload": {"accepting_jobs": False}},
                        successCriteria=ok(204),
                    ),
                ]
            )
        ]
    )
    result = await run(tmp_path, server, document, api=openapi(api_paths))
    assert result.ok
    assert result.left_open == ()


async def test_step_result_fields(tmp_path: Path, server: ScriptedServer) -> None:
    """The typed result: per-step status code, outputs, attempts and chosen action."""
    server.script("GET", "/base/items", Reply(status=201, body={"v": 1}))
    document = arazzo(
        [workflow([step("s", successCriteria=ok(201), outputs={"v": "$response.body#/v"})])]
    )
    result = await run(tmp_path, server, document)
    only = result.step("s")
    assert (
        only.status,
        only.status_code,
        dict(only.outputs),
        only.attempts,
        only.action,
        only.error,
    ) == (
        "succeeded",
        201,
        {"v": 1},
        1,
        "next",
        None,
    )
    assert result.raise_for_status() is result
    with pytest.raises(KeyError):
        result.step("nope")
