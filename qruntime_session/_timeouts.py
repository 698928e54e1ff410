"""HTTP timeouts as a value object (kept apart from domain deadlines such as ``Job.wait``)."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["Timeouts"]


def _positive(instance: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and not value > 0:
        raise ValueError(f"Timeouts.{attribute.name} must be a positive number of seconds or None")


@attrs.frozen(kw_only=True)
class Timeouts:
    """Per-request HTTP timeouts in seconds; ``None`` means no limit.

    ``connect`` bounds opening the connection, ``read`` bounds waiting for each chunk of the
    response, ``total`` bounds one whole attempt. ``close`` bounds the session close that
    ``Session`` sends on exit (all its attempts together), so an exit can never hang.
    """

    connect: float | None = attrs.field(default=10.0, validator=_positive)
    read: float | None = attrs.field(default=60.0, validator=_positive)
    total: float | None = attrs.field(default=None, validator=_positive)
    close: float = attrs.field(default=30.0, validator=_positive)
