"""Reading request bodies and query strings the way the emulator's handlers all do.

A malformed field is an ``ApiError`` 400 ``bad_request`` (IBM's code for a body or query
that does not match the schema); paging numbers out of range fall back to their default.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from typing import Any

from multidict import MultiMapping

from ._clock import parse_timestamp
from ._errors import ApiError

__all__ = [
    "INT32_MAX",
    "bad",
    "integer",
    "is_date",
    "json_object",
    "query_bool",
    "query_int",
    "query_str",
    "query_time",
    "string",
]

#: The largest value of IBM's ``int32`` fields.
INT32_MAX = 2147483647
TRUE_WORDS = frozenset({"1", "t", "true"})
FALSE_WORDS = frozenset({"0", "f", "false"})


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_date(text: str) -> bool:
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def bad(message: str) -> ApiError:
    return ApiError(400, "bad_request", message)


def json_body(raw: bytes) -> Any:
    if not raw.strip():
        raise bad("The request body is missing.")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise bad("The request body is not valid JSON (or nests too deeply).") from exc


def json_object(raw: bytes) -> dict[str, Any]:
    body = json_body(raw)
    if not isinstance(body, dict):
        raise bad("The request body must be a JSON object.")
    return body


def string(
    body: Mapping[str, Any], name: str, *, required: bool, min_length: int = 1, max_length: int
) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise bad(f"{name} is required and must be a string.")
        return None
    if not isinstance(value, str):
        raise bad(f"{name} must be a string.")
    if not min_length <= len(value) <= max_length:
        raise bad(f"{name} must be {min_length} to {max_length} characters long.")
    return value


def integer(body: Mapping[str, Any], name: str, *, minimum: int, maximum: int) -> int | None:
    if name not in body:
        return None
    value = body[name]
    if not is_int(value) or not minimum <= value <= maximum:
        raise bad(f"{name} must be an integer within {minimum}..{maximum}.")
    return int(value)


def query_bool(query: MultiMapping[str], name: str, default: bool | None) -> bool | None:
    raw = query.get(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    raise bad(f"Query parameter {name} must be true or false.")


def query_int(query: MultiMapping[str], name: str, default: int, low: int, high: int) -> int:
    """Out-of-range or malformed values silently become the default (IBM's rule for paging)."""
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        return default
    return value if low <= value <= high else default


def query_str(query: MultiMapping[str], name: str, max_length: int) -> str | None:
    raw = query.get(name)
    if raw is None:
        return None
    if not 1 <= len(raw) <= max_length:
        raise bad(f"Query parameter {name} must be 1 to {max_length} characters long.")
    return raw


def query_time(query: MultiMapping[str], name: str) -> float | None:
    raw = query.get(name)
    if raw is None:
        return None
    try:
        return parse_timestamp(raw)
    except ValueError as exc:
        raise bad(f"Query parameter {name} must be an ISO 8601 date-time.") from exc
