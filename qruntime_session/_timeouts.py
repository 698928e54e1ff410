"""HTTP timeouts as a value object (kept apart from domain deadlines such as ``Job.wait``)."""

from __future__ import annotations

from typing import Any

import attrs

from ._checks import check_positive

__all__ = ["Timeouts"]


def _positive(instance: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None:
        check_positive(value, f"Timeouts.{attribute.name}")


@attrs.frozen(kw_only=True)
class Timeouts:
    """Per-request HTTP timeouts in seconds; ``None`` means no limit.

    ``connect`` bounds opening the connection, ``read`` bounds waiting for each chunk of the
    response, ``total`` bounds one whole attempt. ``close`` bounds the session close that
    ``Session`` sends on exit (all its attempts together), so an exit can never hang. ``settle``
    bounds how long a job submission that failed ambiguously (a timeout, a broken connection)
    is looked for before the client gives up without sending it again.
    """

    connect: float | None = attrs.field(default=10.0, validator=_positive)
    """Seconds to open the connection."""
    read: float | None = attrs.field(default=60.0, validator=_positive)
    """Seconds to wait for each chunk of the response."""
    total: float | None = attrs.field(default=None, validator=_positive)
    """Seconds for one whole attempt (``None``: no limit beyond ``connect`` and ``read``)."""
    close: float = attrs.field(default=30.0, validator=_positive)
    """Seconds for the session close sent on exit, all its attempts together."""
    settle: float = attrs.field(default=20.0, validator=_positive)
    """Seconds an ambiguous job submission is looked for in the session's job list.

    After that the client gives up with
    [`SubmissionUnknownError`][qruntime_session.errors.SubmissionUnknownError] (see
    the retries and timeouts guide).
    """
