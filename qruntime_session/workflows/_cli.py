"""``qruntime-session workflow run``: run an Arazzo workflow from the command line.

::

    qruntime-session workflow run [FILE] [--workflow-id ID] [--input k=v ...]
        [--server-url URL] [--dry-run] [--trace FILE] [--emulator]

* ``FILE`` defaults to the bundled seed (open a session, run a job, close it).
* ``--input k=v`` gives a string, ``--input k:=<json>`` an inline JSON value and
  ``--input k=@file.json`` a JSON value read from a file. Repeat it for several inputs.
* Without ``--emulator``, the configuration is the SDK's, resolved as ``RuntimeClient()``
  resolves it (``ClientConfig.load``: environment, saved qiskit account, config file), with
  the ``accessToken``/``serviceCrn``/``apiVersion`` inputs given on the command line in the
  place of its keyword arguments. It fills those inputs when the workflow declares them, and
  its base URL (``QRUNTIME_BASE_URL``, or the CRN's region) replaces the servers of the
  sources that are the Qiskit Runtime API (unless ``--server-url`` is given). A configured
  API key (and no bearer token) is exchanged at the configured IAM URL by the SDK's own
  ``IAMApiKeyAuth``: the token fills ``accessToken`` and is renewed, before a request, when it
  is about to expire. ``--dry-run`` sends nothing, not even the exchange.
* Inputs that need no account default to what ``demo`` uses: ``apiVersion`` the SDK's
  default, ``backend`` ``ibm_fez``, ``mode`` ``batch``, ``programId`` ``sampler`` and a
  one-pub Bell-pair ``params`` body (for ``sampler`` or ``estimator``).
* ``--emulator`` starts the in-process emulator, sends everything there, and fills
  ``accessToken``/``serviceCrn`` from it.

stdout gets exactly one JSON document: the workflow's outputs (or, with ``--dry-run``, the
planned requests). A failure prints one line on stderr naming the step, its status code,
IBM's error code and message when the service answered an error, the request (and so the
host) when no answer came, and any session left open; it exits 1 (so does an IAM exchange
that fails: the line names the IAM step and URL). An invalid document or
input exits 2. When the workflow succeeded but closing its session stopped the job it
submitted (the job is ``Cancelled``, or still ``Queued`` and so never to run), a warning
says so and the exit status is 3 (``EXIT_JOB_STOPPED``). No token is ever printed: outputs,
plans and traces are masked.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from qruntime_session import ClientConfig, JobStatus, RuntimeClient, errors
from qruntime_session._auth import IAMApiKeyAuth
from qruntime_session._config import DEFAULT_API_VERSION
from qruntime_session._transport import Response, Transport, status_error

from . import seed_path
from ._errors import LEFT_OPEN, DocumentError, WorkflowInputError
from ._model import ArazzoDocument, Workflow
from ._openapi import load_document
from ._results import WorkflowResult
from ._runner import WorkflowExecutor
from ._state import InputProvider
from ._trace import AttemptTrace, Masker, secret_inputs, secret_strings

__all__ = ["EXIT_JOB_STOPPED", "parse_inputs", "register", "run_command"]

EXIT_JOB_STOPPED = 3
"""The workflow succeeded, but closing its session stopped the job it submitted."""

_BELL = (
    'OPENQASM 3.0; include "stdgates.inc"; bit[2] c; qubit[2] q; '
    "h q[0]; cx q[0], q[1]; c = measure q;"
)
_PARAMS: dict[str, dict[str, Any]] = {
    # What `qruntime-session demo` sends: one Bell-pair pub.
    "sampler": {"pubs": [[_BELL, None, 128]], "version": 2},
    "estimator": {"pubs": [[_BELL, "ZZ"]], "version": 2},
}
# The seed's inputs the SDK configuration provides, and the ClientConfig field of each.
_CONFIG_INPUTS = {
    "accessToken": "access_token",
    "serviceCrn": "service_crn",
    "apiVersion": "api_version",
}
# A source whose server is one of these hosts (or a regional one) is the Qiskit Runtime API:
# it is sent to the configured base URL.
_RUNTIME_HOST = "quantum.cloud.ibm.com"
_STOPPED = frozenset({JobStatus.QUEUED, JobStatus.CANCELLED})
# What a dry run shows for the token an API key would be exchanged for (nothing is sent).
_DRY_RUN_TOKEN = "<bearer token from IAM>"  # noqa: S105 - a placeholder, no secret


def _seed_defaults(given: Mapping[str, Any]) -> dict[str, Any]:
    """The defaults of the seed's inputs that need no account (what ``demo`` uses)."""
    program = given.get("programId", "sampler")
    defaults: dict[str, Any] = {
        "apiVersion": DEFAULT_API_VERSION,
        "backend": "ibm_fez",
        "mode": "batch",
        "programId": "sampler",
    }
    if isinstance(program, str) and program in _PARAMS:
        defaults["params"] = _PARAMS[program]
    return defaults


