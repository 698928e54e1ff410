"""GET /v1/jobs: filters, paging, sorting and params exclusion."""

from __future__ import annotations

from typing import Any

import pytest

from qruntime_session.emulator import Emulator, EmulatorConfig, ManualClock

from .emu_support import Client, assert_ibm_error


@pytest.fixture
def config(clock: ManualClock) -> EmulatorConfig:
    """Jobs are held so pending/terminal mixes can be built."""
    return EmulatorConfig(clock=clock, queue_seconds=None, run_seconds=None)


async def _ids(api: Client, **params: Any) -> list[str]:
    reply = await api.call("GET", "/v1/jobs", params=params or None)
    assert reply.status == 200, reply.text
    return [job["id"] for job in reply.body["jobs"]]


async def _make_jobs(api: Client, emu: Emulator, clock: ManualClock) -> dict[str, str]:
    session = await api.create_session()
    made: dict[str, str] = {}
    plans: list[tuple[str, dict[str, Any]]] = [
        ("sampler_a", {"tags": ["exp", "a"]}),
        (
            "estimator",
            {"program_id": "estimator", "backend": "ibm_kingston", "params": {"pubs": []}},
        ),
        ("in_session", {"session_id": session["id"], "tags": ["exp"]}),
        ("queued", {}),
    ]
    for name, body in plans:
        made[name] = (await api.create_job(**body))["id"]
        clock.advance(1)
    made["session"] = session["id"]
    for name in ("sampler_a", "estimator", "in_session"):
        emu.finish_job(made[name])
    return made


async def test_list_newest_first_with_count_and_defaults(
    api: Client, emu: Emulator, clock: ManualClock
) -> None:
    """Jobs come newest first; count/offset/limit are reported; params excluded by default."""
    made = await _make_jobs(api, emu, clock)
    reply = await api.call("GET", "/v1/jobs")
    body = reply.body
    assert [job["id"] for job in body["jobs"]] == [
        made["queued"],
        made["in_session"],
        made["estimator"],
        made["sampler_a"],
    ]
    assert (body["count"], body["offset"], body["limit"]) == (4, 0, 200)
    assert all("params" not in job for job in body["jobs"])
    with_params = await api.call("GET", "/v1/jobs", params={"exclude_params": "false"})
    assert all("params" in job for job in with_params.body["jobs"])


async def test_list_filters(api: Client, emu: Emulator, clock: ManualClock) -> None:
    """session_id, pending, program, backend and tags (all required) filter the list."""
    made = await _make_jobs(api, emu, clock)
    assert await _ids(api, session_id=made["session"]) == [made["in_session"]]
    assert await _ids(api, session_id="no-such-session") == []
    assert await _ids(api, pending="true") == [made["queued"]]
    assert set(await _ids(api, pending="false")) == {
        made["sampler_a"],
        made["estimator"],
        made["in_session"],
    }
    assert await _ids(api, program="estimator") == [made["estimator"]]
    assert await _ids(api, backend="ibm_kingston") == [made["estimator"]]
    reply = await api.call("GET", "/v1/jobs", params=[("tags", "exp"), ("tags", "a")])
    assert [job["id"] for job in reply.body["jobs"]] == [made["sampler_a"]]
    assert set(await _ids(api, tags="exp")) == {made["sampler_a"], made["in_session"]}


async def test_list_created_window_and_sort(api: Client, emu: Emulator, clock: ManualClock) -> None:
    """created_after/created_before bound the window; sort=ASC reverses the order."""
    made = await _make_jobs(api, emu, clock)
    created = {name: (await api.job(made[name]))["created"] for name in ("estimator", "queued")}
    window = await _ids(api, created_after=created["estimator"], created_before=created["queued"])
    assert window == [made["in_session"]]
    assert await _ids(api, sort="ASC") == [
        made["sampler_a"],
        made["estimator"],
        made["in_session"],
        made["queued"],
    ]


async def test_list_paging(api: Client, emu: Emulator, clock: ManualClock) -> None:
    """limit/offset page through the list; count stays the total."""
    made = await _make_jobs(api, emu, clock)
    page = await api.call("GET", "/v1/jobs", params={"limit": "2", "offset": "1"})
    assert [job["id"] for job in page.body["jobs"]] == [made["in_session"], made["estimator"]]
    assert (page.body["count"], page.body["offset"], page.body["limit"]) == (4, 1, 2)
    beyond = await api.call("GET", "/v1/jobs", params={"offset": "10"})
    assert (beyond.body["jobs"], beyond.body["count"]) == ([], 4)


@pytest.mark.parametrize(
    ("params", "limit", "offset"),
    [
        ({"limit": "0"}, 200, 0),
        ({"limit": "201"}, 200, 0),
        ({"limit": "abc"}, 200, 0),
        ({"limit": "200"}, 200, 0),
        ({"limit": "1"}, 1, 0),
        ({"offset": "-1"}, 200, 0),
        ({"offset": "x"}, 200, 0),
    ],
)
async def test_out_of_range_paging_uses_defaults(
    api: Client, params: dict[str, str], limit: int, offset: int
) -> None:
    """Out-of-range or malformed limit/offset silently fall back to the defaults."""
    reply = await api.call("GET", "/v1/jobs", params=params)
    assert reply.status == 200
    assert (reply.body["limit"], reply.body["offset"]) == (limit, offset)


@pytest.mark.parametrize(
    "params",
    [
        {"pending": "maybe"},
        {"sort": "UP"},
        {"created_after": "yesterday"},
        {"program": "p" * 64},
        {"exclude_params": "2"},
    ],
)
async def test_invalid_list_filters_are_400(api: Client, params: dict[str, str]) -> None:
    """Malformed filters answer 400 with an IBM body."""
    assert_ibm_error(await api.call("GET", "/v1/jobs", params=params), 400, "bad_request")
