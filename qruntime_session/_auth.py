"""Bearer tokens: a static token, or an IBM Cloud API key exchanged at IAM.

The API key is only ever sent to IAM's ``/identity/token``, never to the Runtime API. Tokens
and keys are never logged, and neither class shows them in its ``repr``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from . import errors
from ._transport import Response, Secret

if TYPE_CHECKING:
    from ._transport import Transport

__all__ = ["IAMApiKeyAuth", "StaticTokenAuth", "refresh_margin"]

log = logging.getLogger("qruntime_session")

IAM_GRANT_TYPE = "urn:ibm:params:oauth:grant-type:apikey"


class StaticTokenAuth:
    """A bearer token given by the user; it cannot be refreshed."""

    __slots__ = ("_token",)

    def __init__(self, token: str) -> None:
        self._token = Secret(token)

    def __repr__(self) -> str:
        return "StaticTokenAuth(token=<hidden>)"

    async def token(self) -> Secret:
        return self._token

    async def refresh_after_unauthorized(self, rejected: Secret) -> bool:
        return False


def refresh_margin(lifetime: float) -> float:
    """How long before expiry a token is renewed: 10 % of its lifetime, at most 5 minutes."""
    return min(300.0, 0.1 * lifetime)


class IAMApiKeyAuth:
    """Exchanges an API key for a bearer token at ``{iam_url}/identity/token`` and caches it.

    The token is renewed shortly before it expires (see ``refresh_margin``). However many
    requests need a token at once, at most one exchange is in flight: the others wait on a
    lock and re-check the cache once they hold it. On a 401 from the Runtime API the token is
    renewed once (unless another request already renewed it) and the request replayed.
    """

    def __init__(
        self,
        api_key: str,
        *,
        iam_url: str,
        transport: Transport,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._api_key = Secret(api_key)
        self._iam_url = iam_url.rstrip("/")
        self._transport = transport
        self._clock = clock
        self._token: Secret | None = None
        self._expires_at = 0.0
        self._renew_at = 0.0
        self._lock = asyncio.Lock()
        self.exchanges = 0  # how many exchanges were made (for diagnostics and tests)

    def __repr__(self) -> str:
        return f"IAMApiKeyAuth(iam_url={self._iam_url!r}, api_key=<hidden>)"

    def _fresh(self) -> bool:
        return self._token is not None and self._clock() < self._renew_at

    async def token(self) -> Secret:
        if self._fresh():
            assert self._token is not None
            return self._token
        async with self._lock:
            if not self._fresh():
                await self._exchange()
            assert self._token is not None
            return self._token

    async def refresh_after_unauthorized(self, rejected: Secret) -> bool:
        async with self._lock:
            if self._token != rejected and self._fresh():
                return True  # someone else already renewed it
            await self._exchange()
            return True

    async def _exchange(self) -> None:
        try:
            response = await self._transport.request(
                "POST",
                f"{self._iam_url}/identity/token",
                data=Secret(
                    urlencode({"grant_type": IAM_GRANT_TYPE, "apikey": self._api_key.reveal()})
                ),
                content_type="application/x-www-form-urlencoded",
                expected=(200,),
                retry="idempotent",
                authenticate=False,
                operation="IAM token exchange",
            )
        except errors.APIStatusError as exc:
            if exc.status not in (400, 401, 403):
                raise
            raise errors.AuthenticationError(
                f"IAM refused the API key: {exc.errors[0].message if exc.errors else exc.status}",
                status=exc.status,
                errors=exc.errors,
                trace_id=exc.trace_id,
                method=exc.method,
                url=exc.url,
            ) from exc
        self.exchanges += 1
        token, expiration, expires_in = _read_grant(response)
        now = self._clock()
        lifetime = _lifetime(expiration, expires_in, now)
        self._token = token
        self._expires_at = now + lifetime
        self._renew_at = self._expires_at - refresh_margin(lifetime)
        log.debug("obtained an IAM bearer token valid for %.0fs", lifetime)


def _read_grant(response: Response) -> tuple[Secret, object, object]:
    """The token (wrapped at once), ``expiration`` and ``expires_in`` of an IAM answer."""
    try:
        data = response.json()
    except ValueError as exc:
        raise errors.AuthenticationError(
            "IAM answered 200 with a body that is not readable JSON",
            status=response.status,
            method="POST",
            url=response.url,
        ) from exc
    if not isinstance(data, dict):
        data = {}
    raw = data.pop("access_token", None)
    if not isinstance(raw, str) or not raw:
        raise errors.AuthenticationError(
            "IAM answered 200 without an access_token",
            status=response.status,
            method="POST",
            url=response.url,
        )
    return Secret(raw), data.get("expiration"), data.get("expires_in")


def _seconds(value: object) -> float | None:
    """A finite float from a JSON number, or ``None`` (huge integers overflow to ``None``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _lifetime(expiration: object, expires_in: object, now: float) -> float:
    """Seconds the token is valid: from ``expiration`` (epoch), else ``expires_in``, else an
    hour (IAM's documented maximum); never negative, never above a day."""
    at = _seconds(expiration)
    within = _seconds(expires_in)
    if at is not None:
        lifetime = at - now
    elif within is not None:
        lifetime = within
    else:
        lifetime = 3600.0
    return min(max(lifetime, 0.0), 86400.0)
