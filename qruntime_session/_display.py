"""Notebook and terminal display: rich reprs for jobs, sessions and results, and a progress
display for ``wait_all`` / ``as_completed``.

Everything here reads what an object already holds -- a repr never sends a request -- and
shows ids, statuses, backends and shapes only: never a token, an API key or a service CRN.
The module imports nothing from the rest of the SDK but the models, so any class may use its
mixins without an import cycle.
"""

from __future__ import annotations

import collections
import html
import importlib
import sys
import warnings
from collections.abc import Iterable, Mapping
from typing import IO, Any

from ._models import JobInfo, JobStatus

__all__ = [
    "JobDisplay",
    "ProgressDisplay",
    "ResultDisplay",
    "SessionDisplay",
    "job_html",
    "result_html",
    "session_html",
]

#: Colours of the status badges (final statuses stand out; the rest are neutral).
_COLOURS = {
    JobStatus.COMPLETED: "#1e7d32",
    JobStatus.FAILED: "#b3261e",
    JobStatus.CANCELLED: "#8a6d00",
    JobStatus.CANCELLED_RAN_TOO_LONG: "#8a6d00",
}
_MAX_COUNTS = 8  # outcomes listed in a sampler result's summary
_MAX_VALUES = 12  # values of an array shown in full


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _badge(status: str, colour: str = "#555") -> str:
    return (
        f'<span style="background:{colour};color:#fff;border-radius:3px;'
        f'padding:0 5px;font-size:90%">{_e(status)}</span>'
    )


def _status_badge(status: JobStatus | None) -> str:
    if status is None:
        return _badge("not polled yet", "#777")
    return _badge(status.value, _COLOURS.get(status, "#555"))


def _table(title: str, rows: Iterable[tuple[str, str]]) -> str:
    body = "".join(
        f'<tr><th style="text-align:left;padding-right:1em">{_e(name)}</th>'
        f'<td style="text-align:left">{value}</td></tr>'
        for name, value in rows
    )
    return f"<div><strong>{_e(title)}</strong><table>{body}</table></div>"


def _code(value: object) -> str:
    return f"<code>{_e(value)}</code>"


def job_html(job: Any) -> str:
    """An HTML summary of a job handle, from what it last saw (no request is sent).

    Args:
        job: A [`Job`][qruntime_session.Job] (or any object with its ``id``,
            ``session_id``, ``program_id`` and ``last_info`` attributes).

    Returns:
        An HTML fragment: id, status, program, backend, session, creation time, and the
        reason of a failed or cancelled job.
    """
    info: JobInfo | None = job.last_info
    rows = [("id", _code(job.id)), ("status", _status_badge(info.status if info else None))]
    program = job.program_id or (info.program_id if info else None)
    if program:
        rows.append(("program", _code(program)))
    if info is not None and info.backend:
        rows.append(("backend", _code(info.backend)))
    if job.session_id:
        rows.append(("session", _code(job.session_id)))
    if info is not None:
        if info.created is not None:
            rows.append(("created", _e(info.created.isoformat(timespec="seconds"))))
        state = info.state
        if state.reason:
            code = f" (code {state.reason_code})" if state.reason_code is not None else ""
            rows.append(("reason", _e(f"{state.reason}{code}")))
    return _table("Job", rows)


def session_html(session: Any) -> str:
    """An HTML summary of a session handle (no request is sent).

    Args:
        session: A [`Session`][qruntime_session.Session].

    Returns:
        An HTML fragment: id, backend, mode, the handle's state, what leaving the block does,
        and the jobs submitted through it by last known status.
    """
    status = session._status.value
    rows = [
        ("id", _code(session.id) if session.id else _e("not opened yet")),
        ("backend", _code(session.backend)),
        ("mode", _code(session.mode.value)),
        ("state", _badge(status, "#1e7d32" if status == "open" else "#555")),
        ("on exit", _code(session.on_exit)),
    ]
    jobs = list(session.jobs_submitted)
    if jobs:
        counts = collections.Counter(
            job.last_info.status.value if job.last_info else "not polled yet" for job in jobs
        )
        summary = ", ".join(f"{name} {number}" for name, number in sorted(counts.items()))
        rows.append(("jobs", _e(f"{len(jobs)}: {summary}")))
    else:
        rows.append(("jobs", _e("none submitted through this handle")))
    return _table("Session", rows)


def _values(value: Any) -> str:
    """A short text for one field of a result's data: counts, or an array's values."""
    if hasattr(value, "get_counts") and hasattr(value, "num_shots"):
        counts = value.get_counts()
        top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:_MAX_COUNTS]
        listed = ", ".join(f"{outcome}: {number}" for outcome, number in top)
        more = f", … ({len(counts) - len(top)} more outcomes)" if len(counts) > len(top) else ""
        bit_shape = tuple(value.shape)
        where = f"shape {bit_shape}, " if bit_shape else ""
        return f"{where}{value.num_shots} shots of {value.num_bits} bits; counts {{{listed}{more}}}"
    shape = getattr(value, "shape", None)
    if shape is not None and hasattr(value, "tolist"):
        size = 1
        for axis in shape:
            size *= int(axis)
        if size <= _MAX_VALUES:
            return f"shape {tuple(shape)}: {value.tolist()}"
        return f"shape {tuple(shape)} ({size} values)"
    return repr(value)


