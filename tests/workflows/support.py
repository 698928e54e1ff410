"""Test harness for the Arazzo executor: a scripted aiohttp server and document builders."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy, MultiDict

from qruntime_session.workflows import (
    ArazzoDocument,
    WorkflowExecutor,
    WorkflowResult,
    load_document,
)


@attrs.frozen(kw_only=True)
class Reply:
    """One scripted response. ``body`` is sent as JSON unless it is ``bytes``/``str``."""

    status: int = 200
    body: Any = attrs.field(factory=dict)
    headers: Mapping[str, str] | Sequence[tuple[str, str]] = attrs.field(factory=dict)
    content_type: str | None = None
    delay: float = 0.0
    hold: asyncio.Event | None = None


@attrs.frozen(kw_only=True)
class Seen:
    """A request the server received."""

    method: str
    path: str
    query: MultiDict[str]
    headers: CIMultiDictProxy[str]
    body: bytes
    started: float
    finished: float

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def text(self) -> str:
        return self.body.decode()


class ScriptedServer:
    """An aiohttp.web server on 127.0.0.1 (port 0) answering scripted replies per route.

    ``script(method, path, *replies)`` queues replies for a route; the last one repeats.
    Unscripted routes answer 200 ``{}``. Every request is recorded in ``requests``.
    """

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Reply]] = {}
        self.requests: list[Seen] = []
        self.runner: web.AppRunner | None = None
        self.port = 0
        self.arrivals = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base(self) -> str:
        """The server URL the test OpenAPI description's paths hang under."""
        return f"{self.url}/base"

    def script(self, method: str, path: str, *replies: Reply) -> None:
        self.routes[(method.upper(), path)] = list(replies)

    def seen(self, method: str | None = None, path: str | None = None) -> list[Seen]:
        return [
            r
            for r in self.requests
            if (method is None or r.method == method) and (path is None or r.path == path)
        ]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        loop = asyncio.get_running_loop()
        started = loop.time()
        self.arrivals += 1
        body = await request.read()
        queue = self.routes.get((request.method, request.path))
        reply = Reply()
        if queue:
            reply = queue.pop(0) if len(queue) > 1 else queue[0]
        if reply.hold is not None:
            await reply.hold.wait()
        if reply.delay:
            await asyncio.sleep(reply.delay)
        self.requests.append(
            Seen(
                method=request.method,
                path=request.path,
                query=MultiDict(request.query),
                headers=CIMultiDictProxy(CIMultiDict(request.headers)),
                body=body,
                started=started,
                finished=loop.time(),
            )
        )
        headers: CIMultiDict[str] = CIMultiDict(
            reply.headers.items() if isinstance(reply.headers, Mapping) else reply.headers
        )
        if isinstance(reply.body, bytes | str):
            payload = reply.body.encode() if isinstance(reply.body, str) else reply.body
            content_type = reply.content_type or "text/plain"
        elif reply.body is None:
            payload = b""
            content_type = reply.content_type or "application/json"
        else:
            payload = json.dumps(reply.body).encode()
            content_type = reply.content_type or "application/json"
        response = web.Response(status=reply.status, body=payload or None, headers=headers)
        if payload:
            response.content_type = content_type
        return response

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self.runner.addresses[0][1])

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


# -- documents -------------------------------------------------------------------------------

SERVER = "https://api.example.invalid/base"


