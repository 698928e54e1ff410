"""The typed, validated form of an Arazzo 1.0.x document (frozen attrs classes).

Instances are built only by ``_validation`` after the raw data passed every check, so the
runner can rely on them: targets are exclusive, references resolve, ids are unique.
Every object keeps ``where``, its path in the document (``workflows[0].steps[1]``), for
diagnostics.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import attrs

__all__ = [
    "Action",
    "ArazzoDocument",
    "Components",
    "Criterion",
    "OpenAPIParameter",
    "OpenAPISource",
    "Operation",
    "Parameter",
    "Replacement",
    "RequestBody",
    "SourceDescription",
    "Step",
    "Workflow",
    "merged_parameters",
]

ParameterLocation = Literal["path", "query", "header", "cookie"]
CriterionType = Literal["simple", "regex", "jsonpath", "xpath"]
ActionType = Literal["end", "goto", "retry"]


@attrs.frozen(kw_only=True)
class SourceDescription:
    name: str
    url: str
    type: Literal["openapi", "arazzo"]
    where: str = ""


@attrs.frozen(kw_only=True)
class Parameter:
    """A resolved parameter: Reusable Objects are already replaced by the component they name."""

    name: str
    location: ParameterLocation | None
    value: Any
    where: str = ""

    @property
    def identity(self) -> tuple[str, str | None]:
        """(name, in); header names compare case-insensitively (RFC 9110)."""
        if self.location == "header":
            return (self.name.lower(), self.location)
        return (self.name, self.location)


@attrs.frozen(kw_only=True)
class Replacement:
    target: str
    value: Any
    where: str = ""


@attrs.frozen(kw_only=True)
class RequestBody:
    content_type: str | None
    payload: Any
    has_payload: bool
    replacements: tuple[Replacement, ...] = ()
    where: str = ""


@attrs.frozen(kw_only=True)
class Criterion:
    condition: str
    context: str | None
    type: CriterionType = "simple"
    version: str | None = None
    where: str = ""


@attrs.frozen(kw_only=True)
class Action:
    """A success or failure action (Reusable Objects already resolved)."""

    name: str
    type: ActionType
    step_id: str | None = None
    workflow_id: str | None = None
    criteria: tuple[Criterion, ...] = ()
    retry_after: float | None = None
    retry_limit: int | None = None
    where: str = ""

    @property
    def effective_retry_limit(self) -> int:
        """``retryLimit``, or 1 when it was omitted (the spec's default: exactly one retry)."""
        return 1 if self.retry_limit is None else self.retry_limit

    def describe(self) -> str:
        """``goto:closeSession``, ``retry``, ``end``… for results and traces."""
        target = self.step_id or self.workflow_id
        return f"{self.type}:{target}" if target else self.type


@attrs.frozen(kw_only=True)
class Step:
    step_id: str
    description: str | None
    operation_id: str | None
    operation_path: str | None
    workflow_id: str | None
    parameters: tuple[Parameter, ...]
    request_body: RequestBody | None
    success_criteria: tuple[Criterion, ...]
    on_success: tuple[Action, ...]
    on_failure: tuple[Action, ...]
    outputs: Mapping[str, str]
    where: str = ""


@attrs.frozen(kw_only=True)
class Workflow:
    workflow_id: str
    summary: str | None
    description: str | None
    inputs: Mapping[str, Any] | None
    depends_on: tuple[str, ...]
    steps: tuple[Step, ...]
    success_actions: tuple[Action, ...]
    failure_actions: tuple[Action, ...]
    outputs: Mapping[str, str]
    parameters: tuple[Parameter, ...]
    where: str = ""

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.step_id == step_id:
                return step
        raise KeyError(step_id)

    def step_index(self, step_id: str) -> int:
        for index, step in enumerate(self.steps):
            if step.step_id == step_id:
                return index
        raise KeyError(step_id)


@attrs.frozen(kw_only=True)
class Components:
    inputs: Mapping[str, Any] = attrs.field(factory=dict)
    parameters: Mapping[str, Parameter] = attrs.field(factory=dict)
    success_actions: Mapping[str, Action] = attrs.field(factory=dict)
    failure_actions: Mapping[str, Action] = attrs.field(factory=dict)
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen(kw_only=True)
class OpenAPIParameter:
    """How the OpenAPI description serialises one parameter (defaults per OpenAPI 3)."""

    name: str
    location: ParameterLocation
    style: str
    explode: bool
    allow_reserved: bool = False


@attrs.frozen(kw_only=True)
class Operation:
    """An operation found in an OpenAPI source: where to send a step's request."""

    source: str
    method: str
    path: str
    operation_id: str | None
    server_url: str | None
    parameters: Mapping[tuple[str, str], OpenAPIParameter] = attrs.field(factory=dict)
    media_types: tuple[str, ...] = ()
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    def parameter(self, name: str, location: str) -> OpenAPIParameter | None:
        key = (name.lower(), location) if location == "header" else (name, location)
        return self.parameters.get(key)


@attrs.frozen(kw_only=True)
class OpenAPISource:
    """A loaded OpenAPI description: its operations by id and by (path, method)."""

    name: str
    url: str
    location: Path | None
    operations: tuple[Operation, ...]
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    def by_id(self, operation_id: str) -> Operation | None:
        for operation in self.operations:
            if operation.operation_id == operation_id:
                return operation
        return None

    def by_path(self, path: str, method: str) -> Operation | None:
        for operation in self.operations:
            if operation.path == path and operation.method == method.upper():
                return operation
        return None


def merged_parameters(workflow: Workflow, step: Step) -> tuple[Parameter, ...]:
    """The workflow's parameters overridden by the step's, matched on (name, in).

    The step's own parameters come first, in their order, then the inherited ones that the
    step did not override (the spec: "can be overridden … but cannot be removed").
    """
    own = {p.identity for p in step.parameters}
    return (*step.parameters, *(p for p in workflow.parameters if p.identity not in own))


@attrs.frozen(kw_only=True)
class ArazzoDocument:
    """A loaded and validated Arazzo document.

    Build it with [`load_document`][qruntime_session.workflows.load_document], which checks
    everything and loads the source descriptions (``openapi_sources``, ``arazzo_sources`` and
    ``operations`` are empty until then); the classes of its parts (workflows, steps,
    source descriptions) are internal.

    Args:
        arazzo: The document's ``arazzo`` version (``1.0.1``).
        title: ``info.title``.
        version: ``info.version``, the version of the document itself.
        source_descriptions: The ``sourceDescriptions``, in document order.
        workflows: The ``workflows``, in document order.
        components: The reusable ``components`` (inputs, parameters, actions).
        location: The file it came from (relative source URLs resolve against its directory), or
            ``None``.
        raw: The data as loaded.
        warnings: The validator's non-fatal findings, as ``path: message`` lines.
        source_references: ``(path, source, member)`` of every
            ``$sourceDescriptions.<source>.<member>`` expression whose member is an ``operationId``
            or ``workflowId``, checked once the sources are loaded.
        openapi_sources: The loaded OpenAPI source descriptions, by name.
        arazzo_sources: The loaded Arazzo source descriptions, by name.
        operations: The resolved operation of every operation step, by ``(workflowId, stepId)``.
    """

    arazzo: str
    title: str
    version: str
    source_descriptions: tuple[SourceDescription, ...]
    workflows: tuple[Workflow, ...]
    components: Components
    location: Path | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)
    warnings: tuple[str, ...] = ()
    source_references: tuple[tuple[str, str, str], ...] = ()
    openapi_sources: Mapping[str, OpenAPISource] = attrs.field(factory=dict, repr=False, eq=False)
    arazzo_sources: Mapping[str, ArazzoDocument] = attrs.field(factory=dict, repr=False, eq=False)
    operations: Mapping[tuple[str, str], Operation] = attrs.field(
        factory=dict, repr=False, eq=False
    )

    def operation(self, workflow_id: str, step_id: str) -> Operation:
        """The resolved operation of an operation step.

        Args:
            workflow_id: The step's workflow.
            step_id: The step, which must call an operation (``operationId`` or
                ``operationPath``).

        Returns:
            The OpenAPI operation the step calls: method, path, server, parameters.

        Raises:
            KeyError: No such operation step, or the sources are not loaded yet.
        """
        return self.operations[(workflow_id, step_id)]

    def workflow(self, workflow_id: str) -> Workflow:
        """The workflow with this ``workflowId``.

        Args:
            workflow_id: The workflow's ``workflowId``.

        Returns:
            The workflow (its steps, inputs, outputs, actions).

        Raises:
            KeyError: The document has no such workflow.
        """
        for workflow in self.workflows:
            if workflow.workflow_id == workflow_id:
                return workflow
        raise KeyError(workflow_id)

    def has_workflow(self, workflow_id: str) -> bool:
        """Whether the document has a workflow with this ``workflowId``.

        Args:
            workflow_id: The ``workflowId`` to look for.

        Returns:
            ``True`` when one of ``workflows`` has it.
        """
        return any(w.workflow_id == workflow_id for w in self.workflows)

    def source(self, name: str) -> SourceDescription:
        """The source description called ``name``.

        Args:
            name: The source description's ``name``.

        Returns:
            The source description (its ``url`` and ``type``).

        Raises:
            KeyError: The document has no such source description.
        """
        for source in self.source_descriptions:
            if source.name == name:
                return source
        raise KeyError(name)
