"""Local stand-ins for the IBM Cloud account services the official client asks about instances.

qiskit-ibm-runtime, given no instance (or an instance *name* rather than a CRN), discovers the
account's instances through three IBM Cloud services whose hosts it derives from the service
URL's host name ``H`` (``qiskit_ibm_runtime.accounts.utils``):

- Global Search, ``api.global-search-tagging.H``: ``POST /v3/resources/search`` lists the
  account's ``quantum-computing`` instances (CRN, name, plan id, tags);
- Global Catalog, ``globalcatalog.H``: ``GET /api/v1/{plan id}`` names each plan and its
  pricing type;
- Resource Controller, ``resource-controller.H``: ``GET /v2/resource_instances?name=`` turns
  an instance name into CRNs, ``GET /v2/resource_instances/{id}`` reads one instance;
- IAM, ``iam.H``: ``POST /identity/token`` (the emulator's own token endpoint answers it).

This module answers those calls on the emulator's own port, for requests whose ``Host`` is
one of those names — which is what reaches it when the client's ``HTTP_PROXY`` points at the
emulator (the derived host names carry no port). They describe the emulator's one instance
(``EmulatorConfig.service_crn``) just enough for the client to find it. They are a local
stand-in shaped after what the client reads, not a description of those services.

It also serves the instance's own route on the API, ``GET /api/v1/instances/usage``
(``InstanceRoutes``): the QPU time the instance's jobs used this month.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ._access import Access
from ._clock import isoformat
from ._config import EmulatorConfig
from ._iam import TokenCheck, check_token
from ._state import Store

__all__ = [
    "INSTANCE_NAME",
    "INSTANCE_TAGS",
    "PLAN_ID",
    "PLAN_NAME",
    "PRICING_TYPE",
    "AccountServices",
    "InstanceRoutes",
    "add_account_services",
]

#: The emulator instance's name, tags and plan, as the account services describe it.
INSTANCE_NAME = "qruntime-emulator"
INSTANCE_TAGS = ("emulator", "qruntime")
PLAN_ID = "qruntime-emulator-plan"
PLAN_NAME = "Internal"
PRICING_TYPE = "free"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _guid(crn: str) -> str:
    """The instance GUID: the CRN's 8th field (``crn:v1:...:a/<account>:<guid>::``)."""
    fields = crn.split(":")
    return fields[7] if len(fields) > 7 and fields[7] else crn


def _cloud_error(status: int, message: str) -> web.Response:
    return web.json_response(
        {"message": message, "status_code": status, "errors": [{"message": message}]},
        status=status,
    )


