"""Retry actions: counting, fall-through, Retry-After, side steps, cancellation (RETRY-01..11)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from .support import (
    Recorder,
    Reply,
    ScriptedServer,
    arazzo,
    executor,
    load,
    ok,
    run,
    step,
    workflow,
)


def retrying(*actions: dict[str, Any], op: str = "createItem", **fields: Any) -> dict[str, Any]:
    return arazzo(
        [
            workflow(
                [
                    step("s", op, successCriteria=ok(), onFailure=list(actions), **fields),
                    step("next", "listItems"),
                ]
            )
        ]
    )


def retry(name: str = "r", **fields: Any) -> dict[str, Any]:
    return {"name": name, "type": "retry", **fields}


def statuses(*codes: int, **kw: Any) -> list[Reply]:
    return [Reply(status=c, **kw) for c in codes]


async def test_retry_limit_and_after(
    tmp_path: Path, server: ScriptedServer, sleep: Recorder
) -> None:
    """RETRY-01: retryLimit 2, retryAfter 0.3, 503, 503, 200: three requests, two sleeps, success."""
    server.script("POST", "/base/items", *statuses(503, 503, 200))
    result = await run(tmp_path, server, retrying(retry(retryLimit=2, retryAfter=0.3)), sleep=sleep)
    assert len(server.seen("POST")) == 3
    assert sleep.calls == [0.3, 0.3]
    assert result.ok
    first = result.steps[0]
    assert (first.status, first.attempts, first.status_code) == ("succeeded", 3, 200)
    assert [t.sleep for t in result.trace[:3]] == [0.3, 0.3, None]
    assert [t.action for t in result.trace[:3]] == ["retry", "retry", "next"]


async def test_retry_limit_default_is_one(
    tmp_path: Path, server: ScriptedServer, sleep: Recorder
) -> None:
    """RETRY-02: retryLimit omitted: exactly one retry, two requests in total."""
    server.script("POST", "/base/items", *statuses(503))
    result = await run(tmp_path, server, retrying(retry()), sleep=sleep)
    assert len(server.seen("POST")) == 2
    assert sleep.calls == []  # no retryAfter, no Retry-After: no wait
    assert result.status == "failed"
    assert result.steps[0].attempts == 2


async def test_retry_limit_zero(tmp_path: Path, server: ScriptedServer, sleep: Recorder) -> None:
    """RETRY-03: retryLimit 0: no retry, the next failure action runs."""
    server.script("POST", "/base/items", *statuses(503))
    document = retrying(retry(retryLimit=0), {"name": "out", "type": "goto", "stepId": "next"})
    result = await run(tmp_path, server, document, sleep=sleep)
    assert len(server.seen("POST")) == 1
    assert result.ok
    assert result.steps[0].action == "goto:next"


async def test_exhausted_then_next_action_or_break(tmp_path: Path, server: ScriptedServer) -> None:
    """RETRY-04: retries used up, then the next action; with none left, break."""
    server.script("POST", "/base/items", *statuses(503))
    with_fallback = retrying(retry(retryLimit=2), {"name": "fb", "type": "goto", "stepId": "next"})
    result = await run(tmp_path, server, with_fallback)
    assert len(server.seen("POST")) == 3
    assert len(server.seen("GET")) == 1
    assert result.ok
    assert "exhausted (2/2)" in result.trace[2].notes[0]
    server.requests.clear()
    without = await run(tmp_path, server, retrying(retry(retryLimit=2)))
    assert len(server.requests) == 3
    assert without.status == "failed"
    assert without.steps[0].action == "break"


async def test_two_retry_budgets(tmp_path: Path, server: ScriptedServer, sleep: Recorder) -> None:
    """RETRY-05: two retry actions in sequence, each with its own budget (fast, then slow)."""
    server.script("POST", "/base/items", *statuses(503))
    document = retrying(
        retry("fast", retryLimit=2, retryAfter=0.1), retry("slow", retryLimit=1, retryAfter=5)
    )
    result = await run(tmp_path, server, document, sleep=sleep)
    assert len(server.seen("POST")) == 4
    assert sleep.calls == [0.1, 0.1, 5]
    assert result.status == "failed"


async def test_retry_criteria_use_fresh_response(tmp_path: Path, server: ScriptedServer) -> None:
    """RETRY-06: criteria are re-evaluated on each response (503 retries, 400 ends)."""
    server.script("POST", "/base/items", *statuses(503, 400, 200))
    document = retrying(
        retry(retryLimit=5, criteria=[{"condition": "$statusCode == 503"}]),
        {"name": "give-up", "type": "end"},
    )
    result = await run(tmp_path, server, document)
    assert len(server.seen("POST")) == 2
    assert result.status == "failed"
    assert result.ended_by_action
    assert result.status_code == 400


@pytest.mark.parametrize(
    ("header", "expected"),
    [("2", 2.0), ("Sun, 06 Nov 1994 08:49:40 GMT", 3.0), ("garbage", 0.1)],
)
async def test_retry_after_header_wins(
    tmp_path: Path, server: ScriptedServer, sleep: Recorder, header: str, expected: float
) -> None:
    """RETRY-07: Retry-After (seconds or HTTP date) overrides retryAfter; garbage is ignored."""
    server.script(
        "POST", "/base/items", Reply(status=429, headers={"Retry-After": header}), Reply()
    )
    fixed_now = datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)
    document = load(tmp_path, retrying(retry(retryAfter=0.1)))
    result = await executor(document, server, sleep, now=lambda: fixed_now).run()
    assert result.ok
    assert sleep.calls == [expected]


async def test_retry_with_step_first(tmp_path: Path, server: ScriptedServer) -> None:
    """RETRY-08: retry with stepId runs that step, then retries with its new output."""
    server.script("POST", "/base/token", Reply(body={"token": "old"}), Reply(body={"token": "new"}))
    server.script("POST", "/base/items", Reply(status=401), Reply())
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "refreshToken",
                        "getToken",
                        successCriteria=ok(),
                        outputs={"token": "$response.body#/token"},
                    ),
                    step(
                        "use",
                        "createItem",
                        parameters=[
                            {
                                "name": "Authorization",
                                "in": "header",
                                "value": "Bearer {$steps.refreshToken.outputs.token}",
                            }
                        ],
                        successCriteria=ok(),
                        onFailure=[
                            retry(
                                stepId="refreshToken",
                                criteria=[{"condition": "$statusCode == 401"}],
                            )
                        ],
                    ),
                ]
            )
        ]
    )
    result = await run(tmp_path, server, document)
    assert [f"{r.method} {r.path}" for r in server.requests] == [
        "POST /base/token",
        "POST /base/items",
        "POST /base/token",
        "POST /base/items",
    ]
    assert [r.headers.get("Authorization") for r in server.seen("POST", "/base/items")] == [
        "Bearer old",
        "Bearer new",
    ]
    assert result.ok
    assert [s.step_id for s in result.steps] == ["refreshToken", "refreshToken", "use"]
    assert result.steps[1].action == "return"


async def test_retry_with_workflow_first(tmp_path: Path, server: ScriptedServer) -> None:
    """RETRY-09: retry with workflowId runs that workflow, then the retry."""
    server.script("POST", "/base/items", Reply(status=503), Reply())
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "s", "createItem", successCriteria=ok(), onFailure=[retry(workflowId="fix")]
                    )
                ],
                workflow_id="main",
            ),
            workflow([step("f", "getToken")], workflow_id="fix"),
        ]
    )
    result = await run(tmp_path, server, document, workflow_id="main")
    assert [f"{r.method} {r.path}" for r in server.requests] == [
        "POST /base/items",
        "POST /base/token",
        "POST /base/items",
    ]
    assert result.ok


async def test_failed_retry_side_step_breaks(tmp_path: Path, server: ScriptedServer) -> None:
    """If the step run before a retry fails, the workflow breaks with that reason."""
    server.script("POST", "/base/items", Reply(status=401))
    server.script("POST", "/base/token", Reply(), Reply(status=500))
    document = arazzo(
        [
            workflow(
                [
                    step("login", "getToken", successCriteria=ok()),
                    step(
                        "use", "createItem", successCriteria=ok(), onFailure=[retry(stepId="login")]
                    ),
                ]
            )
        ]
    )
    result = await run(tmp_path, server, document)
    assert len(server.requests) == 3
    assert result.status == "failed"
    assert "step 'login', run before the retry, failed" in str(result.error)


async def test_retry_counter_resets_on_reentry(tmp_path: Path, server: ScriptedServer) -> None:
    """RETRY-10: the retry budget resets when the step is entered again through goto."""
    server.script("POST", "/base/items", *statuses(503, 200, 503, 200))
    document = arazzo(
        [
            workflow(
                [
                    step("s", "createItem", successCriteria=ok(), onFailure=[retry(retryLimit=1)]),
                    step(
                        "loop",
                        "listItems",
                        outputs={"n": "$statusCode"},
                        onSuccess=[
                            {
                                "name": "again",
                                "type": "goto",
                                "stepId": "s",
                                "criteria": [{"condition": "$inputs.first"}],
                            }
                        ],
                    ),
                ],
                inputs={"type": "object", "properties": {"first": {"type": "boolean"}}},
            )
        ]
    )
    result = await run(tmp_path, server, document, {"first": True}, max_steps=6)
    # s: 503 retry 200 -> loop -> goto s: 503 retry (fresh budget) 200 -> loop -> goto s …
    assert [r.method for r in server.requests[:6]] == ["POST", "POST", "GET", "POST", "POST", "GET"]
    assert [s.attempts for s in result.steps if s.step_id == "s"][:2] == [2, 2]


async def test_cancel_during_retry_sleep(tmp_path: Path, server: ScriptedServer) -> None:
    """RETRY-11: cancelling during the retry sleep propagates CancelledError; no more requests."""
    server.script("POST", "/base/items", *statuses(503))
    entered = asyncio.Event()

    async def blocking_sleep(delay: float) -> None:
        entered.set()
        await asyncio.Event().wait()

    document = load(tmp_path, retrying(retry(retryLimit=5, retryAfter=1)))
    task = asyncio.ensure_future(executor(document, server, blocking_sleep).run())
    await asyncio.wait_for(entered.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(server.requests) == 1
    await asyncio.sleep(0.05)
    assert len(server.requests) == 1
