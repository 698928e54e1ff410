"""What the worker needs to judge and run one job, copied out of the emulator's config.

Its own module so that the engine (``_results``) and the simulator (``_simulate``) both read
it without importing each other.
"""

from __future__ import annotations

import attrs

from ._backends import BackendSpec
from ._limits import Limits

__all__ = ["RunSettings"]


@attrs.frozen(kw_only=True)
class RunSettings:
    """What the worker needs to judge and run one job (copied out of the config)."""

    simulate: bool
    max_qubits: int
    limits: Limits = attrs.field(factory=Limits)
    judge: bool = True
    #: The device whose calibration data (``/properties`` at ``properties_at``) makes the
    #: noise model; ``None``: ideal.
    noisy_device: BackendSpec | None = None
    properties_at: float = 0.0
    #: Wall seconds the worker may spend on the job (checked between steps).
    time_limit: float | None = None
