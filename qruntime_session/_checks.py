"""The one place that checks ids and numbers given by the user (and ids used in URL paths).

Everything here raises ``InvalidInputError`` (also a
``ValueError`` and a ``TypeError``) before any request is sent.
"""

from __future__ import annotations

import math
import re
from urllib.parse import quote

from .errors import InvalidInputError

__all__ = [
    "MAX_ID_LENGTH",
    "check_deadline",
    "check_id",
    "check_non_negative",
    "check_positive",
    "check_positive_int",
    "is_safe_id",
    "path_segment",
]

#: Longest id accepted (IBM's session ids are at most 500 characters in its descriptions).
MAX_ID_LENGTH = 500
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_safe_id(value: object) -> bool:
    """True for a job or session id that can stand alone in a URL path segment.

    Letters, digits and ``. _ : -``, starting with a letter or digit (so never ``.`` or
    ``..``), at most ``MAX_ID_LENGTH`` characters. No ``/``, ``?``, ``#``, ``%`` or space.
    """
    return (
        isinstance(value, str) and len(value) <= MAX_ID_LENGTH and _ID.fullmatch(value) is not None
    )


def check_id(value: object, what: str) -> str:
    """``value`` if it is a safe id (see ``is_safe_id``), else ``InvalidInputError``."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"{what} must be a non-empty string, not {type(value).__name__}")
    if not is_safe_id(value):
        raise InvalidInputError(
            f"{what} {value[:40]!r} is not a valid id (letters, digits and . _ : - only, "
            f"at most {MAX_ID_LENGTH} characters)"
        )
    return value


def path_segment(value: str) -> str:
    """``value`` percent-encoded for one URL path segment (defence in depth after checking)."""
    if not is_safe_id(value):
        raise InvalidInputError(f"{value[:40]!r} cannot be used as an id in a URL path")
    return quote(value, safe="")


def check_positive_int(value: object, what: str) -> int:
    """An ``int`` (not ``bool``) ``>= 1``."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInputError(f"{what} must be an integer, not {type(value).__name__}")
    if value < 1:
        raise InvalidInputError(f"{what} must be at least 1, not {value}")
    return value


def check_non_negative(value: object, what: str, *, allow_inf: bool = False) -> float:
    """A real number ``>= 0`` (not NaN; infinite only with ``allow_inf``)."""
    if not _is_number(value):
        raise InvalidInputError(f"{what} must be a number, not {type(value).__name__}")
    number = float(value)  # type: ignore[arg-type]
    if math.isnan(number) or number < 0 or (math.isinf(number) and not allow_inf):
        raise InvalidInputError(f"{what} must be a finite number >= 0, not {value!r}")
    return number


def check_positive(value: object, what: str, *, allow_inf: bool = False) -> float:
    """A real number ``> 0`` (not NaN; infinite only with ``allow_inf``)."""
    number = check_non_negative(value, what, allow_inf=allow_inf)
    if number <= 0:
        raise InvalidInputError(f"{what} must be a number > 0, not {value!r}")
    return number


def check_deadline(value: object, what: str = "timeout") -> float | None:
    """A wait's ``timeout``: ``None`` (no limit) or a finite number of seconds ``>= 0``."""
    if value is None:
        return None
    return check_non_negative(value, what)
