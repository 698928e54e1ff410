"""``qruntime-session workflow run``: run an Arazzo workflow from the command line.

::

    qruntime-session workflow run [FILE] [--workflow-id ID] [--input k=v ...]
        [--server-url URL] [--dry-run] [--trace FILE] [--emulator]

* ``FILE`` defaults to the bundled seed (open a session, run a job, close it).
* ``--input k=v`` gives a string, ``--input k:=<json>`` an inline JSON value and
  ``--input k=@file.json`` a JSON value read from a file. Repeat it for several inputs.
* Without ``--emulator``, the inputs ``accessToken``, ``serviceCrn`` and ``apiVersion`` that
  were not given come from the SDK's environment settings (``ClientConfig.from_env``):
  ``QRUNTIME_ACCESS_TOKEN``, ``QISKIT_IBM_INSTANCE`` and ``QRUNTIME_API_VERSION`` (default:
  the SDK's API version), when a credential and a CRN are both set, and only for inputs the
  workflow declares. An API key is not exchanged: the document sends its own bearer token.
* ``--emulator`` starts the in-process emulator, sends everything there, and fills the
  seed's inputs that were not given: ``accessToken``/``serviceCrn`` from the emulator,
  ``apiVersion`` (the SDK's default version), ``backend`` ``ibm_fez``, ``mode`` ``batch``,
  ``programId`` ``sampler`` and a small Sampler ``params`` body.

stdout gets exactly one JSON document: the workflow's outputs (or, with ``--dry-run``, the
planned requests). A failure prints one line on stderr naming the step, its status code and
any session left open, and exits 1; an invalid document or input exits 2. No token is ever
printed: outputs, plans and traces are masked.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from qruntime_session import errors

from ._errors import DocumentError, WorkflowInputError
from ._model import ArazzoDocument, Workflow
from ._openapi import load_document
from ._runner import WorkflowExecutor, WorkflowResult
from ._trace import Masker, secret_inputs

__all__ = ["parse_inputs", "register", "run_command"]

_BELL = (
    'OPENQASM 3.0; include "stdgates.inc"; bit[2] c; qubit[2] q; '
    "h q[0]; cx q[0], q[1]; c = measure q;"
)


def _seed_defaults() -> dict[str, Any]:
    from qruntime_session._config import DEFAULT_API_VERSION

    return {
        "apiVersion": DEFAULT_API_VERSION,
        "backend": "ibm_fez",
        "mode": "batch",
        "programId": "sampler",
        "params": {"pubs": [[_BELL, None, 128]], "version": 2},
    }


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


def _environment_inputs() -> dict[str, Any]:
    """accessToken, serviceCrn and apiVersion from the SDK's environment settings, if complete."""
    from qruntime_session._config import ClientConfig

    try:
        config = ClientConfig.from_env()
    except errors.ConfigurationError:
        return {}
    return {
        "accessToken": config.access_token,
        "serviceCrn": config.service_crn,
        "apiVersion": config.api_version,
    }


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


async def _execute(
    args: argparse.Namespace, document: ArazzoDocument, inputs: dict[str, Any]
) -> int:
    workflow = document.workflow(args.workflow_id) if args.workflow_id else document.workflows[0]
    declared = _declared(workflow)
    server_url: str | None = args.server_url
    if args.emulator:
        from qruntime_session.emulator import run_emulator

        async with run_emulator() as emu:
            _fill(inputs, declared, {"accessToken": emu.token, "serviceCrn": emu.service_crn})
            _fill(inputs, declared, _seed_defaults())
            return await _run_or_plan(args, document, workflow, inputs, server_url or emu.base_url)
    _fill(inputs, declared, _environment_inputs())
    return await _run_or_plan(args, document, workflow, inputs, server_url)


async def _run_or_plan(
    args: argparse.Namespace,
    document: ArazzoDocument,
    workflow: Workflow,
    inputs: dict[str, Any],
    server_url: str | None,
) -> int:
    masker = Masker()
    masker.add(secret_inputs(workflow.inputs, inputs))
    executor = WorkflowExecutor(document=document, server_url=server_url)
    if args.dry_run:
        plan = await executor.plan(inputs, workflow_id=workflow.workflow_id)
        _write_json([request.as_json() for request in plan])
        return 0
    result = await executor.run(inputs, workflow_id=workflow.workflow_id)
    if args.trace:
        _write_trace(Path(args.trace), result)
    if result.error is not None:
        _error(masker.text(str(result.error)) + _attempts_note(result))
        return 1
    for handled in result.handled_failures:
        code = f" (status {handled.status_code})" if handled.status_code is not None else ""
        sys.stderr.write(
            f"warning: step {handled.step_id!r} failed{code}; its {handled.action} action "
            "handled it, so the workflow went on\n"
        )
    _write_json(masker.json(dict(result.outputs)))
    return 0


def _attempts_note(result: WorkflowResult) -> str:
    """`` (N attempts)`` when the failed step never got an answer (connection or timeout)."""
    tried = [a for a in result.trace if a.step_id == result.failed_step]
    if not tried or tried[-1].error_type not in {"connect", "timeout", "connection_lost"}:
        return ""
    return f" ({len(tried)} attempt{'s' if len(tried) != 1 else ''})"


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
    from . import seed_path

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
        "--server-url", help="API base URL replacing the OpenAPI servers (all sources)"
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
        help="run against an in-process emulator, filling credentials and the seed's defaults",
    )
    run.set_defaults(handler=run_command)
