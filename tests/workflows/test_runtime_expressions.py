"""Runtime expressions against a live server, one test per kind (EXPR-01..EXPR-19)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .support import Reply, ScriptedServer, arazzo, ok, run, step, workflow


def header(name: str, value: Any) -> dict[str, Any]:
    return {"name": name, "in": "header", "value": value}


def query(name: str, value: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "value": value}


def path(name: str, value: Any) -> dict[str, Any]:
    return {"name": name, "in": "path", "value": value}


async def test_status_code_is_an_integer(tmp_path: Path, server: ScriptedServer) -> None:
    """EXPR-01: $statusCode is the integer status."""
    server.script("GET", "/base/items", Reply(status=201))
    document = arazzo(
        [workflow([step("s", successCriteria=ok(201), outputs={"c": "$statusCode"})])]
    )
    result = await run(tmp_path, server, document)
    assert result.step_outputs["s"]["c"] == 201
    assert type(result.step_outputs["s"]["c"]) is int


async def test_url_is_the_url_sent(tmp_path: Path, server: ScriptedServer) -> None:
    """EXPR-02: $url is the full URL sent: path parameter substituted, query included."""
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "s",
                        "getItem",
                        parameters=[path("id", "a b/7"), query("x", "1")],
                        outputs={"url": "$url"},
                    )
                ]
            )
        ]
    )
    result = await run(tmp_path, server, document)
    assert result.step_outputs["s"]["url"] == f"{server.base}/items/a%20b%2F7?x=1"
    assert server.requests[0].path == "/base/items/a b/7"  # decoded by the server


async def test_method_is_uppercase_and_compares_case_insensitively(
    tmp_path: Path, server: ScriptedServer
) -> None:
    """EXPR-03: $method is POST, and `$method == 'post'` passes."""
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "s",
                        "createItem",
                        successCriteria=[{"condition": "$method == 'post'"}],
                        outputs={"m": "$method"},
                    )
                ]
            )
        ]
    )
    result = await run(tmp_path, server, document)
    assert result.ok
    assert result.step_outputs["s"]["m"] == "POST"


async def test_request_header_case_insensitive(tmp_path: Path, server: ScriptedServer) -> None:
    """EXPR-04: $request.header.X-Foo works and is case-insensitive."""
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "s",
                        parameters=[header("X-Foo", "bar")],
                        requestBody={"payload": {"k": 1}},
                        outputs={
                            "a": "$request.header.X-Foo",
                            "b": "$request.header.x-foo",
                            "ct": "$request.header.content-type",
                        },
                    )
                ]
            )
        ]
    )
    result = await run(tmp_path, server, document)
    assert result.step_outputs["s"] == {"a": "bar", "b": "bar", "ct": "application/json"}


async def test_request_query_and_path(tmp_path: Path, server: ScriptedServer) -> None:
    """EXPR-05: $request.query.q and $request.path.id are the values sent."""
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "s",
                        "getItem",
                        parameters=[path("id", 42), query("q", "x y")],
                        outputs={"q": "$request.query.q", "id": "$request.path.id"},
                    )
                ]
            )
        ]
    )
    result = await run(tmp_path, server, document)
    assert result.step_outputs["s"] == {"q": "x y", "id": "42"}


async def test_request_body_and_pointer(tmp_path: Path, server: ScriptedServer) -> None:
    """EXPR-06: $request.body (whole object) and $request.body#/a/0/b."""
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "s",
                        "createItem",
                        requestBody={"payload": {"a": [{"b": 5}]}},
                        outputs={"whole": "$request.body", "b": "$request.body#/a/0/b"},
                    )
                ]
            )
        ]
    )
    result = await run(tmp_path, server, document)
    assert result.step_outputs["s"] == {"whole": {"a": [{"b": 5}]}, "b": 5}


async def test_response_header_case_insensitive_and_repeated(
    tmp_path: Path, server: ScriptedServer
) -> None:
    """EXPR-07: $response.header is case-insensitive; a repeated header is comma-joined."""
    server.script(
        "GET",
        "/base/items",
        Reply(headers=[("X-Session-Id", "abc"), ("X-Multi", "1"), ("X-Multi", "2")]),
    )
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "s",
                        outputs={
                            "id": "$response.header.x-session-id",
                            "multi": "$response.header.X-Multi",
                        },
                    )
                ]
            )
        ]
    )
    result = await run(tmp_path, server, document)
    assert result.step_outputs["s"] == {"id": "abc", "multi": "1, 2"}


async def test_response_body_whole(tmp_path: Path, server: ScriptedServer) -> None:
    """EXPR-08: $response.body is the parsed object, list, or the text of a non-JSON body."""
    server.script(
        "GET", "/base/items", Reply(body={"a": 1}), Reply(body=[1, "x"]), Reply(body="plain")
    )
    document = arazzo(
        [
            workflow(
                [
                    step("s1", outputs={"b": "$response.body"}),
                    step("s2", outputs={"b": "$response.body"}),
                    step("s3", outputs={"b": "$response.body"}),
                ]
            )
        ]
    )
    result = await run(tmp_path, server, document)
    assert [result.step_outputs[s]["b"] for s in ("s1", "s2", "s3")] == [
        {"a": 1},
        [1, "x"],
        "plain",
    ]


