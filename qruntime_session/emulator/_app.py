"""The aiohttp.web application: IBM's routes under ``/api/v1`` plus IAM's token endpoint.

The routes are grouped by resource, each group beside the state it reads: sessions
(``_session_routes``), jobs (``_job_routes``), backends (``_backend_routes``), the instance
and IBM Cloud's account services (``_account``), credentials, versions and IAM (``_access``).
One middleware, the gateway (``_gateway``), records every request, applies injected faults,
and turns refusals into IBM error bodies. This module serves the OpenAPI descriptions and
wires the groups into one application.
"""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Any

from aiohttp import web

from ._access import Access
from ._account import InstanceRoutes, add_account_services
from ._backend_routes import BackendRoutes
from ._config import EmulatorConfig
from ._errors import ApiError
from ._faults import FaultPlan
from ._gateway import Gateway
from ._job_routes import JobRoutes
from ._records import RecordedRequest
from ._session_routes import SessionRoutes
from ._state import Store

__all__ = ["OpenApiRoutes", "build_app", "load_openapi"]

_SPEC_DIR = Path(__file__).resolve().parent.parent / "specs" / "openapi"
_SPEC_FILES = {
    "sessions": "ibm-quantum-runtime-sessions-openapi.yml",
    "jobs": "ibm-quantum-runtime-jobs-openapi.yml",
    "backends": "ibm-quantum-runtime-backends-openapi.yml",
    "instances": "ibm-quantum-runtime-instances-openapi.yml",
}


def load_openapi() -> dict[str, Any]:
    """The project's OpenAPI descriptions merged into one document.

    Returns:
        One OpenAPI document: the sessions, jobs, backends and instance descriptions' tags,
        paths and components together (what ``GET /api/openapi.json`` answers).
    """
    import yaml  # only this (rare) request needs a YAML parser

    documents = {
        name: yaml.safe_load((_SPEC_DIR / file).read_text(encoding="utf-8"))
        for name, file in _SPEC_FILES.items()
    }
    merged: dict[str, Any] = dict(documents["jobs"])
    merged["info"] = {
        "title": "Qiskit Runtime REST API (qruntime_session description)",
        "version": documents["jobs"]["info"]["version"],
        "description": "The sessions, jobs, backends and instance descriptions of "
        "qruntime_session, merged.",
    }
    merged["tags"] = [tag for document in documents.values() for tag in document["tags"]]
    merged["paths"] = {
        path: item for document in documents.values() for path, item in document["paths"].items()
    }
    components: dict[str, dict[str, Any]] = {}
    for document in documents.values():
        for section, entries in document["components"].items():
            components.setdefault(section, {}).update(entries)
    merged["components"] = components
    return merged


class OpenApiRoutes:
    """``GET /api/openapi.json`` (merged, parsed once) and ``GET /api/openapi/{name}.yml``."""

    def __init__(self) -> None:
        self._openapi: dict[str, Any] | None = None

    async def get_openapi(self, request: web.Request) -> web.StreamResponse:
        """The project's OpenAPI descriptions: merged JSON, or each YAML file as is."""
        name = request.match_info.get("name")
        if name is None:
            if self._openapi is None:
                self._openapi = load_openapi()
            return web.json_response(self._openapi)
        if name not in _SPEC_FILES:
            raise ApiError(404, "not_found", f"No OpenAPI description named {name}.")
        text = (_SPEC_DIR / _SPEC_FILES[name]).read_text(encoding="utf-8")
        return web.Response(text=text, content_type="application/yaml")

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Register the two OpenAPI routes (recorded under one operation, ``get_openapi``)."""
        openapi = router.add_resource("/api/openapi.json", name="get_openapi")
        openapi.add_route("GET", self.get_openapi)
        openapi_file = router.add_resource("/api/openapi/{name}.yml", name="get_openapi_file")
        openapi_file.add_route("GET", self.get_openapi)


def build_app(
    *,
    config: EmulatorConfig,
    store: Store,
    faults: FaultPlan,
    requests: collections.deque[RecordedRequest],
) -> web.Application:
    """A new application serving every route over one store, behind the gateway.

    Args:
        config: How the emulator behaves.
        store: The sessions and jobs the routes read and change.
        faults: The faults the gateway applies.
        requests: The request log the gateway appends to.

    Returns:
        The application, with IBM Cloud's account services as sub-applications by host.
    """
    gateway = Gateway(config=config, store=store, faults=faults, requests=requests)
    app = web.Application(middlewares=[gateway.gateway])
    # IBM Cloud's account services (by Host), before the API's routes: see _account.py.
    add_account_services(app, config, store.now)
    access = Access(config, store)
    router = app.router
    SessionRoutes(access, config, store).add_routes(router)
    JobRoutes(access, config, store).add_routes(router)
    BackendRoutes(access, config, store).add_routes(router)
    InstanceRoutes(access, config, store).add_routes(router)
    access.add_routes(router)
    OpenApiRoutes().add_routes(router)
    return app
