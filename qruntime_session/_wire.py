"""JSON on the wire to and from the SDK's values. The API's field names live only here.

Parsers are tolerant: unknown fields are kept in ``raw``, a missing optional field is ``None``,
and a value of an unexpected type is dropped rather than crashing the caller.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ._checks import is_safe_id
from ._models import (
    JobInfo,
    JobMetrics,
    JobState,
    JobStatus,
    SessionDetails,
    SessionMode,
    SessionState,
)
from .errors import ErrorDetail, InvalidInputError

__all__ = [
    "MAX_JSON_DEPTH",
    "ParsedError",
    "check_json_params",
    "create_job_body",
    "create_session_body",
    "is_nonempty_str",
    "job_info_from_api",
    "job_metrics_from_api",
    "loads",
    "parse_error_body",
    "session_details_from_api",
    "update_session_body",
]


#: Deepest nesting accepted in JSON, received or sent (the API's own bodies nest < 10 deep).
MAX_JSON_DEPTH = 200


# -- the JSON boundary --------------------------------------------------------------------


def _depth_exceeds(value: object, limit: int) -> bool:
    """Whether containers nest deeper than ``limit`` in ``value`` (iterative; no recursion)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def loads(raw: bytes | str) -> Any:
    """Parse a JSON document from the network: the one place the package does so.

    Every way parsing can fail becomes a ``ValueError``: malformed text, invalid UTF-8,
    nesting deep enough to exhaust the parser (``RecursionError``) or deeper than
    ``MAX_JSON_DEPTH``, and numbers Python refuses (``OverflowError``, over-long integers).
    """
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError, OverflowError, MemoryError) as exc:
        raise ValueError(f"the body is not readable JSON ({type(exc).__name__})") from None
    # Nesting deeper than the limit needs more than that many brackets: count them (in C)
    # before walking the document, so ordinary bodies are never walked.
    if isinstance(raw, bytes):
        brackets = raw.count(b"[") + raw.count(b"{")
    else:
        brackets = raw.count("[") + raw.count("{")
    if brackets > MAX_JSON_DEPTH and _depth_exceeds(data, MAX_JSON_DEPTH):
        raise ValueError(f"the body nests JSON deeper than {MAX_JSON_DEPTH} levels")
    return data


# -- request bodies (exactly the seed's payloads) -----------------------------------------


def create_session_body(backend: str, mode: SessionMode) -> dict[str, Any]:
    """The seed's createSession payload."""
    return {"backend": backend, "mode": mode.value}


