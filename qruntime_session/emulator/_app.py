"""The aiohttp.web application: IBM's routes under ``/api/v1`` plus IAM's token endpoint.

One middleware (the "gateway") records every request, applies injected faults, and turns
refusals into IBM error bodies. Handlers authenticate, validate, then call the store.
"""

from __future__ import annotations

import collections
import datetime
import json
import logging
import math
import re
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import attrs
from aiohttp import HttpVersion10, web
from multidict import MultiMapping

from ._account import add_account_services
from ._backends import (
    BackendSpec,
    calibration_id,
    configuration_json,
    device_json,
    properties_json,
    status_json,
)
from ._clock import isoformat, parse_timestamp
from ._config import EmulatorConfig
from ._errors import ApiError
from ._faults import Fault, FaultPlan
from ._iam import GRANT_TYPE_APIKEY, TokenCheck, check_token, iam_error_body, issue_access_token
from ._job_routes import JobRoutes
from ._programs import PROGRAMS, program_result
from ._records import RecordedRequest
from ._state import Store

__all__ = [
    "API_VERSIONS",
    "MORE_INFO_URL",
    "TRACE_HEADER",
    "ApiVersion",
    "build_app",
    "load_openapi",
]

logger = logging.getLogger("qruntime_session.emulator")

MORE_INFO_URL = "https://cloud.ibm.com/apidocs/quantum-computing#error-handling"
#: Response header carrying the request's trace id (also the ``trace`` of error bodies).
TRACE_HEADER = "X-Request-Id"

_SPEC_DIR = Path(__file__).resolve().parent.parent / "specs" / "openapi"
_SPEC_FILES = {
    "sessions": "ibm-quantum-runtime-sessions-openapi.yml",
    "jobs": "ibm-quantum-runtime-jobs-openapi.yml",
    "backends": "ibm-quantum-runtime-backends-openapi.yml",
    "instances": "ibm-quantum-runtime-instances-openapi.yml",
}


@attrs.frozen
class ApiVersion:
    """One published ``IBM-API-Version``."""

    version: str
    status: str
    sunset_date: str | None = None


#: The published list (latest IBM docs snapshot), oldest first.
API_VERSIONS: tuple[ApiVersion, ...] = (
    ApiVersion("2024-01-01", "deprecated", "2027-01-01"),
    ApiVersion("2025-01-01", "deprecated", "2027-01-01"),
    ApiVersion("2025-05-01", "deprecated", "2027-01-01"),
    ApiVersion("2026-02-01", "deprecated", "2027-02-01"),
    ApiVersion("2026-02-15", "deprecated", "2027-02-15"),
    ApiVersion("2026-03-15", "deprecated", "2027-03-15"),
    ApiVersion("2026-04-15", "live"),
)

_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_TRUE = frozenset({"1", "t", "true"})
_FALSE = frozenset({"0", "f", "false"})
_LOG_LEVELS = frozenset({"critical", "error", "warning", "info", "debug"})
_MODES = frozenset({"batch", "dedicated"})
_INT32_MAX = 2147483647

