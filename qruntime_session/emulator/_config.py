"""``EmulatorConfig``: every knob of the emulator in one frozen value."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from ._backends import DEFAULT_DEVICES, BackendSpec, mock_of
from ._clock import Clock, SystemClock

__all__ = ["DEFAULT_SERVICE_CRN", "EmulatorConfig"]

DEFAULT_SERVICE_CRN = (
    "crn:v1:bluemix:public:quantum-computing:us-east:"
    "a/0123456789abcdef0123456789abcdef:5e1a7c0d-e0a1-4000-8000-00000000e0a1::"
)
"""The instance CRN an emulator serves unless ``EmulatorConfig.service_crn`` says otherwise."""


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

    Args:
        queue_seconds: Emulated seconds a new job stays ``Queued``; ``None`` holds it until
            [`Emulator.start_job`][qruntime_session.emulator.Emulator.start_job] (or
            ``finish_job``) releases it.
        run_seconds: Emulated seconds a job stays ``Running``; ``None`` holds it until
            [`Emulator.finish_job`][qruntime_session.emulator.Emulator.finish_job].
        clock: The clock every decision reads (a
            [`ManualClock`][qruntime_session.emulator.ManualClock] in tests; default: the
            system clock).
        sleep: Used for injected response delays (faults); real sleeping by default.
        token: A static bearer token the API always accepts (never expires); random by
            default.
        api_key: The IBM Cloud API key the IAM endpoint exchanges for access tokens; random
            by default.
        service_crn: The only instance CRN the API serves; any other answers 404 (code 1279).
        user_id: The IBM Cloud user id the emulator reports for jobs, sessions and tokens.
        token_lifetime: Lifetime of IAM-issued access tokens, in seconds (IBM: at most one
            hour).
        token_secret: HMAC key signing IAM tokens; random per emulator unless given.
        job_rate_limit: Client-visible job-creation limit (jobs per ``job_rate_period`` per
            user); ``None`` = off. IBM documents 5 jobs per minute per user.
        job_rate_period: The window of ``job_rate_limit``, in seconds.
        rate_limit_retry_after: Send ``Retry-After`` (seconds until a slot frees) with the
            429 (not documented by IBM).
        closed_session_status: Status answered when a job is submitted to a closed or
            non-accepting session (code 1217).
        numeric_error_codes: Send ``errors[].code`` as JSON numbers where the code is numeric
            (as observed on the live service) instead of strings (as IBM's schema says).
        interactive_ttl: Interactive TTL given to new sessions, in seconds; an active session
            goes ``inactive`` when no job is queued or running for this long.
        default_max_ttl: ``max_ttl`` of sessions that do not ask for one, in seconds.
        max_job_cost: The system cap on a job's ``cost`` (max execution seconds); also the
            default cost.
        backends: When set, only these backends exist; others answer 404 (code 1007).
            Names not in ``devices`` become 156-qubit Heron r2 devices in
            ``GET /v1/backends``.
        devices: The devices ``GET /v1/backends`` lists (with configuration, properties and
            status).
        simulate: Simulate sampler and estimator circuits: ``None`` = when the ``sim`` extra
            (qiskit and qiskit-aer) is installed; ``False`` = plausible numbers only.
        max_simulated_qubits: Circuits using more qubits than this in non-Clifford operations
            end ``Failed``.
        judge_jobs: Judge jobs as the service does when they run: params against IBM's
            models, circuits against the device (ISA: basis gates, coupling map, width;
            reason code 1517).
        noise: Simulate devices with a noise model built from the calibration data the
            emulator serves (``/properties``: readout, gate errors, T1/T2). ``False``: ideal,
            exact results.
        jobs_per_device: Jobs a device runs at once (``None``: no limit). Queued jobs start
            in queue order, the active session's jobs first, so queue and run times add up
            as on hardware.
        job_time_limit: Wall-clock seconds the emulator spends reading, judging and
            simulating one job (in a worker thread); past it the job ends ``Failed``.
        max_pubs: Most pubs in one job; past this (and each limit below) the job ends
            ``Failed`` with the reason.
        max_sweep_points: Parameter-value points (sweep points) over all of a job's pubs.
        max_shots: Shots per sampler pub (IBM's devices answer ``max_shots`` 100,000 in
            their configuration).
        max_executions: Shots times sweep points over all of a sampler job's pubs.
        max_estimator_shots: Shots an estimator pub's precision may imply
            (``ceil(1 / precision**2)``).
        max_circuit_chars: Characters of one encoded circuit or parameter-value array
            (base64 / OpenQASM text).
        max_inflated_bytes: Bytes one circuit or array may inflate to (zlib); checked while
            inflating.
        max_operations: Instructions in one circuit.
        max_qasm3_statements: Statements in one OpenQASM 3 text. Its reader (the
            ``openqasm3`` ANTLR parser) takes about 0.2 ms and 8 KB per statement and cannot
            be interrupted at ``job_time_limit``: 10^5 gates held the worker for 20-80 s,
            grew the process to 0.8-1.2 GiB and slowed everyone's answers (issue 15).
            OpenQASM 2 and QPY are read by faster readers and bounded by ``max_operations``.
        max_observable_terms: Pauli terms over all of an estimator job's observables.
        max_nesting: How deeply the params' JSON may nest (IBM's deepest canonical pub nests
            about 8).
        mock_devices: ``GET /v1/backends?include_mocks=true`` also lists a ``mock_<x>`` twin
            of every device (the official client's ``dry_run`` runs on it).
        usage_limit_seconds: The instance's QPU-time allocation per usage period
            (``GET /v1/instances/usage``).
        qiskit_version: Reported as ``qiskit_version`` in job metrics.
        seed: Seed for generated ids; ``None`` draws them from the OS.
        idle_timeout: Seconds a connection may sit idle (before its first request, or between
            requests) before the server closes it: the keep-alive timeout, also a bound on
            slow clients.
        header_timeout: Seconds a request's line and headers may take to arrive, from their
            first byte: a slow-loris client sending a header line every few seconds is closed
            after this.
        body_timeout: Seconds a request's body may take to arrive once its headers are in;
            past it the request is answered 408 and the connection closed.
        max_connections: Most connections served at once; one more is answered 503
            (``Retry-After: 1``) and closed before its request is read. ``None``: no cap.
            (These bounds and ``idle_timeout`` apply to ``run_emulator`` and ``serve``, not
            to an app embedded with ``create_app``.)
        request_log_size: How many requests the request log keeps (the oldest are forgotten
            first); ``None`` keeps every one (memory then grows with every request).

    Raises:
        ValueError: A duration, limit or status is out of range.
    """

    queue_seconds: float | None = attrs.field(default=0.0, validator=_non_negative_or_none)
    run_seconds: float | None = attrs.field(default=0.0, validator=_non_negative_or_none)
    clock: Clock = attrs.field(factory=SystemClock)
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    token: str = attrs.field(factory=_new_token, repr=False)
    api_key: str = attrs.field(factory=_new_api_key, repr=False)
    service_crn: str = DEFAULT_SERVICE_CRN
    user_id: str = "IBMid-6930000EMU"
    token_lifetime: int = attrs.field(default=3600, validator=_positive)
    token_secret: bytes = attrs.field(factory=lambda: secrets.token_bytes(32), repr=False)

    job_rate_limit: int | None = attrs.field(default=None, validator=_positive_or_none)
    job_rate_period: float = attrs.field(default=60.0, validator=_positive)
    rate_limit_retry_after: bool = True

    closed_session_status: int = attrs.field(default=409, validator=_error_status)
    numeric_error_codes: bool = False

    interactive_ttl: int = attrs.field(default=60, validator=_positive)
    default_max_ttl: int = attrs.field(default=28800, validator=_positive)
    max_job_cost: int = attrs.field(default=10800, validator=_positive)
    backends: tuple[str, ...] | None = None
    devices: tuple[BackendSpec, ...] = DEFAULT_DEVICES
    simulate: bool | None = None
    max_simulated_qubits: int = attrs.field(default=24, validator=_positive)
    judge_jobs: bool = True
    noise: bool = True
    jobs_per_device: int | None = attrs.field(default=1, validator=_positive_or_none)
    job_time_limit: float = attrs.field(default=60.0, validator=_positive)
    max_pubs: int = attrs.field(default=1000, validator=_positive)
    max_sweep_points: int = attrs.field(default=100_000, validator=_positive)
    max_shots: int = attrs.field(default=100_000, validator=_positive)
    max_executions: int = attrs.field(default=5_000_000, validator=_positive)
    max_estimator_shots: int = attrs.field(default=10**9, validator=_positive)
    max_circuit_chars: int = attrs.field(default=4_000_000, validator=_positive)
    max_inflated_bytes: int = attrs.field(default=32_000_000, validator=_positive)
    max_operations: int = attrs.field(default=200_000, validator=_positive)
    max_qasm3_statements: int = attrs.field(default=20_000, validator=_positive)
    max_observable_terms: int = attrs.field(default=200_000, validator=_positive)
    max_nesting: int = attrs.field(default=64, validator=_positive)
    mock_devices: bool = True
    usage_limit_seconds: int = attrs.field(default=36_000, validator=_positive)
    qiskit_version: str = "2.2.1"
    seed: int | None = None
    idle_timeout: float = attrs.field(default=30.0, validator=_positive)
    header_timeout: float = attrs.field(default=10.0, validator=_positive)
    body_timeout: float = attrs.field(default=30.0, validator=_positive)
    max_connections: int | None = attrs.field(default=1024, validator=_positive_or_none)
    request_log_size: int | None = attrs.field(default=10_000, validator=_non_negative_or_none)

    def device(self, name: str) -> BackendSpec | None:
        """The device called ``name`` in ``GET /v1/backends``, if there is one.

        Args:
            name: A backend name.

        Returns:
            Its specification (mock twins included), or ``None`` when the emulator has no
            such backend.
        """
        for spec in self.device_list(include_mocks=True):
            if spec.name == name:
                return spec
        return None

    def device_list(self, *, include_mocks: bool = False) -> list[BackendSpec]:
        """The devices ``GET /v1/backends`` lists (see ``devices`` and ``backends``).

        Args:
            include_mocks: Also the mock twin of each device (when ``mock_devices``).

        Returns:
            One specification per backend, in listing order.
        """
        if self.backends is None:
            specs = list(self.devices)
        else:
            known = {spec.name: spec for spec in self.devices}
            specs = [known.get(name) or BackendSpec(name=name) for name in self.backends]
        if include_mocks and self.mock_devices:
            names = {spec.name for spec in specs}
            for twin in [mock_of(spec) for spec in specs if not spec.mock]:
                if twin.name not in names:
                    names.add(twin.name)
                    specs.append(twin)
        elif not include_mocks:
            specs = [spec for spec in specs if not spec.mock]
        return specs
