"""Parameters and request bodies (PARAM-01..03, BODY-01..06)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from .support import Reply, ScriptedServer, arazzo, run, step, workflow


def p(name: str, where: str, value: Any) -> dict[str, Any]:
    return {"name": name, "in": where, "value": value}


async def test_locations(tmp_path: Path, server: ScriptedServer) -> None:
    """PARAM-01: path, query, header and cookie values land in the right place."""
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "s",
                        "getItem",
                        parameters=[
                            p("id", "path", "x/y"),
                            p("q", "query", "a&b"),
                            p("X-Trace", "header", 12),
                            p("flavour", "cookie", "mint"),
                            p("size", "cookie", True),
                        ],
                    )
                ]
            )
        ]
    )
    await run(tmp_path, server, document)
    request = server.requests[0]
    assert request.path == "/base/items/x/y"
    assert request.query["q"] == "a&b"
    assert request.headers["X-Trace"] == "12"
    assert request.headers["Cookie"] == "flavour=mint; size=true"


async def test_styles_for_arrays_and_objects(tmp_path: Path, server: ScriptedServer) -> None:
    """PARAM-01: OpenAPI style/explode for arrays and objects (form, csv, pipes, deepObject)."""
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "s",
                        parameters=[
                            p("tags", "query", ["a", "b"]),
                            p("csv", "query", [1, 2, 3]),
                            p("pipes", "query", ["x", "y"]),
                            p("filter", "query", {"color": "red", "size": 2}),
                        ],
                    ),
                    step("label", "getLabels", parameters=[p("ids", "path", [3, 4])]),
                    step("matrix", "getMatrix", parameters=[p("point", "path", {"x": 1, "y": 2})]),
                    step("hdr", parameters=[p("X-List", "header", ["a", "b"])]),
                ]
            )
        ]
    )
    await run(tmp_path, server, document)
    first = server.requests[0]
    assert first.query.getall("tags") == ["a", "b"]
    assert first.query["csv"] == "1,2,3"
    assert first.query["pipes"] == "x|y"
    assert first.query["filter[color]"] == "red"
    assert first.query["filter[size]"] == "2"
    assert server.requests[1].path == "/base/labels/.3,4"
    assert server.requests[2].path == "/base/matrix/;x=1;y=2"
    assert server.requests[3].headers["X-List"] == "a,b"


async def test_workflow_parameters_inherited_and_overridden(
    tmp_path: Path, server: ScriptedServer
) -> None:
    """PARAM-02: workflow parameters are inherited; a step's (name, in) overrides, headers case-insensitively."""
    document = arazzo(
        [
            workflow(
                [
                    step("a"),
                    step(
                        "b",
                        parameters=[p("x-api-version", "header", "2"), p("page", "query", 9)],
                    ),
                ],
                parameters=[
                    p("X-API-Version", "header", "1"),
                    p("page", "query", 1),
                    p("page", "header", "h"),
                ],
            )
        ]
    )
    await run(tmp_path, server, document)
    first, second = server.requests
    assert (first.headers["X-API-Version"], first.query["page"], first.headers["page"]) == (
        "1",
        "1",
        "h",
    )
    assert (second.headers["X-API-Version"], second.query["page"], second.headers["page"]) == (
        "2",
        "9",
        "h",
    )
    assert len(second.headers.getall("X-API-Version")) == 1


async def test_workflow_step_parameters_become_inputs(
    tmp_path: Path, server: ScriptedServer
) -> None:
    """PARAM-03: a parameter on a workflowId step maps to an input; `in` is ignored."""
    child = workflow(
        [step("c", parameters=[p("v", "query", "$inputs.value")])],
        workflow_id="child",
        inputs={"type": "object", "properties": {"value": {"type": "integer"}}},
    )
    parent = workflow(
        [
            {
                "stepId": "call",
                "workflowId": "child",
                "parameters": [{"name": "value", "in": "header", "value": 5}],
            }
        ],
        workflow_id="parent",
    )
    await run(tmp_path, server, arazzo([parent, child]))
    assert server.requests[0].query["v"] == "5"
    assert "value" not in server.requests[0].headers


async def test_json_payload_with_nested_expressions(tmp_path: Path, server: ScriptedServer) -> None:
    """BODY-01: a JSON object payload with expressions in nested leaves."""
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "s",
                        "createItem",
                        requestBody={
                            "contentType": "application/json",
                            "payload": {
                                "a": {"b": ["$inputs.x", {"c": "id-{$inputs.x}"}]},
                                "n": 1.5,
                            },
                        },
                    )
                ],
                inputs={"type": "object", "properties": {"x": {"type": "integer"}}},
            )
        ]
    )
    await run(tmp_path, server, document, {"x": 4})
    request = server.requests[0]
    assert request.json == {"a": {"b": [4, {"c": "id-4"}]}, "n": 1.5}
    assert request.headers["Content-Type"] == "application/json"


async def test_whole_value_payload(tmp_path: Path, server: ScriptedServer) -> None:
    """BODY-02: a whole-value payload $inputs.order is sent as JSON."""
    document = arazzo(
        [
            workflow(
                [step("s", "createItem", requestBody={"payload": "$inputs.order"})],
                inputs={"type": "object", "properties": {"order": {"type": "object"}}},
            )
        ]
    )
    await run(tmp_path, server, document, {"order": {"id": 1, "items": [True, None]}})
    assert server.requests[0].json == {"id": 1, "items": [True, None]}


