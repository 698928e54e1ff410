"""Credentials and headers: bearer tokens, IAM issuance and expiry, CRN and API version."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from qruntime_session.emulator import (
    API_VERSIONS,
    Emulator,
    EmulatorConfig,
    ManualClock,
    run_emulator,
)

from .emu_support import Client, assert_ibm_error

GRANT = "urn:ibm:params:oauth:grant-type:apikey"


def _payload(token: str) -> dict[str, Any]:
    segment = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    )
    return decoded


async def _iam(api: Client, form: dict[str, str]) -> Any:
    async with api.http.post(f"{api.emu.iam_url}/identity/token", data=form) as response:
        return response.status, await response.json()


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (None, "1200"),
        ("Bearer", "1200"),
        ("Basic dXNlcjpwYXNz", "1200"),
        ("apikey some-key", "1200"),
        ("Bearer not-a-token", "1201"),
        ("Bearer a.b.c", "1201"),
    ],
)
async def test_bad_bearer_token_is_401(
    api: Client, emu: Emulator, authorization: str | None, code: str
) -> None:
    """Missing, non-bearer or wrong tokens answer 401 with an IBM body; nothing is created."""
    reply = await api.call(
        "POST",
        "/v1/sessions",
        json_body={"mode": "batch"},
        headers={"Authorization": authorization},
    )
    assert_ibm_error(reply, 401, code)
    assert emu.session_ids == []


async def test_missing_service_crn_is_400(api: Client) -> None:
    """A request without Service-CRN answers 400."""
    reply = await api.call("GET", "/v1/jobs", headers={"Service-CRN": None})
    assert_ibm_error(reply, 400, "bad_request")


async def test_other_instance_crn_is_404_1279(api: Client) -> None:
    """A CRN other than the emulator's answers 404, code 1279, naming the instance."""
    other = "crn:v1:bluemix:public:quantum-computing:eu-de:a/abc:def::"
    reply = await api.call("GET", "/v1/jobs", headers={"Service-CRN": other})
    assert_ibm_error(reply, 404, "1279")
    assert other in reply.body["errors"][0]["message"]


@pytest.mark.parametrize(
    "version", [None, "", "2026-4-15", "20260415", "2026-02-30", "latest", "2023-12-31"]
)
async def test_missing_or_bad_api_version_is_400(api: Client, version: str | None) -> None:
    """A missing, malformed, impossible or too-old IBM-API-Version answers 400."""
    reply = await api.call("GET", "/v1/jobs", headers={"IBM-API-Version": version})
    assert_ibm_error(reply, 400, "bad_request")


@pytest.mark.parametrize("version", ["2024-01-01", "2025-05-01", "2026-03-20", "2030-01-01"])
async def test_published_and_in_between_versions_are_accepted(api: Client, version: str) -> None:
    """Any date from the first published version on is accepted (resolved to the latest <= it)."""
    reply = await api.call("GET", "/v1/jobs", headers={"IBM-API-Version": version})
    assert reply.status == 200


async def test_version_past_its_sunset_is_400(api: Client, clock: ManualClock) -> None:
    """Once the clock passes a deprecated version's sunset date, it answers 400."""
    clock.set(1798848000.0)  # 2027-01-02T00:00:00Z, after the 2027-01-01 sunsets
    old = await api.call("GET", "/v1/jobs", headers={"IBM-API-Version": "2025-05-01"})
    assert_ibm_error(old, 400, "bad_request")
    assert "sunset" in old.body["errors"][0]["message"]
    live = await api.call("GET", "/v1/jobs", headers={"IBM-API-Version": "2026-04-15"})
    assert live.status == 200


async def test_versions_endpoint_needs_no_credentials(api: Client) -> None:
    """GET /v1/versions answers the published list without any credentials."""
    reply = await api.call(
        "GET",
        "/v1/versions",
        headers={"Authorization": None, "Service-CRN": "crn:other", "IBM-API-Version": None},
    )
    assert reply.status == 200
    versions = reply.body["versions"]
    assert [item["version"] for item in versions] == [entry.version for entry in API_VERSIONS]
    assert versions[-1] == {"version": "2026-04-15", "status": "live"}
    assert versions[0] == {
        "version": "2024-01-01",
        "status": "deprecated",
        "sunset_date": "2027-01-01",
    }


