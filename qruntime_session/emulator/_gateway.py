"""The gateway: the middleware every request of the emulator goes through.

It records every request, applies injected faults, runs the route's handler and turns refusals
(``ApiError``, aiohttp's HTTP errors, anything unexpected) into IBM error bodies.
"""

from __future__ import annotations

import collections
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import HttpVersion10, web

from ._config import EmulatorConfig
from ._errors import ApiError
from ._faults import Fault, FaultPlan
from ._iam import iam_error_body
from ._records import RecordedRequest
from ._state import Store

__all__ = ["MORE_INFO_URL", "TRACE_HEADER", "Gateway", "Handler"]

logger = logging.getLogger("qruntime_session.emulator")

MORE_INFO_URL = "https://cloud.ibm.com/apidocs/quantum-computing#error-handling"
"""The ``more_info`` link of every error item in the emulator's IBM error bodies."""
TRACE_HEADER = "X-Request-Id"
"""The response header carrying the request's trace id (also the ``trace`` of error bodies)."""

#: Route names that record under another operation id.
_OPERATION_OF_ROUTE = {"get_openapi_file": "get_openapi"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Gateway:
    """Records, faults and IBM error bodies around the handlers, over one ``Store``."""

    def __init__(
        self,
        *,
        config: EmulatorConfig,
        store: Store,
        faults: FaultPlan,
        requests: collections.deque[RecordedRequest],
    ) -> None:
        self.config = config
        self.store = store
        self.faults = faults
        self.requests = requests

    # ------------------------------------------------------------------ answers

    def error_body(self, trace: str, code: str, message: str) -> dict[str, Any]:
        """IBM's ``ErrorContainer`` with one error item."""
        wire_code: str | int = (
            int(code) if self.config.numeric_error_codes and code.isdigit() else code
        )
        return {
            "trace": trace,
            "errors": [{"code": wire_code, "message": message, "more_info": MORE_INFO_URL}],
        }

    def error_response(self, trace: str, error: ApiError) -> web.Response:
        """An ``ApiError`` as an HTTP answer."""
        return web.json_response(
            self.error_body(trace, error.code, error.message),
            status=error.status,
            headers={TRACE_HEADER: trace, **error.headers},
        )

    def fault_response(self, request: web.Request, fault: Fault, trace: str) -> web.Response:
        """The canned answer of a ``status=`` fault."""
        assert fault.status is not None
        headers = {TRACE_HEADER: trace, **fault.headers}
        body = fault.body
        if body is None:
            if request.path.startswith("/identity/"):
                body = iam_error_body(
                    "BXNIM0001E",
                    "Injected fault.",
                    url=str(request.url),
                    now=self.store.now(),
                    user_agent=request.headers.get("User-Agent"),
                )
            else:
                body = self.error_body(
                    trace, str(fault.status), f"Injected fault: HTTP {fault.status}."
                )
        if isinstance(body, bytes):
            return web.Response(body=body, status=fault.status, headers=headers)
        if isinstance(body, str):
            return web.Response(text=body, status=fault.status, headers=headers)
        if fault.status in (204, 304):
            return web.Response(status=fault.status, headers=headers)
        return web.json_response(body, status=fault.status, headers=headers)

    # ---------------------------------------------------------------- gateway

    @web.middleware
    async def gateway(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Record, apply faults, run the handler, map errors to IBM bodies.

        Every request is recorded before anything can refuse it, and its record ends with the
        status actually answered (``None`` only when the connection was dropped).
        """
        route_name = request.match_info.route.name
        operation = _OPERATION_OF_ROUTE.get(route_name or "", route_name or "unknown")
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            query=request.query,
            headers=request.headers,
            raw_body=b"",
            content_type=request.content_type,
            operation=operation,
            received_at=self.store.now(),
        )
        self.requests.append(record)
        trace = self.store.new_id()
        if request.version < HttpVersion10:
            # No HTTP version on the request line (HTTP/0.9): refuse it in HTTP/1.0 and close.
            record.status = 400
            self._refuse_http09(request, trace)
            return web.Response(status=499)
        try:
            response = await self._answer(request, handler, record, operation, trace)
        except ApiError as error:
            response = self.error_response(trace, error)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            response = self._http_error(request, exc, trace)
        except Exception:
            logger.exception("%s %s failed in the emulator", request.method, request.path)
            response = self.error_response(
                trace, ApiError(500, "internal_error", "The emulator failed on this request.")
            )
        if response.status == 499 and record.fault and "drop" in record.fault:
            return response  # dropped: the record keeps status None
        if not request.path.startswith("/identity/"):
            response.headers.setdefault(TRACE_HEADER, trace)
        record.status = response.status
        logger.debug("%s %s -> %s (%s)", request.method, request.path, response.status, operation)
        return response

    def _http_error(
        self, request: web.Request, exc: web.HTTPException, trace: str
    ) -> web.StreamResponse:
        code = "not_found" if exc.status == 404 else "bad_request"
        message = (
            f"No route for {request.method} {request.path}."
            if exc.status in (404, 405)
            else exc.reason
        )
        return web.json_response(
            self.error_body(trace, code, message),
            status=exc.status,
            headers={TRACE_HEADER: trace},
        )

    async def _answer(
        self,
        request: web.Request,
        handler: Handler,
        record: RecordedRequest,
        operation: str,
        trace: str,
    ) -> web.StreamResponse:
        raw = await request.read()
        record.raw_body = raw
        fault = self.faults.on_call(operation)
        kinds: list[str] = []
        if fault is not None and fault.delay:
            kinds.append("delay")
            record.fault = "+".join(kinds)
            await self.config.sleep(fault.delay)
        if fault is not None and fault.drop == "before":
            kinds.append("drop-before")
            record.fault = "+".join(kinds)
            self._drop(request)
            logger.debug(
                "%s %s dropped before handling (%s)", request.method, request.path, operation
            )
            return web.Response(status=499)
        if fault is not None and fault.status is not None and not fault.handled:
            kinds.append("status")
            record.fault = "+".join(kinds)
            return self.fault_response(request, fault, trace)
        response: web.StreamResponse
        try:
            response = await handler(request)
        except ApiError as error:
            response = self.error_response(trace, error)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            response = self._http_error(request, exc, trace)
        if fault is not None and fault.drop == "after":
            kinds.append("drop-after")
            record.fault = "+".join(kinds)
            self._drop(request)
            logger.debug(
                "%s %s handled, then dropped (%s)", request.method, request.path, operation
            )
            return web.Response(status=499)
        if fault is not None and fault.status is not None:
            kinds.append("handled+status")
            record.fault = "+".join(kinds)
            return self.fault_response(request, fault, trace)
        return response

    def _refuse_http09(self, request: web.Request, trace: str) -> None:
        body = json.dumps(
            self.error_body(trace, "bad_request", "The request line has no HTTP version.")
        ).encode()
        head = (
            "HTTP/1.0 400 Bad Request\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"{TRACE_HEADER}: {trace}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        transport = request.transport
        if transport is not None:
            transport.write(head + body)
            transport.close()

    @staticmethod
    def _drop(request: web.Request) -> None:
        transport = request.transport
        if transport is not None:
            transport.close()
