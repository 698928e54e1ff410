"""The session routes: create, read, update (``accepting_jobs``) and close a session.

Handlers check access, validate the body against IBM's sessions description, then call the
store, which keeps the sessions and their state machine.
"""

from __future__ import annotations

from aiohttp import web

from ._access import Access
from ._config import EmulatorConfig
from ._parsing import INT32_MAX, bad, integer, json_object, string
from ._state import Store

__all__ = ["SessionRoutes"]

#: The session modes IBM's ``POST /v1/sessions`` accepts.
MODES = frozenset({"batch", "dedicated"})


class SessionRoutes:
    """The session handlers, over the store's sessions."""

    def __init__(self, access: Access, config: EmulatorConfig, store: Store) -> None:
        self.access = access
        self.config = config
        self.store = store

    async def create_session(self, request: web.Request) -> web.StreamResponse:
        """POST /v1/sessions."""
        self.access.authorize(request)
        body = json_object(await request.read())
        mode = body.get("mode")
        if not isinstance(mode, str) or mode not in MODES:
            raise bad("mode is required and must be one of batch, dedicated.")
        backend = string(body, "backend", required=False, max_length=10000)
        backend_name = string(body, "backend_name", required=False, max_length=10000)
        max_ttl = integer(body, "max_ttl", minimum=1, maximum=INT32_MAX)
        interactive_ttl = integer(body, "interactive_ttl", minimum=1, maximum=INT32_MAX)
        active_ttl = integer(body, "active_ttl", minimum=1, maximum=INT32_MAX)
        effective_max = max_ttl if max_ttl is not None else self.config.default_max_ttl
        if active_ttl is not None and active_ttl > effective_max:
            raise bad("active_ttl must be less than or equal to max_ttl.")
        if interactive_ttl is not None and interactive_ttl > (
            active_ttl if active_ttl is not None else effective_max
        ):
            raise bad("interactive_ttl must be less than or equal to active_ttl.")
        session = self.store.create_session(
            mode=str(mode),
            backend=backend if backend is not None else backend_name,
            max_ttl=max_ttl,
            interactive_ttl=interactive_ttl,
            active_ttl=active_ttl,
        )
        return web.json_response(session.to_json(self.store.now()))

    async def get_session(self, request: web.Request) -> web.StreamResponse:
        """GET /v1/sessions/{id}."""
        self.access.authorize(request)
        now = self.store.tick()
        session = self.store.session(request.match_info["id"])
        return web.json_response(session.to_json(now))

    async def update_session(self, request: web.Request) -> web.StreamResponse:
        """PATCH /v1/sessions/{id}."""
        self.access.authorize(request)
        session = self.store.session(request.match_info["id"])
        body = json_object(await request.read())
        await self.store.settle_session(session.id)
        accepting = body.get("accepting_jobs")
        if not isinstance(accepting, bool):
            raise bad("accepting_jobs is required and must be a boolean.")
        self.store.set_accepting(session, accepting)
        return web.Response(status=204)

    async def delete_session_close(self, request: web.Request) -> web.StreamResponse:
        """DELETE /v1/sessions/{id}/close."""
        self.access.authorize(request)
        session_id = request.match_info["id"]
        if len(session_id) > 500:
            raise bad("The session id must be 1 to 500 characters long.")
        await self.store.settle_session(self.store.session(session_id).id)
        self.store.cancel_session(self.store.session(session_id))
        return web.Response(status=204)

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Register the session routes."""
        router.add_post("/api/v1/sessions", self.create_session, name="create_session")
        router.add_get(
            "/api/v1/sessions/{id}", self.get_session, name="get_session", allow_head=False
        )
        router.add_patch("/api/v1/sessions/{id}", self.update_session, name="update_session")
        router.add_delete(
            "/api/v1/sessions/{id}/close", self.delete_session_close, name="delete_session_close"
        )
