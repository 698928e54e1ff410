"""Source descriptions: loading OpenAPI (and Arazzo) sources, resolving step operations.

Sources are read from files, relative to the Arazzo document's directory (YAML or JSON,
through the JSON-safe loader). Remote ``http(s)`` sources are never fetched: pass their
content through ``sources={name: data}`` instead. ``file:`` URLs are accepted.

**Unqualified operationId policy.** Arazzo 1.0.1 says an ``operationId`` must be qualified
(``$sourceDescriptions.<name>.<operationId>``) when there is more than one OpenAPI source.
The bundled seed names two sources and uses plain ids. This executor accepts a plain id when
exactly one OpenAPI source defines it (the meaning is then unambiguous, and documents like
the seed keep working) and rejects it, naming the step and the candidate sources, when
several do. See docs/workflows.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import attrs

from ._errors import DocumentError, Problem
from ._expressions import unescape_token
from ._model import (
    ArazzoDocument,
    OpenAPIParameter,
    OpenAPISource,
    Operation,
    Step,
    Workflow,
    merged_parameters,
)
from ._validation import build_document, split_qualified

__all__ = ["load_document", "parse_operation_path", "resolve_sources"]

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_OPERATION_PATH = re.compile(r"\{?\$sourceDescriptions\.([A-Za-z0-9_\-]+)\.url\}?#(.*)")
_DEFAULT_STYLE = {"path": "simple", "query": "form", "header": "simple", "cookie": "form"}


def parse_operation_path(text: str) -> tuple[str, str] | None:
    """``{$sourceDescriptions.<name>.url}#<pointer>`` → (name, pointer)."""
    match = _OPERATION_PATH.fullmatch(text)
    return (match.group(1), match.group(2)) if match else None


def _local(data: Mapping[str, Any], value: Any, depth: int = 0) -> Any:
    """Follow a local ``$ref`` (``#/components/parameters/X``) in an OpenAPI document."""
    while isinstance(value, dict) and isinstance(value.get("$ref"), str) and depth < 32:
        ref: str = value["$ref"]
        if not ref.startswith("#/"):
            return None
        target: Any = data
        for token in ref[2:].split("/"):
            token = unescape_token(token)
            if not isinstance(target, dict) or token not in target:
                return None
            target = target[token]
        value = target
        depth += 1
    return value


def _server_url(data: Mapping[str, Any], *candidates: Any) -> str | None:
    for servers in candidates:
        if isinstance(servers, list) and servers and isinstance(servers[0], dict):
            server = servers[0]
            url = server.get("url")
            if not isinstance(url, str):
                continue
            variables = server.get("variables")
            if isinstance(variables, dict):
                for name, spec in variables.items():
                    if isinstance(spec, dict) and "default" in spec:
                        url = url.replace("{" + name + "}", str(spec["default"]))
            return url
    if str(data.get("swagger", "")).startswith("2"):
        host = data.get("host")
        if isinstance(host, str):
            schemes = data.get("schemes")
            scheme = schemes[0] if isinstance(schemes, list) and schemes else "https"
            return f"{scheme}://{host}{data.get('basePath', '')}"
    return None


def _parameters(data: Mapping[str, Any], *lists: Any) -> dict[tuple[str, str], OpenAPIParameter]:
    """Parameter definitions, later lists (the operation's) overriding earlier (the path's)."""
    result: dict[tuple[str, str], OpenAPIParameter] = {}
    for items in lists:
        if not isinstance(items, list):
            continue
        for item in items:
            definition = _local(data, item)
            if not isinstance(definition, dict):
                continue
            name, location = definition.get("name"), definition.get("in")
            if not isinstance(name, str) or location not in _DEFAULT_STYLE:
                continue
            style = definition.get("style", _DEFAULT_STYLE[location])
            explode = definition.get("explode", style == "form")
            parameter = OpenAPIParameter(
                name=name,
                location=location,
                style=style if isinstance(style, str) else _DEFAULT_STYLE[location],
                explode=bool(explode),
                allow_reserved=bool(definition.get("allowReserved", False)),
            )
            key = (name.lower(), location) if location == "header" else (name, location)
            result[key] = parameter
    return result


def _media_types(data: Mapping[str, Any], operation: Mapping[str, Any]) -> tuple[str, ...]:
    body = _local(data, operation.get("requestBody"))
    if isinstance(body, dict) and isinstance(body.get("content"), dict):
        return tuple(body["content"])
    consumes = operation.get("consumes", data.get("consumes"))
    if isinstance(consumes, list):
        return tuple(c for c in consumes if isinstance(c, str))
    return ()


