"""OpenTelemetry spans (the ``otel`` extra), checked with the SDK's in-memory exporter."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import qruntime_session as qrs
from qruntime_session import _telemetry, testing
from qruntime_session.emulator import run_emulator

PARAMS = {"pubs": [["OPENQASM 3.0; bit[2] c;", None, 16]], "version": 2}
_EXPORTER = InMemorySpanExporter()


@pytest.fixture(scope="module")
def _provider() -> None:
    """One global provider for the process (OpenTelemetry allows setting it once)."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
        trace.set_tracer_provider(provider)


@pytest.fixture
def spans(_provider: None) -> Iterator[InMemorySpanExporter]:
    _EXPORTER.clear()
    with testing.no_waiting(attempts=3):
        yield _EXPORTER
    _EXPORTER.clear()


def _named(found: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [span for span in found if span.name == name]


def _attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


async def test_session_job_and_attempt_spans(spans: InMemorySpanExporter) -> None:
    async with run_emulator() as emu:
        emu.faults.add("create_job", nth=1, status=503)
        async with qrs.RuntimeClient(
            base_url=emu.base_url, access_token=emu.token, service_crn=emu.service_crn
        ) as client:
            async with qrs.Session("ibm_fez", "batch", client=client) as session:
                job = await session.submit_job("sampler", PARAMS)
                await job.wait()
    found = spans.get_finished_spans()

    (opened,) = _named(found, "qruntime.session.open")
    assert _attrs(opened)["qruntime.session.id"] == session.id
    assert _attrs(opened)["qruntime.backend"] == "ibm_fez"
    assert _attrs(opened)["qruntime.session.mode"] == "batch"
    (closed,) = _named(found, "qruntime.session.close")
    assert _attrs(closed)["qruntime.session.exit"] == "close"

    (submit,) = _named(found, "qruntime.job.submit")
    assert _attrs(submit)["qruntime.job.id"] == job.id
    assert _attrs(submit)["qruntime.program.id"] == "sampler"
    (waited,) = _named(found, "qruntime.job.wait")
    assert _attrs(waited)["qruntime.job.status"] == "Completed"

    posts = [
        s for s in _named(found, "HTTP POST") if _attrs(s)["qruntime.operation"] == "create_job"
    ]
    assert [_attrs(s)["http.response.status_code"] for s in posts] == [503, 200]
    assert [_attrs(s)["http.request.resend_count"] for s in posts] == [0, 1]
    assert all(s.parent is not None and s.parent.span_id == submit.context.span_id for s in posts)
    assert all(_attrs(s)["url.path"] == "/api/v1/jobs" for s in posts)
    answered = [_attrs(s).get("qruntime.ibm.trace_id") for s in posts]
    assert all(answered)  # each answer's X-Request-Id (IBM's trace id), the fault's too
    assert len(set(answered)) == 2

    everything = repr([(s.name, _attrs(s), [e.attributes for e in s.events]) for s in found])
    assert emu.token not in everything
    assert emu.api_key not in everything


async def test_a_failed_attempt_is_an_error_span(spans: InMemorySpanExporter) -> None:
    async with run_emulator() as emu:
        emu.faults.add("create_session", drop="before", times=None)
        async with qrs.RuntimeClient(
            base_url=emu.base_url, access_token=emu.token, service_crn=emu.service_crn
        ) as client:
            with pytest.raises(qrs.TransportError):
                async with qrs.Session("ibm_fez", "batch", client=client):
                    pass
    found = spans.get_finished_spans()
    attempts = _named(found, "HTTP POST")
    assert attempts
    assert all(s.status.status_code is trace.StatusCode.ERROR for s in attempts)
    (opened,) = _named(found, "qruntime.session.open")
    assert opened.status.status_code is trace.StatusCode.ERROR


async def test_without_opentelemetry_calls_go_straight_through(
    monkeypatch: pytest.MonkeyPatch, spans: InMemorySpanExporter
) -> None:
    """The no-op path (as when opentelemetry-api is not installed): no spans, listeners still run."""
    monkeypatch.setattr(_telemetry, "_tracer", None)
    seen: list[tuple[int, bool]] = []

    def listener(attempt: int, error: BaseException | None) -> None:
        seen.append((attempt, error is None))

    _telemetry.add_attempt_listener(listener)
    try:
        async with run_emulator() as emu:
            async with qrs.RuntimeClient(
                base_url=emu.base_url, access_token=emu.token, service_crn=emu.service_crn
            ) as client:
                async with qrs.Session("ibm_fez", "batch", client=client):
                    pass
    finally:
        _telemetry.remove_attempt_listener(listener)
    assert spans.get_finished_spans() == ()
    assert seen == [(1, True), (1, True)]  # create, close


def test_importing_the_package_does_not_import_opentelemetry() -> None:
    code = "import sys, qruntime_session; print('opentelemetry' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "False"
