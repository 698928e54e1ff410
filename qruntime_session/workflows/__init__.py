"""An Arazzo 1.0.x workflow executor (asyncio, aiohttp through the package's transport).

>>> doc = load_document("flow.arazzo.yaml")                                # doctest: +SKIP
>>> result = await run_workflow(doc, {"accessToken": "…"}, server_url=url)  # doctest: +SKIP
>>> result.outputs, result.status, result.left_open                         # doctest: +SKIP

[`load_document`][qruntime_session.workflows.load_document] validates everything before
anything is sent (raising [`DocumentError`][qruntime_session.workflows.DocumentError] with the
path of each problem); [`WorkflowExecutor`][qruntime_session.workflows.WorkflowExecutor] runs
a workflow and returns a [`WorkflowResult`][qruntime_session.workflows.WorkflowResult] (typed,
with a masked per-attempt trace). The policies the executor chose where the specification is
silent are in the [Arazzo workflows][arazzo-workflows] guide.

The optional extra ``qruntime-session[workflows]`` installs ``jsonschema`` (workflow input
validation) and ``python-jsonpath`` (``jsonpath`` criteria).
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from ._criteria import CriterionOutcome
from ._errors import (
    DocumentError,
    ExpressionError,
    MissingExtraError,
    OpenResource,
    Problem,
    StepFailedError,
    StepLimitError,
    WorkflowError,
    WorkflowFailedError,
    WorkflowInputError,
)
from ._model import ArazzoDocument
from ._openapi import load_document
from ._runner import StepResult, WorkflowExecutor, WorkflowResult
from ._trace import AttemptTrace, PlannedRequest, RequestRecord

__all__ = [
    "ArazzoDocument",
    "AttemptTrace",
    "CriterionOutcome",
    "DocumentError",
    "ExpressionError",
    "MissingExtraError",
    "OpenResource",
    "PlannedRequest",
    "Problem",
    "RequestRecord",
    "StepFailedError",
    "StepLimitError",
    "StepResult",
    "WorkflowError",
    "WorkflowExecutor",
    "WorkflowFailedError",
    "WorkflowInputError",
    "WorkflowResult",
    "load_document",
    "run_workflow",
    "seed_path",
]


def seed_path() -> Path:
    """The bundled seed workflow ``specs/arazzo/session-run-and-close.arazzo.yaml``.

    It creates a session, runs one job in it and closes the session, against the Runtime
    API's OpenAPI descriptions (sessions and jobs) bundled with it.

    Returns:
        The file's path inside the installed package, for
        [`load_document`][qruntime_session.workflows.load_document].
    """
    root = resources.files("qruntime_session") / "specs" / "arazzo"
    return Path(str(root / "session-run-and-close.arazzo.yaml"))


async def run_workflow(
    document: ArazzoDocument | str | Path,
    inputs: Mapping[str, Any] | None = None,
    *,
    workflow_id: str | None = None,
    **options: Any,
) -> WorkflowResult:
    """Load ``document`` if it is a path, then run one workflow with a new executor.

    A shortcut for ``await WorkflowExecutor(document=…, **options).run(inputs, …)``; build a
    [`WorkflowExecutor`][qruntime_session.workflows.WorkflowExecutor] yourself to run a
    document many times.

    Args:
        document: A loaded document, or the path of one to load with
            [`load_document`][qruntime_session.workflows.load_document].
        inputs: The workflow's inputs.
        workflow_id: The workflow to run (default: the document's first).
        **options: The executor's keyword arguments (``server_url``, ``sleep``,
            ``max_steps``…).

    Returns:
        The [`WorkflowResult`][qruntime_session.workflows.WorkflowResult]; a failed run is
        returned, not raised.

    Raises:
        DocumentError: ``document`` is a path and the file cannot be read or is invalid.
        WorkflowInputError: The inputs do not satisfy the workflow's input schema.
        InvalidInputError: The document has no workflow ``workflow_id``.
        MissingExtraError: An optional library the document needs is not installed.
        ConfigurationError: An operation has no absolute server URL and ``server_url`` does
            not supply one.
    """
    loaded = document if isinstance(document, ArazzoDocument) else load_document(document)
    executor = WorkflowExecutor(document=loaded, **options)
    return await executor.run(inputs, workflow_id=workflow_id)


def _present_as_public() -> None:
    """Make exported names read ``qruntime_session.workflows.X`` (reprs, docs)."""
    for name in __all__:
        obj = globals()[name]
        if getattr(obj, "__module__", "").startswith(__name__ + "._"):
            obj.__module__ = __name__


_present_as_public()
