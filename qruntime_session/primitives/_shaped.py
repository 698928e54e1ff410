"""What a value laid out over a pub's shape derives from that shape."""

from __future__ import annotations

import math

__all__ = ["PubShaped"]


class PubShaped:
    """A value laid out over a pub's shape (``_shape``): its number of dimensions and points."""

    __slots__ = ()
    _shape: tuple[int, ...]

    @property
    def ndim(self) -> int:
        """The number of dimensions of `shape`."""
        return len(self._shape)

    @property
    def size(self) -> int:
        """The number of points of `shape` (1 for a pub without a parameter sweep)."""
        return math.prod(self._shape)
