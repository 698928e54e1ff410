"""``EmulatorConfig``: every knob of the emulator in one frozen value."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from ._backends import DEFAULT_DEVICES, BackendSpec
from ._clock import Clock, SystemClock

__all__ = ["DEFAULT_SERVICE_CRN", "EmulatorConfig"]

DEFAULT_SERVICE_CRN = (
    "crn:v1:bluemix:public:quantum-computing:us-east:"
    "a/0123456789abcdef0123456789abcdef:5e1a7c0d-e0a1-4000-8000-00000000e0a1::"
)


def _new_token() -> str:
    return "emu-token-" + secrets.token_urlsafe(24)


def _new_api_key() -> str:
    return "emu-apikey-" + secrets.token_urlsafe(24)


def _non_negative_or_none(_instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and value < 0:
        raise ValueError(f"{attribute.name} must be >= 0 or None, not {value!r}")


def _error_status(_instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not 400 <= value <= 599:
        raise ValueError(f"{attribute.name} must be an HTTP error status, not {value!r}")


def _positive_or_none(_instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and value < 1:
        raise ValueError(f"{attribute.name} must be >= 1 or None, not {value!r}")


def _positive(_instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be > 0, not {value!r}")


@attrs.frozen(kw_only=True)
class EmulatorConfig:
    """How the emulator behaves. Every field has a test-friendly default.

    Durations (emulated seconds, read from ``clock``):

    - ``queue_seconds``: how long a new job stays ``Queued``; ``None`` holds it ``Queued``
      until ``Emulator.start_job`` (or ``finish_job``) releases it.
    - ``run_seconds``: how long a job stays ``Running``; ``None`` holds it ``Running`` until
      ``Emulator.finish_job``.

    With both at ``0`` a job is ``Completed`` the first time anything observes it (the
    request that created it does not count), once the worker has judged and simulated it: a
    request about the job waits for that; lists show it ``Running`` meanwhile. A device runs
    ``jobs_per_device`` jobs at once, so further jobs on it wait their turn.
    """

    queue_seconds: float | None = attrs.field(default=0.0, validator=_non_negative_or_none)
    run_seconds: float | None = attrs.field(default=0.0, validator=_non_negative_or_none)
    clock: Clock = attrs.field(factory=SystemClock)
    #: Used for injected response delays (faults); real sleeping by default.
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    #: A static bearer token the API always accepts (never expires).
    token: str = attrs.field(factory=_new_token, repr=False)
    #: The IBM Cloud API key the IAM endpoint exchanges for access tokens.
    api_key: str = attrs.field(factory=_new_api_key, repr=False)
    #: The only instance CRN the API serves; any other answers 404 (code 1279).
    service_crn: str = DEFAULT_SERVICE_CRN
    user_id: str = "IBMid-6930000EMU"
    #: Lifetime of IAM-issued access tokens, in seconds (IBM: at most one hour).
    token_lifetime: int = attrs.field(default=3600, validator=_positive)
    #: HMAC key signing IAM tokens; random per emulator unless given.
    token_secret: bytes = attrs.field(factory=lambda: secrets.token_bytes(32), repr=False)

    #: Client-visible job-creation limit (jobs per ``job_rate_period`` per user); ``None`` = off.
    #: IBM documents 5 jobs per minute per user.
    job_rate_limit: int | None = attrs.field(default=None, validator=_positive_or_none)
    job_rate_period: float = attrs.field(default=60.0, validator=_positive)
    #: Send ``Retry-After`` (seconds until a slot frees) with the 429 (not documented by IBM).
    rate_limit_retry_after: bool = True

    #: Status answered when a job is submitted to a closed / non-accepting session (code 1217).
    closed_session_status: int = attrs.field(default=409, validator=_error_status)
    #: Send ``errors[].code`` as JSON numbers where the code is numeric (as observed on the
    #: live service) instead of strings (as IBM's schema says).
    numeric_error_codes: bool = False

    #: Interactive TTL given to new sessions (seconds); the active session goes ``inactive``
    #: when no job is queued or running for this long.
    interactive_ttl: int = attrs.field(default=60, validator=_positive)
    #: ``max_ttl`` of sessions that do not ask for one.
    default_max_ttl: int = attrs.field(default=28800, validator=_positive)
    #: The system cap on a job's ``cost`` (max execution seconds); also the default cost.
    max_job_cost: int = attrs.field(default=10800, validator=_positive)
    #: When set, only these backends exist; others answer 404 (code 1007, backend not found).
    #: Names not in ``devices`` become 156-qubit Heron r2 devices in ``GET /v1/backends``.
    backends: tuple[str, ...] | None = None
    #: The devices ``GET /v1/backends`` lists (with configuration, properties and status).
    devices: tuple[BackendSpec, ...] = DEFAULT_DEVICES
    #: Simulate sampler/estimator circuits: ``None`` = when the ``sim`` extra (qiskit and
    #: qiskit-aer) is installed; ``False`` = plausible numbers only.
    simulate: bool | None = None
    #: Circuits using more qubits than this in non-Clifford operations end ``Failed``.
    max_simulated_qubits: int = attrs.field(default=24, validator=_positive)
    #: Judge jobs as the service does when they run: params against IBM's models, circuits
    #: against the device (ISA: basis gates, coupling map, width; reason code 1517).
    judge_jobs: bool = True
    #: Simulate devices with a noise model built from the calibration data the emulator
    #: serves (``/properties``: readout, gate errors, T1/T2). ``False``: ideal, exact results.
    noise: bool = True
    #: Jobs a device runs at once (``None``: no limit). Queued jobs start in queue order, the
    #: active session's jobs first, so queue and run times add up as on hardware.
    jobs_per_device: int | None = attrs.field(default=1, validator=_positive_or_none)
    #: Wall-clock seconds the emulator spends reading, judging and simulating one job (in a
    #: worker thread); past it the job ends ``Failed``.
    job_time_limit: float = attrs.field(default=60.0, validator=_positive)
    #: Limits on what a job declares; past one, the job ends ``Failed`` with the reason.
    max_pubs: int = attrs.field(default=1000, validator=_positive)
    #: Parameter-value points (sweep points) over all of a job's pubs.
    max_sweep_points: int = attrs.field(default=100_000, validator=_positive)
    #: Shots per sampler pub (IBM's devices answer ``max_shots`` 100,000 in their configuration).
    max_shots: int = attrs.field(default=100_000, validator=_positive)
    #: Shots times sweep points over all of a sampler job's pubs.
    max_executions: int = attrs.field(default=5_000_000, validator=_positive)
    #: Shots an estimator pub's precision may imply (``ceil(1 / precision**2)``).
    max_estimator_shots: int = attrs.field(default=10**9, validator=_positive)
    #: Characters of one encoded circuit or parameter-value array (base64 / OpenQASM text).
    max_circuit_chars: int = attrs.field(default=4_000_000, validator=_positive)
    #: Bytes one circuit or array may inflate to (zlib); checked while inflating.
    max_inflated_bytes: int = attrs.field(default=32_000_000, validator=_positive)
    #: Instructions in one circuit.
    max_operations: int = attrs.field(default=200_000, validator=_positive)
    #: Pauli terms over all of an estimator job's observables.
    max_observable_terms: int = attrs.field(default=200_000, validator=_positive)
    #: How deeply the params' JSON may nest (IBM's deepest canonical pub nests about 8).
    max_nesting: int = attrs.field(default=64, validator=_positive)
    #: Reported as ``qiskit_version`` in job metrics.
    qiskit_version: str = "2.2.1"
    #: Seed for generated ids; ``None`` draws them from the OS.
    seed: int | None = None
    #: Seconds a connection may sit idle (before its first request, or between requests)
    #: before the server closes it: the keep-alive timeout, also a bound on slow clients.
    idle_timeout: float = attrs.field(default=30.0, validator=_positive)
    #: How many requests the request log keeps (the oldest are forgotten first, a ring
    #: buffer); ``None`` keeps every one (memory then grows with every request).
    request_log_size: int | None = attrs.field(default=10_000, validator=_non_negative_or_none)

    def device(self, name: str) -> BackendSpec | None:
        """The device called ``name`` in ``GET /v1/backends``, if there is one."""
        for spec in self.device_list():
            if spec.name == name:
                return spec
        return None

    def device_list(self) -> list[BackendSpec]:
        """The devices ``GET /v1/backends`` lists (see ``devices`` and ``backends``)."""
        if self.backends is None:
            return list(self.devices)
        known = {spec.name: spec for spec in self.devices}
        return [known.get(name) or BackendSpec(name=name) for name in self.backends]
