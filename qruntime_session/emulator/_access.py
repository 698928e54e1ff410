"""Access: who may call the API (bearer token, ``IBM-API-Version``, ``Service-CRN``), and IAM.

The checks every ``/api/v1`` handler runs first, the published API versions they accept
(``GET /v1/versions``), and IAM's ``POST /identity/token`` that exchanges an API key for the
access tokens the checks accept.
"""

from __future__ import annotations

import datetime
import re
import urllib.parse

import attrs
from aiohttp import web

from ._config import EmulatorConfig
from ._errors import ApiError
from ._iam import GRANT_TYPE_APIKEY, TokenCheck, check_token, iam_error_body, issue_access_token
from ._parsing import bad, is_date
from ._state import Store

__all__ = ["API_VERSIONS", "Access", "ApiVersion"]


@attrs.frozen
class ApiVersion:
    """One published ``IBM-API-Version``.

    Args:
        version: The version's date, ``YYYY-MM-DD``; a request's header names the newest
            version on or before its own date.
        status: ``"live"`` or ``"deprecated"``, as ``GET /v1/versions`` lists it.
        sunset_date: The date (``YYYY-MM-DD``) from which a request resolving to this version
            is refused; ``None`` when none is announced.
    """

    version: str
    status: str
    sunset_date: str | None = None


API_VERSIONS: tuple[ApiVersion, ...] = (
    ApiVersion("2024-01-01", "deprecated", "2027-01-01"),
    ApiVersion("2025-01-01", "deprecated", "2027-01-01"),
    ApiVersion("2025-05-01", "deprecated", "2027-01-01"),
    ApiVersion("2026-02-01", "deprecated", "2027-02-01"),
    ApiVersion("2026-02-15", "deprecated", "2027-02-15"),
    ApiVersion("2026-03-15", "deprecated", "2027-03-15"),
    ApiVersion("2026-04-15", "live"),
)
"""The published ``IBM-API-Version`` list (latest IBM docs snapshot), oldest first."""

_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


class Access:
    """The credential checks and the IAM and versions routes, over the config and the clock."""

    def __init__(self, config: EmulatorConfig, store: Store) -> None:
        self.config = config
        self.store = store

    def authorize(self, request: web.Request) -> None:
        """Bearer token, IBM-API-Version, Service-CRN — in that order."""
        header = request.headers.get("Authorization")
        if header is None:
            raise ApiError(401, "1200", "Not authorized: the Authorization header is missing.")
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "1200", "Not authorized: a bearer token is required.")
        if token != self.config.token:
            verdict = check_token(token, secret=self.config.token_secret, now=self.store.now())
            if verdict is TokenCheck.EXPIRED:
                raise ApiError(401, "1201", "Invalid credentials: the bearer token has expired.")
            if verdict is TokenCheck.INVALID:
                raise ApiError(401, "1201", "Invalid credentials: the bearer token is not valid.")
        self.check_version(request.headers.get("IBM-API-Version"))
        crn = request.headers.get("Service-CRN")
        if crn is None or not crn.strip():
            raise bad("The Service-CRN header is required.")
        if crn.strip() != self.config.service_crn:
            raise ApiError(404, "1279", f"Instance {crn.strip()} not found.")

    def check_version(self, value: str | None) -> ApiVersion:
        if value is None or not value.strip():
            raise bad("The IBM-API-Version header is required (YYYY-MM-DD).")
        text = value.strip()
        if not _DATE.match(text) or not is_date(text):
            raise bad(f"Invalid IBM-API-Version {text!r}: expected a date YYYY-MM-DD.")
        eligible = [entry for entry in API_VERSIONS if entry.version <= text]
        if not eligible:
            raise bad(
                f"Unsupported IBM-API-Version {text}: the oldest version is "
                f"{API_VERSIONS[0].version}."
            )
        resolved = eligible[-1]
        today = datetime.datetime.fromtimestamp(self.store.now(), tz=datetime.UTC).date()
        if resolved.sunset_date is not None and today.isoformat() >= resolved.sunset_date:
            raise bad(
                f"IBM-API-Version {resolved.version} reached its sunset date "
                f"{resolved.sunset_date}."
            )
        return resolved

    async def get_versions(self, request: web.Request) -> web.StreamResponse:
        """GET /v1/versions: no credentials needed."""
        versions = []
        for entry in API_VERSIONS:
            item: dict[str, str] = {"version": entry.version, "status": entry.status}
            if entry.sunset_date is not None:
                item["sunset_date"] = entry.sunset_date
            versions.append(item)
        return web.json_response({"versions": versions})

    async def iam_token(self, request: web.Request) -> web.StreamResponse:
        """POST /identity/token: exchange an API key for an access token."""
        raw = await request.read()
        form: dict[str, list[str]] = {}
        if request.content_type == "application/x-www-form-urlencoded":
            form = urllib.parse.parse_qs(raw.decode("utf-8", errors="replace"))
        grant_type = (form.get("grant_type") or [""])[0]
        api_key = (form.get("apikey") or [""])[0]
        now = self.store.now()

        def refuse(code: str, message: str) -> web.Response:
            body = iam_error_body(
                code,
                message,
                url=str(request.url),
                now=now,
                user_agent=request.headers.get("User-Agent"),
            )
            return web.json_response(body, status=400)

        if not grant_type or not api_key:
            return refuse("BXNIM0109E", "Property missing or empty: grant_type and apikey.")
        if grant_type != GRANT_TYPE_APIKEY:
            return refuse("BXNIM0103E", f"Unsupported grant_type {grant_type}.")
        if api_key != self.config.api_key:
            return refuse("BXNIM0415E", "Provided API key could not be found.")
        lifetime = self.config.token_lifetime
        token, expiration = issue_access_token(
            secret=self.config.token_secret,
            now=now,
            lifetime=lifetime,
            user_id=self.config.user_id,
            issuer=f"{request.scheme}://{request.host}/identity",
        )
        return web.json_response(
            {
                "access_token": token,
                "refresh_token": "not_supported",
                "token_type": "Bearer",
                "expires_in": lifetime,
                "expiration": expiration,
                "scope": "ibm_openid",
            }
        )

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Register ``GET /api/v1/versions`` and ``POST /identity/token``."""
        router.add_get("/api/v1/versions", self.get_versions, name="get_versions", allow_head=False)
        router.add_post("/identity/token", self.iam_token, name="iam_token")