def parse_inputs(items: list[str] | None) -> dict[str, Any]:
    """``k=v`` (string), ``k:=<json>`` (JSON) and ``k=@file.json`` (JSON from a file)."""
    values: dict[str, Any] = {}
    for item in items or []:
        name, sep, text = item.partition("=")
        if not sep or not name or name == ":":
            raise errors.InvalidInputError(f"--input needs name=value, not {item.split('=')[0]!r}")
        if name.endswith(":"):
            name = name[:-1]
            try:
                values[name] = json.loads(text)
            except ValueError as exc:
                raise errors.InvalidInputError(
                    f"--input {name}:= is not valid JSON ({exc})"
                ) from None
        elif text.startswith("@"):
            path = Path(text[1:])
            try:
                values[name] = json.loads(path.read_text(encoding="utf-8"))
            except OSError as exc:
                raise errors.InvalidInputError(
                    f"--input {name}: cannot read {path}: {exc.strerror}"
                ) from None
            except ValueError as exc:
                raise errors.InvalidInputError(
                    f"--input {name}: {path} is not valid JSON ({exc})"
                ) from None
        else:
            values[name] = text
    return values


def _configuration(
    inputs: Mapping[str, Any], declared: set[str]
) -> tuple[ClientConfig | None, str | None]:
    """The SDK's configuration, as ``RuntimeClient()`` resolves it: (config, why not).

    The inputs given on the command line take the place of the SDK's keyword arguments, so
    they win over the environment, the saved qiskit account and the config file.
    """
    explicit = {
        field: inputs[name]
        for name, field in _CONFIG_INPUTS.items()
        if name in declared and isinstance(inputs.get(name), str)
    }
    try:
        return ClientConfig.load(**explicit), None
    except errors.ConfigurationError as exc:
        return None, str(exc)


def _runtime_servers(documents: list[ArazzoDocument], base_url: str) -> dict[str, str]:
    """``base_url`` for every source whose servers are the Qiskit Runtime API's."""
    servers: dict[str, str] = {}
    for document in documents:
        for operation in document.operations.values():
            host = urlsplit(operation.server_url or "").hostname or ""
            if host == _RUNTIME_HOST or host.endswith("." + _RUNTIME_HOST):
                servers[operation.source] = base_url
    return servers


def _declared(workflow: Workflow) -> set[str]:
    schema = workflow.inputs or {}
    properties = schema.get("properties")
    return set(properties) if isinstance(properties, Mapping) else set()


def _fill(target: dict[str, Any], declared: set[str], extra: Mapping[str, Any]) -> None:
    for name, value in extra.items():
        if name in declared and name not in target and value is not None:
            target[name] = value


def _write_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _error(line: str) -> None:
    sys.stderr.write("error: " + " ".join(line.split()) + "\n")
    sys.stderr.flush()


def _warning(line: str) -> None:
    sys.stderr.write("warning: " + " ".join(line.split()) + "\n")
    sys.stderr.flush()


