"""The request log: every request the emulator received, faulted or not."""

from __future__ import annotations

from typing import Any

import attrs
from multidict import CIMultiDictProxy, MultiDictProxy

__all__ = ["RecordedRequest"]


@attrs.define(kw_only=True, repr=False)
class RecordedRequest:
    """One received request.

    ``status`` is the status answered, or ``None`` when the connection was dropped (or the
    request is still being handled). ``fault`` names the injected fault that hit it, if any:
    ``"status"``, ``"delay"``, ``"drop-before"`` or ``"drop-after"`` (a delay combined with
    another kind reads e.g. ``"delay+status"``).

    The repr shows no headers or body: they may carry bearer tokens and API keys.
    """

    method: str
    path: str
    query: MultiDictProxy[str]
    headers: CIMultiDictProxy[str]
    body: Any
    raw_body: bytes
    operation: str
    received_at: float
    status: int | None = None
    fault: str | None = None

    def __repr__(self) -> str:
        return (
            f"RecordedRequest(method={self.method!r}, path={self.path!r}, "
            f"operation={self.operation!r}, status={self.status!r}, fault={self.fault!r})"
        )
