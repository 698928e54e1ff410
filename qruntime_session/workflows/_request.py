"""Turning a step's resolved parameters and request body into an HTTP request.

Parameter values are serialised with the OpenAPI ``style``/``explode`` of the matching
parameter definition (the defaults when the operation does not declare it): path ``simple``
(also ``label``, ``matrix``), query ``form`` (also ``spaceDelimited``, ``pipeDelimited``,
``deepObject``), header ``simple``, cookie ``form``. Scalars are written in JSON spelling
(``true``, ``3``), strings as they are, ``null`` as an empty string.

Request bodies (``requestBody.payload``): a payload written as a string that is not a single
expression is a template and is sent as text verbatim (after ``{$…}`` substitution); any
other payload is a value, serialised by media type: JSON; ``application/x-www-form-urlencoded``
from an object; ``multipart/form-data`` from an object; anything else as text (non-strings
as JSON text). ``replacements`` are JSON pointers applied in order to the resolved payload;
the parent of a target must exist (an object member may be new, an array index must exist or
be ``-`` to append).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

import attrs

from ._expressions import Unresolved, stringify, unescape_token
from ._model import OpenAPIParameter, Operation

__all__ = [
    "PlaceholderText",
    "PreparedRequest",
    "apply_replacements",
    "build_request",
    "choose_content_type",
    "encode_body",
]


class PlaceholderText(str):
    """A dry-run stand-in for a value only known while running (``<$steps.a.outputs.id>``)."""

    __slots__ = ()


@attrs.frozen(kw_only=True)
class PreparedRequest:
    """Everything needed to send one step's request, and what ``$request.*`` reads."""

    method: str
    url: str
    query: tuple[tuple[str, str], ...]
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    content_type: str | None
    body_value: Any
    path_values: Mapping[str, str]
    operation_id: str | None

    @property
    def full_url(self) -> str:
        if not self.query:
            return self.url
        return self.url + ("&" if "?" in self.url else "?") + urlencode(list(self.query))

    def header(self, name: str) -> str | None:
        """A header the request carries (the step's own, or the body's Content-Type)."""
        values = [v for n, v in self.headers if n.lower() == name.lower()]
        if not values and name.lower() == "content-type" and self.content_type is not None:
            values = [self.content_type]
        return ", ".join(values) if values else None

    def query_value(self, name: str) -> str | None:
        values = [v for n, v in self.query if n == name]
        return values[0] if values else None


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    return stringify(value)


def _encode(value: str, location: str, definition: OpenAPIParameter | None) -> str:
    if location != "path" or isinstance(value, PlaceholderText):
        return value
    safe = ":@!$&'()*+,;=" if definition is not None and definition.allow_reserved else ""
    return quote(value, safe=safe)


def serialise(
    name: str, location: str, value: Any, definition: OpenAPIParameter | None
) -> list[tuple[str, str]]:
    """(name, text) pairs for one parameter; one pair except for exploded query values."""
    style = (
        definition.style
        if definition is not None
        else {"query": "form", "cookie": "form"}.get(location, "simple")
    )
    explode = definition.explode if definition is not None else style == "form"

    def enc(text: Any) -> str:
        return _encode(_scalar(text), location, definition)

    if isinstance(value, list):
        items = [enc(v) for v in value]
        if location == "query" and explode and style in ("form", "spaceDelimited", "pipeDelimited"):
            return [(name, _scalar(v)) for v in value]
        separator = {"spaceDelimited": " ", "pipeDelimited": "|"}.get(style, ",")
        if style == "label":
            return [(name, "." + ("." if explode else ",").join(items))]
        if style == "matrix":
            if explode:
                return [(name, "".join(f";{name}={i}" for i in items))]
            return [(name, f";{name}=" + ",".join(items))]
        return [(name, separator.join(items))]
    if isinstance(value, dict):
        if location == "query" and style == "deepObject":
            return [(f"{name}[{k}]", _scalar(v)) for k, v in value.items()]
        if location == "query" and explode and style == "form":
            return [(k, _scalar(v)) for k, v in value.items()]
        if explode:
            pairs = [f"{enc(k)}={enc(v)}" for k, v in value.items()]
        else:
            pairs = [f"{enc(k)},{enc(v)}" for k, v in value.items()]
        joined = ",".join(pairs)
        if style == "label":
            return [(name, "." + joined)]
        if style == "matrix":
            return [
                (name, f";{name}=" + joined if not explode else "".join(f";{p}" for p in pairs))
            ]
        return [(name, joined)]
    text = enc(value)
    if style == "label":
        return [(name, "." + text)]
    if style == "matrix":
        return [(name, f";{name}={text}")]
    return [(name, text)]


