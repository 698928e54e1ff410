"""Helpers for the emulator tests: a thin raw-HTTP client and an OpenAPI response checker.

Deliberately NOT the SDK: these tests speak plain aiohttp to the emulator.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp
import attrs
import jsonschema
import yaml

from qruntime_session.emulator import Emulator

API_VERSION = "2026-04-15"
SPEC_DIR = Path(__file__).resolve().parents[2] / "qruntime_session" / "specs" / "openapi"
SPEC_FILES = {
    "sessions": SPEC_DIR / "ibm-quantum-runtime-sessions-openapi.yml",
    "jobs": SPEC_DIR / "ibm-quantum-runtime-jobs-openapi.yml",
    "backends": SPEC_DIR / "ibm-quantum-runtime-backends-openapi.yml",
    "instances": SPEC_DIR / "ibm-quantum-runtime-instances-openapi.yml",
}
_UNSET: Any = object()


@attrs.frozen
class Reply:
    """What the emulator answered."""

    status: int
    headers: Mapping[str, str]
    text: str
    content_type: str

    @property
    def body(self) -> Any:
        """The JSON body (``None`` when empty)."""
        return json.loads(self.text) if self.text else None

    @property
    def error_codes(self) -> list[Any]:
        """``errors[].code`` of an IBM error body."""
        return [item["code"] for item in self.body["errors"]]


class Client:
    """Raw calls to one emulator with its credentials (overridable per call)."""

    def __init__(self, http: aiohttp.ClientSession, emu: Emulator) -> None:
        self.http = http
        self.emu = emu
        self.token = emu.token

    def headers(self) -> dict[str, str]:
        """The three headers every instance-scoped call needs."""
        return {
            "Authorization": f"Bearer {self.token}",
            "Service-CRN": self.emu.service_crn,
            "IBM-API-Version": API_VERSION,
        }

    async def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = _UNSET,
        data: Any = None,
        params: Any = None,
        headers: Mapping[str, str | None] | None = None,
        base: str | None = None,
    ) -> Reply:
        """Send one request; ``headers`` values of ``None`` remove that header."""
        merged: dict[str, str] = self.headers()
        for name, value in (headers or {}).items():
            if value is None:
                merged.pop(name, None)
            else:
                merged[name] = value
        kwargs: dict[str, Any] = {"headers": merged, "params": params}
        if json_body is not _UNSET:
            kwargs["json"] = json_body
        if data is not None:
            kwargs["data"] = data
        url = (base if base is not None else self.emu.base_url) + path
        async with self.http.request(method, url, **kwargs) as response:
            text = await response.text()
            return Reply(
                status=response.status,
                headers=response.headers,
                text=text,
                content_type=response.content_type,
            )

    async def create_session(self, **body: Any) -> dict[str, Any]:
        """POST /v1/sessions (mode dedicated, backend ibm_fez unless overridden) -> body."""
        reply = await self.call(
            "POST", "/v1/sessions", json_body={"mode": "dedicated", "backend": "ibm_fez", **body}
        )
        assert reply.status == 200, reply.text
        result: dict[str, Any] = reply.body
        return result

    async def create_job(self, **body: Any) -> dict[str, Any]:
        """POST /v1/jobs (sampler on ibm_fez, one pub unless overridden) -> body."""
        payload = {
            "program_id": "sampler",
            "backend": "ibm_fez",
            "params": {"pubs": [["OPENQASM 3.0; bit[2] c;", {}, 100]], "version": 2},
            **body,
        }
        reply = await self.call("POST", "/v1/jobs", json_body=payload)
        assert reply.status == 200, reply.text
        result: dict[str, Any] = reply.body
        return result

    async def job(self, job_id: str, **params: str) -> dict[str, Any]:
        """GET /v1/jobs/{id} -> body."""
        reply = await self.call("GET", f"/v1/jobs/{job_id}", params=params or None)
        assert reply.status == 200, reply.text
        result: dict[str, Any] = reply.body
        return result

    async def session(self, session_id: str) -> dict[str, Any]:
        """GET /v1/sessions/{id} -> body."""
        reply = await self.call("GET", f"/v1/sessions/{session_id}")
        assert reply.status == 200, reply.text
        result: dict[str, Any] = reply.body
        return result


def assert_ibm_error(reply: Reply, status: int, code: str | None = None) -> None:
    """The reply is ``status`` with a well-formed IBM ``ErrorContainer``."""
    assert reply.status == status, reply.text
    body = reply.body
    assert isinstance(body["trace"], str)
    assert body["trace"]
    assert body["trace"] == reply.headers["X-Request-Id"]
    assert len(body["errors"]) == 1
    item = body["errors"][0]
    assert set(item) == {"code", "message", "more_info"}
    assert isinstance(item["message"], str)
    assert item["message"]
    assert item["more_info"] == "https://cloud.ibm.com/apidocs/quantum-computing#error-handling"
    if code is not None:
        assert item["code"] == code


# ------------------------------------------------------------------- OpenAPI checking


def load_spec(name: str) -> dict[str, Any]:
    """One of the project's OpenAPI descriptions."""
    document: dict[str, Any] = yaml.safe_load(SPEC_FILES[name].read_text(encoding="utf-8"))
    return document


def _to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema: ``nullable`` becomes a ``null`` type, and objects
    that list properties without saying otherwise reject undeclared fields (strict check).
    """
    if isinstance(node, list):
        return [_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _to_json_schema(value) for key, value in node.items()}
    if converted.pop("nullable", False):
        if "type" in converted:
            converted["type"] = [converted["type"], "null"]
        elif "$ref" in converted:
            converted = {"anyOf": [{"$ref": converted.pop("$ref")}, {"type": "null"}]}
    if "properties" in converted and "additionalProperties" not in converted:
        converted["additionalProperties"] = False
    return converted


class ResponseChecker:
    """Validates emulator answers against the responses the YAML declares."""

    def __init__(self) -> None:
        self.specs = {name: load_spec(name) for name in SPEC_FILES}
        self.operations: dict[str, tuple[str, dict[str, Any]]] = {}
        for name, spec in self.specs.items():
            for item in spec["paths"].values():
                for method, operation in item.items():
                    if method != "parameters":
                        self.operations[operation["operationId"]] = (name, operation)

    def check(self, operation_id: str, reply: Reply) -> None:
        """The status is declared for the operation and the body matches its schema."""
        spec_name, operation = self.operations[operation_id]
        spec = self.specs[spec_name]
        responses = operation["responses"]
        key = str(reply.status)
        assert key in responses, f"{operation_id} answered undeclared status {key}"
        response = responses[key]
        if "$ref" in response:
            response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
        content = response.get("content")
        if content is None:
            assert reply.text == "", f"{operation_id} {key} must have no body"
            return
        assert reply.content_type in content, (operation_id, reply.content_type, list(content))
        schema = content[reply.content_type]["schema"]
        if reply.content_type == "text/plain":
            assert isinstance(reply.text, str)
            return
        root = _to_json_schema(copy.deepcopy({"components": spec["components"]}))
        root.update(_to_json_schema(copy.deepcopy(schema)))
        jsonschema.Draft7Validator.check_schema(root)
        jsonschema.Draft7Validator(root).validate(reply.body)