class AccountServices:
    """The stand-in handlers, over the emulator's configuration (one instance)."""

    def __init__(self, config: EmulatorConfig, now: Callable[[], float]) -> None:
        self.config = config
        self._now = now

    def _authorized(self, request: web.Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return False
        if token == self.config.token:
            return True
        verdict = check_token(token, secret=self.config.token_secret, now=self._now())
        return verdict is TokenCheck.VALID

    def _guarded(self, handler: Handler) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            if not self._authorized(request):
                return _cloud_error(401, "The bearer token is missing, expired or not valid.")
            return await handler(request)

        return guarded

    def _instance(self) -> dict[str, Any]:
        crn = self.config.service_crn
        fields = crn.split(":")
        return {
            "id": crn,
            "guid": _guid(crn),
            "crn": crn,
            "name": INSTANCE_NAME,
            "region_id": fields[5] if len(fields) > 5 else "us-east",
            "resource_plan_id": PLAN_ID,
            "state": "active",
            "type": "service_instance",
        }

    # ------------------------------------------------------------- Global Search

    async def search(self, request: web.Request) -> web.StreamResponse:
        """``POST /v3/resources/search``: the emulator's instance (one page, no cursor)."""
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return _cloud_error(400, "The request body must be a JSON object with a query.")
        items: list[dict[str, Any]] = []
        if body.get("search_cursor") is None and "quantum-computing" in body["query"]:
            items.append(
                {
                    "crn": self.config.service_crn,
                    "name": INSTANCE_NAME,
                    "service_plan_unique_id": PLAN_ID,
                    "tags": list(INSTANCE_TAGS),
                    "doc": {"extensions": {"virtual_private_endpoints": {}, "emulator": True}},
                }
            )
        return web.json_response({"items": items, "limit": len(items)})

    # ------------------------------------------------------------ Global Catalog

    async def catalog_entry(self, request: web.Request) -> web.StreamResponse:
        """``GET /api/v1/{id}``: the emulator instance's plan."""
        if request.match_info["id"] != PLAN_ID:
            return _cloud_error(404, f"Catalog entry {request.match_info['id']} not found.")
        return web.json_response(
            {
                "id": PLAN_ID,
                "name": PLAN_NAME.lower(),
                "kind": "plan",
                "overview_ui": {"en": {"display_name": PLAN_NAME, "description": "emulator"}},
                "metadata": {"pricing": {"type": PRICING_TYPE}},
            }
        )

    # ------------------------------------------------------- Resource Controller

    async def list_instances(self, request: web.Request) -> web.StreamResponse:
        """``GET /v2/resource_instances[?name=]``."""
        name = request.query.get("name")
        rows = [self._instance()] if name in (None, INSTANCE_NAME) else []
        return web.json_response({"rows_count": len(rows), "next_url": None, "resources": rows})

    async def get_instance(self, request: web.Request) -> web.StreamResponse:
        """``GET /v2/resource_instances/{id}`` (the CRN or the GUID)."""
        instance = self._instance()
        if request.match_info["id"] not in (instance["id"], instance["guid"]):
            return _cloud_error(404, f"Instance {request.match_info['id']} not found.")
        return web.json_response(instance)


class InstanceRoutes:
    """The instance's route on the API: ``GET /api/v1/instances/usage``, over the store's jobs."""

    def __init__(self, access: Access, config: EmulatorConfig, store: Store) -> None:
        self.access = access
        self.config = config
        self.store = store

    async def get_usage(self, request: web.Request) -> web.StreamResponse:
        """GET /v1/instances/usage: the QPU seconds the instance's jobs used this month."""
        self.access.authorize(request)
        now = self.store.tick()
        moment = datetime.datetime.fromtimestamp(now, tz=datetime.UTC)
        start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        end = (start + datetime.timedelta(days=32)).replace(day=1)
        consumed = sum(
            job.qpu_seconds for job in self.store.jobs.values() if job.created >= start.timestamp()
        )
        return web.json_response(
            {
                "instance_id": self.config.service_crn,
                "plan_id": "qruntime-emulator",
                "usage_period": {
                    "start_time": isoformat(start.timestamp()),
                    "end_time": isoformat(end.timestamp()),
                },
                # Whole seconds, as the official client subtracts them from the limit.
                "usage_consumed_seconds": math.ceil(consumed),
                "usage_limit_seconds": self.config.usage_limit_seconds,
                "usage_limit_reached": consumed >= self.config.usage_limit_seconds,
            }
        )

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Register ``GET /api/v1/instances/usage``."""
        router.add_get(
            "/api/v1/instances/usage", self.get_usage, name="get_usage", allow_head=False
        )


def add_account_services(
    app: web.Application, config: EmulatorConfig, now: Callable[[], float]
) -> None:
    """Serve the stand-ins on ``app`` for the account services' host names (any ``H``)."""
    services = AccountServices(config, now)
    search = web.Application()
    search.router.add_post(
        "/v3/resources/search", services._guarded(services.search), name="account_search"
    )
    app.add_domain("api.global-search-tagging.*", search)
    catalog = web.Application()
    catalog.router.add_get(
        "/api/v1/{id}",
        services._guarded(services.catalog_entry),
        name="account_catalog_entry",
        allow_head=False,
    )
    app.add_domain("globalcatalog.*", catalog)
    controller = web.Application()
    controller.router.add_get(
        "/v2/resource_instances",
        services._guarded(services.list_instances),
        name="account_list_instances",
        allow_head=False,
    )
    controller.router.add_get(
        "/v2/resource_instances/{id}",
        services._guarded(services.get_instance),
        name="account_get_instance",
        allow_head=False,
    )
    app.add_domain("resource-controller.*", controller)