async def _execute(
    args: argparse.Namespace, document: ArazzoDocument, inputs: dict[str, Any]
) -> int:
    workflow = document.workflow(args.workflow_id) if args.workflow_id else document.workflows[0]
    declared = _declared(workflow)
    server_url: str | Mapping[str, str] | None = args.server_url
    if args.emulator:
        from qruntime_session.emulator import run_emulator  # the emulator loads only here

        async with run_emulator() as emu:
            _fill(inputs, declared, {"accessToken": emu.token, "serviceCrn": emu.service_crn})
            _fill(inputs, declared, _seed_defaults(inputs))
            return await _run_or_plan(args, document, workflow, inputs, server_url or emu.base_url)
    config, problem = _configuration(inputs, declared)
    exchange = (
        config is not None
        and config.access_token is None
        and config.api_key is not None
        and "accessToken" in declared
        and "accessToken" not in inputs
    )
    if config is not None:
        _fill(
            inputs,
            declared,
            {name: getattr(config, field) for name, field in _CONFIG_INPUTS.items()},
        )
        if server_url is None:
            documents = [document, *document.arazzo_sources.values()]
            server_url = _runtime_servers(documents, config.base_url) or None
    _fill(inputs, declared, _seed_defaults(inputs))
    wanted = declared & _CONFIG_INPUTS.keys()
    if config is None and problem is not None and wanted and wanted <= inputs.keys():
        # Given on the command line, yet the configuration is unusable (malformed).
        _warning(
            f"the SDK configuration was not used ({problem}); sending to the servers "
            "the document names" + ("" if server_url is None else " or --server-url")
        )
    try:
        if exchange and not args.dry_run:
            assert config is not None
            async with _iam_bearer(config) as bearer:
                try:
                    inputs["accessToken"] = await bearer()
                except errors.QRuntimeError as exc:
                    _error(_iam_failure(config, exc))
                    return 1
                providers = {"accessToken": bearer}
                return await _run_or_plan(args, document, workflow, inputs, server_url, providers)
        if exchange:
            inputs["accessToken"] = _DRY_RUN_TOKEN
        return await _run_or_plan(args, document, workflow, inputs, server_url)
    except WorkflowInputError as exc:
        if problem is None:
            raise
        _error(f"{exc} (from the SDK configuration: {problem})")
        return 2


@contextlib.asynccontextmanager
async def _iam_bearer(config: ClientConfig) -> AsyncIterator[InputProvider]:
    """The bearer token IAM gives for the configured API key, as an input provider.

    The SDK's ``IAMApiKeyAuth`` makes the exchange (at ``<iam_url>/identity/token``) and
    renews the token shortly before it expires; the executor asks for it before every request.
    """
    assert config.api_key is not None
    transport = Transport(
        timeouts=config.timeouts, retry=config.retry, max_response_bytes=config.max_response_bytes
    )
    auth = IAMApiKeyAuth(config.api_key, iam_url=config.iam_url, transport=transport)

    async def bearer() -> str:
        return (await auth.token()).reveal()

    try:
        yield bearer
    finally:
        await transport.aclose()


async def _run_or_plan(
    args: argparse.Namespace,
    document: ArazzoDocument,
    workflow: Workflow,
    inputs: dict[str, Any],
    server_url: str | Mapping[str, str] | None,
    providers: Mapping[str, InputProvider] | None = None,
) -> int:
    masker = Masker()
    masker.add(secret_inputs(workflow.inputs, inputs))

    def masked(provider: InputProvider) -> InputProvider:
        async def value() -> Any:
            current = await provider()
            masker.add(secret_strings(current))
            return current

        return value

    providers = {name: masked(provider) for name, provider in (providers or {}).items()}
    executor = WorkflowExecutor(document=document, server_url=server_url, input_providers=providers)
    if args.dry_run:
        plan = await executor.plan(inputs, workflow_id=workflow.workflow_id)
        _write_json([request.as_json() for request in plan])
        return 0
    result = await executor.run(inputs, workflow_id=workflow.workflow_id)
    if args.trace:
        _write_trace(Path(args.trace), result)
    if result.error is not None:
        # The service's own words go right after the step's failure, before the left-open list.
        head, marker, left_open = str(result.error).partition(LEFT_OPEN)
        _error(masker.text(head + _failure_note(result) + marker + left_open))
        return 1
    for handled in result.handled_failures:
        code = f" (status {handled.status_code})" if handled.status_code is not None else ""
        _warning(
            f"step {handled.step_id!r} failed{code}; its {handled.action} action handled it, so "
            "the workflow went on"
        )
    _write_json(masker.json(dict(result.outputs)))
    for name, provider in providers.items():
        try:
            inputs[name] = await provider()  # a token still valid for the status check
        except errors.QRuntimeError:
            break  # the check below reports what it cannot do
    stopped = await _jobs_stopped_by_close(result, inputs)
    for job_id, status, close in stopped:
        _warning(
            f"job {job_id} is {status.value} after step {close.step_id!r} closed its session "
            f"({close.request.method if close.request else 'close'}): the close "
            f"{'stopped' if status is JobStatus.CANCELLED else 'stops'} a job that has not "
            f"started (exit {EXIT_JOB_STOPPED})"
        )
    return EXIT_JOB_STOPPED if stopped else 0