def choose_content_type(
    explicit: str | None, operation: Operation, payload: Any, *, template: bool
) -> str:
    """The body's media type: the step's ``contentType``, else the operation's, else by value."""
    if explicit:
        return explicit
    types = operation.media_types
    if len(types) == 1:
        return types[0]
    for candidate in types:
        if candidate.split(";")[0].strip().lower() == "application/json":
            return candidate
    if types:
        return types[0]
    if template or isinstance(payload, str):
        return "text/plain"
    return "application/json"


def _media(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


def _is_json(content_type: str) -> bool:
    media = _media(content_type)
    return media == "application/json" or media.endswith("+json")


def apply_replacements(payload: Any, replacements: Sequence[tuple[str, Any]]) -> Any:
    """Apply (pointer, value) replacements in order; raises ``Unresolved`` if unreachable."""
    import copy

    document = copy.deepcopy(payload)
    for pointer, value in replacements:
        if pointer == "":
            document = value
            continue
        tokens = [unescape_token(t) for t in pointer[1:].split("/")]
        parent = document
        for token in tokens[:-1]:
            if isinstance(parent, dict) and token in parent:
                parent = parent[token]
            elif isinstance(parent, list) and token.isdigit() and int(token) < len(parent):
                parent = parent[int(token)]
            else:
                raise Unresolved(pointer, "replacement target cannot be reached")
        last = tokens[-1]
        if isinstance(parent, dict):
            parent[last] = value
        elif isinstance(parent, list) and last == "-":
            parent.append(value)
        elif isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
            parent[int(last)] = value
        else:
            raise Unresolved(pointer, "replacement target cannot be reached")
    return document


def _multipart(fields: Mapping[str, Any]) -> tuple[bytes, str]:
    boundary = "qruntime-" + uuid.uuid4().hex
    chunks: list[bytes] = []
    for name, value in fields.items():
        chunks.append(f"--{boundary}\r\n".encode())
        if isinstance(value, dict | list):
            chunks.append(f'Content-Disposition: form-data; name="{name}"\r\n'.encode())
            chunks.append(b"Content-Type: application/json\r\n\r\n")
            chunks.append(json.dumps(value, separators=(",", ":")).encode())
        else:
            chunks.append(f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
            chunks.append(_scalar(value).encode())
        chunks.append(b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def encode_body(value: Any, content_type: str, *, template: bool) -> tuple[bytes, str]:
    """Serialise a resolved payload: (bytes, content type actually sent)."""
    media = _media(content_type)
    if template and isinstance(value, str):
        return value.encode(), content_type
    if _is_json(content_type):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode(), content_type
    if media == "application/x-www-form-urlencoded" and isinstance(value, Mapping):
        pairs: list[tuple[str, str]] = []
        for key, item in value.items():
            if isinstance(item, list):
                pairs.extend((key, _scalar(v)) for v in item)
            else:
                pairs.append((key, _scalar(item)))
        return urlencode(pairs).encode(), content_type
    if media == "multipart/form-data" and isinstance(value, Mapping):
        return _multipart(value)
    return _scalar(value).encode(), content_type


def build_request(
    operation: Operation,
    server_url: str,
    parameters: Sequence[tuple[str, str, Any]],
    *,
    body: tuple[Any, str, bool] | None,
) -> PreparedRequest:
    """Assemble the request. ``parameters`` are (name, in, resolved value); ``body`` is
    (resolved payload, content type, payload-was-a-template) or ``None``."""
    path = operation.path
    path_values: dict[str, str] = {}
    query: list[tuple[str, str]] = []
    headers: list[tuple[str, str]] = []
    cookies: list[str] = []
    for name, location, value in parameters:
        definition = operation.parameter(name, location)
        pairs = serialise(name, location, value, definition)
        if location == "path":
            text = pairs[0][1]
            path_values[name] = text
            path = path.replace("{" + name + "}", text)
        elif location == "query":
            query.extend(pairs)
        elif location == "header":
            headers = [(n, v) for n, v in headers if n.lower() != name.lower()]
            headers.append((name, pairs[0][1]))
        else:
            cookies.extend(f"{n}={v}" for n, v in pairs)
    if cookies:
        headers.append(("Cookie", "; ".join(cookies)))
    payload_bytes: bytes | None = None
    content_type: str | None = None
    body_value: Any = None
    if body is not None:
        body_value, requested_type, template = body
        payload_bytes, content_type = encode_body(body_value, requested_type, template=template)
        explicit = [v for n, v in headers if n.lower() == "content-type"]
        if explicit:
            content_type = explicit[-1]
            headers = [(n, v) for n, v in headers if n.lower() != "content-type"]
    return PreparedRequest(
        method=operation.method,
        url=server_url.rstrip("/") + path,
        query=tuple(query),
        headers=tuple(headers),
        body=payload_bytes,
        content_type=content_type,
        body_value=body_value,
        path_values=path_values,
        operation_id=operation.operation_id,
    )
