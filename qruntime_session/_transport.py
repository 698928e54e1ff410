"""HTTP transport: the only module that catches aiohttp's client exceptions.

It owns (or borrows) one ``aiohttp.ClientSession``, adds the headers every Runtime request
carries, runs the single retry loop of the package, translates aiohttp errors into
`qruntime_session.errors` exactly once, and logs one DEBUG line per attempt (method,
path, status, elapsed, attempt) with no header values and no bodies, so no secret can reach a
log line.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import logging
import random as random_module
import time
import zlib
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from typing import Any, Literal, Protocol

import aiohttp
import attrs

from . import _telemetry, errors
from ._config import DEFAULT_MAX_RESPONSE_BYTES
from ._retry import RETRYABLE_STATUSES, UNSENT_SAFE_STATUSES, RetryPolicy, parse_retry_after
from ._timeouts import Timeouts
from ._version import user_agent
from ._wire import loads, parse_error_body

__all__ = ["UNSET", "Authenticator", "Response", "RetryMode", "Secret", "Transport"]

log = logging.getLogger("qruntime_session")

RetryMode = Literal["idempotent", "unsent", "none"]
"""How a request may be retried.

``idempotent``: on connection errors, timeouts and retryable statuses (GET, PATCH, DELETE,
the IAM exchange). ``unsent``: only when the request provably did not reach the service
(connection refused) or the service refused it (429, 503) — the creating POSTs.
``none``: exactly one attempt.
"""


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()

Params = Mapping[str, str] | Sequence[tuple[str, str]]


class Secret:
    """A credential (bearer token, API-key form body) that never shows itself.

    Frames of the transport hold credentials only in this wrapper, so a traceback formatted
    with its local variables (``capture_locals=True``, rich, Sentry) prints ``<hidden>``.
    The value is taken out only inside the expression that hands it to aiohttp.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def __repr__(self) -> str:
        return "<hidden>"

    __str__ = __repr__

    def reveal(self) -> str:
        return self._value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class Authenticator(Protocol):
    """Supplies the bearer token; ``_auth`` has the implementations."""

    async def token(self) -> Secret:
        """A bearer token valid for the next request."""
        ...

    async def refresh_after_unauthorized(self, rejected: Secret) -> bool:
        """Called on a 401 for a request sent with ``rejected``; True if a retry may succeed."""
        ...


@attrs.frozen(kw_only=True)
class Response:
    """A complete HTTP response (body read), independent of aiohttp."""

    method: str
    url: str
    status: int
    headers: Mapping[str, str] = attrs.field(repr=False)
    body: bytes = attrs.field(repr=False)
    elapsed: float
    attempts: int

    def json(self) -> Any:
        """The body parsed as JSON; ``None`` for an empty body; ``ValueError`` for anything
        unreadable (see `qruntime_session._wire.loads`, the one JSON boundary)."""
        if not self.body.strip():
            return None
        return loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def unreadable(
        self, message: str, *, session_id: str | None = None
    ) -> errors.UnexpectedStatusError:
        """The error for an answer whose body the operation could not read: ``message``, with
        this response's status, method and URL."""
        return errors.UnexpectedStatusError(
            message, status=self.status, method=self.method, url=self.url, session_id=session_id
        )


def _is_absolute(url: str) -> bool:
    return url.startswith(("http://", "https://"))


def _path_of(url: str) -> str:
    """The path of ``url``, without its query (a query may carry a secret): what logs show."""
    rest = url.split("://", 1)[-1].split("?", 1)[0].split("#", 1)[0]
    slash = rest.find("/")
    return rest[slash:] if slash >= 0 else "/"


