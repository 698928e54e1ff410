"""The job routes: ``/v1/jobs`` and ``/v1/jobs/{id}`` with its results, logs, metrics and tags.

Handlers check access, validate against IBM's jobs description, then call the store, which
keeps the jobs and runs them. From IBM's jobs description (0.45.3): ``DELETE /v1/jobs/{id}``
answers 204 and only for a job in a terminal state (Completed, Failed, Cancelled) — the
emulator also withdraws and deletes a Queued job, as IBM's own integration suite expects
of the service (a Running job is still a 400; see docs/emulator.md);
``PUT …/tags`` takes ``{"tags": [...]}`` (the job's whole tag list, an empty list clears it;
at most 8 tags of at most 86 characters, as on creation) and answers 204.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ._access import Access
from ._config import EmulatorConfig
from ._errors import ApiError
from ._parsing import (
    INT32_MAX,
    bad,
    integer,
    json_object,
    query_bool,
    query_int,
    query_str,
    query_time,
    string,
)
from ._programs import PROGRAMS, program_result
from ._state import Store

__all__ = ["JobRoutes"]

_MAX_TAGS = 8
_MAX_TAG_LENGTH = 86
_LOG_LEVELS = frozenset({"critical", "error", "warning", "info", "debug"})


class JobRoutes:
    """The job handlers, over the store's jobs."""

    def __init__(self, access: Access, config: EmulatorConfig, store: Store) -> None:
        self.access = access
        self.config = config
        self.store = store

    async def create_job(self, request: web.Request) -> web.StreamResponse:
        """POST /v1/jobs. Fields not in IBM's schema are accepted and ignored."""
        self.access.authorize(request)
        body = json_object(await request.read())
        program_id = string(body, "program_id", required=True, max_length=10000)
        backend = string(body, "backend", required=True, max_length=10000)
        assert program_id is not None
        assert backend is not None
        session_id = string(body, "session_id", required=False, max_length=36)
        params = body.get("params")
        if "params" in body and not isinstance(params, dict):
            raise bad("params must be a JSON object.")
        tags = body.get("tags", [])
        if (
            not isinstance(tags, list)
            or len(tags) > 8
            or not all(isinstance(tag, str) and len(tag) <= 86 for tag in tags)
        ):
            raise bad("tags must be a list of at most 8 strings of at most 86 characters.")
        log_level = body.get("log_level")
        # IBM's schema lists lower case; the official client sends upper case ("WARNING").
        if log_level is not None and (
            not isinstance(log_level, str) or log_level.lower() not in _LOG_LEVELS
        ):
            raise bad(f"log_level must be one of {', '.join(sorted(_LOG_LEVELS))}.")
        cost = integer(body, "cost", minimum=0, maximum=INT32_MAX)
        runtime = string(body, "runtime", required=False, max_length=10000)
        calibration_id = string(body, "calibration_id", required=False, max_length=100)
        private = body.get("private", False)
        if not isinstance(private, bool):
            raise bad("private must be a boolean.")
        job = self.store.create_job(
            program_id=program_id,
            backend=backend,
            params=params,
            session_id=session_id,
            tags=list(tags),
            log_level=log_level,
            cost=cost,
            runtime=runtime,
            calibration_id=calibration_id,
            private=private,
            caller=request.headers.get("X-Qx-Client-Application"),
        )
        answer: dict[str, Any] = {"id": job.id, "backend": job.backend}
        if job.session_id is not None:
            answer["session_id"] = job.session_id
        if job.private:
            answer["private"] = True
        if job.calibration_id is not None:
            answer["calibration_id"] = job.calibration_id
        return web.json_response(answer)

    async def list_jobs(self, request: web.Request) -> web.StreamResponse:
        """GET /v1/jobs."""
        self.access.authorize(request)
        query = request.query
        limit = query_int(query, "limit", 200, 1, 200)
        offset = query_int(query, "offset", 0, 0, INT32_MAX)
        sort = query.get("sort", "DESC")
        if sort not in ("ASC", "DESC"):
            raise bad("Query parameter sort must be ASC or DESC.")
        tags = query.getall("tags", [])
        if len(tags) > 8 or any(len(tag) > 86 for tag in tags):
            raise bad("Query parameter tags: at most 8 tags of at most 86 characters.")
        exclude_params = query_bool(query, "exclude_params", True)
        jobs = self.store.list_jobs(
            pending=query_bool(query, "pending", None),
            program=query_str(query, "program", 63),
            backend=query_str(query, "backend", 100),
            session_id=query_str(query, "session_id", 1000),
            tags=tags,
            created_after=query_time(query, "created_after"),
            created_before=query_time(query, "created_before"),
            ascending=sort == "ASC",
        )
        if not query_bool(query, "include_mocks", False):
            # Jobs on mock backends (dry runs) are listed only when asked for.
            mocks = {spec.name for spec in self.config.device_list(include_mocks=True) if spec.mock}
            jobs = [job for job in jobs if job.backend not in mocks]
        page = jobs[offset : offset + limit]
        return web.json_response(
            {
                "jobs": [job.to_json(include_params=not exclude_params) for job in page],
                "count": len(jobs),
                "offset": offset,
                "limit": limit,
            }
        )

    async def get_job(self, request: web.Request) -> web.StreamResponse:
        """GET /v1/jobs/{id}."""
        self.access.authorize(request)
        exclude_params = query_bool(request.query, "exclude_params", False)
        await self.store.settle(request.match_info["id"])
        job = self.store.job(request.match_info["id"])
        return web.json_response(job.to_json(include_params=not exclude_params))

    async def get_job_results(self, request: web.Request) -> web.StreamResponse:
        """GET /v1/jobs/{id}/results: 200 with the result, or 204 when there is none."""
        self.access.authorize(request)
        job = self.store.job(request.match_info["id"])
        await self.store.settle(job.id)
        pending = self.store.take_result(job)
        if pending is None:
            return web.Response(status=204)
        raw = await pending
        if self.store.results.settings.simulate and job.program_id in PROGRAMS:
            body = await program_result(
                self.config, job, self.store.now(), self.store.results.in_worker
            )
            return web.json_response(body)
        return web.Response(body=raw, content_type="application/json")

    async def cancel_job(self, request: web.Request) -> web.StreamResponse:
        """POST /v1/jobs/{id}/cancel."""
        self.access.authorize(request)
        self.store.cancel_job(self.store.job(request.match_info["id"]))
        return web.Response(status=204)

    async def get_job_logs(self, request: web.Request) -> web.StreamResponse:
        """GET /v1/jobs/{id}/logs (text/plain)."""
        self.access.authorize(request)
        await self.store.settle(request.match_info["id"])
        job = self.store.job(request.match_info["id"])
        return web.Response(text=job.logs_text(), content_type="text/plain")

    async def get_job_metrics(self, request: web.Request) -> web.StreamResponse:
        """GET /v1/jobs/{id}/metrics."""
        self.access.authorize(request)
        await self.store.settle(request.match_info["id"])
        job = self.store.job(request.match_info["id"])
        return web.json_response(job.metrics_json(self.config.qiskit_version))

    async def delete_job(self, request: web.Request) -> web.StreamResponse:
        """DELETE /v1/jobs/{id}: forget a finished or Queued job (a Running one is a 400)."""
        self.access.authorize(request)
        self.store.tick()
        self.store.delete_job(self.store.job(request.match_info["id"]))
        return web.Response(status=204)

    async def replace_tags(self, request: web.Request) -> web.StreamResponse:
        """PUT /v1/jobs/{id}/tags: replace the job's tags."""
        self.access.authorize(request)
        job = self.store.job(request.match_info["id"])
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
        """Register the job routes."""
        router.add_post("/api/v1/jobs", self.create_job, name="create_job")
        router.add_get("/api/v1/jobs", self.list_jobs, name="list_jobs", allow_head=False)
        router.add_get("/api/v1/jobs/{id}", self.get_job, name="get_job", allow_head=False)
        router.add_get(
            "/api/v1/jobs/{id}/results",
            self.get_job_results,
            name="get_job_results_jid",
            allow_head=False,
        )
        router.add_post("/api/v1/jobs/{id}/cancel", self.cancel_job, name="cancel_job_jid")
        router.add_get(
            "/api/v1/jobs/{id}/logs", self.get_job_logs, name="get_jog_logs_jid", allow_head=False
        )
        router.add_get(
            "/api/v1/jobs/{id}/metrics",
            self.get_job_metrics,
            name="get_job_metrics_jid",
            allow_head=False,
        )
        router.add_delete("/api/v1/jobs/{id}", self.delete_job, name="delete_job_jid")
        router.add_put("/api/v1/jobs/{id}/tags", self.replace_tags, name="replace_job_tags")
