"""Connection bounds for the served emulator: idle, header and body timeouts, a connection cap.

aiohttp's server bounds none of these by itself on every supported version: before 3.14 a
connection that never sends a request is kept for ever, and no version bounds how long a
request body may take. So each accepted connection is wrapped in a :class:`GuardedConnection`
that forwards everything to aiohttp's own protocol and keeps one timer:

- **idle** (``EmulatorConfig.idle_timeout``): no byte of a next request since the connection
  opened or the last response was handed over → closed;
- **head** (``header_timeout``): a request's line and headers began but have not all arrived
  (a slow-loris client trickling header lines) → closed;
- **body** (``body_timeout``): the headers are in but the body is not, this long after → the
  request is answered 408 and the connection closed (the middleware below does this, since
  only the request knows whether its body has arrived);
- while a request is handled there is no timer: a fault's delay or a slow job is not cut.

Past ``max_connections`` a new connection is answered 503 with ``Retry-After: 1`` and closed
before anything is read. An app embedded with ``create_app`` is served by its owner, so none
of this applies to it (the middleware finds no guard and steps aside).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ._config import EmulatorConfig

__all__ = ["ConnectionGuards", "GuardedConnection"]

logger = logging.getLogger("qruntime_session.emulator")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_IDLE, _HEAD, _BUSY = "idle", "head", "busy"


def _refusal() -> bytes:
    body = json.dumps(
        {"errors": [{"code": "too_many_connections", "message": "Too many connections."}]}
    ).encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


class ConnectionGuards:
    """The guarded connections of one served emulator, and its protocol factory."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        # aiohttp's web.Server (bound when served): builds one RequestHandler a connection.
        self._server: Callable[[], asyncio.Protocol] | None = None
        self.live: dict[asyncio.BaseTransport, GuardedConnection] = {}
        #: Counters, for tests and docs: connections refused at the cap, closed by a timer.
        self.refused = 0
        self.expired: dict[str, int] = {_IDLE: 0, _HEAD: 0, "body": 0}

    def bind(self, server: Callable[[], asyncio.Protocol]) -> None:
        """Serve through ``server`` (an ``AppRunner``'s ``web.Server``) from now on."""
        self._server = server

    def __call__(self) -> GuardedConnection:
        return GuardedConnection(self)

    def inner_protocol(self) -> asyncio.Protocol:
        assert self._server is not None, "bind() the runner's server first"
        return self._server()

    def middleware(self) -> Any:
        """The outermost middleware: marks a request's start and end on its connection, and
        answers 408 when its body does not arrive within ``body_timeout``."""

        @web.middleware
        async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
            connection = self.live.get(request.transport) if request.transport else None
            if connection is None:
                return await handler(request)
            connection.request_started()
            try:
                return await self._handle(request, handler)
            finally:
                connection.request_finished()

        return guard

    async def _handle(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.body_exists or request.content.is_eof():
            return await handler(request)
        loop = asyncio.get_running_loop()
        late = False
        try:
            async with asyncio.timeout(None) as deadline:

                def check_body() -> None:
                    nonlocal late
                    if not request.content.is_eof():  # the body is still arriving
                        late = True
                        deadline.reschedule(loop.time())

                timer = loop.call_later(self.config.body_timeout, check_body)
                try:
                    return await handler(request)
                finally:
                    timer.cancel()
        except TimeoutError:
            if not late:
                raise
        self.expired["body"] += 1
        logger.debug("%s %s: body not received in time; 408", request.method, request.path)
        response = web.json_response(
            {"errors": [{"code": "request_timeout", "message": "Request body not received."}]},
            status=408,
        )
        response.force_close()
        return response


class GuardedConnection(asyncio.Protocol):
    """aiohttp's protocol for one connection, plus the idle/head timer (module docstring)."""

    def __init__(self, guards: ConnectionGuards) -> None:
        self._guards = guards
        self._inner: asyncio.Protocol | None = None
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._state = _IDLE

    # -- asyncio.Protocol, forwarded ---------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        guards = self._guards
        cap = guards.config.max_connections
        if cap is not None and len(guards.live) >= cap:
            guards.refused += 1
            transport.write(_refusal())
            transport.close()
            return
        self._transport = transport
        guards.live[transport] = self
        self._inner = guards.inner_protocol()
        self._inner.connection_made(transport)
        self._arm(guards.config.idle_timeout)

    def data_received(self, data: bytes) -> None:
        if self._inner is None:
            return
        if self._state == _IDLE:
            self._state = _HEAD
            self._arm(self._guards.config.header_timeout)
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._inner is not None else None

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._transport is not None:
            self._guards.live.pop(self._transport, None)
        if self._inner is not None:
            self._inner.connection_lost(exc)

    # -- the request's progress, from the middleware ---------------------------------------

    def request_started(self) -> None:
        self._state = _BUSY
        self._disarm()

    def request_finished(self) -> None:
        self._state = _IDLE
        if self._transport is not None and not self._transport.is_closing():
            self._arm(self._guards.config.idle_timeout)

    # -- the timer -------------------------------------------------------------------------

    def _arm(self, delay: float) -> None:
        self._disarm()
        self._timer = asyncio.get_running_loop().call_later(delay, self._expire)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self) -> None:
        self._timer = None
        transport = self._transport
        if self._state == _BUSY or transport is None or transport.is_closing():
            return
        self._guards.expired[self._state] += 1
        logger.debug("closing a connection %s too long", self._state)
        if transport.get_write_buffer_size():
            transport.abort()  # a client that does not read its answer either
        else:
            transport.close()