def openapi(paths: Mapping[str, Any] | None = None, *, servers: Any = None) -> dict[str, Any]:
    """A small OpenAPI 3.1 description used by most tests."""
    default: dict[str, Any] = {
        "/items": {
            "get": {
                "operationId": "listItems",
                "parameters": [
                    {"name": "q", "in": "query"},
                    {"name": "tags", "in": "query", "schema": {"type": "array"}},
                    {"name": "csv", "in": "query", "explode": False},
                    {"name": "pipes", "in": "query", "style": "pipeDelimited", "explode": False},
                    {"name": "filter", "in": "query", "style": "deepObject", "explode": True},
                ],
            },
            "post": {
                "operationId": "createItem",
                "requestBody": {"content": {"application/json": {"schema": {}}}},
            },
        },
        "/items/{id}": {
            "parameters": [{"$ref": "#/components/parameters/ItemId"}],
            "get": {"operationId": "getItem"},
            "delete": {"operationId": "deleteItem"},
            "put": {
                "operationId": "replaceItem",
                "requestBody": {"content": {"application/json": {}, "application/xml": {}}},
            },
        },
        "/labels/{ids}": {
            "get": {
                "operationId": "getLabels",
                "parameters": [{"name": "ids", "in": "path", "style": "label", "explode": False}],
            }
        },
        "/matrix/{point}": {
            "get": {
                "operationId": "getMatrix",
                "parameters": [{"name": "point", "in": "path", "style": "matrix", "explode": True}],
            }
        },
        "/form": {
            "post": {
                "operationId": "postForm",
                "requestBody": {"content": {"application/x-www-form-urlencoded": {}}},
            }
        },
        "/xml": {
            "post": {"operationId": "postXml", "requestBody": {"content": {"application/xml": {}}}}
        },
        "/token": {"post": {"operationId": "getToken"}},
        "/sessions": {"post": {"operationId": "openSession"}},
        "/sessions/{id}/close": {
            "delete": {
                "operationId": "closeSession",
                "parameters": [{"name": "id", "in": "path", "required": True}],
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "test API", "version": "1"},
        "servers": servers if servers is not None else [{"url": SERVER}],
        "paths": dict(paths) if paths is not None else default,
        "components": {"parameters": {"ItemId": {"name": "id", "in": "path", "required": True}}},
    }


def arazzo(
    workflows: list[dict[str, Any]],
    *,
    components: Mapping[str, Any] | None = None,
    sources: list[dict[str, Any]] | None = None,
    version: str = "1.0.1",
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "arazzo": version,
        "info": {"title": "test", "version": "1.0.0"},
        "sourceDescriptions": sources
        if sources is not None
        else [{"name": "api", "url": "api.openapi.json", "type": "openapi"}],
        "workflows": workflows,
    }
    if components is not None:
        document["components"] = dict(components)
    return document


def workflow(
    steps: list[dict[str, Any]],
    *,
    workflow_id: str = "w",
    inputs: Mapping[str, Any] | None = None,
    outputs: Mapping[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    result: dict[str, Any] = {"workflowId": workflow_id, "steps": steps}
    if inputs is not None:
        result["inputs"] = dict(inputs)
    if outputs is not None:
        result["outputs"] = dict(outputs)
    result.update(extra)
    return result


def step(step_id: str, operation_id: str = "listItems", **fields: Any) -> dict[str, Any]:
    return {"stepId": step_id, "operationId": operation_id, **fields}


def ok(status: int = 200) -> list[dict[str, str]]:
    return [{"condition": f"$statusCode == {status}"}]


def write_document(
    directory: Path,
    document: Mapping[str, Any],
    *,
    api: Mapping[str, Any] | None = None,
    name: str = "flow.arazzo.json",
    extra_files: Mapping[str, Any] | None = None,
) -> Path:
    """Write the Arazzo document and its OpenAPI source(s) as JSON files."""
    (directory / "api.openapi.json").write_text(json.dumps(api if api is not None else openapi()))
    for filename, content in (extra_files or {}).items():
        text = content if isinstance(content, str) else json.dumps(content)
        (directory / filename).write_text(text)
    path = directory / name
    path.write_text(json.dumps(document))
    return path


def load(
    directory: Path,
    document: Mapping[str, Any],
    *,
    api: Mapping[str, Any] | None = None,
    extra_files: Mapping[str, Any] | None = None,
) -> ArazzoDocument:
    return load_document(write_document(directory, document, api=api, extra_files=extra_files))


class Recorder:
    """An injectable sleep recording the delays (returns at once)."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.calls.append(delay)


def executor(
    document: ArazzoDocument,
    server: ScriptedServer,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    **options: Any,
) -> WorkflowExecutor:
    return WorkflowExecutor(
        document=document,
        server_url=server.base,
        sleep=sleep if sleep is not None else Recorder(),
        **options,
    )


async def run(
    directory: Path,
    server: ScriptedServer,
    document: Mapping[str, Any],
    inputs: Mapping[str, Any] | None = None,
    *,
    sleep: Recorder | None = None,
    api: Mapping[str, Any] | None = None,
    workflow_id: str | None = None,
    **options: Any,
) -> WorkflowResult:
    """Load ``document`` (with the test OpenAPI source) and run it against ``server``."""
    loaded = load(directory, document, api=api)
    return await executor(loaded, server, sleep, **options).run(inputs, workflow_id=workflow_id)
