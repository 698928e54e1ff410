"""The request log: every request the emulator received, faulted or not.

The log is a ring buffer (``EmulatorConfig.request_log_size``, default 10,000 requests): a
long-running emulator forgets the oldest requests instead of growing without bound. A
record keeps the request's own (immutable) header and query views and its raw body; the
JSON ``body`` is parsed only when somebody reads it.
"""

from __future__ import annotations

import json
from typing import Any

import attrs
from multidict import CIMultiDictProxy, MultiMapping

__all__ = ["RecordedRequest"]


@attrs.define(kw_only=True, repr=False)
class RecordedRequest:
    """One received request (the emulator records it; tests read it).

    ``body`` is the body parsed as JSON when the request said it was JSON (the text when it
    does not parse), the decoded text otherwise, ``None`` when there was none.

    The repr shows no headers or body: they may carry bearer tokens and API keys.

    Args:
        method: The HTTP method.
        path: The URL path, without the query.
        query: The query parameters.
        headers: The request headers (bearer tokens included: never log them).
        raw_body: The body's bytes (``b""`` when none).
        operation: The operation id of the route that matched (``"unknown"`` when none did).
        received_at: When the request arrived, POSIX seconds on the emulator's clock.
        content_type: The request's content type.
        status: The status answered, or ``None`` when the connection was dropped (or the
            request is still being handled).
        fault: The injected fault that hit it, if any: ``"status"``, ``"delay"``,
            ``"drop-before"`` or ``"drop-after"`` (a delay combined with another kind reads
            e.g. ``"delay+status"``).
    """

    method: str
    path: str
    query: MultiMapping[str]
    headers: CIMultiDictProxy[str]
    raw_body: bytes
    operation: str
    received_at: float
    content_type: str = ""
    status: int | None = None
    fault: str | None = None

    @property
    def body(self) -> Any:
        """The body, parsed on each access (see the class docstring)."""
        if not self.raw_body:
            return None
        text = self.raw_body.decode("utf-8", errors="replace")
        if "json" in self.content_type:
            try:
                return json.loads(text)
            except (ValueError, RecursionError):
                return text
        return text

    def __repr__(self) -> str:
        return (
            f"RecordedRequest(method={self.method!r}, path={self.path!r}, "
            f"operation={self.operation!r}, status={self.status!r}, fault={self.fault!r})"
        )
