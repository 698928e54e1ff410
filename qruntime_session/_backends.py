"""Backends: ``GET /v1/backends``, ``/v1/backends/{name}/status``, ``/configuration`` and
``/properties``.

Typed records, their parsing from JSON (tolerant, unknown fields kept in ``raw``), and the
requests [`RuntimeClient`][qruntime_session.RuntimeClient] sends for ``backends()``,
``backend(name)``, ``backend_status(name)``, ``backend_target(name)`` and ``least_busy()``.
Qubit counts are named ``num_qubits``, as qiskit names them (``n_qubits``, the configuration
document's own name, still reads).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

import attrs

from . import errors
from ._api import RuntimeApi
from ._wire import _bool, _int, _mapping, _opt_str, _require_object, is_nonempty_str

__all__ = [
    "BackendConfiguration",
    "BackendInfo",
    "BackendStatus",
    "backend_configuration_from_api",
    "backend_names_from_api",
    "backend_status_from_api",
    "get_backend_configuration",
    "get_backend_properties",
    "get_backend_status",
    "get_backend_target",
    "least_busy",
    "list_backends",
]

T = TypeVar("T")
R = TypeVar("R")

#: How many status/configuration requests ``backends()`` and ``least_busy()`` run at once.
CONCURRENCY = 8


# -- records --------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class BackendStatus:
    """``GET /v1/backends/{name}/status``. Unknown fields are kept in ``raw``.

    Args:
        name: The backend's name.
        operational: Whether the backend accepts jobs (the service's boolean ``state``).
        status: The status as text (``"active"``, ``"paused"``, ...).
        message: The service's message about the status, if any.
        pending_jobs: Jobs queued on the backend (``length_queue``).
        backend_version: The backend's version.
        raw: The status document as the service sent it.
    """

    name: str
    operational: bool | None = None
    status: str | None = None
    message: str | None = None
    pending_jobs: int | None = None
    backend_version: str | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class BackendConfiguration:
    """``GET /v1/backends/{name}/configuration`` (a QasmBackendConfiguration document).

    The fields most programs need are typed; the whole document is in ``raw``.
    `to_target` builds qiskit's ``Target`` from it (the ``qiskit`` extra).

    Args:
        name: The backend's name (``backend_name``).
        backend_version: The backend's version.
        num_qubits: How many qubits the backend has (``n_qubits``).
        basis_gates: The names of the gates the backend runs natively.
        coupling_map: The directed qubit pairs a two-qubit gate can act on.
        max_shots: The most shots a circuit may ask for.
        max_experiments: The most circuits a job may hold.
        simulator: Whether the backend is a simulator.
        processor_type: The processor's family and revision, as sent.
        gates: The names of the gates the configuration describes.
        raw: The configuration document as the service sent it.
    """

    name: str
    backend_version: str | None = None
    num_qubits: int | None = None
    basis_gates: tuple[str, ...] = ()
    coupling_map: tuple[tuple[int, int], ...] = ()
    max_shots: int | None = None
    max_experiments: int | None = None
    simulator: bool | None = None
    processor_type: Mapping[str, Any] | None = None
    gates: tuple[str, ...] = ()
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @property
    def n_qubits(self) -> int | None:
        """The configuration document's name for `num_qubits`."""
        return self.num_qubits

    def to_target(self, properties: Mapping[str, Any] | None = None) -> Any:
        """qiskit's ``Target`` for this backend.

        Transpile with ``generate_preset_pass_manager(optimization_level=1, target=target)``.
        Needs the ``qiskit`` extra.

        Args:
            properties: The backend's properties (``GET /v1/backends/{name}/properties``),
                whose gate errors and durations the target then carries.

        Returns:
            A ``qiskit.transpiler.Target``.
        """
        from ._target import build_target

        return build_target({**self.raw, "n_qubits": self.num_qubits}, properties)


@attrs.frozen(kw_only=True)
class BackendInfo:
    """One backend of [`RuntimeClient.backends`][qruntime_session.RuntimeClient.backends].

    Args:
        name: The backend's name.
        status: The backend's status (``None`` when not asked for, with ``status=False``).
        num_qubits: How many qubits the backend has, when known (from the list item, or from
            the configuration ``least_busy()`` reads).
        raw: The list item as the service sent it.
    """

    name: str
    status: BackendStatus | None = None
    num_qubits: int | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @property
    def pending_jobs(self) -> int | None:
        """Jobs queued on the backend (``length_queue``); ``None`` if the status was not read."""
        return self.status.pending_jobs if self.status is not None else None

    @property
    def operational(self) -> bool | None:
        """Whether the backend accepts jobs (its ``state``); ``None`` if the status was not read."""
        return self.status.operational if self.status is not None else None


# -- wire -----------------------------------------------------------------------------------


def backend_names_from_api(data: object) -> list[tuple[str, Mapping[str, Any]]]:
    """``(name, item)`` of each device in ``{"devices": [...]}`` (items are objects with a
    ``name``; plain strings, an older shape, are accepted too)."""
    obj = _require_object(data, "backend list")
    devices = obj.get("devices")
    if not isinstance(devices, list):
        raise ValueError("backend list: the response has no 'devices' array")
    out: list[tuple[str, Mapping[str, Any]]] = []
    for item in devices:
        if isinstance(item, str) and item:
            out.append((item, {"name": item}))
        elif isinstance(item, dict):
            name = item.get("name", item.get("backend_name"))
            if isinstance(name, str) and name:
                out.append((name, item))
    return out


def backend_status_from_api(data: object, name: str) -> BackendStatus:
    obj = _require_object(data, "backend status")
    state = obj.get("state")
    queue = _int(obj.get("length_queue"))
    return BackendStatus(
        name=_opt_str(obj.get("backend_name")) or name,
        operational=_bool(state),
        status=_opt_str(obj.get("status")),
        message=_opt_str(obj.get("message")),
        pending_jobs=max(queue, 0) if queue is not None else None,
        backend_version=_opt_str(obj.get("backend_version")),
        raw=obj,
    )


def _strings(value: object) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _edges(value: object) -> tuple[tuple[int, int], ...]:
    if not isinstance(value, list):
        return ()
    edges: list[tuple[int, int]] = []
    for pair in value:
        if isinstance(pair, list) and len(pair) == 2:
            a, b = _int(pair[0]), _int(pair[1])
            if a is not None and b is not None:
                edges.append((a, b))
    return tuple(edges)


def backend_configuration_from_api(data: object, name: str) -> BackendConfiguration:
    obj = _require_object(data, "backend configuration")
    gates = obj.get("gates")
    gate_names = (
        tuple(g["name"] for g in gates if isinstance(g, dict) and isinstance(g.get("name"), str))
        if isinstance(gates, list)
        else ()
    )
    return BackendConfiguration(
        name=_opt_str(obj.get("backend_name")) or name,
        backend_version=_opt_str(obj.get("backend_version")),
        num_qubits=_int(obj.get("n_qubits", obj.get("num_qubits"))),
        basis_gates=_strings(obj.get("basis_gates")),
        coupling_map=_edges(obj.get("coupling_map")),
        max_shots=_int(obj.get("max_shots")),
        max_experiments=_int(obj.get("max_experiments")),
        simulator=_bool(obj.get("simulator")),
        processor_type=_mapping(obj.get("processor_type")),
        gates=gate_names,
        raw=obj,
    )


# -- requests -------------------------------------------------------------------------------


def _check_name(name: object) -> str:
    if not is_nonempty_str(name):
        raise errors.InvalidInputError("backend name must be a non-empty string, e.g. 'ibm_fez'")
    assert isinstance(name, str)
    return name


async def _get(client: RuntimeApi, path: str, operation: str) -> Any:
    response = await client.transport.request("GET", path, operation=operation)
    try:
        return response.json()
    except ValueError as exc:
        raise response.unreadable(
            f"{operation} answered with a body that is not JSON",
        ) from exc


def _unreadable(operation: str, exc: ValueError) -> errors.UnexpectedStatusError:
    return errors.UnexpectedStatusError(f"{operation} answered with an unreadable body: {exc}")


async def get_backend_status(client: RuntimeApi, name: str) -> BackendStatus:
    name = _check_name(name)
    data = await _get(client, f"/v1/backends/{quote(name, safe='')}/status", "get_backend_status")
    try:
        return backend_status_from_api(data, name)
    except ValueError as exc:
        raise _unreadable("get_backend_status", exc) from exc


async def get_backend_configuration(client: RuntimeApi, name: str) -> BackendConfiguration:
    name = _check_name(name)
    data = await _get(
        client, f"/v1/backends/{quote(name, safe='')}/configuration", "get_backend_configuration"
    )
    try:
        return backend_configuration_from_api(data, name)
    except ValueError as exc:
        raise _unreadable("get_backend_configuration", exc) from exc


async def get_backend_properties(client: RuntimeApi, name: str) -> Mapping[str, Any]:
    """``GET /v1/backends/{name}/properties``: calibration data as sent."""
    name = _check_name(name)
    data = await _get(
        client, f"/v1/backends/{quote(name, safe='')}/properties", "get_backend_properties"
    )
    try:
        return _require_object(data, "backend properties")
    except ValueError as exc:
        raise _unreadable("get_backend_properties", exc) from exc


async def get_backend_target(client: RuntimeApi, name: str) -> Any:
    """qiskit's ``Target`` for ``name``, from its configuration and properties."""
    from ._target import require_qiskit

    require_qiskit()  # a missing extra fails before any request
    config, properties = await asyncio.gather(
        get_backend_configuration(client, name), get_backend_properties(client, name)
    )
    return config.to_target(properties)


def _qubit_count(item: Mapping[str, Any]) -> int | None:
    for key in ("num_qubits", "qubits", "n_qubits"):
        value = _int(item.get(key))
        if value is not None:
            return value
    return None


async def _bounded_all(items: Sequence[T], call: Callable[[T], Awaitable[R]]) -> list[R]:
    """``call`` on every item, at most `CONCURRENCY` at once; the first error cancels
    the rest and is raised (not wrapped in an ExceptionGroup)."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(item: T) -> R:
        async with gate:
            return await call(item)

    tasks = [asyncio.ensure_future(one(item)) for item in items]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()
        # let cancelled tasks finish, without hiding the error (or cancellation) in flight
        await asyncio.gather(*tasks, return_exceptions=True)


async def list_backends(client: RuntimeApi, *, status: bool = True) -> list[BackendInfo]:
    data = await _get(client, "/v1/backends", "list_backends")
    try:
        devices = backend_names_from_api(data)
    except ValueError as exc:
        raise _unreadable("list_backends", exc) from exc
    if not status:
        return [
            BackendInfo(name=name, num_qubits=_qubit_count(item), raw=item)
            for name, item in devices
        ]
    statuses = await _bounded_all(
        [name for name, _ in devices], lambda name: get_backend_status(client, name)
    )
    return [
        BackendInfo(name=name, status=state, num_qubits=_qubit_count(item), raw=item)
        for (name, item), state in zip(devices, statuses, strict=True)
    ]


async def least_busy(
    client: RuntimeApi, *, min_qubits: int | None = None, simulator: bool | None = False
) -> BackendInfo | None:
    bad = isinstance(min_qubits, bool) or not isinstance(min_qubits, int | None)
    if bad or (min_qubits is not None and min_qubits < 1):
        raise errors.InvalidInputError(f"min_qubits must be a positive integer, not {min_qubits!r}")
    candidates = [
        info
        for info in await list_backends(client, status=True)
        if info.operational and info.pending_jobs is not None
    ]
    if min_qubits is not None or simulator is not None:
        configs = await _bounded_all(
            [info.name for info in candidates],
            lambda name: get_backend_configuration(client, name),
        )
        candidates = [
            attrs.evolve(info, num_qubits=config.num_qubits)
            if config.num_qubits is not None
            else info
            for info, config in zip(candidates, configs, strict=True)
            if (min_qubits is None or (config.num_qubits or 0) >= min_qubits)
            and (simulator is None or bool(config.simulator) == simulator)
        ]
    if not candidates:
        return None
    return min(candidates, key=lambda info: (info.pending_jobs or 0, info.name))