def _iam_failure(config: ClientConfig, exc: errors.QRuntimeError) -> str:
    """The error line of a refused API key exchange: the IAM step, its URL, the key's source."""
    source = config.source.get("api_key")
    return (
        f"IAM token exchange (POST {config.iam_url}/identity/token) failed: "
        f"{type(exc).__name__}: {exc.message}"
        + (f" (the API key is from {source})" if source else "")
    )


def _failure_note(result: WorkflowResult) -> str:
    """What the service said (IBM's error code and message), or where a request went unanswered.

    `` — AuthenticationError: code 401: …`` when the failed step's last answer is an error
    status with a body; `` (POST https://host/…, N attempts)`` when it got no answer
    (connection or timeout), so the host is always named.
    """
    tried = [a for a in result.trace if a.step_id == result.failed_step]
    if not tried:
        return ""
    last = tried[-1]
    if last.status is not None and last.status >= 400:
        return _service_error(last)
    if last.error_type not in {"connect", "timeout", "connection_lost"}:
        return ""
    where = f"{last.request.method} {last.request.url}, " if last.request is not None else ""
    return f" ({where}{len(tried)} attempt{'s' if len(tried) != 1 else ''})"


def _service_error(attempt: AttemptTrace) -> str:
    """The SDK's reading of an error answer (already masked): its class, codes and message."""
    assert attempt.status is not None
    body = attempt.response_body
    raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    response = Response(
        method=attempt.request.method if attempt.request is not None else "",
        url=attempt.request.url if attempt.request is not None else "",
        status=attempt.status,
        headers=dict(attempt.response_headers),
        body=b"" if body is None else raw,
        elapsed=attempt.elapsed,
        attempts=1,
    )
    error = status_error(response)
    detail = "; ".join(
        f"code {e.code}: {e.message}" if e.code else (e.message or "") for e in error.errors
    )
    trace = f" (trace {error.trace_id})" if error.trace_id else ""
    return f" — {type(error).__name__}: {detail or 'no error details in the answer'}{trace}"


async def _jobs_stopped_by_close(
    result: WorkflowResult, inputs: Mapping[str, Any]
) -> list[tuple[str, JobStatus, AttemptTrace]]:
    """The jobs the workflow submitted that its session close stopped (or will stop).

    Applies when a step closed a session (a successful ``DELETE …/sessions/{id}/close``) and
    the workflow has an output naming a job (``…jobId``) and the seed's credential inputs:
    each such job's status is read through the SDK; ``Queued`` (the close cancels it) or
    ``Cancelled`` means the close stopped it. A job already running completes.
    """
    close = next(
        (
            a
            for a in result.trace
            if a.success
            and a.request is not None
            and a.request.method == "DELETE"
            and "/v1/sessions/" in a.request.url
            and a.request.url.split("?", 1)[0].rstrip("/").endswith("/close")
        ),
        None,
    )
    jobs = [
        value
        for name, value in result.outputs.items()
        if isinstance(value, str)
        and value
        and name.lower().replace("_", "").replace("-", "").endswith("jobid")
    ]
    token, crn = inputs.get("accessToken"), inputs.get("serviceCrn")
    if close is None or close.request is None or not jobs:
        return []
    if not isinstance(token, str) or not isinstance(crn, str):
        return []
    base_url = close.request.url.split("/v1/sessions/", 1)[0]
    version = inputs.get("apiVersion")
    stopped: list[tuple[str, JobStatus, AttemptTrace]] = []
    try:
        async with RuntimeClient(
            base_url=base_url,
            access_token=token,
            service_crn=crn,
            api_version=version if isinstance(version, str) else None,
        ) as client:
            for job_id in jobs:
                status = await client.job(job_id).status()
                if status in _STOPPED:
                    stopped.append((job_id, status, close))
    except errors.QRuntimeError as exc:
        _warning(f"could not check whether closing the session stopped the job: {exc}")
    return stopped


