"""Actions, flow control and defaults (FLOW-01..FLOW-15)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from qruntime_session.workflows import DocumentError, StepFailedError, StepLimitError, load_document

from .support import (
    Reply,
    ScriptedServer,
    arazzo,
    executor,
    load,
    ok,
    run,
    step,
    workflow,
    write_document,
)


def calls(server: ScriptedServer) -> list[str]:
    return [f"{r.method} {r.path}" for r in server.requests]


def q(name: str, value: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "value": value}


async def test_steps_run_in_order(tmp_path: Path, server: ScriptedServer) -> None:
    """FLOW-01: without onSuccess, steps run in order and the workflow completes."""
    document = arazzo(
        [workflow([step("a", "getToken"), step("b", "createItem"), step("c", "listItems")])]
    )
    result = await run(tmp_path, server, document)
    assert calls(server) == ["POST /base/token", "POST /base/items", "GET /base/items"]
    assert result.ok
    assert [(s.step_id, s.action) for s in result.steps] == [
        ("a", "next"),
        ("b", "next"),
        ("c", "next"),
    ]


async def test_failure_breaks_and_returns(tmp_path: Path, server: ScriptedServer) -> None:
    """FLOW-02: failing criteria, no onFailure: stop, later steps not requested, outputs kept."""
    server.script("POST", "/base/items", Reply(status=500))
    server.script("POST", "/base/token", Reply(body={"t": "x"}))
    document = arazzo(
        [
            workflow(
                [
                    step("a", "getToken", successCriteria=ok(), outputs={"t": "$response.body#/t"}),
                    step("b", "createItem", successCriteria=ok()),
                    step("c", "listItems"),
                ],
                outputs={"t": "$steps.a.outputs.t", "never": "$steps.c.outputs.x"},
            )
        ]
    )
    document["workflows"][0]["steps"][2]["outputs"] = {"x": "$statusCode"}
    result = await run(tmp_path, server, document)
    assert calls(server) == ["POST /base/token", "POST /base/items"]
    assert result.status == "failed"
    assert (result.failed_step, result.status_code) == ("b", 500)
    assert result.outputs == {"t": "x"}
    assert result.diagnostics == (
        "output 'never': $steps.c.outputs.x is unresolved (step 'c' has not succeeded (yet))",
    )
    assert isinstance(result.error, StepFailedError)
    assert result.steps[-1].action == "break"
    assert str(result.error) == (
        "step 'b' failed (status 500): successCriteria not met: $statusCode == 200"
    )


async def test_goto_skips_and_keeps_earlier_outputs(tmp_path: Path, server: ScriptedServer) -> None:
    """FLOW-03: onSuccess goto skips steps; earlier $steps outputs stay readable."""
    server.script("POST", "/base/token", Reply(body={"t": "tok"}))
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "a",
                        "getToken",
                        outputs={"t": "$response.body#/t"},
                        onSuccess=[{"name": "jump", "type": "goto", "stepId": "c"}],
                    ),
                    step("b", "createItem"),
                    step("c", "listItems", parameters=[q("t", "$steps.a.outputs.t")]),
                ]
            )
        ]
    )
    result = await run(tmp_path, server, document)
    assert calls(server) == ["POST /base/token", "GET /base/items"]
    assert server.requests[1].query["t"] == "tok"
    assert result.steps[0].action == "goto:c"


async def test_end_stops_with_success(tmp_path: Path, server: ScriptedServer) -> None:
    """FLOW-04: onSuccess end stops with success; later steps are not called."""
    document = arazzo(
        [
            workflow(
                [
                    step("a", "getToken", onSuccess=[{"name": "stop", "type": "end"}]),
                    step("b", "createItem"),
                ]
            )
        ]
    )
    result = await run(tmp_path, server, document)
    assert calls(server) == ["POST /base/token"]
    assert result.ok
    assert result.steps[0].action == "end"


async def test_first_matching_action_wins(tmp_path: Path, server: ScriptedServer) -> None:
    """FLOW-05/06: actions are tried in order against the live response; first match wins."""
    server.script("POST", "/base/token", Reply(status=202, body={"state": "Queued"}))
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "a",
                        "getToken",
                        successCriteria=[{"condition": "$statusCode < 300"}],
                        onSuccess=[
                            {
                                "name": "never",
                                "type": "goto",
                                "stepId": "b",
                                "criteria": [{"condition": "$statusCode == 200"}],
                            },
                            {
                                "name": "queued",
                                "type": "goto",
                                "stepId": "c",
                                "criteria": [
                                    {"condition": "$response.body#/state == 'queued'"},
                                    {"condition": "$statusCode == 202"},
                                ],
                            },
                            {"name": "fallback", "type": "goto", "stepId": "b"},
                        ],
                    ),
                    step("b", "createItem"),
                    step("c", "listItems"),
                ]
            )
        ]
    )
    result = await run(tmp_path, server, document)
    assert calls(server) == ["POST /base/token", "GET /base/items"]
    assert result.steps[0].action == "goto:c"
    criteria = result.trace[0].criteria
    assert [(c.condition, c.passed) for c in criteria] == [
        ("$statusCode < 300", True),
        ("$statusCode == 200", False),
        ("$response.body#/state == 'queued'", True),
        ("$statusCode == 202", True),
    ]


async def test_action_without_criteria_always_matches(
    tmp_path: Path, server: ScriptedServer
) -> None:
    """FLOW-05: an action with no criteria always matches."""
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "a", "getToken", onSuccess=[{"name": "any", "type": "goto", "stepId": "c"}]
                    ),
                    step("b", "createItem"),
                    step("c", "listItems"),
                ]
            )
        ]
    )
    await run(tmp_path, server, document)
    assert calls(server) == ["POST /base/token", "GET /base/items"]


async def test_failure_goto_cleanup(tmp_path: Path, server: ScriptedServer) -> None:
    """FLOW-07: job submission fails -> onFailure goto closes the session."""
    server.script("POST", "/base/sessions", Reply(body={"id": "s-1"}))
    server.script("POST", "/base/items", Reply(status=400))
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
                        onFailure=[{"name": "cleanup", "type": "goto", "stepId": "close"}],
                    ),
                    step(
                        "close",
                        "closeSession",
                        parameters=[
                            {"name": "id", "in": "path", "value": "$steps.open.outputs.sessionId"}
                        ],
                    ),
                ]
            )
        ]
    )
    result = await run(tmp_path, server, document)
    assert calls(server) == [
        "POST /base/sessions",
        "POST /base/items",
        "DELETE /base/sessions/s-1/close",
    ]
    assert result.ok
    assert result.left_open == ()
    assert [(s.step_id, s.status, s.action) for s in result.steps] == [
        ("open", "succeeded", "next"),
        ("submit", "failed", "goto:close"),
        ("close", "succeeded", "next"),
    ]


async def test_failure_end(tmp_path: Path, server: ScriptedServer) -> None:
    """FLOW-08: onFailure end gives a failed result (ended by action) with outputs computed."""
    server.script("POST", "/base/token", Reply(body={"t": 1}))
    server.script("POST", "/base/items", Reply(status=409))
    document = arazzo(
        [
            workflow(
                [
                    step("a", "getToken", outputs={"t": "$response.body#/t"}),
                    step(
                        "b",
                        "createItem",
                        successCriteria=ok(),
                        onFailure=[{"name": "stop", "type": "end"}],
                    ),
                    step("c", "listItems"),
                ],
                outputs={"t": "$steps.a.outputs.t"},
            )
        ]
    )
    result = await run(tmp_path, server, document)
    assert result.status == "failed"
    assert result.ended_by_action
    assert (result.failed_step, result.status_code) == ("b", 409)
    assert result.outputs == {"t": 1}
    assert len(server.requests) == 2


async def test_goto_workflow_does_not_return(tmp_path: Path, server: ScriptedServer) -> None:
    """FLOW-09: goto workflowId runs the target; the current workflow does not resume."""
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "a",
                        "getToken",
                        onSuccess=[{"name": "away", "type": "goto", "workflowId": "other"}],
                    ),
                    step("b", "createItem"),
                ],
                workflow_id="main",
                outputs={"o": "$workflows.other.outputs.code"},
            ),
            workflow(
                [step("x", "listItems", outputs={"code": "$statusCode"})],
                workflow_id="other",
                outputs={"code": "$steps.x.outputs.code"},
            ),
        ]
    )
    result = await run(tmp_path, server, document)
    assert calls(server) == ["POST /base/token", "GET /base/items"]
    assert result.ok
    assert result.outputs == {"o": 200}


async def test_workflow_level_actions_apply(tmp_path: Path, server: ScriptedServer) -> None:
    """FLOW-10: workflow-level successActions/failureActions apply to steps without their own."""
    server.script("POST", "/base/items", Reply(status=500))
    document = arazzo(
        [
            workflow(
                [
                    step("a", "getToken"),
                    step("b", "createItem", successCriteria=ok()),
                    step("c", "listItems"),
                    step("d", "deleteItem", parameters=[{"name": "id", "in": "path", "value": 1}]),
                ],
                successActions=[
                    {
                        "name": "skip",
                        "type": "goto",
                        "stepId": "b",
                        "criteria": [{"condition": "$method == 'POST' && $url != null"}],
                    }
                ],
                failureActions=[{"name": "recover", "type": "goto", "stepId": "d"}],
            )
        ]
    )
    result = await run(tmp_path, server, document)
    # a succeeds -> workflow goto b; b fails -> workflow goto d (c skipped)
    assert calls(server) == ["POST /base/token", "POST /base/items", "DELETE /base/items/1"]
    assert result.ok


async def test_action_merge_rule(tmp_path: Path, server: ScriptedServer) -> None:
    """FLOW-11: a step action replaces the workflow action of the same name; others still apply after."""
    server.script("POST", "/base/items", Reply(status=500))
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "a",
                        "createItem",
                        successCriteria=ok(),
                        onFailure=[
                            {
                                "name": "shared",
                                "type": "goto",
                                "stepId": "x",
                                "criteria": [{"condition": "$statusCode == 503"}],
                            },
                            {
                                "name": "own",
                                "type": "goto",
                                "stepId": "x",
                                "criteria": [{"condition": "$statusCode == 404"}],
                            },
                        ],
                    ),
                    step("x", "listItems"),
                    step("y", "getToken"),
                ],
                failureActions=[
                    # replaced by the step's "shared" (which does not match 500)
                    {"name": "shared", "type": "goto", "stepId": "x"},
                    # still considered, after the step's own actions
                    {"name": "wf", "type": "goto", "stepId": "y"},
                ],
            )
        ]
    )
    result = await run(tmp_path, server, document)
    assert calls(server) == ["POST /base/items", "POST /base/token"]
    assert result.steps[0].action == "goto:y"


async def test_reusable_action(tmp_path: Path, server: ScriptedServer) -> None:
    """FLOW-12: an action given as a Reusable Object reference to components."""
    server.script("POST", "/base/items", Reply(status=500))
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "a",
                        "createItem",
                        successCriteria=ok(),
                        onFailure=[{"reference": "$components.failureActions.toCleanup"}],
                    ),
                    step("b", "getToken"),
                    step("cleanup", "listItems"),
                ]
            )
        ],
        components={
            "failureActions": {"toCleanup": {"name": "c", "type": "goto", "stepId": "cleanup"}}
        },
    )
    await run(tmp_path, server, document)
    assert calls(server) == ["POST /base/items", "GET /base/items"]


async def test_loop_guard(tmp_path: Path, server: ScriptedServer) -> None:
    """FLOW-13: a goto loop is stopped by max_steps with a clear error."""
    document = arazzo(
        [
            workflow(
                [
                    step("a", "getToken"),
                    step(
                        "b",
                        "listItems",
                        onSuccess=[{"name": "again", "type": "goto", "stepId": "a"}],
                    ),
                ]
            )
        ]
    )
    result = await run(tmp_path, server, document, max_steps=7)
    assert len(server.requests) == 7
    assert result.status == "failed"
    assert isinstance(result.error, StepLimitError)
    assert result.failed_step == "b"
    assert "more than 7 steps (max_steps)" in str(result.error)
    assert "goto loop" in str(result.error)


async def test_nested_workflow_step(tmp_path: Path, server: ScriptedServer) -> None:
    """FLOW-14: parameters become inputs, child outputs via $outputs, child failure triggers onFailure."""
    server.script("GET", "/base/items", Reply(body={"v": "ok"}), Reply(status=500))
    child = workflow(
        [
            step(
                "c",
                parameters=[q("q", "$inputs.q")],
                successCriteria=ok(),
                outputs={"v": "$response.body#/v"},
            )
        ],
        workflow_id="child",
        inputs={"type": "object", "required": ["q"], "properties": {"q": {"type": "string"}}},
        outputs={"v": "$steps.c.outputs.v"},
    )
    parent = workflow(
        [
            {
                "stepId": "first",
                "workflowId": "child",
                "parameters": [{"name": "q", "value": "one"}],
                "successCriteria": [{"condition": "$outputs.v == 'OK'"}],
                "outputs": {"v": "$outputs.v"},
            },
            {
                "stepId": "second",
                "workflowId": "child",
                "parameters": [{"name": "q", "in": "query", "value": "two"}],
                "onFailure": [{"name": "fix", "type": "goto", "stepId": "fallback"}],
            },
            step("never", "getToken"),
            step("fallback", "createItem"),
        ],
        workflow_id="parent",
        outputs={"v": "$steps.first.outputs.v"},
    )
    result = await run(tmp_path, server, arazzo([parent, child]))
    assert [r.query.get("q") for r in server.seen("GET")] == ["one", "two"]
    assert calls(server)[-1] == "POST /base/items"
    assert result.ok
    assert result.outputs == {"v": "ok"}
    second = next(s for s in result.steps if s.step_id == "second")
    assert (second.status, second.action) == ("failed", "goto:fallback")
    assert second.error is not None
    assert second.error.startswith("workflow 'child' failed: step 'c' failed (status 500)")


async def test_nested_workflow_inputs_are_validated(tmp_path: Path, server: ScriptedServer) -> None:
    """FLOW-14: inputs of a called workflow are validated; a rejection is a step failure."""
    child = workflow(
        [step("c")],
        workflow_id="child",
        inputs={"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}},
    )
    parent = workflow(
        [{"stepId": "call", "workflowId": "child", "parameters": [{"name": "n", "value": "nope"}]}],
        workflow_id="parent",
    )
    result = await run(tmp_path, server, arazzo([parent, child]))
    assert server.requests == []
    assert result.status == "failed"
    assert result.steps[0].error is not None
    assert "$.n: must be of type 'integer'" in result.steps[0].error


async def test_depends_on_runs_each_once_and_concurrently(
    tmp_path: Path, server: ScriptedServer
) -> None:
    """FLOW-15: dependencies run first, each once, independent ones concurrently."""
    release = asyncio.Event()
    server.script("GET", "/base/items/1", Reply(hold=release))
    server.script("GET", "/base/items/2", Reply(hold=release))

    async def release_when_both_arrived() -> None:
        # the shared dependency's request arrives first, then both held ones
        while server.arrivals < 3:
            await asyncio.sleep(0.005)
        release.set()

    def get(step_id: str, item: int) -> dict[str, Any]:
        return step(step_id, "getItem", parameters=[{"name": "id", "in": "path", "value": item}])

    document = arazzo(
        [
            workflow([step("m", "createItem")], workflow_id="main", dependsOn=["left", "right"]),
            workflow([get("l", 1)], workflow_id="left", dependsOn=["shared"]),
            workflow([get("r", 2)], workflow_id="right", dependsOn=["shared"]),
            workflow([step("s", "getToken")], workflow_id="shared"),
        ]
    )
    waiter = asyncio.ensure_future(release_when_both_arrived())
    result = await asyncio.wait_for(run(tmp_path, server, document, workflow_id="main"), 10)
    await waiter
    assert result.ok
    assert calls(server)[0] == "POST /base/token"
    assert sorted(calls(server)[1:3]) == ["GET /base/items/1", "GET /base/items/2"]
    assert calls(server)[3] == "POST /base/items"
    assert len(server.seen("POST", "/base/token")) == 1
    left, right = server.seen("GET")
    # overlapping in time: each started before the other finished
    assert left.started < right.finished
    assert right.started < left.finished


async def test_failed_dependency_stops_dependent(tmp_path: Path, server: ScriptedServer) -> None:
    """FLOW-15: a failed dependency fails the dependent before any of its steps run."""
    server.script("POST", "/base/token", Reply(status=401))
    document = arazzo(
        [
            workflow([step("m", "createItem")], workflow_id="main", dependsOn=["login"]),
            workflow([step("s", "getToken", successCriteria=ok())], workflow_id="login"),
        ]
    )
    result = await run(tmp_path, server, document, workflow_id="main")
    assert calls(server) == ["POST /base/token"]
    assert result.status == "failed"
    assert (
        str(result.error) == "dependency 'login' of workflow 'main' failed; none of its steps ran"
    )


async def test_default_success_policy(tmp_path: Path, server: ScriptedServer) -> None:
    """Without successCriteria a step succeeds on 2xx by default, on any status with 'any'."""
    server.script("GET", "/base/items", Reply(status=404))
    document = arazzo([workflow([step("s")])])
    strict = await run(tmp_path, server, document)
    assert strict.status == "failed"
    assert strict.steps[0].error == "no successCriteria and status 404 is not 2xx"
    loose = await run(tmp_path, server, document, default_success="any")
    assert loose.ok


async def test_concurrent_runs_share_no_state(tmp_path: Path, server: ScriptedServer) -> None:
    """OUT-06: N runs at once on one executor share no state."""
    document = load(
        tmp_path,
        arazzo(
            [
                workflow(
                    [
                        step(
                            "s", parameters=[q("n", "$inputs.n")], outputs={"n": "$request.query.n"}
                        )
                    ],
                    inputs={"type": "object", "properties": {"n": {"type": "integer"}}},
                    outputs={"n": "$steps.s.outputs.n"},
                )
            ]
        ),
    )
    engine = executor(document, server)
    results = await asyncio.gather(*(engine.run({"n": i}) for i in range(8)))
    assert [r.outputs["n"] for r in results] == [str(i) for i in range(8)]
    assert all(len(r.trace) == 1 for r in results)


async def test_workflow_from_an_arazzo_source(tmp_path: Path, server: ScriptedServer) -> None:
    """A step and a dependency can name a workflow of an arazzo-type source (qualified)."""
    other = arazzo(
        [
            workflow(
                [step("inner", "getToken", outputs={"code": "$statusCode"})],
                workflow_id="shared",
                outputs={"code": "$steps.inner.outputs.code"},
            )
        ]
    )
    document = arazzo(
        [
            workflow(
                [
                    {
                        "stepId": "call",
                        "workflowId": "$sourceDescriptions.lib.shared",
                        "outputs": {"code": "$outputs.code"},
                    },
                    step("after", "listItems"),
                ],
                dependsOn=["$sourceDescriptions.lib.shared"],
                outputs={"code": "$steps.call.outputs.code"},
            )
        ],
        sources=[
            {"name": "api", "url": "api.openapi.json"},
            {"name": "lib", "url": "lib.arazzo.json", "type": "arazzo"},
        ],
    )
    (tmp_path / "lib.arazzo.json").write_text(json.dumps(other))
    path = write_document(tmp_path, document)
    result = await executor(load_document(path), server).run()
    assert calls(server) == ["POST /base/token", "POST /base/token", "GET /base/items"]
    assert result.ok
    assert result.outputs == {"code": 200}


async def test_unknown_workflow_in_arazzo_source(tmp_path: Path) -> None:
    """A qualified workflowId that the arazzo source does not define is a document error."""
    (tmp_path / "lib.arazzo.json").write_text(
        json.dumps(arazzo([workflow([step("s")], workflow_id="shared")]))
    )
    document = arazzo(
        [workflow([{"stepId": "call", "workflowId": "$sourceDescriptions.lib.nope"}])],
        sources=[
            {"name": "api", "url": "api.openapi.json"},
            {"name": "lib", "url": "lib.arazzo.json", "type": "arazzo"},
        ],
    )
    with pytest.raises(DocumentError) as info:
        load_document(write_document(tmp_path, document))
    assert [str(p) for p in info.value.problems] == [
        "workflows[0].steps[0].workflowId: arazzo source 'lib' has no workflow 'nope'"
    ]


async def test_several_criteria_are_anded(tmp_path: Path, server: ScriptedServer) -> None:
    """CRIT-11: several successCriteria are ANDed; one failing criterion fails the step."""
    server.script("GET", "/base/items", Reply(body={"ok": False}))
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "s",
                        successCriteria=[
                            {"condition": "$statusCode == 200"},
                            {"condition": "$response.body#/ok"},
                            {"condition": "^2", "context": "$statusCode", "type": "regex"},
                        ],
                    )
                ]
            )
        ]
    )
    result = await run(tmp_path, server, document)
    assert result.status == "failed"
    assert [c.passed for c in result.trace[0].criteria] == [True, False, True]
    assert result.steps[0].error == "successCriteria not met: $response.body#/ok"


async def test_self_calling_workflow_is_stopped(tmp_path: Path, server: ScriptedServer) -> None:
    """A workflow that calls itself is stopped by the nesting guard with a clear error."""
    document = arazzo([workflow([{"stepId": "again", "workflowId": "w"}])])
    result = await run(tmp_path, server, document)
    assert server.requests == []
    assert isinstance(result.error, StepLimitError)
    assert "nested more than 32 deep" in str(result.error)