def _operations(name: str, data: Mapping[str, Any]) -> tuple[Operation, ...]:
    found: list[Operation] = []
    paths = data.get("paths")
    if not isinstance(paths, dict):
        return ()
    for path, raw_item in paths.items():
        item = _local(data, raw_item)
        if not isinstance(item, dict):
            continue
        for method in _METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            operation_id = operation.get("operationId")
            found.append(
                Operation(
                    source=name,
                    method=method.upper(),
                    path=path,
                    operation_id=operation_id if isinstance(operation_id, str) else None,
                    server_url=_server_url(
                        data, operation.get("servers"), item.get("servers"), data.get("servers")
                    ),
                    parameters=_parameters(
                        data, item.get("parameters"), operation.get("parameters")
                    ),
                    media_types=_media_types(data, operation),
                    raw=operation,
                )
            )
    return tuple(found)


def _source_path(url: str, base: Path | None) -> Path | None:
    parsed = urlparse(url)
    if parsed.scheme in ("http", "https"):
        return None
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme and len(parsed.scheme) > 1:
        return None
    relative = Path(unquote(url))
    if relative.is_absolute() or base is None:
        return relative
    return base / relative


class _Resolver:
    def __init__(self, supplied: Mapping[str, Any] | None, loading: tuple[Path, ...]) -> None:
        self.supplied = supplied or {}
        self.loading = loading
        self.problems: list[Problem] = []

    def load_sources(self, document: ArazzoDocument) -> ArazzoDocument:
        base = document.location.parent if document.location is not None else None
        openapi: dict[str, OpenAPISource] = {}
        arazzo: dict[str, ArazzoDocument] = {}
        for source in document.source_descriptions:
            path = f"{source.where}.url"
            location: Path | None = None
            if source.name in self.supplied:
                data = self.supplied[source.name]
            else:
                location = _source_path(source.url, base)
                if location is None:
                    self.problems.append(
                        Problem(
                            path,
                            f"remote source {source.url!r} is not fetched; pass its content in "
                            "sources=",
                        )
                    )
                    continue
                from ._yaml import load_file  # PyYAML is imported only to read a file

                try:
                    data = load_file(location)
                except DocumentError as exc:
                    self.problems.append(
                        Problem(path, f"cannot load source {source.name!r}: {exc}")
                    )
                    continue
            if not isinstance(data, dict):
                self.problems.append(Problem(path, f"source {source.name!r} is not an object"))
                continue
            if source.type == "arazzo":
                if location is not None and location.resolve() in self.loading:
                    self.problems.append(
                        Problem(
                            path, f"source {source.name!r} refers back to a document being loaded"
                        )
                    )
                    continue
                try:
                    child = build_document(
                        data, location=location, source=str(location or source.name)
                    )
                    inner = _Resolver(
                        None, (*self.loading, *(() if location is None else (location.resolve(),)))
                    )
                    arazzo[source.name] = inner.resolve(child)
                except DocumentError as exc:
                    self.problems.append(
                        Problem(path, f"arazzo source {source.name!r} is invalid: {exc}")
                    )
                continue
            if not any(key in data for key in ("openapi", "swagger")):
                self.problems.append(
                    Problem(path, f"source {source.name!r} is not an OpenAPI description")
                )
                continue
            openapi[source.name] = OpenAPISource(
                name=source.name,
                url=source.url,
                location=location,
                operations=_operations(source.name, data),
                raw=data,
            )
        return attrs.evolve(document, openapi_sources=openapi, arazzo_sources=arazzo)

    def resolve(self, document: ArazzoDocument) -> ArazzoDocument:
        document = self.load_sources(document)
        operations: dict[tuple[str, str], Operation] = {}
        for workflow in document.workflows:
            for step in workflow.steps:
                operation = self._operation(document, step)
                if operation is not None:
                    operations[(workflow.workflow_id, step.step_id)] = operation
                    self._check_parameters(workflow, step, operation)
                self._check_qualified_workflow(document, step)
        self._check_source_members(document)
        if self.problems:
            raise DocumentError(
                self.problems, source=str(document.location) if document.location else None
            )
        return attrs.evolve(document, operations=operations)

    def _operation(self, document: ArazzoDocument, step: Step) -> Operation | None:
        sources = document.openapi_sources
        if step.operation_id is not None:
            path = f"{step.where}.operationId"
            qualified = split_qualified(step.operation_id)
            if qualified is not None:
                name, operation_id = qualified
                if name not in sources:
                    if name in document.arazzo_sources or name not in {
                        s.name for s in document.source_descriptions
                    }:
                        self.problems.append(Problem(path, f"{name!r} is not an OpenAPI source"))
                    return None
                found = sources[name].by_id(operation_id)
                if found is None:
                    self.problems.append(
                        Problem(path, f"source {name!r} has no operation {operation_id!r}")
                    )
                return found
            candidates = [
                (name, op)
                for name, source in sources.items()
                if (op := source.by_id(step.operation_id))
            ]
            if not candidates:
                self.problems.append(
                    Problem(
                        path,
                        f"step {step.step_id!r}: no OpenAPI source defines operationId "
                        f"{step.operation_id!r}",
                    )
                )
                return None
            if len(candidates) > 1:
                names = ", ".join(name for name, _ in candidates)
                self.problems.append(
                    Problem(
                        path,
                        f"step {step.step_id!r}: operationId {step.operation_id!r} is defined by "
                        "several sources "
                        f"({names}); qualify it as $sourceDescriptions.<name>.{step.operation_id}",
                    )
                )
                return None
            return candidates[0][1]
        if step.operation_path is not None:
            path = f"{step.where}.operationPath"
            parsed = parse_operation_path(step.operation_path)
            if parsed is None:
                self.problems.append(
                    Problem(
                        path,
                        "must be {$sourceDescriptions.<name>.url}#<JSON pointer to an operation>",
                    )
                )
                return None
            name, pointer = parsed
            if name not in sources:
                self.problems.append(Problem(path, f"{name!r} is not an OpenAPI source"))
                return None
            tokens = (
                [unescape_token(t) for t in pointer.split("/")[1:]]
                if pointer.startswith("/")
                else []
            )
            if len(tokens) != 3 or tokens[0] != "paths" or tokens[2].lower() not in _METHODS:
                self.problems.append(
                    Problem(path, f"pointer {pointer!r} must be #/paths/<path>/<method>")
                )
                return None
            found = sources[name].by_path(tokens[1], tokens[2])
            if found is None:
                self.problems.append(
                    Problem(path, f"source {name!r} has no operation at {pointer!r}")
                )
            return found
        return None

    def _check_parameters(self, workflow: Workflow, step: Step, operation: Operation) -> None:
        placeholders = set(re.findall(r"\{([^}]+)\}", operation.path))
        given = {p.name for p in merged_parameters(workflow, step) if p.location == "path"}
        for name in sorted(placeholders - given):
            self.problems.append(
                Problem(
                    step.where,
                    f"no value for path parameter {name!r} of {operation.method} {operation.path}",
                )
            )
        for parameter in merged_parameters(workflow, step):
            if parameter.location == "path" and parameter.name not in placeholders:
                self.problems.append(
                    Problem(
                        parameter.where,
                        f"{operation.path} has no path parameter {parameter.name!r}",
                    )
                )

    def _check_qualified_workflow(self, document: ArazzoDocument, step: Step) -> None:
        targets = [(f"{step.where}.workflowId", step.workflow_id)]
        targets += [
            (f"{a.where}.workflowId", a.workflow_id) for a in (*step.on_success, *step.on_failure)
        ]
        for path, target in targets:
            qualified = split_qualified(target) if target else None
            if qualified is None:
                continue
            child = document.arazzo_sources.get(qualified[0])
            if child is not None and not child.has_workflow(qualified[1]):
                self.problems.append(
                    Problem(
                        path, f"arazzo source {qualified[0]!r} has no workflow {qualified[1]!r}"
                    )
                )

    def _check_source_members(self, document: ArazzoDocument) -> None:
        for path, source, member in document.source_references:
            openapi = document.openapi_sources.get(source)
            arazzo = document.arazzo_sources.get(source)
            known = (openapi is not None and openapi.by_id(member) is not None) or (
                arazzo is not None and arazzo.has_workflow(member)
            )
            if not known:
                self.problems.append(
                    Problem(
                        path,
                        f"$sourceDescriptions.{source}.{member}: no such operation or workflow",
                    )
                )