async def test_response_body_pointers(tmp_path: Path, server: ScriptedServer) -> None:
    """EXPR-09: pointers with ~0/~1, array index, the empty pointer; missing paths fail."""
    body = {"a/b": {"m~n": [10, 20]}, "k": "v"}
    server.script("GET", "/base/items", Reply(body=body))
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "s",
                        outputs={
                            "escaped": "$response.body#/a~1b/m~0n/1",
                            "root": "$response.body#",
                            "k": "$response.body#/k",
                        },
                    )
                ]
            )
        ]
    )
    result = await run(tmp_path, server, document)
    assert result.step_outputs["s"] == {"escaped": 20, "root": body, "k": "v"}


async def test_missing_pointer_and_text_body_fail_the_step(
    tmp_path: Path, server: ScriptedServer
) -> None:
    """EXPR-09: a missing path, or a pointer into a non-JSON body, is a step failure."""
    server.script("GET", "/base/items", Reply(body={"a": 1}), Reply(body="<x/>"))
    document = arazzo(
        [
            workflow(
                [step("s", outputs={"z": "$response.body#/zz"})],
                workflow_id="missing",
            ),
            workflow([step("t", outputs={"a": "$response.body#/a"})], workflow_id="text"),
        ]
    )
    missing = await run(tmp_path, server, document, workflow_id="missing")
    assert missing.status == "failed"
    assert missing.failed_step == "s"
    assert missing.steps[0].error == (
        "output 'z': $response.body#/zz is unresolved (no member 'zz' at pointer '/zz')"
    )
    text = await run(tmp_path, server, document, workflow_id="text")
    assert text.status == "failed"
    assert text.steps[0].error is not None
    assert "non-container" in text.steps[0].error


async def test_inputs_with_default_keep_their_type(tmp_path: Path, server: ScriptedServer) -> None:
    """EXPR-10: $inputs.x with a schema default applied; an integer stays an integer."""
    inputs = {
        "type": "object",
        "properties": {"n": {"type": "integer", "default": 3}, "s": {"type": "string"}},
    }
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "s",
                        "createItem",
                        requestBody={"payload": {"n": "$inputs.n", "s": "$inputs.s"}},
                    )
                ],
                inputs=inputs,
            )
        ]
    )
    await run(tmp_path, server, document, {"s": "x"})
    assert server.requests[0].json == {"n": 3, "s": "x"}


async def test_step_outputs_with_pointer(tmp_path: Path, server: ScriptedServer) -> None:
    """EXPR-11: $steps.s1.outputs.id and $steps.s1.outputs.obj#/k feed a later request."""
    server.script("POST", "/base/items", Reply(body={"id": 9, "obj": {"k": "deep"}}))
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "s1",
                        "createItem",
                        outputs={"id": "$response.body#/id", "obj": "$response.body#/obj"},
                    ),
                    step(
                        "s2",
                        "getItem",
                        parameters=[
                            path("id", "$steps.s1.outputs.id"),
                            query("k", "$steps.s1.outputs.obj#/k"),
                        ],
                    ),
                ]
            )
        ]
    )
    await run(tmp_path, server, document)
    second = server.requests[1]
    assert (second.path, second.query["k"]) == ("/base/items/9", "deep")


async def test_outputs_in_workflow_and_in_nested_step(
    tmp_path: Path, server: ScriptedServer
) -> None:
    """EXPR-12: $outputs.x in workflow outputs, and in a workflowId step (the child's outputs)."""
    server.script("GET", "/base/items", Reply(body={"v": 4}))
    child = workflow(
        [step("c", outputs={"v": "$response.body#/v"})],
        workflow_id="child",
        outputs={"value": "$steps.c.outputs.v", "again": "$outputs.value"},
    )
    parent = workflow(
        [{"stepId": "call", "workflowId": "child", "outputs": {"got": "$outputs.value"}}],
        workflow_id="parent",
        outputs={"result": "$steps.call.outputs.got"},
    )
    result = await run(tmp_path, server, arazzo([parent, child]))
    assert result.outputs == {"result": 4}
    assert result.workflow_outputs["child"] == {"value": 4, "again": 4}


async def test_workflows_outputs_and_inputs(tmp_path: Path, server: ScriptedServer) -> None:
    """EXPR-13: $workflows.w1.outputs.x after dependsOn, and $workflows.w1.inputs.y."""
    server.script("POST", "/base/token", Reply(body={"token": "t-1"}))
    w1 = workflow(
        [step("login", "getToken", outputs={"t": "$response.body#/token"})],
        workflow_id="w1",
        inputs={"type": "object", "properties": {"y": {"type": "string", "default": "why"}}},
        outputs={"x": "$steps.login.outputs.t"},
    )
    w2 = workflow(
        [
            step(
                "use",
                parameters=[
                    query("x", "$workflows.w1.outputs.x"),
                    query("y", "$workflows.w1.inputs.y"),
                ],
            )
        ],
        workflow_id="w2",
        dependsOn=["w1"],
    )
    result = await run(tmp_path, server, arazzo([w2, w1]))
    assert result.ok
    assert dict(server.seen("GET")[0].query) == {"x": "t-1", "y": "why"}


