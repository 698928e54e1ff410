"""Issue 15 item 2: the client reads no answer past ``max_response_bytes``, as sent or inflated.

The emulator's faults answer canned bytes with canned headers, so a gzip bomb, a body over
the limit and odd encodings are served from 127.0.0.1 as a hostile service would send them.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import textwrap
import zlib
from typing import Any

import attrs
import pytest

import qruntime_session as qrs
from qruntime_session import errors
from qruntime_session.emulator import DEFAULT_SERVICE_CRN, Emulator, run_emulator

LIMIT = 1024 * 1024
CRN = DEFAULT_SERVICE_CRN


def client_for(emu: Emulator, *, limit: int = LIMIT) -> qrs.RuntimeClient:
    config = qrs.ClientConfig(
        base_url=emu.base_url,
        service_crn=emu.service_crn,
        access_token=emu.token,
        retry=qrs.RetryPolicy(max_attempts=3, initial_backoff=0.01),
        max_response_bytes=limit,
    )
    return qrs.RuntimeClient(config=config)


def gzip_of_zeros(size: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(min(size, 1024 * 1024))
    parts = []
    left = size
    while left:
        take = min(left, len(block))
        parts.append(packer.compress(block[:take]))
        left -= take
    parts.append(packer.flush())
    return b"".join(parts)


def job_body(emu: Emulator, job_id: str) -> dict[str, Any]:
    return emu.job(job_id)


async def a_job(emu: Emulator, client: qrs.RuntimeClient) -> str:
    async with client.session("ibm_fez", "batch") as session:
        job = await session.submit_job("sampler", {"pubs": [["OPENQASM 3.0;", None, 8]]})
    return job.id


def test_the_limit_is_a_setting_with_a_generous_default() -> None:
    config = qrs.ClientConfig(service_crn=CRN, access_token="t")
    assert config.max_response_bytes >= 64 * 1024 * 1024


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "10"])
def test_the_limit_must_be_a_positive_int(bad: object) -> None:
    with pytest.raises(errors.ConfigurationError, match="max_response_bytes"):
        qrs.ClientConfig(service_crn=CRN, access_token="t", max_response_bytes=bad)  # type: ignore[arg-type]


async def test_a_gzip_bomb_is_refused_naming_the_operation_and_not_retried() -> None:
    async with run_emulator() as emu, client_for(emu) as client:
        emu.faults.add(
            "get_job",
            status=200,
            body=gzip_of_zeros(LIMIT + 1),
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )
        with pytest.raises(errors.ResponseTooLargeError, match=r"get_job.*once inflated"):
            await client.job("abc123").info()
        assert len(emu.requests_for("get_job")) == 1


async def test_a_body_over_the_limit_as_sent_is_refused() -> None:
    async with run_emulator() as emu, client_for(emu) as client:
        emu.faults.add("list_jobs", status=200, body=b"[" + b" " * LIMIT + b"]")
        with pytest.raises(errors.ResponseTooLargeError, match=r"list_jobs.*as sent"):
            await client.list_jobs()


@pytest.mark.parametrize("encoding", ["gzip", "deflate-zlib", "deflate-raw", "identity"])
async def test_encoded_answers_within_the_limit_are_read(encoding: str) -> None:
    async with run_emulator() as emu, client_for(emu) as client:
        job_id = await a_job(emu, client)
        plain = json.dumps(job_body(emu, job_id)).encode()
        if encoding == "gzip":
            body, header = gzip.compress(plain), "gzip"
        elif encoding == "deflate-zlib":
            body, header = zlib.compress(plain), "deflate"
        elif encoding == "deflate-raw":
            packer = zlib.compressobj(6, zlib.DEFLATED, -15)
            body, header = packer.compress(plain) + packer.flush(), "deflate"
        else:
            body, header = plain, "identity"
        emu.faults.add(
            "get_job",
            status=200,
            body=body,
            headers={"Content-Encoding": header, "Content-Type": "application/json"},
        )
        info = await client.job(job_id).info()
        assert info.id == job_id


async def test_an_answer_exactly_at_the_limit_is_read() -> None:
    async with run_emulator() as emu, client_for(emu) as client:
        job_id = await a_job(emu, client)
        plain = json.dumps(job_body(emu, job_id)).encode()
        padded = plain[:-1] + b" " * (LIMIT - len(plain)) + b"}"
        assert len(padded) == LIMIT
        emu.faults.add(
            "get_job",
            status=200,
            body=gzip.compress(padded),
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )
        assert (await client.job(job_id).info()).id == job_id


@pytest.mark.parametrize(
    ("encoding", "body"), [("br", b"\x0b\x02\x80{}\x03"), ("gzip", b"not gzip at all")]
)
async def test_an_encoding_not_asked_for_or_broken_is_the_package_error(
    encoding: str, body: bytes
) -> None:
    async with run_emulator() as emu, client_for(emu) as client:
        emu.faults.add(
            "get_job", status=200, body=body, headers={"Content-Encoding": encoding}, times=None
        )
        with pytest.raises(errors.TransportError, match="get_job"):
            await client.job("abc123").info()


async def test_the_client_asks_only_for_encodings_it_inflates() -> None:
    async with run_emulator() as emu, client_for(emu) as client:
        await client.list_jobs()
        assert emu.requests_for("list_jobs")[0].headers["Accept-Encoding"] == "gzip, deflate"


def test_evolve_sets_the_limit() -> None:
    config = qrs.ClientConfig(service_crn=CRN, access_token="t")
    assert attrs.evolve(config, max_response_bytes=5).max_response_bytes == 5


BOMB_SCRIPT = textwrap.dedent(
    """
    import asyncio, resource, struct, zlib
    import qruntime_session as qrs
    from qruntime_session import errors
    from qruntime_session.emulator import run_emulator

    def bomb(size):
        # gzip by hand: the deflate of 1 MiB of zeros, fully flushed, is the same each time
        block = bytes(1 << 20)
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)
        segment = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
        crc = 0
        for _ in range(size // len(block)):
            crc = zlib.crc32(block, crc)
        return (b"\\x1f\\x8b\\x08\\x00\\x00\\x00\\x00\\x00\\x02\\xff" + segment * (size // len(block))
                + packer.flush() + struct.pack("<II", crc, size & 0xFFFFFFFF))

    def peak_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    async def main():
        body = bomb(1024 ** 3)
        async with run_emulator() as emu:
            async with qrs.RuntimeClient(
                base_url=emu.base_url, access_token=emu.token, service_crn=emu.service_crn
            ) as client:
                await client.list_jobs()  # warm: the pool, the imports
                emu.faults.add("get_job", status=200, body=body,
                               headers={"Content-Encoding": "gzip"})
                before = peak_mb()
                try:
                    await client.job("abc123").info()
                except errors.ResponseTooLargeError as exc:
                    outcome = "REFUSED " + str(exc)[:60]
                else:
                    outcome = "READ"
                print("BOMB", len(body), outcome, "GROWTH_MB", round(peak_mb() - before, 1))

    asyncio.run(main())
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="ru_maxrss")
def test_a_one_megabyte_gzip_bomb_costs_under_64_mb() -> None:
    """1 GiB of zeros as a ~1 MB gzip answer, with the default limit: refused, and the
    process's peak RSS grows by under 64 MB (it used to inflate all of it, 3.1 GB peak)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QRUNTIME_", "QISKIT_"))}
    proc = subprocess.run(
        [sys.executable, "-c", BOMB_SCRIPT],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    line = next((x for x in proc.stdout.splitlines() if x.startswith("BOMB")), "")
    assert "REFUSED the answer to get_job" in line, proc.stdout + proc.stderr
    sent = int(line.split()[1])
    assert sent < 1_200_000
    growth = float(line.rsplit(" ", 1)[1])
    assert growth < 64, line


class _Chunked:
    """Just enough of an aiohttp response without Content-Length (chunked encoding)."""

    def __init__(self, chunks: list[bytes], encoding: str = "") -> None:
        self.status = 200
        self.content_length = None
        self.headers = {"Content-Encoding": encoding} if encoding else {}
        self.read_so_far = 0
        outer = self

        class _Content:
            async def iter_chunked(self, size: int) -> Any:
                for chunk in chunks:
                    outer.read_so_far += len(chunk)
                    yield chunk

        self.content = _Content()


async def test_a_chunked_answer_stops_at_the_limit_as_sent() -> None:
    from qruntime_session._transport import _read_body

    chunks = [b"x" * 1000] * 50
    response = _Chunked(chunks)
    with pytest.raises(errors.ResponseTooLargeError, match="as sent"):
        await _read_body(response, 10_500, "list_jobs", {})  # type: ignore[arg-type]
    assert response.read_so_far == 11_000  # stopped at the chunk past the limit
    assert await _read_body(_Chunked(chunks[:10]), 10_000, "x", {}) == b"x" * 10_000  # type: ignore[arg-type]


async def test_a_chunked_gzip_answer_is_sized_before_it_is_inflated() -> None:
    from qruntime_session._transport import _read_body

    body = gzip_of_zeros(LIMIT + 1)
    halves = [body[: len(body) // 2], body[len(body) // 2 :]]
    with pytest.raises(errors.ResponseTooLargeError, match="once inflated"):
        await _read_body(_Chunked(halves, "gzip"), LIMIT, "get_job", {})  # type: ignore[arg-type]
    plain = await _read_body(_Chunked(halves, "gzip"), LIMIT + 1, "get_job", {})  # type: ignore[arg-type]
    assert plain == bytes(LIMIT + 1)
