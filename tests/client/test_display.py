"""Notebook display (issue 16): rich reprs for jobs, sessions and results that send no request
and show no secret; and the opt-in progress display of wait_all / as_completed."""

from __future__ import annotations

import io
import sys
import types
from collections.abc import AsyncIterator
from typing import Any

import pytest

import qruntime_session as qrs
from qruntime_session import errors
from qruntime_session._display import ProgressDisplay
from qruntime_session.emulator import Emulator, EmulatorConfig, run_emulator

BELL = (
    'OPENQASM 3.0; include "stdgates.inc"; bit[2] meas; qubit[2] q; '
    "rz(pi/2) q[0]; sx q[0]; rz(pi/2) q[0]; rz(pi/2) q[1]; sx q[1]; rz(pi/2) q[1]; "
    "cz q[0], q[1]; rz(pi/2) q[1]; sx q[1]; rz(pi/2) q[1]; meas = measure q;"
)
STATE = BELL.replace("bit[2] meas; ", "").replace(" meas = measure q;", "")
FAST = qrs.PollPolicy(initial=0.01, max_interval=0.02, jitter=0.0, session_interval=0.01)


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with run_emulator(EmulatorConfig(queue_seconds=0.02, run_seconds=0.02)) as e:
        yield e


def client_for(emu: Emulator) -> qrs.RuntimeClient:
    return qrs.RuntimeClient(
        base_url=emu.base_url, access_token=emu.token, service_crn=emu.service_crn, poll=FAST
    )


def assert_no_secrets(text: str, emu: Emulator) -> None:
    assert emu.token not in text
    assert emu.service_crn not in text
    assert "crn:" not in text


async def test_job_session_and_result_reprs_send_nothing_and_show_no_secret(
    emu: Emulator,
) -> None:
    async with client_for(emu) as client:
        session = client.session("ibm_fez", "batch")
        before_open = session._repr_html_()
        assert "not opened yet" in before_open
        assert "ibm_fez" in before_open
        async with session:
            sampling = await session.run_sampler([BELL], shots=256)
            fresh = sampling._repr_html_()
            assert sampling.id in fresh
            assert "not polled yet" in fresh
            estimating = await session.run_estimator([(STATE, ["ZZ", "XX"])])
            sampled = await sampling.result()
            estimated = await estimating.result()
            requests = len(emu.requests)
            job_view = sampling._repr_html_()
            open_view = session._repr_html_()
            sampled_view = sampled._repr_html_()
            pub_view = sampled[0]._repr_html_()
            estimated_view = estimated._repr_html_()
            assert len(emu.requests) == requests  # a repr never sends a request
        closed_view = session._repr_html_()
    assert "Completed" in job_view
    assert "sampler" in job_view
    assert session.id is not None
    assert session.id in job_view
    assert session.id in open_view
    assert ">open<" in open_view
    assert "Completed 2" in open_view
    assert ">closed<" in closed_view
    assert "PrimitiveResult: 1 pub" in sampled_view
    assert "256 shots of 2 bits" in sampled_view
    counts = sampled[0].data.meas.get_counts()
    top = max(counts, key=lambda outcome: (counts[outcome], outcome))
    assert f"{top}: {counts[top]}" in sampled_view
    assert "meas" in pub_view
    assert "shape (2,): [" in estimated_view
    for view in (fresh, job_view, open_view, closed_view, sampled_view, estimated_view):
        assert_no_secrets(view, emu)
        assert "<script" not in view


async def test_a_failed_job_shows_its_reason_escaped(emu: Emulator) -> None:
    from qruntime_session.emulator import JobOutcome

    emu.plan_outcome(JobOutcome.failed("bad <circuit> & more", reason_code=1517))
    async with client_for(emu) as client, client.session("ibm_fez", "batch") as session:
        job = await session.submit_job("sampler", {"pubs": [], "version": 2})
        await job.wait()
    view = job._repr_html_()
    assert "Failed" in view
    assert "bad &lt;circuit&gt; &amp; more (code 1517)" in view


async def test_wait_all_progress_true_shows_a_text_line_on_stderr(
    emu: Emulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)  # as if tqdm were not installed
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    async with client_for(emu) as client, client.session("ibm_fez", "batch") as session:
        for _ in range(3):
            await session.submit_job("sampler", {"pubs": [], "version": 2})
        capsys.readouterr()
        finals = await session.wait_all(progress=True)
    assert [info.status for info in finals] == [qrs.JobStatus.COMPLETED] * 3
    err = capsys.readouterr().err
    assert err.endswith("\n")
    last = err.rstrip("\n").split("\r")[-1].strip()
    assert last.startswith("jobs 3/3 final (Completed 3), ")


async def test_progress_is_off_by_default_and_rejects_junk(
    emu: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    async with client_for(emu) as client, client.session("ibm_fez", "batch") as session:
        job = await session.submit_job("sampler", {"pubs": [], "version": 2})
        capsys.readouterr()
        await session.wait_all()
        assert capsys.readouterr().err == ""
        bad: Any = "yes"
        with pytest.raises(errors.InvalidInputError, match="progress"):
            await session.wait_all([job], progress=bad)


class FakeTqdm:
    made: list[FakeTqdm] = []

    def __init__(self, *, total: int, desc: str, unit: str) -> None:
        self.total = total
        self.n = 0
        self.postfix = ""
        self.closed = False
        FakeTqdm.made.append(self)

    def update(self, step: int) -> None:
        self.n += step

    def set_postfix_str(self, text: str, refresh: bool = True) -> None:
        self.postfix = text

    def close(self) -> None:
        self.closed = True


async def test_progress_uses_tqdm_when_installed(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    auto = types.ModuleType("tqdm.auto")
    auto.tqdm = FakeTqdm  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tqdm", types.ModuleType("tqdm"))
    monkeypatch.setitem(sys.modules, "tqdm.auto", auto)
    FakeTqdm.made.clear()
    async with client_for(emu) as client, client.session("ibm_fez", "batch") as session:
        jobs = [await session.submit_job("sampler", {"pubs": [], "version": 2}) for _ in range(2)]
        seen = [info.id async for info in session.as_completed(jobs, progress=True)]
    assert sorted(seen) == sorted(job.id for job in jobs)
    (bar,) = FakeTqdm.made
    assert bar.total == 2
    assert bar.n == 2
    assert bar.postfix == "Completed 2"
    assert bar.closed
    assert capsys.readouterr().err == ""
    FakeTqdm.made.clear()  # all already final: no poll moves the bar; closing brings it up
    assert len([info async for info in qrs.as_completed(jobs, progress=True)]) == 2
    (again,) = FakeTqdm.made
    assert again.n == 2
    assert again.closed


def test_text_display_rewrites_one_line_and_ends_it() -> None:
    stream = io.StringIO()
    display = ProgressDisplay(4, stream=stream, use_tqdm=False)
    assert not display.uses_tqdm
    counts = {qrs.JobStatus.COMPLETED: 1, qrs.JobStatus.RUNNING: 3}
    display(qrs.WaitProgress(done=1, total=4, counts=counts, polls=1))
    counts = {qrs.JobStatus.COMPLETED: 4}
    display(qrs.WaitProgress(done=4, total=4, counts=counts, polls=7))
    display.close()
    display.close()
    text = stream.getvalue()
    assert text.count("\n") == 1
    first, second = text.split("\r")[1:]
    assert first == "jobs 1/4 final (Completed 1, Running 3), 1 poll"
    assert second.rstrip() == "jobs 4/4 final (Completed 4), 7 polls"
    assert len(second) == len(first) + 1  # padded over the longer line, then the newline