async def test_form_payloads(tmp_path: Path, server: ScriptedServer) -> None:
    """BODY-03: form-urlencoded from an object, and from a template string as-is."""
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "obj",
                        "postForm",
                        requestBody={"payload": {"a": "x y", "n": 2, "l": ["p", "q"]}},
                    ),
                    step(
                        "tpl",
                        "postForm",
                        requestBody={
                            "payload": "client_id={$inputs.id}&grant_type=client_credentials"
                        },
                    ),
                ],
                inputs={"type": "object", "properties": {"id": {"type": "string"}}},
            )
        ]
    )
    await run(tmp_path, server, document, {"id": "abc"})
    first, second = server.requests
    assert first.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qsl(first.text) == [("a", "x y"), ("n", "2"), ("l", "p"), ("l", "q")]
    assert second.text == "client_id=abc&grant_type=client_credentials"


async def test_xml_template(tmp_path: Path, server: ScriptedServer) -> None:
    """BODY-04: an XML template string with {$…} is sent as text."""
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "s",
                        "postXml",
                        requestBody={
                            "payload": "<pet><name>{$inputs.name}</name><n>{$inputs.n}</n></pet>"
                        },
                    )
                ],
                inputs={
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "n": {"type": "integer"}},
                },
            )
        ]
    )
    await run(tmp_path, server, document, {"name": "Rex", "n": 3})
    request = server.requests[0]
    assert request.text == "<pet><name>Rex</name><n>3</n></pet>"
    assert request.headers["Content-Type"] == "application/xml"


async def test_replacements(tmp_path: Path, server: ScriptedServer) -> None:
    """BODY-05: JSON pointer replacements into nested objects and arrays, in order."""
    server.script("POST", "/base/token", Reply(body={"t": "T"}))
    document = arazzo(
        [
            workflow(
                [
                    step("a", "getToken", outputs={"t": "$response.body#/t"}),
                    step(
                        "b",
                        "createItem",
                        requestBody={
                            "payload": {"user": {"name": "x"}, "list": [1, 2], "a/b": 0},
                            "replacements": [
                                {"target": "/user/name", "value": "$steps.a.outputs.t"},
                                {"target": "/list/1", "value": {"deep": True}},
                                {"target": "/list/-", "value": 3},
                                {"target": "/a~1b", "value": "first"},
                                {"target": "/a~1b", "value": "second"},
                                {"target": "/new", "value": None},
                            ],
                        },
                    ),
                ]
            )
        ]
    )
    await run(tmp_path, server, document)
    assert server.requests[1].json == {
        "user": {"name": "T"},
        "list": [1, {"deep": True}, 3],
        "a/b": "second",
        "new": None,
    }


async def test_replacement_missing_target(tmp_path: Path, server: ScriptedServer) -> None:
    """BODY-05: a replacement target that cannot be reached is a step error; nothing is sent."""
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "s",
                        "createItem",
                        requestBody={
                            "payload": {"a": [1]},
                            "replacements": [{"target": "/a/5", "value": 1}],
                        },
                    )
                ]
            )
        ]
    )
    result = await run(tmp_path, server, document)
    assert server.requests == []
    assert result.status == "failed"
    assert result.steps[0].error == (
        "/a/5 is unresolved (replacement target cannot be reached); nothing was sent"
    )


async def test_content_type_from_operation(tmp_path: Path, server: ScriptedServer) -> None:
    """BODY-06: contentType omitted: the operation's single media type (or JSON among several)."""
    document = arazzo(
        [
            workflow(
                [
                    step("form", "postForm", requestBody={"payload": {"a": 1}}),
                    step(
                        "put",
                        "replaceItem",
                        parameters=[p("id", "path", 1)],
                        requestBody={"payload": {"a": 1}},
                    ),
                    step(
                        "xml",
                        "replaceItem",
                        parameters=[p("id", "path", 1)],
                        requestBody={"contentType": "application/xml", "payload": "<a/>"},
                    ),
                    step("none", "getToken", requestBody={"payload": {"k": "v"}}),
                ]
            )
        ]
    )
    await run(tmp_path, server, document)
    types = [r.headers["Content-Type"] for r in server.requests]
    assert types == [
        "application/x-www-form-urlencoded",
        "application/json",
        "application/xml",
        "application/json",
    ]
    assert server.requests[2].text == "<a/>"


async def test_multipart_payload(tmp_path: Path, server: ScriptedServer) -> None:
    """BODY (multipart): an object payload becomes multipart/form-data parts."""
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "s",
                        "getToken",
                        requestBody={
                            "contentType": "multipart/form-data",
                            "payload": {"name": "a", "meta": {"k": 1}},
                        },
                    )
                ]
            )
        ]
    )
    await run(tmp_path, server, document)
    request = server.requests[0]
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert 'name="name"\r\n\r\na\r\n' in request.text
    assert '{"k":1}' in request.text


async def test_header_parameter_content_type_wins(tmp_path: Path, server: ScriptedServer) -> None:
    """A Content-Type header parameter replaces the body's media type (sent once)."""
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "s",
                        "createItem",
                        parameters=[p("Content-Type", "header", "application/merge-patch+json")],
                        requestBody={"payload": {"a": 1}},
                    )
                ]
            )
        ]
    )
    await run(tmp_path, server, document)
    request = server.requests[0]
    assert request.headers.getall("Content-Type") == ["application/merge-patch+json"]
    assert request.json == {"a": 1}
