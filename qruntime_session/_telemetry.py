"""Optional OpenTelemetry spans, and attempt listeners, behind one-line decorators.

The rest of the package only writes ``@traced_attempt`` / ``@traced(...)`` above a method.
With ``opentelemetry-api`` installed (the ``otel`` extra) each call
becomes a span of the ``qruntime_session`` tracer:

* ``qruntime.session.open`` / ``qruntime.session.close`` (backend, mode, session id);
* ``qruntime.job.submit`` / ``qruntime.job.wait`` (program, job id, final status);
* ``HTTP <METHOD>`` for every HTTP attempt (operation, path, status, retry count, IBM trace id).

Attributes never hold a header, a body, a query string, a token or an API key. Without
OpenTelemetry the decorators call straight through. ``opentelemetry`` is imported on the
first traced call, not when the package is imported.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

__all__ = ["add_attempt_listener", "remove_attempt_listener", "traced", "traced_attempt"]

P = ParamSpec("P")
R = TypeVar("R")

AttemptListener = Callable[[int, BaseException | None], None]
"""Called after each HTTP attempt with its number (1 = first) and its error, if any."""

_listeners: list[AttemptListener] = []
_UNSET: Any = object()
_tracer: Any = _UNSET


def add_attempt_listener(listener: AttemptListener) -> None:
    """Call ``listener(attempt, error)`` after every HTTP attempt (used by the CLI)."""
    _listeners.append(listener)


def remove_attempt_listener(listener: AttemptListener) -> None:
    """Undo ``add_attempt_listener`` (no error if it was not added)."""
    if listener in _listeners:
        _listeners.remove(listener)


_trace: Any = None  # the ``opentelemetry.trace`` module, once imported


def _get_tracer() -> Any:
    """The OpenTelemetry tracer; ``None`` when ``opentelemetry-api`` is not installed, or while
    the application has set no tracer provider (no span could be recorded: none is made)."""
    global _tracer, _trace
    if _tracer is _UNSET:
        try:
            from opentelemetry import trace
        except ImportError:
            _tracer = None
        else:
            from ._version import version

            _trace = trace
            _tracer = trace.get_tracer("qruntime_session", version())
    if _tracer is None or (
        _trace is not None and isinstance(_trace.get_tracer_provider(), _trace.ProxyTracerProvider)
    ):
        return None
    return _tracer


def _set_attributes(span: Any, values: Mapping[str, Any]) -> None:
    for key, value in values.items():
        if value is not None:
            span.set_attribute(key, value)


def _enum_value(value: Any) -> Any:
    return getattr(value, "value", value)


# -- what each span records ------------------------------------------------------------------

Describe = Callable[[Any, tuple[Any, ...], dict[str, Any]], Mapping[str, Any]]
Outcome = Callable[[Any, Any], Mapping[str, Any]]


def _session_call(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Mapping[str, Any]:
    how = args[0] if args else kwargs.get("how")
    return {
        "qruntime.session.id": getattr(obj, "id", None),
        "qruntime.backend": getattr(obj, "backend", None),
        "qruntime.session.mode": _enum_value(getattr(obj, "mode", None)),
        "qruntime.session.exit": how,
    }


def _session_after(obj: Any, result: Any) -> Mapping[str, Any]:
    return {"qruntime.session.id": getattr(obj, "id", None)}


def _submit_call(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Mapping[str, Any]:
    program = args[0] if args else kwargs.get("program_id")
    return {
        "qruntime.session.id": getattr(obj, "id", None),
        "qruntime.backend": getattr(obj, "backend", None),
        "qruntime.program.id": program if isinstance(program, str) else None,
    }


def _submit_after(obj: Any, result: Any) -> Mapping[str, Any]:
    return {"qruntime.job.id": getattr(result, "id", None)}


def _wait_call(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Mapping[str, Any]:
    timeout = args[0] if args else kwargs.get("timeout")
    return {
        "qruntime.job.id": getattr(obj, "id", None),
        "qruntime.session.id": getattr(obj, "session_id", None),
        "qruntime.wait.timeout": float(timeout) if isinstance(timeout, int | float) else None,
    }


def _wait_after(obj: Any, result: Any) -> Mapping[str, Any]:
    return {"qruntime.job.status": _enum_value(getattr(result, "status", None))}


SPANS: dict[str, tuple[Describe, Outcome]] = {
    "qruntime.session.open": (_session_call, _session_after),
    "qruntime.session.close": (_session_call, _session_after),
    "qruntime.job.submit": (_submit_call, _submit_after),
    "qruntime.job.wait": (_wait_call, _wait_after),
}


def traced(
    name: str,
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Decorate an async method so that each call is the span ``name`` (see ``SPANS``)."""
    describe, outcome = SPANS[name]

    def decorate(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(fn)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            tracer = _get_tracer()
            if tracer is None:
                return await fn(*args, **kwargs)
            obj, rest = args[0], args[1:]
            with tracer.start_as_current_span(name) as span:
                _set_attributes(span, describe(obj, rest, kwargs))
                result = await fn(*args, **kwargs)
                _set_attributes(span, outcome(obj, result))
                return result

        return wrapper

    return decorate


def _trace_id_of(source: Any) -> str | None:
    headers = getattr(source, "headers", None)
    if headers is not None:
        value = headers.get("IBM-Trace") or headers.get("X-Request-Id")
        return str(value) if value else None
    trace_id = getattr(source, "trace_id", None)
    return str(trace_id) if trace_id else None


def traced_attempt(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Decorate ``Transport._send_once(self, method, url, ..., *, attempt, operation)``: one
    ``HTTP <METHOD>`` span per attempt, and the attempt listeners."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        tracer = _get_tracer()
        if tracer is None and not _listeners:  # nobody is watching: no bookkeeping
            return await fn(*args, **kwargs)
        method, url = args[1], args[2]
        operation, attempt = kwargs["operation"], kwargs["attempt"]
        attempt = attempt if isinstance(attempt, int) else 0
        try:
            if tracer is None:
                result = await fn(*args, **kwargs)
            else:
                with tracer.start_as_current_span(f"HTTP {method}") as span:
                    parts = urlsplit(str(url))
                    _set_attributes(
                        span,
                        {
                            "http.request.method": method,
                            "server.address": parts.hostname,
                            "server.port": parts.port,
                            "url.path": parts.path,  # never the query: it may carry secrets
                            "qruntime.operation": operation or None,
                            "http.request.resend_count": attempt - 1 if attempt else None,
                        },
                    )
                    result = await fn(*args, **kwargs)
                    _set_attributes(
                        span,
                        {
                            "http.response.status_code": getattr(result, "status", None),
                            "qruntime.ibm.trace_id": _trace_id_of(result),
                        },
                    )
        except Exception as exc:
            for listener in _listeners:
                listener(attempt, exc)
            raise
        for listener in _listeners:
            listener(attempt, None)
        return result

    return wrapper
