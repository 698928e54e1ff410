"""Issue 8, defect 9: the emulator refuses malformed input with 400, logs every request with
its real status, rejects HTTP/0.9 request lines and closes idle connections."""

from __future__ import annotations

import asyncio
import io

from qruntime_session.emulator import Emulator, EmulatorConfig, run_emulator

from .emu_support import Client, assert_ibm_error

DEEP = "[" * 100_000 + "]" * 100_000


async def test_mode_of_the_wrong_type_is_a_400(api: Client) -> None:
    reply = await api.call("POST", "/v1/sessions", json_body={"mode": {}, "backend": "ibm_fez"})
    assert_ibm_error(reply, 400)


async def test_log_level_of_the_wrong_type_is_a_400(api: Client) -> None:
    reply = await api.call(
        "POST",
        "/v1/jobs",
        json_body={"program_id": "sampler", "backend": "ibm_fez", "params": {}, "log_level": []},
    )
    assert_ibm_error(reply, 400)


async def test_json_100000_levels_deep_is_a_400_and_logged(api: Client, emu: Emulator) -> None:
    for path in ("/v1/sessions", "/v1/jobs"):
        reply = await api.call(
            "POST", path, data=DEEP, headers={"Content-Type": "application/json"}
        )
        assert_ibm_error(reply, 400)
    assert [r.status for r in emu.requests] == [400, 400]


async def test_refused_requests_are_logged_with_their_status(api: Client, emu: Emulator) -> None:
    too_big = io.BytesIO(b"x" * (1024**2 + 10))  # over aiohttp's default client_max_size
    reply = await api.call(
        "POST", "/v1/jobs", data=too_big, headers={"Content-Type": "application/json"}
    )
    assert reply.status == 413
    unauthorized = await api.call("GET", "/v1/jobs", headers={"Authorization": None})
    assert unauthorized.status == 401
    assert [(r.operation, r.status) for r in emu.requests] == [
        ("create_job", 413),
        ("list_jobs", 401),
    ]


async def _raw(emu: Emulator, payload: bytes) -> bytes:
    host, port = emu.origin.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(payload)
        await writer.drain()
        async with asyncio.timeout(5):
            return await reader.read()
    finally:
        writer.close()


async def test_a_request_line_without_version_is_rejected(emu: Emulator) -> None:
    answer = await _raw(emu, b"GET /api/v1/versions\r\n\r\n")
    assert answer.startswith(b"HTTP/1.0 400 ")
    assert b'"versions"' not in answer
    assert [r.status for r in emu.requests] == [400]


async def test_idle_and_slow_connections_are_closed_after_the_idle_timeout() -> None:
    async with run_emulator(EmulatorConfig(idle_timeout=0.3)) as emu:
        silent, partial = await asyncio.gather(
            _raw(emu, b""), _raw(emu, b"GET /api/v1/versions HTTP/1.1\r\nHost: x\r\n")
        )
    assert silent == b""
    assert partial == b""
