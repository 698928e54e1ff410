"""Per-attempt trace records and secret masking.

What is masked (docs/workflows.md, "Secret masking"):

* header values whose name contains ``auth``, ``token``, ``key``, ``secret``, ``cookie``,
  ``password`` or ``credential`` (case-insensitive). ``Authorization`` keeps its scheme:
  ``Bearer ***``;
* workflow inputs that are secret — their schema says ``format: password`` or
  ``writeOnly: true``, or their name (lower-cased, ``-``/``_`` removed) contains ``token``,
  ``apikey``, ``secret``, ``password``, ``passwd``, ``credential``, ``accesskey`` or
  ``privatekey`` — are masked by *value* wherever they appear (URLs, headers, bodies, outputs);
* step outputs with such names are added to the secret values when they are produced
  (a token obtained by one step is masked in the next step's trace);
* JSON object members with such names in request and response bodies.

Secret values shorter than 4 characters are only masked by name, not by value.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ._criteria import CriterionOutcome

__all__ = [
    "MASK",
    "AttemptTrace",
    "Masker",
    "PlannedRequest",
    "RequestRecord",
    "is_secret_header",
    "is_secret_name",
    "secret_strings",
]

MASK = "***"
_MIN_SECRET = 4
_SECRET_NAME_PARTS = (
    "token",
    "apikey",
    "secret",
    "password",
    "passwd",
    "credential",
    "accesskey",
    "privatekey",
)
_SECRET_HEADER_PARTS = ("auth", "token", "key", "secret", "cookie", "password", "credential")


def _normalise(name: str) -> str:
    return re.sub(r"[-_\s]", "", name.lower())


@functools.lru_cache(maxsize=1024)
def is_secret_name(name: str) -> bool:
    """Input, output and JSON member names treated as secret."""
    normal = _normalise(name)
    return any(part in normal for part in _SECRET_NAME_PARTS)


@functools.lru_cache(maxsize=1024)
def is_secret_header(name: str) -> bool:
    normal = _normalise(name)
    return any(part in normal for part in _SECRET_HEADER_PARTS)


def secret_inputs(schema: Mapping[str, Any] | None, inputs: Mapping[str, Any]) -> list[str]:
    """The string values of the secret inputs (see the module docstring)."""
    properties = schema.get("properties", {}) if isinstance(schema, Mapping) else {}
    values: list[str] = []
    for name, value in inputs.items():
        spec = properties.get(name) if isinstance(properties, Mapping) else None
        flagged = isinstance(spec, Mapping) and (
            spec.get("format") == "password" or spec.get("writeOnly") is True
        )
        if flagged or is_secret_name(name):
            values.extend(secret_strings(value))
    return values


def secret_strings(value: Any) -> Iterable[str]:
    """Every string in a secret value (JSON data: strings, objects, arrays)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from secret_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from secret_strings(item)