def _pub_rows(index: int, pub: Any) -> list[tuple[str, str]]:
    data = pub.data
    rows = [
        (f"pub {index}.{name}" if index >= 0 else name, _e(_values(value)))
        for name, value in data.items()
    ]
    shots = pub.metadata.get("shots") if isinstance(pub.metadata, Mapping) else None
    precision = pub.metadata.get("target_precision") if isinstance(pub.metadata, Mapping) else None
    extra = []
    if shots is not None:
        extra.append(f"{shots} shots")
    if precision is not None:
        extra.append(f"target precision {precision}")
    if extra:
        rows.append((f"pub {index} metadata" if index >= 0 else "metadata", _e(", ".join(extra))))
    return rows


def result_html(result: Any) -> str:
    """An HTML summary of a primitive result or of one pub's result.

    Args:
        result: A [`PrimitiveResult`][qruntime_session.primitives.PrimitiveResult] or
            [`PubResult`][qruntime_session.primitives.PubResult].

    Returns:
        An HTML fragment: each pub's data fields (a sampler's counts, most frequent first; an
        estimator's values, or their shape when there are many) and shots or precision.
    """
    if hasattr(result, "data"):
        return _table(type(result).__name__, _pub_rows(-1, result))
    rows: list[tuple[str, str]] = []
    pubs = list(result)
    for index, pub in enumerate(pubs):
        rows += _pub_rows(index, pub)
    title = f"{type(result).__name__}: {len(pubs)} pub{'s' if len(pubs) != 1 else ''}"
    return _table(title, rows)


class JobDisplay:
    """Gives [`Job`][qruntime_session.Job] a rich repr in notebooks (``_repr_html_``)."""

    __slots__ = ()

    def _repr_html_(self) -> str:
        return job_html(self)


class SessionDisplay:
    """Gives [`Session`][qruntime_session.Session] a rich repr in notebooks (``_repr_html_``)."""

    __slots__ = ()

    def _repr_html_(self) -> str:
        return session_html(self)


class ResultDisplay:
    """Gives primitive results a rich repr in notebooks (``_repr_html_``)."""

    __slots__ = ()

    def _repr_html_(self) -> str:
        return result_html(self)


def _status_text(counts: Mapping[JobStatus, int]) -> str:
    return ", ".join(f"{status.value} {number}" for status, number in counts.items() if number)


class ProgressDisplay:
    """The progress display of ``wait_all(..., progress=True)`` and ``as_completed``.

    With tqdm installed it is a tqdm bar (``tqdm.auto``: a widget in a notebook that has
    ipywidgets, text otherwise); without, one line of text on ``stream`` (standard error by
    default) rewritten in place after each poll, as ``jobs 7/10 final (Completed 6, Failed 1,
    Running 3), 12 polls``.

    Args:
        total: The number of jobs waited on.
        stream: Where the text display writes (default ``sys.stderr``); ignored by tqdm.
        use_tqdm: ``None`` (default): tqdm when it is installed; ``False``: always text.
    """

    def __init__(
        self, total: int, *, stream: IO[str] | None = None, use_tqdm: bool | None = None
    ) -> None:
        self.total = total
        self._stream = stream
        self._bar: Any = None
        self._width = 0
        self._closed = False
        if use_tqdm is not False:
            self._bar = _tqdm_bar(total)

    @property
    def uses_tqdm(self) -> bool:
        """Whether the display is a tqdm bar."""
        return self._bar is not None

    def __call__(self, progress: Any) -> None:
        """Show one poll's progress.

        Args:
            progress: The [`WaitProgress`][qruntime_session.WaitProgress] of the poll.
        """
        if self._closed:
            return
        if self._bar is not None:
            self._bar.update(progress.done - self._bar.n)
            self._bar.set_postfix_str(_status_text(progress.counts), refresh=True)
            return
        line = (
            f"jobs {progress.done}/{progress.total} final ({_status_text(progress.counts)}), "
            f"{progress.polls} poll{'s' if progress.polls != 1 else ''}"
        )
        stream = self._stream if self._stream is not None else sys.stderr
        stream.write("\r" + line.ljust(self._width))
        stream.flush()
        self._width = max(self._width, len(line))

    def close(self, *, done: int | None = None) -> None:
        """End the display (the bar closes; the text line ends with a newline).

        Args:
            done: How many jobs were final in the end, when known: a bar that no poll moved
                (every job was already final) is brought up to it before closing.
        """
        if self._closed:
            return
        self._closed = True
        if self._bar is not None:
            if done is not None and done > self._bar.n:
                self._bar.update(done - self._bar.n)
            self._bar.close()
        elif self._width:
            stream = self._stream if self._stream is not None else sys.stderr
            stream.write("\n")
            stream.flush()


def _tqdm_bar(total: int) -> Any:
    """A ``tqdm.auto`` bar, or ``None`` when tqdm is not installed."""
    with warnings.catch_warnings():
        # tqdm.auto warns in a notebook without ipywidgets, then falls back to text.
        warnings.simplefilter("ignore")
        try:
            auto = importlib.import_module("tqdm.auto")
        except ImportError:
            return None
        return auto.tqdm(total=total, desc="jobs", unit="job")