#: Route names that record under another operation id.
_OPERATION_OF_ROUTE = {"get_openapi_file": "get_openapi"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def load_openapi() -> dict[str, Any]:
    """The project's OpenAPI descriptions merged into one document."""
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


# ----------------------------------------------------------------------------- parsing


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_date(text: str) -> bool:
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _bad(message: str) -> ApiError:
    return ApiError(400, "bad_request", message)


def _json_body(raw: bytes) -> Any:
    if not raw.strip():
        raise _bad("The request body is missing.")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise _bad("The request body is not valid JSON (or nests too deeply).") from exc


def _json_object(raw: bytes) -> dict[str, Any]:
    body = _json_body(raw)
    if not isinstance(body, dict):
        raise _bad("The request body must be a JSON object.")
    return body


def _string(
    body: Mapping[str, Any], name: str, *, required: bool, min_length: int = 1, max_length: int
) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise _bad(f"{name} is required and must be a string.")
        return None
    if not isinstance(value, str):
        raise _bad(f"{name} must be a string.")
    if not min_length <= len(value) <= max_length:
        raise _bad(f"{name} must be {min_length} to {max_length} characters long.")
    return value


def _integer(body: Mapping[str, Any], name: str, *, minimum: int, maximum: int) -> int | None:
    if name not in body:
        return None
    value = body[name]
    if not _is_int(value) or not minimum <= value <= maximum:
        raise _bad(f"{name} must be an integer within {minimum}..{maximum}.")
    return int(value)


def _query_bool(query: MultiMapping[str], name: str, default: bool | None) -> bool | None:
    raw = query.get(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise _bad(f"Query parameter {name} must be true or false.")


def _query_int(query: MultiMapping[str], name: str, default: int, low: int, high: int) -> int:
    """Out-of-range or malformed values silently become the default (IBM's rule for paging)."""
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        return default
    return value if low <= value <= high else default


def _query_str(query: MultiMapping[str], name: str, max_length: int) -> str | None:
    raw = query.get(name)
    if raw is None:
        return None
    if not 1 <= len(raw) <= max_length:
        raise _bad(f"Query parameter {name} must be 1 to {max_length} characters long.")
    return raw


def _query_time(query: MultiMapping[str], name: str) -> float | None:
    raw = query.get(name)
    if raw is None:
        return None
    try:
        return parse_timestamp(raw)
    except ValueError as exc:
        raise _bad(f"Query parameter {name} must be an ISO 8601 date-time.") from exc


# --------------------------------------------------------------------------- the API


class Api:
    """Request handlers over one :class:`Store`, plus the gateway middleware."""

    def __init__(
        self,
        *,
        config: EmulatorConfig,
        store: Store,
        faults: FaultPlan,
        requests: collections.deque[RecordedRequest],
    ) -> None:
        self.config = config
        self.store = store
        self.faults = faults
        self.requests = requests
        self._openapi: dict[str, Any] | None = None

    # ------------------------------------------------------------------ answers

    def error_body(self, trace: str, code: str, message: str) -> dict[str, Any]:
        """IBM's ``ErrorContainer`` with one error item."""
        wire_code: str | int = (
            int(code) if self.config.numeric_error_codes and code.isdigit() else code
        )
        return {
            "trace": trace,
            "errors": [{"code": wire_code, "message": message, "more_info": MORE_INFO_URL}],
        }

    def error_response(self, trace: str, error: ApiError) -> web.Response:
        """An ``ApiError`` as an HTTP answer."""
        return web.json_response(
            self.error_body(trace, error.code, error.message),
            status=error.status,
            headers={TRACE_HEADER: trace, **error.headers},
        )

    def fault_response(self, request: web.Request, fault: Fault, trace: str) -> web.Response:
        """The canned answer of a ``status=`` fault."""
        assert fault.status is not None
        headers = {TRACE_HEADER: trace, **fault.headers}
        body = fault.body
        if body is None:
            if request.path.startswith("/identity/"):
                body = iam_error_body(
                    "BXNIM0001E",
                    "Injected fault.",
                    url=str(request.url),
                    now=self.store.now(),
                    user_agent=request.headers.get("User-Agent"),
                )
            else:
                body = self.error_body(
                    trace, str(fault.status), f"Injected fault: HTTP {fault.status}."
                )
        if isinstance(body, bytes):
            return web.Response(body=body, status=fault.status, headers=headers)
        if isinstance(body, str):
            return web.Response(text=body, status=fault.status, headers=headers)
        if fault.status in (204, 304):
            return web.Response(status=fault.status, headers=headers)
        return web.json_response(body, status=fault.status, headers=headers)

    # ---------------------------------------------------------------- gateway

    @web.middleware
    async def gateway(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Record, apply faults, run the handler, map errors to IBM bodies.

        Every request is recorded before anything can refuse it, and its record ends with the
        status actually answered (``None`` only when the connection was dropped).
        """
        route_name = request.match_info.route.name
        operation = _OPERATION_OF_ROUTE.get(route_name or "", route_name or "unknown")
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            query=request.query,
            headers=request.headers,
            raw_body=b"",
            content_type=request.content_type,
            operation=operation,
            received_at=self.store.now(),
        )
        self.requests.append(record)
        trace = self.store.new_id()
        if request.version < HttpVersion10:
            # No HTTP version on the request line (HTTP/0.9): refuse it in HTTP/1.0 and close.
            record.status = 400
            self._refuse_http09(request, trace)
            return web.Response(status=499)
        try:
            response = await self._answer(request, handler, record, operation, trace)
        except ApiError as error:
            response = self.error_response(trace, error)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            response = self._http_error(request, exc, trace)
        except Exception:
            logger.exception("%s %s failed in the emulator", request.method, request.path)
            response = self.error_response(
                trace, ApiError(500, "internal_error", "The emulator failed on this request.")
            )
        if response.status == 499 and record.fault and "drop" in record.fault:
            return response  # dropped: the record keeps status None
        if not request.path.startswith("/identity/"):
            response.headers.setdefault(TRACE_HEADER, trace)
        record.status = response.status
        logger.debug("%s %s -> %s (%s)", request.method, request.path, response.status, operation)
        return response

    def _http_error(
        self, request: web.Request, exc: web.HTTPException, trace: str
    ) -> web.StreamResponse:
        code = "not_found" if exc.status == 404 else "bad_request"
        message = (
            f"No route for {request.method} {request.path}."
            if exc.status in (404, 405)
            else exc.reason
        )
        return web.json_response(
            self.error_body(trace, code, message),
            status=exc.status,
            headers={TRACE_HEADER: trace},
        )

    async def _answer(
        self,
        request: web.Request,
        handler: Handler,
        record: RecordedRequest,
        operation: str,
        trace: str,
    ) -> web.StreamResponse:
        raw = await request.read()
        record.raw_body = raw
        fault = self.faults.on_call(operation)
        kinds: list[str] = []
        if fault is not None and fault.delay:
            kinds.append("delay")
            record.fault = "+".join(kinds)
            await self.config.sleep(fault.delay)
        if fault is not None and fault.drop == "before":
            kinds.append("drop-before")
            record.fault = "+".join(kinds)
            self._drop(request)
            logger.debug(
                "%s %s dropped before handling (%s)", request.method, request.path, operation
            )
            return web.Response(status=499)
        if fault is not None and fault.status is not None and not fault.handled:
            kinds.append("status")
            record.fault = "+".join(kinds)
            return self.fault_response(request, fault, trace)
        response: web.StreamResponse
        try:
            response = await handler(request)
        except ApiError as error:
            response = self.error_response(trace, error)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            response = self._http_error(request, exc, trace)
        if fault is not None and fault.drop == "after":
            kinds.append("drop-after")
            record.fault = "+".join(kinds)
            self._drop(request)
            logger.debug(
                "%s %s handled, then dropped (%s)", request.method, request.path, operation
            )
            return web.Response(status=499)
        if fault is not None and fault.status is not None:
            kinds.append("handled+status")
            record.fault = "+".join(kinds)
            return self.fault_response(request, fault, trace)
        return response

    def _refuse_http09(self, request: web.Request, trace: str) -> None:
        body = json.dumps(
            self.error_body(trace, "bad_request", "The request line has no HTTP version.")
        ).encode()
        head = (
            "HTTP/1.0 400 Bad Request\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"{TRACE_HEADER}: {trace}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        transport = request.transport
        if transport is not None:
            transport.write(head + body)
            transport.close()

    @staticmethod
    def _drop(request: web.Request) -> None:
        transport = request.transport
        if transport is not None:
            transport.close()

    # ----------------------------------------------------------------- checks

    def authorize(self, request: web.Request) -> None:
        """Bearer token, IBM-API-Version, Service-CRN — in that order."""
        header = request.headers.get("Authorization")
        if header is None:
            raise ApiError(401, "1200", "Not authorized: the Authorization header is missing.")
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "1200", "Not authorized: a bearer token is required.")
        if token != self.config.token:
            verdict = check_token(token, secret=self.config.token_secret, now=self.store.now())
            if verdict is TokenCheck.EXPIRED:
                raise ApiError(401, "1201", "Invalid credentials: the bearer token has expired.")
            if verdict is TokenCheck.INVALID:
                raise ApiError(401, "1201", "Invalid credentials: the bearer token is not valid.")
        self._check_version(request.headers.get("IBM-API-Version"))
        crn = request.headers.get("Service-CRN")
        if crn is None or not crn.strip():
            raise _bad("The Service-CRN header is required.")
        if crn.strip() != self.config.service_crn:
            raise ApiError(404, "1279", f"Instance {crn.strip()} not found.")

    def _check_version(self, value: str | None) -> ApiVersion:
        if value is None or not value.strip():
            raise _bad("The IBM-API-Version header is required (YYYY-MM-DD).")
        text = value.strip()
        if not _DATE.match(text) or not _is_date(text):
            raise _bad(f"Invalid IBM-API-Version {text!r}: expected a date YYYY-MM-DD.")
        eligible = [entry for entry in API_VERSIONS if entry.version <= text]
        if not eligible:
            raise _bad(
                f"Unsupported IBM-API-Version {text}: the oldest version is "
                f"{API_VERSIONS[0].version}."
            )
        resolved = eligible[-1]
        today = datetime.datetime.fromtimestamp(self.store.now(), tz=datetime.UTC).date()
        if resolved.sunset_date is not None and today.isoformat() >= resolved.sunset_date:
            raise _bad(
                f"IBM-API-Version {resolved.version} reached its sunset date "
                f"{resolved.sunset_date}."
            )
        return resolved

    # ------------------------------------------------------------------ sessions

    async def create_session(self, request: web.Request) -> web.StreamResponse:
        """POST /v1/sessions."""
        self.authorize(request)
        body = _json_object(await request.read())
        mode = body.get("mode")
        if not isinstance(mode, str) or mode not in _MODES:
            raise _bad("mode is required and must be one of batch, dedicated.")
        backend = _string(body, "backend", required=False, max_length=10000)
        backend_name = _string(body, "backend_name", required=False, max_length=10000)
        max_ttl = _integer(body, "max_ttl", minimum=1, maximum=_INT32_MAX)
        interactive_ttl = _integer(body, "interactive_ttl", minimum=1, maximum=_INT32_MAX)
        active_ttl = _integer(body, "active_ttl", minimum=1, maximum=_INT32_MAX)
        effective_max = max_ttl if max_ttl is not None else self.config.default_max_ttl
        if active_ttl is not None and active_ttl > effective_max:
            raise _bad("active_ttl must be less than or equal to max_ttl.")
        if interactive_ttl is not None and interactive_ttl > (
            active_ttl if active_ttl is not None else effective_max
        ):
            raise _bad("interactive_ttl must be less than or equal to active_ttl.")
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
        self.authorize(request)
        now = self.store.tick()
        session = self.store.session(request.match_info["id"])
        return web.json_response(session.to_json(now))

    async def update_session(self, request: web.Request) -> web.StreamResponse:
        """PATCH /v1/sessions/{id}."""
        self.authorize(request)
        session = self.store.session(request.match_info["id"])
        body = _json_object(await request.read())
        await self.store.settle_session(session.id)
        accepting = body.get("accepting_jobs")
        if not isinstance(accepting, bool):
            raise _bad("accepting_jobs is required and must be a boolean.")
        self.store.set_accepting(session, accepting)
        return web.Response(status=204)

    async def delete_session_close(self, request: web.Request) -> web.StreamResponse:
        """DELETE /v1/sessions/{id}/close."""
        self.authorize(request)
        session_id = request.match_info["id"]
        if len(session_id) > 500:
            raise _bad("The session id must be 1 to 500 characters long.")
        await self.store.settle_session(self.store.session(session_id).id)
        self.store.cancel_session(self.store.session(session_id))
        return web.Response(status=204)

    # ---------------------------------------------------------------------- jobs

    async def create_job(self, request: web.Request) -> web.StreamResponse:
        """POST /v1/jobs. Fields not in IBM's schema are accepted and ignored."""
        self.authorize(request)
        body = _json_object(await request.read())
        program_id = _string(body, "program_id", required=True, max_length=10000)
        backend = _string(body, "backend", required=True, max_length=10000)
        assert program_id is not None
        assert backend is not None
        session_id = _string(body, "session_id", required=False, max_length=36)
        params = body.get("params")
        if "params" in body and not isinstance(params, dict):
            raise _bad("params must be a JSON object.")
        tags = body.get("tags", [])
        if (
            not isinstance(tags, list)
            or len(tags) > 8
            or not all(isinstance(tag, str) and len(tag) <= 86 for tag in tags)
        ):
            raise _bad("tags must be a list of at most 8 strings of at most 86 characters.")
        log_level = body.get("log_level")
        # IBM's schema lists lower case; the official client sends upper case ("WARNING").
        if log_level is not None and (
            not isinstance(log_level, str) or log_level.lower() not in _LOG_LEVELS
        ):
            raise _bad(f"log_level must be one of {', '.join(sorted(_LOG_LEVELS))}.")
        cost = _integer(body, "cost", minimum=0, maximum=_INT32_MAX)
        runtime = _string(body, "runtime", required=False, max_length=10000)
        calibration_id = _string(body, "calibration_id", required=False, max_length=100)
        private = body.get("private", False)
        if not isinstance(private, bool):
            raise _bad("private must be a boolean.")
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
        self.authorize(request)
        query = request.query
        limit = _query_int(query, "limit", 200, 1, 200)
        offset = _query_int(query, "offset", 0, 0, _INT32_MAX)
        sort = query.get("sort", "DESC")
        if sort not in ("ASC", "DESC"):
            raise _bad("Query parameter sort must be ASC or DESC.")
        tags = query.getall("tags", [])
        if len(tags) > 8 or any(len(tag) > 86 for tag in tags):
            raise _bad("Query parameter tags: at most 8 tags of at most 86 characters.")
        exclude_params = _query_bool(query, "exclude_params", True)
        jobs = self.store.list_jobs(
            pending=_query_bool(query, "pending", None),
            program=_query_str(query, "program", 63),
            backend=_query_str(query, "backend", 100),
            session_id=_query_str(query, "session_id", 1000),
            tags=tags,
            created_after=_query_time(query, "created_after"),
            created_before=_query_time(query, "created_before"),
            ascending=sort == "ASC",
        )
        if not _query_bool(query, "include_mocks", False):
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
        self.authorize(request)
        exclude_params = _query_bool(request.query, "exclude_params", False)
        await self.store.settle(request.match_info["id"])
        job = self.store.job(request.match_info["id"])
        return web.json_response(job.to_json(include_params=not exclude_params))

    async def get_job_results(self, request: web.Request) -> web.StreamResponse:
        """GET /v1/jobs/{id}/results: 200 with the result, or 204 when there is none."""
        self.authorize(request)
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
        self.authorize(request)
        self.store.cancel_job(self.store.job(request.match_info["id"]))
        return web.Response(status=204)

    async def get_job_logs(self, request: web.Request) -> web.StreamResponse:
        """GET /v1/jobs/{id}/logs (text/plain)."""
        self.authorize(request)
        await self.store.settle(request.match_info["id"])
        job = self.store.job(request.match_info["id"])
        return web.Response(text=job.logs_text(), content_type="text/plain")

    async def get_job_metrics(self, request: web.Request) -> web.StreamResponse:
        """GET /v1/jobs/{id}/metrics."""
        self.authorize(request)
        await self.store.settle(request.match_info["id"])
        job = self.store.job(request.match_info["id"])
        return web.json_response(job.metrics_json(self.config.qiskit_version))

    # ------------------------------------------------------------------ backends

    def _device(self, request: web.Request) -> BackendSpec:
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
        self.authorize(request)
        include_mocks = _query_bool(request.query, "include_mocks", False)
        devices = self.config.device_list(include_mocks=bool(include_mocks))
        return web.json_response({"devices": [device_json(spec) for spec in devices]})

    async def get_backend_configuration(self, request: web.Request) -> web.StreamResponse:
        """GET /v1/backends/{name}/configuration."""
        self.authorize(request)
        return web.json_response(configuration_json(self._device(request)))

    async def get_backend_properties(self, request: web.Request) -> web.StreamResponse:
        """GET /v1/backends/{name}/properties."""
        self.authorize(request)
        return web.json_response(properties_json(self._device(request), self.store.now()))

    async def get_backend_status(self, request: web.Request) -> web.StreamResponse:
        """GET /v1/backends/{name}/status."""
        self.authorize(request)
        return web.json_response(status_json(self._device(request)))

    async def get_usage(self, request: web.Request) -> web.StreamResponse:
        """GET /v1/instances/usage: the QPU seconds the instance's jobs used this month."""
        self.authorize(request)
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

    # --------------------------------------------------------------------- other

    async def get_versions(self, request: web.Request) -> web.StreamResponse:
        """GET /v1/versions: no credentials needed."""
        versions = []
        for entry in API_VERSIONS:
            item: dict[str, str] = {"version": entry.version, "status": entry.status}
            if entry.sunset_date is not None:
                item["sunset_date"] = entry.sunset_date
            versions.append(item)
        return web.json_response({"versions": versions})

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

    async def iam_token(self, request: web.Request) -> web.StreamResponse:
        """POST /identity/token: exchange an API key for an access token."""
        raw = await request.read()
        form: dict[str, list[str]] = {}
        if request.content_type == "application/x-www-form-urlencoded":
            form = urllib.parse.parse_qs(raw.decode("utf-8", errors="replace"))
        grant_type = (form.get("grant_type") or [""])[0]
        api_key = (form.get("apikey") or [""])[0]
        now = self.store.now()

        def refuse(code: str, message: str) -> web.Response:
            body = iam_error_body(
                code,
                message,
                url=str(request.url),
                now=now,
                user_agent=request.headers.get("User-Agent"),
            )
            return web.json_response(body, status=400)

        if not grant_type or not api_key:
            return refuse("BXNIM0109E", "Property missing or empty: grant_type and apikey.")
        if grant_type != GRANT_TYPE_APIKEY:
            return refuse("BXNIM0103E", f"Unsupported grant_type {grant_type}.")
        if api_key != self.config.api_key:
            return refuse("BXNIM0415E", "Provided API key could not be found.")
        lifetime = self.config.token_lifetime
        token, expiration = issue_access_token(
            secret=self.config.token_secret,
            now=now,
            lifetime=lifetime,
            user_id=self.config.user_id,
            issuer=f"{request.scheme}://{request.host}/identity",
        )
        return web.json_response(
            {
                "access_token": token,
                "refresh_token": "not_supported",
                "token_type": "Bearer",
                "expires_in": lifetime,
                "expiration": expiration,
                "scope": "ibm_openid",
            }
        )


def build_app(api: Api) -> web.Application:
    """Wire the routes of ``api`` into a new application."""
    app = web.Application(middlewares=[api.gateway])
    # IBM Cloud's account services (by Host), before the API's routes: see _account.py.
    add_account_services(app, api.config, api.store.now)
    router = app.router
    router.add_post("/api/v1/sessions", api.create_session, name="create_session")
    router.add_get("/api/v1/sessions/{id}", api.get_session, name="get_session", allow_head=False)
    router.add_patch("/api/v1/sessions/{id}", api.update_session, name="update_session")
    router.add_delete(
        "/api/v1/sessions/{id}/close", api.delete_session_close, name="delete_session_close"
    )
    router.add_post("/api/v1/jobs", api.create_job, name="create_job")
    router.add_get("/api/v1/jobs", api.list_jobs, name="list_jobs", allow_head=False)
    router.add_get("/api/v1/jobs/{id}", api.get_job, name="get_job", allow_head=False)
    router.add_get(
        "/api/v1/jobs/{id}/results",
        api.get_job_results,
        name="get_job_results_jid",
        allow_head=False,
    )
    router.add_post("/api/v1/jobs/{id}/cancel", api.cancel_job, name="cancel_job_jid")
    router.add_get(
        "/api/v1/jobs/{id}/logs", api.get_job_logs, name="get_jog_logs_jid", allow_head=False
    )
    router.add_get(
        "/api/v1/jobs/{id}/metrics",
        api.get_job_metrics,
        name="get_job_metrics_jid",
        allow_head=False,
    )
    JobRoutes(api).add_routes(router)
    router.add_get("/api/v1/backends", api.list_backends, name="list_backends", allow_head=False)
    for suffix, handler in (
        ("configuration", api.get_backend_configuration),
        ("properties", api.get_backend_properties),
        ("status", api.get_backend_status),
    ):
        router.add_get(
            f"/api/v1/backends/{{name}}/{suffix}",
            handler,
            name=f"get_backend_{suffix}",
            allow_head=False,
        )
    router.add_get("/api/v1/instances/usage", api.get_usage, name="get_usage", allow_head=False)
    router.add_get("/api/v1/versions", api.get_versions, name="get_versions", allow_head=False)
    openapi = router.add_resource("/api/openapi.json", name="get_openapi")
    openapi.add_route("GET", api.get_openapi)
    openapi_file = router.add_resource("/api/openapi/{name}.yml", name="get_openapi_file")
    openapi_file.add_route("GET", api.get_openapi)
    router.add_post("/identity/token", api.iam_token, name="iam_token")
    return app