def resolve_sources(
    document: ArazzoDocument, *, sources: Mapping[str, Any] | None = None
) -> ArazzoDocument:
    """Load the document's source descriptions and resolve every operation step."""
    loading = (document.location.resolve(),) if document.location is not None else ()
    return _Resolver(sources, loading).resolve(document)


def load_document(
    path_or_data: str | Path | Mapping[str, Any],
    *,
    sources: Mapping[str, Any] | None = None,
    base_dir: str | Path | None = None,
) -> ArazzoDocument:
    """Load, validate and resolve an Arazzo document.

    Everything is checked before anything is sent: the document's structure, its runtime
    expressions and references, and the steps' operations in its source descriptions (which
    are loaded too). Remote (``http(s)``) sources are never fetched: pass them in
    ``sources``.

    Args:
        path_or_data: A file path (YAML or JSON), or already-parsed data.
        sources: Source descriptions by name (their parsed content), used instead of
            reading their files.
        base_dir: Where relative source URLs resolve when ``path_or_data`` is data (default:
            the current directory); a file's own directory otherwise.

    Returns:
        The document, its source descriptions loaded and every operation step resolved.

    Raises:
        DocumentError: The document or one of its sources cannot be read or is invalid;
            every problem is listed, with its path.
    """
    if isinstance(path_or_data, Mapping):
        from ._yaml import check_json_compatible

        problems = check_json_compatible(path_or_data)
        if problems:
            raise DocumentError(problems)
        location = Path(base_dir or ".").resolve() / "<document>"
        document = build_document(dict(path_or_data), location=location)
    else:
        from ._yaml import load_file  # PyYAML is imported only to read a file

        location = Path(path_or_data)
        document = build_document(load_file(location), location=location, source=str(location))
    return resolve_sources(document, sources=sources)
