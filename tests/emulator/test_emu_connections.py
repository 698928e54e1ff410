"""Issue 15 item 5: the served emulator closes idle and slow connections, and caps how many
it serves (short timeouts keep these fast: the defaults are 30 s idle, 10 s for headers,
30 s for a body, 1,024 connections)."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from qruntime_session.emulator import Emulator, EmulatorConfig, run_emulator

IDLE, HEAD, BODY = 0.6, 0.3, 0.4
COUNT = 20


def short() -> EmulatorConfig:
    return EmulatorConfig(idle_timeout=IDLE, header_timeout=HEAD, body_timeout=BODY)


async def connect(emu: Emulator) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = emu.origin.removeprefix("http://").rsplit(":", 1)
    return await asyncio.open_connection(host, int(port))


async def held_for(
    emu: Emulator,
    first: bytes,
    trickle: bytes | None = None,
    *,
    limit: float = 5.0,
    drip_for: float = float("inf"),
) -> tuple[float, bytes]:
    """Seconds until the server closes a connection that sent ``first`` and then
    ``trickle`` every 0.1 s for ``drip_for`` seconds (``limit`` if it never closes), and what
    it answered."""
    reader, writer = await connect(emu)
    start = time.monotonic()

    async def drip() -> None:
        while trickle and time.monotonic() - start < drip_for:
            await asyncio.sleep(0.1)
            writer.write(trickle)
            await writer.drain()

    dripping = asyncio.ensure_future(drip())
    try:
        writer.write(first)
        async with asyncio.timeout(limit):
            answer = await reader.read()
        return time.monotonic() - start, answer
    except TimeoutError:
        return limit, b""
    except ConnectionError:
        return time.monotonic() - start, b""
    finally:
        dripping.cancel()
        writer.close()


async def many(emu: Emulator, first: bytes, trickle: bytes | None = None) -> list[float]:
    results = await asyncio.gather(*(held_for(emu, first, trickle) for _ in range(COUNT)))
    return sorted(seconds for seconds, _ in results)


async def test_silent_connections_close_after_the_idle_timeout() -> None:
    async with run_emulator(short()) as emu:
        held = await many(emu, b"")
    assert held[0] >= IDLE * 0.9, held
    assert held[-1] < IDLE + 1.5, held


async def test_half_sent_heads_close_after_the_header_timeout() -> None:
    async with run_emulator(short()) as emu:
        held = await many(emu, b"GET /api/v1/versions HTTP/1.1\r\nHost: x\r\n")
    assert held[0] >= HEAD * 0.9, held
    assert held[-1] < HEAD + 1.5, held


async def test_slowloris_headers_close_after_the_header_timeout() -> None:
    """A header line every 0.1 s keeps the connection busy but never completes the head."""
    async with run_emulator(short()) as emu:
        held = await many(emu, b"GET /api/v1/versions HTTP/1.1\r\n", b"X-Slow: 1\r\n")
        assert emu.connections.expired["head"] == COUNT
    assert held[-1] < HEAD + 1.5, held


async def test_a_trickled_body_is_answered_408_and_closed() -> None:
    head = (
        b"POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n{"
    )
    async with run_emulator(short()) as emu:
        # The drip stops a little before the body timeout: a byte that reaches the server after
        # it closed the connection makes the kernel answer with a reset, which can discard the
        # 408 before the client reads it (the emulator closes at once, without lingering).
        results = await asyncio.gather(
            *(held_for(emu, head, b" ", drip_for=BODY - 0.15) for _ in range(COUNT))
        )
        assert emu.connections.expired["body"] == COUNT
    assert all(answer.startswith(b"HTTP/1.1 408 ") for _, answer in results)
    assert max(seconds for seconds, _ in results) < BODY + 1.5


async def test_a_slow_handler_is_not_cut_by_the_timeouts() -> None:
    """No timer runs while a request is handled: a 1 s fault delay outlives every bound."""
    async with run_emulator(short()) as emu, aiohttp.ClientSession() as http:
        emu.faults.add("get_versions", delay=1.0)
        async with http.get(emu.base_url + "/v1/versions") as reply:
            assert reply.status == 200
        # and a request body that arrives in time is read whole
        async with http.post(
            emu.base_url + "/v1/sessions", data=b"{" + b" " * 100_000 + b"}"
        ) as reply:
            assert reply.status in (400, 401)  # refused for its content, not its pace


async def test_keep_alive_between_requests_is_bounded_by_the_idle_timeout() -> None:
    async with run_emulator(short()) as emu:
        reader, writer = await connect(emu)
        try:
            writer.write(b"GET /api/v1/versions HTTP/1.1\r\nHost: x\r\n\r\n")
            await writer.drain()
            first = await reader.readuntil(b"\r\n\r\n")
            assert first.startswith(b"HTTP/1.1 200 ")
            start = time.monotonic()
            async with asyncio.timeout(5):
                while await reader.read(65536):
                    pass
            assert time.monotonic() - start < IDLE + 1.5
        finally:
            writer.close()


async def test_connections_past_the_cap_are_answered_503() -> None:
    cap = 10
    config = EmulatorConfig(max_connections=cap, idle_timeout=5.0)
    async with run_emulator(config) as emu:
        held = [await connect(emu) for _ in range(cap)]
        await asyncio.sleep(0.05)
        extra_reader, extra_writer = await connect(emu)
        async with asyncio.timeout(5):
            refused = await extra_reader.read()
        extra_writer.close()
        assert refused.startswith(b"HTTP/1.1 503 ")
        assert b"Retry-After: 1" in refused
        assert emu.connections.refused == 1
        for _, writer in held:
            writer.close()
        await asyncio.sleep(0.1)
        async with aiohttp.ClientSession() as http, http.get(emu.base_url + "/v1/versions") as ok:
            assert ok.status == 200  # room again once the others left


@pytest.mark.parametrize("field", ["header_timeout", "body_timeout", "max_connections"])
def test_the_settings_are_validated(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        EmulatorConfig(**{field: 0})
