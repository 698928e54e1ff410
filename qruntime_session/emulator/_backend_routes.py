"""The backend routes: ``GET /v1/backends`` and each device's configuration, properties and status.

They read the devices of the emulator's config; the JSON shapes are built in ``_backends``.
"""

from __future__ import annotations

from aiohttp import web

from ._access import Access
from ._backends import (
    BackendSpec,
    calibration_id,
    configuration_json,
    device_json,
    properties_json,
    status_json,
)
from ._config import EmulatorConfig
from ._errors import ApiError
from ._parsing import query_bool
from ._state import Store

__all__ = ["BackendRoutes"]


class BackendRoutes:
    """The backend handlers, over the config's devices (and the store's clock)."""

    def __init__(self, access: Access, config: EmulatorConfig, store: Store) -> None:
        self.access = access
        self.config = config
        self.store = store

    def device(self, request: web.Request) -> BackendSpec:
        name = request.match_info["name"]
        spec = self.config.device(name)
        if spec is None:
            raise ApiError(404, "1007", f"Backend not found: {name}")
        wanted = request.query.get("calibration_id")
        if wanted is not None and wanted != calibration_id(spec, self.store.now()):
            # The emulator keeps one calibration per device (today's); IBM's own code and text
            # for an unknown calibration are not in the material this is written from.
            raise ApiError(404, "not_found", f"Calibration {wanted} not found for backend {name}.")
        return spec

    async def list_backends(self, request: web.Request) -> web.StreamResponse:
        """GET /v1/backends."""
        self.access.authorize(request)
        include_mocks = query_bool(request.query, "include_mocks", False)
        devices = self.config.device_list(include_mocks=bool(include_mocks))
        return web.json_response({"devices": [device_json(spec) for spec in devices]})

    async def get_backend_configuration(self, request: web.Request) -> web.StreamResponse:
        """GET /v1/backends/{name}/configuration."""
        self.access.authorize(request)
        return web.json_response(configuration_json(self.device(request)))

    async def get_backend_properties(self, request: web.Request) -> web.StreamResponse:
        """GET /v1/backends/{name}/properties."""
        self.access.authorize(request)
        return web.json_response(properties_json(self.device(request), self.store.now()))

    async def get_backend_status(self, request: web.Request) -> web.StreamResponse:
        """GET /v1/backends/{name}/status."""
        self.access.authorize(request)
        return web.json_response(status_json(self.device(request)))

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Register the backend routes."""
        router.add_get(
            "/api/v1/backends", self.list_backends, name="list_backends", allow_head=False
        )
        for suffix, handler in (
            ("configuration", self.get_backend_configuration),
            ("properties", self.get_backend_properties),
            ("status", self.get_backend_status),
        ):
            router.add_get(
                f"/api/v1/backends/{{name}}/{suffix}",
                handler,
                name=f"get_backend_{suffix}",
                allow_head=False,
            )