@attrs.define
class Masker:
    """Replaces known secret values and secret-named fields by ``***``."""

    values: set[str] = attrs.field(factory=set)
    # The values longest first (longer secrets may contain shorter ones); re-sorted when
    # add() changed the set (or the set's size changed behind its back).
    _ordered: list[str] = attrs.field(factory=list, init=False, repr=False, eq=False)
    _stale: bool = attrs.field(default=True, init=False, repr=False, eq=False)

    def add(self, values: Iterable[str]) -> None:
        size = len(self.values)
        self.values.update(v for v in values if len(v) >= _MIN_SECRET)
        if len(self.values) != size:
            self._stale = True

    def _longest_first(self) -> list[str]:
        if self._stale or len(self._ordered) != len(self.values):
            self._ordered = sorted(self.values, key=len, reverse=True)
            self._stale = False
        return self._ordered

    def text(self, text: str) -> str:
        for value in self._longest_first():
            if value in text:
                text = text.replace(value, MASK)
        return text

    def header(self, name: str, value: str) -> str:
        if is_secret_header(name):
            if name.lower() in ("authorization", "proxy-authorization") and " " in value.strip():
                return value.strip().split(" ", 1)[0] + " " + MASK
            return MASK
        return self.text(value)

    def headers(self, headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
        items = headers.items() if isinstance(headers, Mapping) else headers
        result: dict[str, str] = {}
        for name, value in items:
            masked = self.header(name, value)
            result[name] = f"{result[name]}, {masked}" if name in result else masked
        return result

    def json(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {
                key: MASK if is_secret_name(key) and item is not None else self.json(item)
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [self.json(item) for item in value]
        return value

    def url(self, url: str) -> str:
        """Secret values anywhere, and the values of secret-named query parameters."""
        masked = self.text(url)
        if "?" not in masked:
            return masked
        base, _, rest = masked.partition("?")

        def query(match: re.Match[str]) -> str:
            return match.group(1) + (MASK if is_secret_name(match.group(2)) else match.group(3))

        return base + "?" + _QUERY_PAIR.sub(query, rest)


_QUERY_PAIR = re.compile(r"((?:^|&)([^=&]*)=)([^&]*)")


@attrs.frozen(kw_only=True)
class RequestRecord:
    """A request as sent (already masked).

    Secret values, secret-named headers, JSON members and query parameters read ``***``
    (see the guide's [Secret masking][secret-masking]).
    """

    method: str
    """The HTTP method (``POST``)."""
    url: str
    """The full URL, query included."""
    headers: Mapping[str, str]
    """The request headers, ``Content-Type`` included."""
    body: Any = None
    """The body as JSON data (or text), or ``None`` without a body."""

    def as_json(self) -> dict[str, Any]:
        """This record as JSON-compatible data (keys as in the JSON trace).

        Returns:
            ``method``, ``url``, ``headers`` and ``body``.
        """
        return {
            "method": self.method,
            "url": self.url,
            "headers": dict(self.headers),
            "body": self.body,
        }


@attrs.frozen(kw_only=True)
class PlannedRequest(RequestRecord):
    """A request a dry run would send (masked). Values not known before running are ``<$expr>``.

    [`WorkflowExecutor.plan`][qruntime_session.workflows.WorkflowExecutor.plan] returns
    these, in the order the requests would be sent: a
    [`RequestRecord`][qruntime_session.workflows.RequestRecord] (``method``, ``url``,
    ``headers``, ``body``) with the step that would send it.
    """

    workflow_id: str
    """The workflow of the step."""
    step_id: str
    """The step that would send the request."""
    operation_id: str | None
    """The OpenAPI ``operationId`` of the step's operation, when it has one."""

    def as_json(self) -> dict[str, Any]:
        """This record as JSON-compatible data (keys as in the JSON trace).

        Returns:
            ``workflowId``, ``stepId``, ``operationId``, ``method``, ``url``, ``headers`` and
            ``body``.
        """
        return {
            "workflowId": self.workflow_id,
            "stepId": self.step_id,
            "operationId": self.operation_id,
            **super().as_json(),
        }


@attrs.frozen(kw_only=True)
class AttemptTrace:
    """One attempt of one step (masked): what was sent, what came back, what was decided.

    ``error_type`` is ``"expression"`` when a value could not be resolved (nothing was sent),
    ``"input"`` when an input provider failed (nothing was sent) and ``"workflow"`` when a
    called workflow failed.

    Args:
        workflow_id: The workflow of the step.
        step_id: The step attempted.
        attempt: 1 for the first attempt of this step execution, 2 after one retry, and so on.
        started: The injected clock's reading when the attempt began, in seconds.
        elapsed: How long the attempt took, in seconds.
        request: The request sent, or ``None`` when nothing was sent (a workflow step, or a value
            that could not be resolved).
        status: The response's HTTP status, or ``None`` when no response came.
        response_headers: The response headers (masked).
        response_body: The response body as JSON data (or text), masked.
        error: What went wrong when no usable response came, or ``None``.
        error_type: ``"timeout"``, ``"connect"``, ``"connection_lost"``, ``"transport"``,
            ``"expression"``, ``"input"``, ``"workflow"`` or ``None``.
        criteria: The outcome of each success criterion, in document order, then those of the
            actions considered after it.
        success: Whether the attempt succeeded (every success criterion passed).
        action: What followed: ``next``, ``break``, the action taken (``end``, ``goto:<id>``,
            ``retry``, ``retry:<id>``), or ``return`` for a step run before a retry.
        sleep: The wait before the next attempt when the action was ``retry``, in seconds.
        notes: Remarks of the executor on this attempt (a policy applied, a value ignored).
    """

    workflow_id: str
    step_id: str
    attempt: int
    started: float
    elapsed: float
    request: RequestRecord | None
    status: int | None
    response_headers: Mapping[str, str] = attrs.field(factory=dict)
    response_body: Any = None
    error: str | None = None
    error_type: str | None = None
    criteria: tuple[CriterionOutcome, ...] = ()
    success: bool = False
    action: str | None = None
    sleep: float | None = None
    notes: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """This record as JSON-compatible data (keys as in the JSON trace).

        Returns:
            ``workflowId``, ``stepId``, ``attempt``, ``started``, ``elapsed``, ``request``,
            ``response`` (``status``, ``headers``, ``body``; ``None`` without a response),
            ``error``, ``errorType``, ``criteria``, ``success``, ``action``, ``sleep`` and
            ``notes``.
        """
        return {
            "workflowId": self.workflow_id,
            "stepId": self.step_id,
            "attempt": self.attempt,
            "started": self.started,
            "elapsed": self.elapsed,
            "request": self.request.as_json() if self.request is not None else None,
            "response": None
            if self.status is None
            else {
                "status": self.status,
                "headers": dict(self.response_headers),
                "body": self.response_body,
            },
            "error": self.error,
            "errorType": self.error_type,
            "criteria": [c.as_json() for c in self.criteria],
            "success": self.success,
            "action": self.action,
            "sleep": self.sleep,
            "notes": list(self.notes),
        }