async def test_source_descriptions_url(tmp_path: Path, server: ScriptedServer) -> None:
    """EXPR-14: $sourceDescriptions.api.url is the url; .<operationId> the operation object."""
    outputs = {"u": "$sourceDescriptions.api.url", "op": "$sourceDescriptions.api.createItem"}
    document = arazzo([workflow([step("s", outputs=outputs)])])
    result = await run(tmp_path, server, document)
    assert result.step_outputs["s"]["u"] == "api.openapi.json"
    assert result.step_outputs["s"]["op"]["operationId"] == "createItem"


async def test_component_parameters(tmp_path: Path, server: ScriptedServer) -> None:
    """EXPR-15: a Reusable Object parameter, with and without a value override."""
    components = {
        "parameters": {
            "page": {"name": "page", "in": "query", "value": 1},
            "size": {"name": "size", "in": "query", "value": 10},
        }
    }
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "s",
                        parameters=[
                            {"reference": "$components.parameters.page"},
                            {"reference": "$components.parameters.size", "value": 50},
                        ],
                        outputs={"p": "$components.parameters.page"},
                    )
                ]
            )
        ],
        components=components,
    )
    result = await run(tmp_path, server, document)
    assert dict(server.requests[0].query) == {"page": "1", "size": "50"}
    assert result.step_outputs["s"]["p"] == {"name": "page", "in": "query", "value": 1}


async def test_embedding(tmp_path: Path, server: ScriptedServer) -> None:
    """EXPR-16: {$…} embedding; several per string; numbers and objects become text."""
    server.script("POST", "/base/token", Reply(body={"tok": "abc", "n": 7, "o": {"a": [1]}}))
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "a",
                        "getToken",
                        outputs={
                            "tok": "$response.body#/tok",
                            "n": "$response.body#/n",
                            "o": "$response.body#/o",
                        },
                    ),
                    step(
                        "b",
                        parameters=[
                            header("Authorization", "Bearer {$steps.a.outputs.tok}"),
                            query("two", "{$steps.a.outputs.tok}-{$steps.a.outputs.n}"),
                            query("obj", "o={$steps.a.outputs.o}"),
                        ],
                    ),
                ]
            )
        ]
    )
    await run(tmp_path, server, document)
    second = server.requests[1]
    assert second.headers["Authorization"] == "Bearer abc"
    assert second.query["two"] == "abc-7"
    assert second.query["obj"] == 'o={"a":[1]}'


async def test_whole_value_keeps_type(tmp_path: Path, server: ScriptedServer) -> None:
    """EXPR-17: whole-value expressions keep int, bool, null, object and list types."""
    server.script(
        "POST", "/base/token", Reply(body={"i": 1, "b": False, "z": None, "o": {"k": 1}, "l": [2]})
    )
    names = ["i", "b", "z", "o", "l"]
    document = arazzo(
        [
            workflow(
                [
                    step("a", "getToken", outputs={n: f"$response.body#/{n}" for n in names}),
                    step(
                        "b",
                        "createItem",
                        requestBody={"payload": {n: f"$steps.a.outputs.{n}" for n in names}},
                    ),
                ]
            )
        ]
    )
    await run(tmp_path, server, document)
    assert server.requests[1].json == {"i": 1, "b": False, "z": None, "o": {"k": 1}, "l": [2]}


async def test_literal_safety(tmp_path: Path, server: ScriptedServer) -> None:
    """EXPR-18: "$.items[*]" and "costs $5" are sent unchanged."""
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "s",
                        "createItem",
                        requestBody={"payload": {"path": "$.items[*]", "price": "costs $5"}},
                        parameters=[query("f", "$[?@.a]")],
                    )
                ]
            )
        ]
    )
    await run(tmp_path, server, document)
    assert server.requests[0].json == {"path": "$.items[*]", "price": "costs $5"}
    assert server.requests[0].query["f"] == "$[?@.a]"


async def test_unresolvable_parameter_sends_nothing(tmp_path: Path, server: ScriptedServer) -> None:
    """EXPR-19: an unresolvable expression in a parameter is a step error; nothing is sent."""
    document = arazzo(
        [
            workflow(
                [step("s", parameters=[query("q", "$inputs.opt")])],
                inputs={"type": "object", "properties": {"opt": {"type": "string"}}},
            )
        ]
    )
    result = await run(tmp_path, server, document, {})
    assert server.requests == []
    assert result.status == "failed"
    assert result.failed_step == "s"
    assert result.steps[0].error == (
        "$inputs.opt is unresolved (no input 'opt' was given); nothing was sent"
    )
    assert result.trace[0].error_type == "expression"
    assert result.trace[0].request is None
