"""The emulated IBM Cloud IAM token service: JWT-shaped access tokens signed with HMAC."""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import json
import uuid
from typing import Any

__all__ = [
    "GRANT_TYPE_APIKEY",
    "TokenCheck",
    "check_token",
    "iam_error_body",
    "issue_access_token",
]

GRANT_TYPE_APIKEY = "urn:ibm:params:oauth:grant-type:apikey"


class TokenCheck(enum.Enum):
    """Outcome of checking a bearer token."""

    VALID = "valid"
    EXPIRED = "expired"
    INVALID = "invalid"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: bytes, signing_input: str) -> str:
    return _b64url(hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest())


def issue_access_token(
    *, secret: bytes, now: float, lifetime: int, user_id: str, issuer: str
) -> tuple[str, int]:
    """Return ``(access_token, expiration)``: a signed JWT and its ``exp`` (POSIX seconds)."""
    iat = int(now)
    exp = iat + lifetime
    header = {"alg": "HS256", "typ": "JWT", "kid": "qruntime-emulator"}
    payload = {
        "iam_id": user_id,
        "sub": user_id,
        "id": user_id,
        "iss": issuer,
        "grant_type": GRANT_TYPE_APIKEY,
        "scope": "ibm openid",
        "client_id": "default",
        "acr": 1,
        "amr": ["pwd"],
        "iat": iat,
        "exp": exp,
        "jti": uuid.uuid4().hex,
    }
    signing_input = (
        _b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64url(json.dumps(payload, separators=(",", ":")).encode())
    )
    return f"{signing_input}.{_sign(secret, signing_input)}", exp


def check_token(token: str, *, secret: bytes, now: float) -> TokenCheck:
    """Check a token issued by :func:`issue_access_token`: signature first, then ``exp``."""
    parts = token.split(".")
    if len(parts) != 3:
        return TokenCheck.INVALID
    signing_input = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_sign(secret, signing_input), parts[2]):
        return TokenCheck.INVALID
    try:
        payload = json.loads(_b64url_decode(parts[1]))
    except (ValueError, binascii.Error):
        return TokenCheck.INVALID
    exp = payload.get("exp") if isinstance(payload, dict) else None
    if not isinstance(exp, int):
        return TokenCheck.INVALID
    return TokenCheck.VALID if now < exp else TokenCheck.EXPIRED


def iam_error_body(
    code: str, message: str, *, url: str, now: float, user_agent: str | None
) -> dict[str, Any]:
    """IAM's error shape: ``{"errorCode", "errorMessage", "context": {...}}``."""
    stamp = int(now * 1000)
    return {
        "errorCode": code,
        "errorMessage": message,
        "context": {
            "requestId": uuid.uuid4().hex,
            "requestType": "incoming.Identity_Token",
            "userAgent": user_agent or "",
            "url": url,
            "instanceId": "iamid-qruntime-emulator",
            "threadId": "1",
            "host": "qruntime-emulator",
            "startTime": str(stamp),
            "endTime": str(stamp),
            "elapsedTime": "0",
            "locale": "en_US",
            "clusterName": "qruntime-emulator",
        },
    }
