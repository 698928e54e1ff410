"""Wire parsing: tolerant readers of IBM's bodies and exact builders of the seed's payloads."""

from __future__ import annotations

import json

import pytest

import qruntime_session as qrs
from qruntime_session import _wire as wire
from qruntime_session import errors


def test_job_info_keeps_unknown_fields_and_reads_known_ones() -> None:
    """Unknown fields land in raw; known ones are typed; created is a datetime."""
    body = {
        "id": "j1",
        "status": "Running",
        "state": {"status": "Running"},
        "program": {"id": "sampler"},
        "created": "2026-11-24T10:00:00.123Z",
        "cost": 600,
        "backend": "ibm_fez",
        "session_id": "s1",
        "tags": ["a", 3],
        "brand_new_field": {"x": 1},
    }
    info = wire.job_info_from_api(body)
    assert (info.id, info.status, info.program_id, info.cost) == (
        "j1",
        qrs.JobStatus.RUNNING,
        "sampler",
        600,
    )
    assert info.created is not None
    assert info.created.year == 2026
    assert info.tags == ("a",)
    assert info.raw["brand_new_field"] == {"x": 1}


def test_ran_too_long_is_distinguishable_from_either_field() -> None:
    """'Cancelled - Ran too long' at the top, or Cancelled with reason_code 1305, is CANCELLED_RAN_TOO_LONG."""
    top = wire.job_info_from_api(
        {
            "id": "j",
            "status": "Cancelled - Ran too long",
            "state": {"status": "Cancelled", "reason_code": 1305},
        }
    )
    coded = wire.job_info_from_api(
        {"id": "j", "status": "Cancelled", "state": {"status": "Cancelled", "reason_code": 1305}}
    )
    plain = wire.job_info_from_api(
        {"id": "j", "status": "Cancelled", "state": {"status": "Cancelled"}}
    )
    assert top.status is coded.status is qrs.JobStatus.CANCELLED_RAN_TOO_LONG
    assert plain.status is qrs.JobStatus.CANCELLED
    assert top.status.is_final


def test_legacy_camel_case_reason_code_is_read() -> None:
    """The legacy reasonCode spelling inside state is understood."""
    info = wire.job_info_from_api(
        {
            "id": "j",
            "status": "Failed",
            "state": {"status": "Failed", "reasonCode": 1517, "reason": "bad"},
        }
    )
    assert (info.state.reason_code, info.state.reason) == (1517, "bad")


def test_unknown_status_values_do_not_crash() -> None:
    """A status or state the SDK does not know parses as UNKNOWN instead of failing."""
    info = wire.job_info_from_api({"id": "j", "status": "Paused", "state": {"status": "Paused"}})
    assert info.status is qrs.JobStatus.UNKNOWN
    details = wire.session_details_from_api(
        {"id": "s", "state": "pending_closed", "mode": None, "backend_name": ""}
    )
    assert details.state is qrs.SessionState.PENDING_CLOSED
    assert details.mode is None
    odd = wire.session_details_from_api({"id": "s", "state": "frozen"})
    assert odd.state is qrs.SessionState.UNKNOWN


def test_a_body_without_id_is_a_value_error() -> None:
    """A create answer with no string id is reported, not guessed."""
    with pytest.raises(ValueError, match="id"):
        wire.response_id({"state": "open"}, "create_session")
    with pytest.raises(ValueError, match="object"):
        wire.response_id(["s1"], "create_session")


@pytest.mark.parametrize(
    ("body", "codes", "trace", "message"),
    [
        (
            {
                "trace": "t1",
                "errors": [
                    {"code": 1352, "message": "open plan", "more_info": "u", "solution": "s"}
                ],
            },
            ("1352",),
            "t1",
            "open plan",
        ),
        ({"error": {"code": "E1", "message": "legacy"}}, ("E1",), None, "legacy"),
        (
            {"errorCode": "BXNIM0415E", "errorMessage": "no key", "context": {"requestId": "r1"}},
            ("BXNIM0415E",),
            "r1",
            "no key",
        ),
    ],
)
def test_error_bodies_in_every_known_shape(
    body: object, codes: tuple[str, ...], trace: str | None, message: str
) -> None:
    """IBM's, the legacy and IAM's error bodies give codes (as strings), trace and message."""
    parsed = wire.parse_error_body(json.dumps(body).encode(), "application/json")
    assert tuple(e.code for e in parsed.errors) == codes
    assert parsed.trace_id == trace
    assert parsed.message == message


def test_a_text_error_body_becomes_the_message() -> None:
    """A non-JSON error body (a proxy's HTML, say) is kept as a short message."""
    parsed = wire.parse_error_body(b"<html>Bad Gateway</html>", "text/html")
    assert parsed.errors == ()
    assert parsed.message == "<html>Bad Gateway</html>"


def test_job_body_is_exactly_the_seed_payload() -> None:
    """The job body has the seed's four fields, plus tags only when given."""
    assert wire.create_job_body("sampler", "ibm_fez", "s1", {"a": 1}) == {
        "program_id": "sampler",
        "backend": "ibm_fez",
        "session_id": "s1",
        "params": {"a": 1},
    }
    assert wire.create_job_body("sampler", "ibm_fez", "s1", {}, ("t",))["tags"] == ["t"]
    assert wire.create_session_body("ibm_fez", qrs.SessionMode.BATCH) == {
        "backend": "ibm_fez",
        "mode": "batch",
    }


def test_error_str_and_dict_carry_the_structured_fields() -> None:
    """str() and as_dict() of an API error show status, codes, trace and ids."""
    err = errors.NotFoundError(
        "get_job answered 404: Job not found",
        status=404,
        errors=[errors.ErrorDetail(code="not_found", message="Job not found")],
        trace_id="t9",
        method="GET",
        url="https://x/api/v1/jobs/j1",
        job_id="j1",
        session_id="s1",
    )
    text = str(err)
    for part in (
        "status 404",
        "code not_found",
        "trace t9",
        "job j1",
        "session s1",
        "GET https://x",
    ):
        assert part in text
    assert err.as_dict()["codes"] == ["not_found"]
    assert err.as_dict()["type"] == "NotFoundError"
