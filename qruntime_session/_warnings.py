"""The package's warning classes, and how it warns: ``warnings.warn`` plus a WARNING log line."""

from __future__ import annotations

import logging
import sys
import warnings
from pathlib import Path
from types import FrameType

__all__ = ["QRuntimeWarning", "QueuedJobsDroppedWarning", "warn"]

_PACKAGE_DIR = str(Path(__file__).resolve().parent)


class QRuntimeWarning(UserWarning):
    """Root of every warning ``qruntime_session`` issues.

    A ``UserWarning``, so Python shows it by default (in scripts and notebooks); filter it
    like any warning, e.g. ``warnings.simplefilter("ignore", QRuntimeWarning)``.
    """


class QueuedJobsDroppedWarning(QRuntimeWarning):
    """A session was closed (``on_exit="close"``) while some of its jobs were not known to
    have finished: closing stops the jobs still queued (running ones finish).

    Use ``Session(..., on_exit="drain")`` to let queued jobs run, or wait for the jobs before
    leaving the block.
    """


def _user_stacklevel() -> int:
    """The ``stacklevel`` that points at the first frame outside this package."""
    level = 1
    frame: FrameType | None = sys._getframe(2)  # the caller of warn()
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    return level


def _listened(logger: logging.Logger, level: int) -> bool:
    """Whether a record at ``level`` would reach a handler that writes it somewhere.

    The package's own ``NullHandler`` does not count, so with logging unconfigured no record
    is built at all (logging's last-resort handler is not used once any handler exists).
    """
    if not logger.isEnabledFor(level):
        return False
    current: logging.Logger | None = logger
    while current is not None:
        for handler in current.handlers:
            if not isinstance(handler, logging.NullHandler) and level >= handler.level:
                return True
        if not current.propagate:
            return False
        current = current.parent
    return False


def warn(
    category: type[QRuntimeWarning],
    logger: logging.Logger,
    fmt: str,
    *args: object,
) -> None:
    """Issue ``category`` (attributed to the user's code) and log the same text at WARNING.

    The log record is only built when a handler other than a ``NullHandler`` would write it.
    """
    if _listened(logger, logging.WARNING):
        logger.warning(fmt, *args)
    warnings.warn(fmt % args, category, stacklevel=_user_stacklevel() + 1)
