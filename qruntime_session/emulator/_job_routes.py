"""Job endpoints beyond create/read/cancel: ``DELETE /v1/jobs/{id}`` and ``PUT /v1/jobs/{id}/tags``.

IBM's jobs description (0.45.3): ``DELETE`` answers 204 and only for a job in a terminal state
(Completed, Failed, Cancelled); ``PUT …/tags`` takes ``{"tags": [...]}`` (the job's whole tag
list, an empty list clears it; at most 8 tags of at most 86 characters, as on creation) and
answers 204.
"""

from __future__ import annotations

from typing import Protocol

from aiohttp import web

from ._errors import ApiError
from ._state import Store

__all__ = ["JobRoutes"]

_MAX_TAGS = 8
_MAX_TAG_LENGTH = 86


class _Api(Protocol):
    """What the handlers need of the API: its store and its credential checks."""

    @property
    def store(self) -> Store: ...

    def authorize(self, request: web.Request) -> None: ...


class JobRoutes:
    """The handlers, over the API's store and its credential checks."""

    def __init__(self, api: _Api) -> None:
        self.api = api

    async def delete_job(self, request: web.Request) -> web.StreamResponse:
        """DELETE /v1/jobs/{id}: forget a finished job (a pending one is a 400)."""
        self.api.authorize(request)
        store = self.api.store
        store.tick()
        job = store.job(request.match_info["id"])
        if job.pending:
            raise ApiError(
                400,
                "bad_request",
                f"Job {job.id} is {job.status}: only a Completed, Failed or Cancelled job "
                "can be deleted.",
            )
        store.delete_job(job)
        return web.Response(status=204)

    async def replace_tags(self, request: web.Request) -> web.StreamResponse:
        """PUT /v1/jobs/{id}/tags: replace the job's tags."""
        self.api.authorize(request)
        job = self.api.store.job(request.match_info["id"])
        try:
            body = await request.json()
        except ValueError as exc:
            raise ApiError(400, "bad_request", "The request body is not valid JSON.") from exc
        tags = body.get("tags") if isinstance(body, dict) else None
        if (
            not isinstance(tags, list)
            or len(tags) > _MAX_TAGS
            or not all(isinstance(tag, str) and len(tag) <= _MAX_TAG_LENGTH for tag in tags)
        ):
            raise ApiError(
                400,
                "bad_request",
                f"tags is required: a list of at most {_MAX_TAGS} strings of at most "
                f"{_MAX_TAG_LENGTH} characters.",
            )
        job.tags = list(tags)
        return web.Response(status=204)

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Register the routes (after the API's own ``/api/v1/jobs/{id}`` routes)."""
        router.add_delete("/api/v1/jobs/{id}", self.delete_job, name="delete_job_jid")
        router.add_put("/api/v1/jobs/{id}/tags", self.replace_tags, name="replace_job_tags")