def create_job_body(
    program_id: str,
    backend: str,
    session_id: str,
    params: Mapping[str, Any],
    tags: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The seed's runJobInSession payload; ``tags`` is added only when the caller gave some."""
    body: dict[str, Any] = {
        "program_id": program_id,
        "backend": backend,
        "session_id": session_id,
        "params": dict(params),
    }
    if tags:
        body["tags"] = list(tags)
    return body


def update_session_body(*, accepting_jobs: bool) -> dict[str, Any]:
    return {"accepting_jobs": accepting_jobs}


def is_nonempty_str(value: object) -> bool:
    """True for a string with something other than white space (runtime check of user input)."""
    return isinstance(value, str) and bool(value.strip())


def check_json_params(params: object) -> dict[str, Any]:
    """Check that ``params`` is a JSON object of JSON-serialisable values, before sending.

    Returns a plain ``dict`` copy. Raises ``InvalidInputError`` naming the first bad value.
    """
    if not isinstance(params, Mapping):
        raise InvalidInputError(
            "params must be a JSON object (a mapping with string keys), "
            f"not {type(params).__name__}"
        )
    _check_json_value(params, "params")
    return dict(params)


_LEAVE = -1  # a depth that marks "leaving this container" on the walk's stack

Trail = tuple[Any, ...] | None  # (parent trail, key or index): where a value sits, made lazily


def _where(root_where: str, trail: Trail) -> str:
    keys: list[Any] = []
    while trail is not None:
        trail, key = trail
        keys.append(key)
    return root_where + "".join(f"[{key!r}]" for key in reversed(keys))


def _check_json_value(root: object, root_where: str) -> None:
    """Walk ``root`` without recursion: JSON types only, finite floats, no cycles, bounded depth.

    The path of a value is built only to name it in an error; a container is "on the path"
    from when it is entered until its last child was checked (so a shared, acyclic value is
    fine and a cycle is not).
    """
    on_path: set[int] = set()
    stack: list[tuple[object, int, Trail]] = [(root, 1, None)]
    while stack:
        value, depth, trail = stack.pop()
        if depth == _LEAVE:
            on_path.discard(value)
            continue
        if value is None or isinstance(value, bool | str | int):
            continue
        if isinstance(value, float):
            if not math.isfinite(value):
                where = _where(root_where, trail)
                raise InvalidInputError(f"{where} is {value!r}, which JSON cannot represent")
            continue
        if not isinstance(value, Mapping | list | tuple):
            raise InvalidInputError(
                f"{_where(root_where, trail)} is a {type(value).__name__}, "
                "which is not JSON-serialisable"
            )
        ident = id(value)
        if ident in on_path:
            raise InvalidInputError(
                f"{_where(root_where, trail)} contains itself (a cycle cannot be sent as JSON)"
            )
        if depth > MAX_JSON_DEPTH:
            raise InvalidInputError(
                f"params nest deeper than {MAX_JSON_DEPTH} levels at {_where(root_where, trail)}"
            )
        on_path.add(ident)
        stack.append((ident, _LEAVE, None))
        if isinstance(value, Mapping):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise InvalidInputError(
                        f"{_where(root_where, trail)} has a non-string key {key!r}"
                    )
                stack.append((item, depth + 1, (trail, key)))
        else:
            for index, item in enumerate(value):
                stack.append((item, depth + 1, (trail, index)))


# -- error bodies -------------------------------------------------------------------------


class ParsedError:
    """What could be read from an error response body."""

    __slots__ = ("body", "errors", "message", "trace_id")

    def __init__(
        self,
        errors: tuple[ErrorDetail, ...],
        trace_id: str | None,
        message: str | None,
        body: Any,
    ) -> None:
        self.errors = errors
        self.trace_id = trace_id
        self.message = message
        self.body = body


def _opt_str(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def parse_error_body(raw: bytes, content_type: str | None) -> ParsedError:
    """Read IBM's error body and the other shapes seen in the wild.

    - Runtime API: ``{"trace": …, "errors": [{"code", "message", "more_info", "solution"?}]}``
      (``code`` may be a JSON number);
    - legacy: ``{"error": {"code", "message"}}``;
    - IAM: ``{"errorCode", "errorMessage", "context": {"requestId"}}``;
    - anything else: the text itself (truncated) as the message.
    """
    text = raw.decode("utf-8", errors="replace").strip()
    data: Any = None
    if text:
        try:
            data = loads(text)
        except ValueError:
            data = None
    if isinstance(data, dict):
        items: list[ErrorDetail] = []
        trace = _opt_str(data.get("trace"))
        errors = data.get("errors")
        if isinstance(errors, list):
            for item in errors:
                if isinstance(item, dict):
                    items.append(
                        ErrorDetail(
                            code=_opt_str(item.get("code")),
                            message=_opt_str(item.get("message")),
                            more_info=_opt_str(item.get("more_info")),
                            solution=_opt_str(item.get("solution")),
                        )
                    )
        legacy = data.get("error")
        if isinstance(legacy, dict):
            items.append(
                ErrorDetail(
                    code=_opt_str(legacy.get("code")), message=_opt_str(legacy.get("message"))
                )
            )
        if "errorCode" in data or "errorMessage" in data:
            items.append(
                ErrorDetail(
                    code=_opt_str(data.get("errorCode")), message=_opt_str(data.get("errorMessage"))
                )
            )
            context = data.get("context")
            if trace is None and isinstance(context, dict):
                trace = _opt_str(context.get("requestId"))
        message = "; ".join(i.message for i in items if i.message) or None
        return ParsedError(tuple(items), trace, message, data)
    message = text[:300] or None
    return ParsedError((), None, message, text or None)


# -- responses ----------------------------------------------------------------------------


def _datetime(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _float(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:  # an integer beyond the float range
            return None
    return None


def _bool(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _mapping(value: object) -> Mapping[str, Any] | None:
    return value if isinstance(value, dict) else None


def _require_object(data: object, what: str) -> Mapping[str, Any]:
    if not isinstance(data, dict):
        raise ValueError(f"{what}: expected a JSON object, got {type(data).__name__}")
    return data


def _require_id(data: Mapping[str, Any], what: str) -> str:
    value = data.get("id")
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what}: the response has no string 'id'")
    return value


def response_id(data: object, what: str) -> str:
    """The ``id`` of a create response (session or job); ``ValueError`` when absent or when it
    is not an id that can be used in a URL path."""
    value = _require_id(_require_object(data, what), what)
    if not is_safe_id(value):
        raise ValueError(f"{what}: the response id {value[:40]!r} is not a valid id")
    return value


def job_state_from_api(data: object, top_status: object = None) -> JobState:
    state = data if isinstance(data, dict) else {}
    status = JobStatus.parse(state.get("status", top_status))
    code = state.get("reason_code", state.get("reasonCode"))  # legacy camelCase seen on IQP
    return JobState(
        status=status,
        reason=_opt_str(state.get("reason")) or None,
        reason_code=_int(code),
        reason_solution=_opt_str(state.get("reason_solution")) or None,
    )


def job_info_from_api(data: object) -> JobInfo:
    obj = _require_object(data, "job")
    state = job_state_from_api(obj.get("state"), obj.get("status"))
    top = JobStatus.parse(obj.get("status")) if "status" in obj else state.status
    if top is JobStatus.CANCELLED and state.reason_code == 1305:
        top = JobStatus.CANCELLED_RAN_TOO_LONG
    program = obj.get("program")
    program_id = _opt_str(program.get("id")) if isinstance(program, dict) else None
    tags = obj.get("tags")
    params = obj.get("params")
    return JobInfo(
        id=_require_id(obj, "job"),
        status=top,
        state=state,
        program_id=program_id,
        backend=_opt_str(obj.get("backend")),
        session_id=_opt_str(obj.get("session_id")),
        created=_datetime(obj.get("created")),
        cost=_int(obj.get("cost")),
        tags=tuple(t for t in tags if isinstance(t, str)) if isinstance(tags, list) else (),
        params=params if isinstance(params, dict) else None,
        user_id=_opt_str(obj.get("user_id")),
        usage=_mapping(obj.get("usage")),
        estimated_running_time_seconds=_float(obj.get("estimated_running_time_seconds")),
        raw=obj,
    )


def jobs_page_from_api(data: object) -> tuple[list[JobInfo], int | None]:
    """Items and ``count`` of ``GET /v1/jobs``."""
    obj = _require_object(data, "job list")
    jobs = obj.get("jobs")
    if not isinstance(jobs, list):
        raise ValueError("job list: the response has no 'jobs' array")
    return [job_info_from_api(j) for j in jobs], _int(obj.get("count"))


def job_metrics_from_api(data: object) -> JobMetrics:
    obj = _require_object(data, "job metrics")
    stamps = _mapping(obj.get("timestamps")) or {}
    usage = _mapping(obj.get("usage")) or {}
    return JobMetrics(
        created=_datetime(stamps.get("created")),
        running=_datetime(stamps.get("running")),
        finished=_datetime(stamps.get("finished")),
        qpu_charge_time_seconds=_float(usage.get("qpu_charge_time_seconds")),
        usage_status=_opt_str(usage.get("status")),
        circuits_execution_time_ns=_float(obj.get("circuits_execution_time_ns")),
        qiskit_version=_opt_str(obj.get("qiskit_version")),
        caller=_opt_str(obj.get("caller")),
        raw=obj,
    )


def session_details_from_api(data: object) -> SessionDetails:
    obj = _require_object(data, "session")
    mode = obj.get("mode")
    try:
        parsed_mode = SessionMode(mode) if isinstance(mode, str) else None
    except ValueError:
        parsed_mode = None
    return SessionDetails(
        id=_require_id(obj, "session"),
        state=SessionState.parse(obj.get("state")),
        accepting_jobs=_bool(obj.get("accepting_jobs")),
        mode=parsed_mode,
        backend_name=_opt_str(obj.get("backend_name")),
        state_reason=_opt_str(obj.get("state_reason")),
        max_ttl=_int(obj.get("max_ttl")),
        active_ttl=_int(obj.get("active_ttl")),
        interactive_ttl=_int(obj.get("interactive_ttl")),
        started_at=_datetime(obj.get("started_at")),
        activated_at=_datetime(obj.get("activated_at")),
        closed_at=_datetime(obj.get("closed_at")),
        last_job_started=_datetime(obj.get("last_job_started")),
        last_job_completed=_datetime(obj.get("last_job_completed")),
        elapsed_time=_float(obj.get("elapsed_time")),
        user_id=_opt_str(obj.get("user_id")),
        raw=obj,
    )
