"""Schemathesis against the emulator's own OpenAPI description (issue 8).

The emulator runs on 127.0.0.1 in a thread of its own (schemathesis calls it synchronously);
every operation of ``load_openapi()`` gets generated requests with valid credentials, and
each answer is checked for server errors and for conformance of its status, content type,
headers and body with the description: 0 failures allowed.

Only these checks run: the "schema-valid request rejected" check is left out because the
emulator, like the service, applies rules the schema cannot express (``active_ttl <=
max_ttl``, an existing session id) and answers them with a documented 400/404.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from qruntime_session.emulator import Emulator, run_emulator
from qruntime_session.emulator._app import load_openapi

EXAMPLES_PER_OPERATION = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def served() -> Iterator[Emulator]:
    ready = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        async with run_emulator() as emu:
            box["emu"], box["loop"], box["stop"] = emu, asyncio.get_running_loop(), asyncio.Event()
            ready.set()
            await box["stop"].wait()

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield box["emu"]
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set)
        thread.join(10)


SCHEMA = schemathesis.openapi.from_dict(load_openapi())
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_emulator_conforms_to_its_openapi_description(served: Emulator, operation: Any) -> None:
    headers = {
        "Authorization": f"Bearer {served.token}",
        "Service-CRN": served.service_crn,
        "IBM-API-Version": "2026-04-15",
    }
    calls: list[int] = []

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def check(case: Any) -> None:
        response = case.call(base_url=served.base_url, headers=headers, timeout=10)
        calls.append(response.status_code)
        case.validate_response(response, checks=CHECKS)

    check()
    assert calls
    assert all(status < 500 for status in calls)