async def test_iam_issues_jwt_shaped_token_accepted_by_api(api: Client, clock: ManualClock) -> None:
    """IAM exchanges the API key for a signed JWT-shaped token the API accepts."""
    status, body = await _iam(api, {"grant_type": GRANT, "apikey": api.emu.api_key})
    assert status == 200
    assert set(body) == {
        "access_token",
        "refresh_token",
        "token_type",
        "expires_in",
        "expiration",
        "scope",
    }
    assert body["refresh_token"] == "not_supported"
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "ibm_openid"
    assert body["expires_in"] == 3600
    assert body["expiration"] == int(clock.now()) + 3600
    token = body["access_token"]
    assert len(token.split(".")) == 3
    payload = _payload(token)
    assert payload["iat"] == int(clock.now())
    assert payload["exp"] == body["expiration"]
    api.token = token
    assert (await api.call("GET", "/v1/jobs")).status == 200


async def test_iam_token_expires_on_the_clock(api: Client, clock: ManualClock) -> None:
    """An IAM token is accepted until its exp, then answers 401 (expired)."""
    _, body = await _iam(api, {"grant_type": GRANT, "apikey": api.emu.api_key})
    api.token = body["access_token"]
    clock.advance(3599)
    assert (await api.call("GET", "/v1/jobs")).status == 200
    clock.advance(1)
    expired = await api.call("GET", "/v1/jobs")
    assert_ibm_error(expired, 401, "1201")
    assert "expired" in expired.body["errors"][0]["message"]


async def test_forged_token_is_401(api: Client) -> None:
    """A token whose payload was altered (signature no longer matches) answers 401."""
    _, body = await _iam(api, {"grant_type": GRANT, "apikey": api.emu.api_key})
    header, _payload_segment, signature = body["access_token"].split(".")
    claims = _payload(body["access_token"])
    claims["exp"] += 100000
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    api.token = f"{header}.{forged_payload}.{signature}"
    assert_ibm_error(await api.call("GET", "/v1/jobs"), 401, "1201")


async def test_token_from_another_emulator_is_401(api: Client, clock: ManualClock) -> None:
    """Tokens are signed with a per-emulator secret: another emulator's token is refused."""
    async with run_emulator(EmulatorConfig(clock=clock)) as other:
        api.token = other.issue_token()
        assert_ibm_error(await api.call("GET", "/v1/jobs"), 401)
        api.token = api.emu.issue_token()
        assert (await api.call("GET", "/v1/jobs")).status == 200


async def test_token_lifetime_is_configurable(api: Client, clock: ManualClock) -> None:
    """token_lifetime sets expires_in and the expiry the API enforces."""
    async with run_emulator(EmulatorConfig(clock=clock, token_lifetime=60)) as other:
        client = Client(api.http, other)
        status, body = await _iam(client, {"grant_type": GRANT, "apikey": other.api_key})
        assert (status, body["expires_in"]) == (200, 60)
        client.token = body["access_token"]
        clock.advance(61)
        assert_ibm_error(await client.call("GET", "/v1/jobs"), 401, "1201")


async def test_iam_refuses_wrong_key_with_iam_body(api: Client) -> None:
    """A wrong API key answers 400 BXNIM0415E with IAM's body shape."""
    status, body = await _iam(api, {"grant_type": GRANT, "apikey": "wrong"})
    assert status == 400
    assert body["errorCode"] == "BXNIM0415E"
    assert body["errorMessage"] == "Provided API key could not be found."
    assert isinstance(body["context"]["requestId"], str)
    assert "wrong" not in json.dumps(body)


@pytest.mark.parametrize(
    "form",
    [
        {"grant_type": "password", "apikey": "x"},
        {"grant_type": GRANT},
        {"apikey": "x"},
    ],
)
async def test_iam_refuses_wrong_grant_or_missing_fields(api: Client, form: dict[str, str]) -> None:
    """A wrong grant type or a missing field answers 400 with an IAM error body."""
    status, body = await _iam(api, form)
    assert status == 400
    assert body["errorCode"].startswith("BXNIM")
    assert set(body) == {"errorCode", "errorMessage", "context"}


async def test_iam_requires_a_form_body(api: Client) -> None:
    """A JSON body (not a form) is refused even with the right key."""
    async with api.http.post(
        f"{api.emu.iam_url}/identity/token",
        json={"grant_type": GRANT, "apikey": api.emu.api_key},
    ) as response:
        assert response.status == 400


async def test_numeric_error_codes_option(api: Client, clock: ManualClock) -> None:
    """numeric_error_codes sends registry codes as JSON numbers (words stay strings)."""
    async with run_emulator(EmulatorConfig(clock=clock, numeric_error_codes=True)) as other:
        client = Client(api.http, other)
        crn = await client.call("GET", "/v1/jobs", headers={"Service-CRN": "crn:x"})
        missing = await client.call("GET", "/v1/jobs/nope")
    assert crn.error_codes == [1279]
    assert missing.error_codes == ["not_found"]