class Transport:
    """Sends requests for a client. See the module docstring."""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        auth: Authenticator | None = None,
        service_crn: str | None = None,
        api_version: str | None = None,
        session: aiohttp.ClientSession | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        random: Callable[[], float] = random_module.random,
        clock: Callable[[], float] = time.monotonic,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self.base_url = base_url.rstrip("/") if base_url else None
        self.max_response_bytes = max_response_bytes
        self.timeouts = timeouts if timeouts is not None else Timeouts()
        self.retry = retry if retry is not None else RetryPolicy()
        self.auth = auth
        self.service_crn = service_crn
        self.api_version = api_version
        self._session = session
        self._owns_session = session is None
        self._sleep = sleep
        self._random = random
        self._clock = clock
        self._closed = False
        self._headers_for: tuple[str | None, str | None] | None = None
        self._headers: dict[str, str] = {}
        # Only the encodings _read_body inflates itself, within max_response_bytes.
        self._anonymous_headers = {
            "Accept": "application/json",
            "Accept-Encoding": "gzip, deflate",
            "User-Agent": user_agent(),
        }

    def _base_headers(self) -> dict[str, str]:
        """The headers every authenticated request carries, built once (rebuilt only if
        ``service_crn`` or ``api_version`` is changed)."""
        key = (self.service_crn, self.api_version)
        if key != self._headers_for:
            headers = dict(self._anonymous_headers)
            if self.service_crn is not None:
                headers["Service-CRN"] = self.service_crn
            if self.api_version is not None:
                headers["IBM-API-Version"] = self.api_version
            self._headers, self._headers_for = headers, key
        return self._headers

    @property
    def session(self) -> aiohttp.ClientSession:
        """The aiohttp session, created on first use (inside the running loop)."""
        if self._closed:
            raise errors.UsageError("this client is closed; create a new one")
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(
                    total=self.timeouts.total,
                    sock_connect=self.timeouts.connect,
                    sock_read=self.timeouts.read,
                ),
            )
        return self._session

    @property
    def closed(self) -> bool:
        return self._closed

    async def aclose(self) -> None:
        """Close the aiohttp session if this transport created it. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._owns_session and self._session is not None:
            await self._session.close()

    def url(self, url_or_path: str) -> str:
        if _is_absolute(url_or_path):
            return url_or_path
        if self.base_url is None:
            raise errors.ConfigurationError(f"no base URL to resolve {url_or_path!r} against")
        return self.base_url + "/" + url_or_path.lstrip("/")

    async def request(
        self,
        method: str,
        url_or_path: str,
        *,
        params: Params | None = None,
        json: Any = UNSET,
        data: bytes | str | Secret | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        expected: Collection[int] | None = (200,),
        retry: RetryMode = "idempotent",
        authenticate: bool = True,
        operation: str = "",
    ) -> Response:
        """Send one logical request (with retries per ``retry``) and return the response."""
        method = method.upper()
        url = self.url(url_or_path)
        body: bytes | Secret | None
        if json is not UNSET:
            try:
                body = jsonlib.dumps(json, separators=(",", ":"), allow_nan=False).encode()
            except (TypeError, ValueError, RecursionError) as exc:
                raise errors.InvalidInputError(
                    f"the body of {operation or 'the request'} cannot be sent as JSON: "
                    f"{type(exc).__name__}"
                ) from None
            content_type = content_type or "application/json"
        elif data is not None:
            body = data.encode() if isinstance(data, str) else data
        else:
            body = None

        send_headers = self._base_headers() if authenticate else self._anonymous_headers
        if content_type is not None or headers:
            send_headers = dict(send_headers)
            if content_type is not None:
                send_headers["Content-Type"] = content_type
            if headers:
                send_headers.update(headers)

        start = self._clock()
        attempt = 0
        replayed_401 = False
        while True:
            attempt += 1
            token: Secret | None = None
            if authenticate and self.auth is not None:
                token = await self.auth.token()
            try:
                response = await self._send_once(
                    method,
                    url,
                    params,
                    body,
                    send_headers,
                    token,
                    attempt=attempt,
                    operation=operation,
                )
            except errors.TransportError as exc:
                delay = self._delay_after_error(exc, retry, attempt, start)
                if delay is None:
                    raise
                log.debug(
                    "retrying %s %s after %s in %.2fs (attempt %d)",
                    method,
                    _path_of(url),
                    type(exc).__name__,
                    delay,
                    attempt,
                )
                await self._sleep(delay)
                continue

            status = response.status
            if (
                status == 401
                and authenticate
                and token is not None
                and self.auth is not None
                and not replayed_401
                and (expected is None or 401 not in expected)
                and await self.auth.refresh_after_unauthorized(token)
            ):
                replayed_401 = True
                attempt -= 1  # the replay after a refreshed token is not a retry
                log.debug(
                    "token rejected; replaying %s %s once with a fresh token", method, _path_of(url)
                )
                continue

            if expected is not None and status in expected:
                return response
            retryable = (
                status in RETRYABLE_STATUSES
                if retry == "idempotent"
                else status in UNSENT_SAFE_STATUSES
                if retry == "unsent"
                else False
            )
            if retryable:
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                delay = self.retry.next_delay(
                    retry_number=attempt,
                    elapsed=self._clock() - start,
                    retry_after=retry_after,
                    random=self._random,
                )
                if delay is not None:
                    log.debug(
                        "retrying %s %s after status %d in %.2fs (attempt %d)",
                        method,
                        _path_of(url),
                        status,
                        delay,
                        attempt,
                    )
                    await self._sleep(delay)
                    continue
            if expected is None:
                return response
            raise status_error(response, operation)

    def _delay_after_error(
        self, exc: errors.TransportError, retry: RetryMode, attempt: int, start: float
    ) -> float | None:
        if retry == "none" or isinstance(exc, errors.ResponseTooLargeError):
            return None
        if retry == "unsent" and not isinstance(exc, errors.ConnectError):
            return None
        return self.retry.next_delay(
            retry_number=attempt,
            elapsed=self._clock() - start,
            retry_after=None,
            random=self._random,
        )

    @_telemetry.traced_attempt
    async def _send_once(
        self,
        method: str,
        url: str,
        params: Params | None,
        body: bytes | Secret | None,
        headers: Mapping[str, str],
        token: Secret | None,
        *,
        attempt: int,
        operation: str,
    ) -> Response:
        """One attempt. Translates every aiohttp error; lets cancellation through untouched.

        The credentials are revealed only inside the call to aiohttp (no local of this frame
        holds them in clear), and the translated aiohttp exception is chained without its
        traceback: aiohttp's own frames hold the request headers in their locals.
        """
        began = self._clock()
        context: dict[str, Any] = {"method": method, "url": url}
        try:
            async with self.session.request(
                method,
                url,
                params=params,
                data=_reveal(body),
                headers=_with_token(headers, token),
                allow_redirects=False,
                auto_decompress=False,  # inflated by _read_body, within the limit
            ) as resp:
                payload = await _read_body(resp, self.max_response_bytes, operation, context)
                response = Response(
                    method=method,
                    url=url if params is None else str(resp.url),
                    status=resp.status,
                    headers=resp.headers,  # read-only, and final once the body is read
                    body=payload,
                    elapsed=self._clock() - began,
                    attempts=attempt,
                )
        except asyncio.CancelledError:
            raise
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _translate(exc, operation, context) from exc.with_traceback(None)
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s %s -> %d in %.3fs (attempt %d)",
                method,
                _path_of(response.url),
                response.status,
                response.elapsed,
                attempt,
            )
        return response


_READ_CHUNK = 64 * 1024
_INFLATE_STEP = 1024 * 1024  # the most one inflate step allocates while sizing an answer


async def _read_body(
    resp: aiohttp.ClientResponse, limit: int, operation: str, context: dict[str, Any]
) -> bytes:
    """The body of ``resp``, inflated, refused past ``limit`` bytes as sent or inflated.

    The body as sent is read chunk by chunk and never held past the limit. A gzip or
    deflate body is then sized by inflating it in steps of at most 1 MiB that are thrown
    away, and inflated for real only once its size is known to fit: a zip bomb costs its
    compressed size, not its inflated one.
    """
    what = operation or "the request"

    def too_large(how: str) -> errors.ResponseTooLargeError:
        return errors.ResponseTooLargeError(
            f"the answer to {what} is larger than max_response_bytes ({limit} bytes) {how}",
            status=resp.status,
            **context,
        )

    declared = resp.content_length
    if declared is not None:
        if declared > limit:
            raise too_large("as sent (Content-Length)")
        data = await resp.read()  # aiohttp reads no more than the declared length
    else:
        raw = bytearray()
        async for chunk in resp.content.iter_chunked(_READ_CHUNK):
            if len(raw) + len(chunk) > limit:
                raise too_large("as sent")
            raw += chunk
        data = bytes(raw)
        del raw
    encoding = resp.headers.get("Content-Encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return data
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise errors.TransportError(
            f"the answer to {what} uses a content encoding that was not asked for "
            f"({encoding[:40]!r})",
            status=resp.status,
            **context,
        )
    failure = ""
    # 47: a gzip or zlib header, detected; a bare deflate stream (-15) is tried after.
    for wbits in (47, -15) if encoding == "deflate" else (47,):
        try:
            if _inflated_size(data, wbits, limit) > limit:
                raise too_large("once inflated")
            inflater = zlib.decompressobj(wbits)
            return inflater.decompress(data) + inflater.flush()
        except zlib.error as exc:
            failure = str(exc)
    raise errors.TransportError(
        f"the answer to {what} is not valid {encoding} ({failure})",
        status=resp.status,
        **context,
    )


def _inflated_size(data: bytes, wbits: int, limit: int) -> int:
    """How many bytes ``data`` inflates to, counted up to just past ``limit``."""
    inflater = zlib.decompressobj(wbits)
    size = 0
    pending = data
    while True:
        size += len(out := inflater.decompress(pending, _INFLATE_STEP))
        if size > limit:
            return size
        pending = inflater.unconsumed_tail
        if not pending and len(out) < _INFLATE_STEP:
            return size + len(inflater.flush())


def _reveal(body: bytes | Secret | None) -> bytes | None:
    return body.reveal().encode() if isinstance(body, Secret) else body


def _with_token(headers: Mapping[str, str], token: Secret | None) -> Mapping[str, str]:
    if token is None:
        return headers
    out = dict(headers)
    out["Authorization"] = "Bearer " + token.reveal()
    return out


def _translate(
    exc: BaseException, operation: str, context: dict[str, Any]
) -> errors.TransportError | errors.ConfigurationError:
    """The package's error for an aiohttp exception (or a timeout) raised by one attempt."""
    what = operation or "the request"
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return errors.ConnectError(f"timed out connecting for {what}", **context)
    if isinstance(exc, aiohttp.ClientConnectorError):
        reason = exc.os_error.strerror or type(exc.os_error).__name__
        return errors.ConnectError(f"could not connect for {what}: {reason}", **context)
    if isinstance(exc, aiohttp.SocketTimeoutError | TimeoutError):
        return errors.RequestTimeoutError(f"no answer in time for {what}", **context)
    if isinstance(
        exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError | aiohttp.ClientOSError
    ):
        return errors.ConnectionLostError(f"the connection broke during {what}", **context)
    if isinstance(exc, aiohttp.InvalidURL):
        return errors.ConfigurationError(f"invalid URL for {what}", **context)
    return errors.TransportError(
        f"HTTP client error during {what}: {type(exc).__name__}", **context
    )


def status_error(response: Response, operation: str = "") -> errors.APIStatusError:
    """The typed error for a response whose status the operation does not accept."""
    parsed = parse_error_body(response.body, response.headers.get("Content-Type"))
    cls = errors.status_error_class(response.status)
    what = operation or "the request"
    detail = parsed.message or response.headers.get("Content-Type") or "no error body"
    message = f"{what} answered {response.status}: {detail}"
    trace = (
        parsed.trace_id or response.headers.get("IBM-Trace") or response.headers.get("X-Request-Id")
    )
    kwargs: dict[str, Any] = {
        "status": response.status,
        "errors": parsed.errors,
        "trace_id": trace,
        "method": response.method,
        "url": response.url,
        "body": parsed.body,
    }
    if cls is errors.RateLimitError:
        return errors.RateLimitError(
            message, retry_after=parse_retry_after(response.headers.get("Retry-After")), **kwargs
        )
    return cls(message, **kwargs)