def _write_trace(path: Path, result: WorkflowResult) -> None:
    data = {
        "workflowId": result.workflow_id,
        "status": result.status,
        "attempts": result.trace_json(),
        "leftOpen": [
            {"stepId": r.step_id, "output": r.output, "value": r.value} for r in result.left_open
        ],
    }
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def run_command(args: argparse.Namespace) -> int:
    """The handler of ``workflow run`` (returns the exit status)."""
    try:
        inputs = parse_inputs(args.inputs)
        document = load_document(Path(args.file) if args.file else seed_path())
        if args.workflow_id and not document.has_workflow(args.workflow_id):
            known = ", ".join(w.workflow_id for w in document.workflows)
            raise errors.InvalidInputError(f"no workflow {args.workflow_id!r} (known: {known})")
        return asyncio.run(_execute(args, document, inputs))
    except DocumentError as exc:
        source = f"{exc.source}: " if exc.source else ""
        for problem in exc.problems:
            _error(f"{source}{problem}")
        return 2
    except (WorkflowInputError, errors.UsageError) as exc:
        _error(str(exc))
        return 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``workflow`` command (sub-command ``run``) to the package's CLI."""
    workflow = subparsers.add_parser("workflow", help="run Arazzo workflows")
    commands = workflow.add_subparsers(dest="workflow_command", required=True)
    run = commands.add_parser(
        "run",
        help="run an Arazzo workflow (default: the bundled seed) and print its outputs as JSON",
        description=(
            "Run an Arazzo workflow (default: the bundled seed) and print its outputs as one "
            "JSON object. Inputs: --input name=text, name:=<json> or name=@file.json. "
            "Credentials, the Service-CRN, the API version and the base URL come from the "
            "SDK's configuration (QRUNTIME_BASE_URL, QRUNTIME_ACCESS_TOKEN, or an API key in "
            "QRUNTIME_API_KEY or QISKIT_IBM_TOKEN exchanged at IAM, QISKIT_IBM_INSTANCE, a "
            "saved qiskit account or the config file) unless given; "
            "backend, mode, programId and params default to what `demo` sends. "
            "Secrets are masked in every output. See docs/workflows.md."
        ),
    )
    run.add_argument(
        "file", nargs="?", help="Arazzo document (YAML or JSON); default: the bundled seed"
    )
    run.add_argument("--workflow-id", help="workflow to run (default: the first)")
    run.add_argument(
        "--input",
        dest="inputs",
        action="append",
        metavar="NAME=VALUE",
        help="an input: name=text, name:=<json>, or name=@file.json (repeatable)",
    )
    run.add_argument(
        "--server-url",
        help="API base URL replacing the OpenAPI servers of all sources (default: the "
        "configured base URL for the Qiskit Runtime API's sources)",
    )
    run.add_argument(
        "--dry-run", action="store_true", help="print the planned requests; send nothing"
    )
    run.add_argument(
        "--trace", metavar="FILE", help="write the per-attempt JSON trace (masked) to FILE"
    )
    run.add_argument(
        "--emulator",
        action="store_true",
        help="run against an in-process emulator, filling the credentials from it",
    )
    run.set_defaults(handler=run_command)
