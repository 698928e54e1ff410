"""Structural and reference validation of an Arazzo 1.0.x document, building the typed model.

Everything is checked before anything is sent, and every problem names its path
(``workflows[0].steps[2].operationId``). All problems are collected and reported together in
one :class:`DocumentError`. What is checked is listed in docs/workflows.md ("Validation");
operation targets are resolved afterwards by :mod:`._openapi`, which needs the source files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from ._criteria import parse_condition
from ._errors import DocumentError, ExpressionError, Problem
from ._expressions import (
    Component,
    Expr,
    Inputs,
    Outputs,
    Request,
    Response,
    Scalar,
    SourceRef,
    StepOutput,
    WorkflowRef,
    expressions_in,
    parse_expression,
    parse_template,
    unescape_token,
)
from ._model import (
    Action,
    ArazzoDocument,
    Components,
    Criterion,
    Parameter,
    Replacement,
    RequestBody,
    SourceDescription,
    Step,
    Workflow,
)

__all__ = ["build_document", "qualified_reference", "split_qualified"]

_VERSION = re.compile(r"1\.0\.(?:0|[1-9][0-9]*)")
_ID = re.compile(r"[A-Za-z0-9_\-]+")
_KEY = re.compile(r"[a-zA-Z0-9.\-_]+")
_QUALIFIED = re.compile(r"\$sourceDescriptions\.([A-Za-z0-9_\-]+)\.(.+)")
_LOCATIONS = ("path", "query", "header", "cookie")
_UNSET: Any = object()


def split_qualified(text: str) -> tuple[str, str] | None:
    """``$sourceDescriptions.<name>.<id>`` → (name, id); ``None`` for a plain id."""
    match = _QUALIFIED.fullmatch(text)
    return (match.group(1), match.group(2)) if match else None


def qualified_reference(text: str) -> bool:
    return split_qualified(text) is not None


def _field_path(base: str, key: str) -> str:
    return f"{base}.{key}" if base else key


@attrs.define
class _Usage:
    """Where an expression was found and what kind of field holds it."""

    path: str
    kind: str  # "parameter", "body", "criterion", "step-output", "workflow-output", "target"
    workflow_step: bool = False  # the field belongs to a step that targets a workflow


class _Builder:
    def __init__(self, data: Any, location: Path | None) -> None:
        self.data = data
        self.location = location
        self.problems: list[Problem] = []
        self.warnings: list[str] = []
        self.source_names: dict[str, SourceDescription] = {}
        self.components = Components()
        self.workflow_ids: set[str] = set()
        self.source_references: list[tuple[str, str, str]] = []

    # -- small helpers -----------------------------------------------------------------------

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def mapping(self, value: Any, path: str) -> dict[str, Any] | None:
        if isinstance(value, dict):
            return value
        self.problem(path, f"must be an object, not {_kind(value)}")
        return None

    def fields(
        self,
        obj: Mapping[str, Any],
        path: str,
        allowed: Iterable[str],
        required: Iterable[str] = (),
    ) -> None:
        allowed_set = set(allowed)
        for key in obj:
            if key not in allowed_set and not key.startswith("x-"):
                self.problem(_field_path(path, key), "unknown field")
        for key in required:
            if key not in obj:
                self.problem(_field_path(path, key), "is required")

    def string(
        self, obj: Mapping[str, Any], key: str, path: str, *, required: bool = False
    ) -> str | None:
        if key not in obj:
            return None
        value = obj[key]
        if isinstance(value, str):
            if required and not value:
                self.problem(_field_path(path, key), "must not be empty")
            return value
        hint = (
            " (quote it in YAML)"
            if isinstance(value, int | float) and not isinstance(value, bool)
            else ""
        )
        self.problem(_field_path(path, key), f"must be a string, not {_kind(value)}{hint}")
        return None

    def listing(
        self, obj: Mapping[str, Any], key: str, path: str, *, non_empty: bool = False
    ) -> list[Any]:
        if key not in obj:
            return []
        value = obj[key]
        if not isinstance(value, list):
            self.problem(_field_path(path, key), f"must be a list, not {_kind(value)}")
            return []
        if non_empty and not value:
            self.problem(_field_path(path, key), "must have at least one entry")
        return value

    # -- the document ------------------------------------------------------------------------

    def build(self) -> ArazzoDocument | None:
        root = self.mapping(self.data, "")
        if root is None:
            self.problems[-1] = Problem("", "the document must be an object")
            return None
        self.fields(
            root,
            "",
            ("arazzo", "info", "sourceDescriptions", "workflows", "components"),
            ("arazzo", "info", "sourceDescriptions", "workflows"),
        )
        version = self.string(root, "arazzo", "", required=True)
        if version is not None and version and not _VERSION.fullmatch(version):
            self.problem(
                "arazzo", f"unsupported Arazzo version {version!r}; this executor runs 1.0.x"
            )
        title = info_version = ""
        if "info" in root:
            info = self.mapping(root["info"], "info")
            if info is not None:
                self.fields(
                    info,
                    "info",
                    ("title", "summary", "description", "version"),
                    ("title", "version"),
                )
                title = self.string(info, "title", "info") or ""
                info_version = self.string(info, "version", "info") or ""
                self.string(info, "summary", "info")
                self.string(info, "description", "info")
        sources = self._sources(root)
        if "components" in root:
            self.components = self._components(root["components"])
        raw_workflows = self.listing(root, "workflows", "", non_empty=True)
        for index, raw in enumerate(raw_workflows):
            if isinstance(raw, dict) and isinstance(raw.get("workflowId"), str):
                if raw["workflowId"] in self.workflow_ids:
                    self.problem(
                        f"workflows[{index}].workflowId",
                        f"duplicate workflowId {raw['workflowId']!r}",
                    )
                self.workflow_ids.add(raw["workflowId"])
        workflows = [
            w
            for w in (self._workflow(raw, f"workflows[{i}]") for i, raw in enumerate(raw_workflows))
            if w is not None
        ]
        document = ArazzoDocument(
            arazzo=version or "",
            title=title,
            version=info_version,
            source_descriptions=tuple(sources),
            workflows=tuple(workflows),
            components=self.components,
            location=self.location,
            raw=root,
        )
        self._check_references(document)
        self._check_dependencies(document)
        if self.problems:
            return None
        return attrs.evolve(
            document,
            warnings=tuple(self.warnings),
            source_references=tuple(self.source_references),
        )

    def _sources(self, root: Mapping[str, Any]) -> list[SourceDescription]:
        result: list[SourceDescription] = []
        for index, raw in enumerate(self.listing(root, "sourceDescriptions", "", non_empty=True)):
            path = f"sourceDescriptions[{index}]"
            obj = self.mapping(raw, path)
            if obj is None:
                continue
            self.fields(obj, path, ("name", "url", "type"), ("name", "url"))
            name = self.string(obj, "name", path, required=True)
            url = self.string(obj, "url", path, required=True)
            kind = self.string(obj, "type", path) or "openapi"
            if kind not in ("openapi", "arazzo"):
                self.problem(f"{path}.type", f"must be 'openapi' or 'arazzo', not {kind!r}")
                continue
            if name is None or url is None:
                continue
            if not _ID.fullmatch(name):
                self.problem(f"{path}.name", "must match [A-Za-z0-9_-]+ so expressions can name it")
            if name in self.source_names:
                self.problem(f"{path}.name", f"duplicate source description name {name!r}")
                continue
            source = SourceDescription(name=name, url=url, type=kind, where=path)  # type: ignore[arg-type]
            self.source_names[name] = source
            result.append(source)
        return result

    # -- components --------------------------------------------------------------------------

    def _components(self, raw: Any) -> Components:
        obj = self.mapping(raw, "components")
        if obj is None:
            return Components()
        self.fields(obj, "components", ("inputs", "parameters", "successActions", "failureActions"))
        sections: dict[str, dict[str, Any]] = {}
        for section in ("inputs", "parameters", "successActions", "failureActions"):
            if section not in obj:
                sections[section] = {}
                continue
            value = self.mapping(obj[section], f"components.{section}")
            sections[section] = value or {}
            for key in sections[section]:
                if not _KEY.fullmatch(key):
                    self.problem(
                        f"components.{section}.{key}",
                        "component keys must match ^[a-zA-Z0-9.\\-_]+$",
                    )
        inputs: dict[str, Any] = {}
        for key, schema in sections["inputs"].items():
            path = f"components.inputs.{key}"
            if self.mapping(schema, path) is not None:
                inputs[key] = schema
        parameters: dict[str, Parameter] = {}
        for key, value in sections["parameters"].items():
            parameter = self._parameter_object(
                value, f"components.parameters.{key}", allow_reference=False
            )
            if parameter is not None:
                parameters[key] = parameter
        success: dict[str, Action] = {}
        for key, value in sections["successActions"].items():
            action = self._action_object(value, f"components.successActions.{key}", failure=False)
            if action is not None:
                success[key] = action
        failure: dict[str, Action] = {}
        for key, value in sections["failureActions"].items():
            action = self._action_object(value, f"components.failureActions.{key}", failure=True)
            if action is not None:
                failure[key] = action
        return Components(
            inputs=inputs,
            parameters=parameters,
            success_actions=success,
            failure_actions=failure,
            raw=obj,
        )

    # -- workflows ---------------------------------------------------------------------------

    def _workflow(self, raw: Any, path: str) -> Workflow | None:
        obj = self.mapping(raw, path)
        if obj is None:
            return None
        self.fields(
            obj,
            path,
            (
                "workflowId",
                "summary",
                "description",
                "inputs",
                "dependsOn",
                "steps",
                "successActions",
                "failureActions",
                "outputs",
                "parameters",
            ),
            ("workflowId", "steps"),
        )
        workflow_id = self.string(obj, "workflowId", path, required=True)
        if workflow_id is not None and workflow_id and not _ID.fullmatch(workflow_id):
            self.warnings.append(f"{path}.workflowId: should match [A-Za-z0-9_-]+")
        inputs = self._inputs_schema(obj["inputs"], f"{path}.inputs") if "inputs" in obj else None
        depends_on: list[str] = []
        for index, dep in enumerate(self.listing(obj, "dependsOn", path)):
            if isinstance(dep, str):
                if dep in depends_on:
                    self.problem(f"{path}.dependsOn[{index}]", f"duplicate dependency {dep!r}")
                depends_on.append(dep)
            else:
                self.problem(f"{path}.dependsOn[{index}]", f"must be a string, not {_kind(dep)}")
        success_actions = self._actions(obj, "successActions", path, failure=False)
        failure_actions = self._actions(obj, "failureActions", path, failure=True)
        parameters = self._parameters(obj, path)
        outputs = self._outputs(obj, path)
        steps: list[Step] = []
        seen: set[str] = set()
        for index, raw_step in enumerate(self.listing(obj, "steps", path, non_empty=True)):
            step = self._step(raw_step, f"{path}.steps[{index}]")
            if step is None:
                continue
            if step.step_id in seen:
                self.problem(f"{path}.steps[{index}].stepId", f"duplicate stepId {step.step_id!r}")
                continue
            seen.add(step.step_id)
            steps.append(step)
        if workflow_id is None:
            return None
        workflow = Workflow(
            workflow_id=workflow_id,
            summary=self.string(obj, "summary", path),
            description=self.string(obj, "description", path),
            inputs=inputs,
            depends_on=tuple(depends_on),
            steps=tuple(steps),
            success_actions=success_actions,
            failure_actions=failure_actions,
            outputs=outputs,
            parameters=parameters,
            where=path,
        )
        self._check_workflow_targets(workflow)
        operation_steps = [s.step_id for s in steps if s.workflow_id is None]
        for parameter in parameters:
            if parameter.location is None and operation_steps:
                self.problem(
                    f"{parameter.where}.in",
                    f"is required: step {operation_steps[0]!r} targets an operation",
                )
        return workflow

    def _inputs_schema(self, raw: Any, path: str) -> Mapping[str, Any] | None:
        schema = self.mapping(raw, path)
        if schema is None:
            return None
        resolved = self._dereference(schema, path, ())
        if isinstance(resolved, dict) and resolved.get("type", "object") != "object":
            self.problem(path, "a workflow's inputs schema must describe an object")
        return resolved if isinstance(resolved, dict) else None

    def _dereference(self, value: Any, path: str, active: tuple[str, ...]) -> Any:
        """Inline local ``$ref``s (``#/components/inputs/x``) so the schema stands alone."""
        if isinstance(value, list):
            return [self._dereference(item, f"{path}[{i}]", active) for i, item in enumerate(value)]
        if not isinstance(value, dict):
            return value
        if "$ref" in value and isinstance(value["$ref"], str):
            ref = value["$ref"]
            if not ref.startswith("#/"):
                self.problem(
                    f"{path}.$ref",
                    f"only references inside this document are supported, not {ref!r}",
                )
                return {}
            if ref in active:
                self.problem(f"{path}.$ref", f"recursive reference {ref!r} is not supported")
                return {}
            target: Any = self.data
            for token in ref[2:].split("/"):
                token = unescape_token(token)
                if isinstance(target, dict) and token in target:
                    target = target[token]
                else:
                    self.problem(f"{path}.$ref", f"{ref!r} does not resolve")
                    return {}
            resolved = self._dereference(target, path, (*active, ref))
            extra = {k: v for k, v in value.items() if k != "$ref"}
            if extra and isinstance(resolved, dict):
                return {**resolved, **self._dereference(extra, path, active)}
            return resolved
        return {
            key: self._dereference(item, f"{path}.{key}", active) for key, item in value.items()
        }

    def _outputs(self, obj: Mapping[str, Any], path: str) -> dict[str, str]:
        if "outputs" not in obj:
            return {}
        raw = self.mapping(obj["outputs"], f"{path}.outputs")
        outputs: dict[str, str] = {}
        for key, value in (raw or {}).items():
            where = f"{path}.outputs.{key}"
            if not _KEY.fullmatch(key):
                self.problem(where, "output names must match ^[a-zA-Z0-9.\\-_]+$")
                continue
            if not isinstance(value, str):
                self.problem(where, f"must be a runtime expression string, not {_kind(value)}")
                continue
            if self._parse_string(value, where):
                outputs[key] = value
        return outputs

    def _parse_string(self, value: str, path: str) -> bool:
        try:
            parse_template(value)
        except ExpressionError as exc:
            self.problem(path, str(exc))
            return False
        return True

    # -- steps -------------------------------------------------------------------------------

    def _step(self, raw: Any, path: str) -> Step | None:
        obj = self.mapping(raw, path)
        if obj is None:
            return None
        self.fields(
            obj,
            path,
            (
                "stepId",
                "description",
                "operationId",
                "operationPath",
                "workflowId",
                "parameters",
                "requestBody",
                "successCriteria",
                "onSuccess",
                "onFailure",
                "outputs",
            ),
            ("stepId",),
        )
        step_id = self.string(obj, "stepId", path, required=True)
        if step_id and not _ID.fullmatch(step_id):
            self.problem(f"{path}.stepId", "must match [A-Za-z0-9_-]+ so expressions can name it")
        targets = [key for key in ("operationId", "operationPath", "workflowId") if key in obj]
        if len(targets) != 1:
            found = ", ".join(targets) if targets else "none"
            self.problem(
                path,
                "a step needs exactly one of operationId, operationPath, workflowId (found: "
                f"{found})",
            )
        operation_id = self.string(obj, "operationId", path, required=True)
        operation_path = self.string(obj, "operationPath", path, required=True)
        workflow_id = self.string(obj, "workflowId", path, required=True)
        targets_workflow = "workflowId" in obj
        parameters = self._parameters(obj, path, workflow_step=targets_workflow)
        request_body = None
        if "requestBody" in obj:
            if targets_workflow:
                self.problem(
                    f"{path}.requestBody",
                    "a step that targets a workflow cannot have a requestBody",
                )
            request_body = self._request_body(obj["requestBody"], f"{path}.requestBody")
        criteria: list[Criterion] = []
        for index, raw_criterion in enumerate(
            self.listing(obj, "successCriteria", path, non_empty=True)
        ):
            criterion = self._criterion(raw_criterion, f"{path}.successCriteria[{index}]")
            if criterion is not None:
                criteria.append(criterion)
        on_success = self._actions(obj, "onSuccess", path, failure=False)
        on_failure = self._actions(obj, "onFailure", path, failure=True)
        outputs = self._outputs(obj, path)
        if step_id is None:
            return None
        return Step(
            step_id=step_id,
            description=self.string(obj, "description", path),
            operation_id=operation_id,
            operation_path=operation_path,
            workflow_id=workflow_id,
            parameters=parameters,
            request_body=request_body,
            success_criteria=tuple(criteria),
            on_success=on_success,
            on_failure=on_failure,
            outputs=outputs,
            where=path,
        )

    def _parameters(
        self, obj: Mapping[str, Any], path: str, *, workflow_step: bool | None = None
    ) -> tuple[Parameter, ...]:
        result: list[Parameter] = []
        seen: dict[tuple[str, str | None], str] = {}
        for index, raw in enumerate(self.listing(obj, "parameters", path)):
            where = f"{path}.parameters[{index}]"
            parameter = self._parameter_object(raw, where, allow_reference=True)
            if parameter is None:
                continue
            if workflow_step is False and parameter.location is None:
                self.problem(f"{where}.in", "is required on a step that targets an operation")
                continue
            identity = parameter.identity
            if identity in seen:
                self.problem(
                    where,
                    f"duplicate parameter {parameter.name!r} in {parameter.location} (also "
                    f"{seen[identity]})",
                )
                continue
            seen[identity] = where
            result.append(parameter)
        return tuple(result)

    def _parameter_object(self, raw: Any, path: str, *, allow_reference: bool) -> Parameter | None:
        obj = self.mapping(raw, path)
        if obj is None:
            return None
        if "reference" in obj and allow_reference:
            reference = self.string(obj, "reference", path, required=True)
            if reference is None:
                return None
            key = _component_key(reference, "parameters")
            if key is None:
                self.problem(f"{path}.reference", "must be $components.parameters.<key>")
                return None
            component = self.components.parameters.get(key)
            if component is None:
                self.problem(f"{path}.reference", f"unknown component parameter {key!r}")
                return None
            value = obj.get("value", _UNSET)
            if value is not _UNSET and isinstance(value, str):
                self._parse_string(value, f"{path}.value")
            return attrs.evolve(
                component,
                value=component.value if value is _UNSET else value,
                where=f"{path} (via {reference})",
            )
        self.fields(obj, path, ("name", "in", "value"), ("name", "value"))
        name = self.string(obj, "name", path, required=True)
        location = self.string(obj, "in", path)
        if location is not None and location not in _LOCATIONS:
            hint = (
                " ('body' was removed in Arazzo 1.0.1; use requestBody)"
                if location == "body"
                else ""
            )
            self.problem(f"{path}.in", f"must be one of path, query, header, cookie{hint}")
            return None
        if "value" not in obj or name is None:
            return None
        value = obj["value"]
        for where, text in _strings(value, f"{path}.value"):
            self._parse_string(text, where)
        return Parameter(name=name, location=location, value=value, where=path)  # type: ignore[arg-type]

    def _request_body(self, raw: Any, path: str) -> RequestBody | None:
        obj = self.mapping(raw, path)
        if obj is None:
            return None
        self.fields(obj, path, ("contentType", "payload", "replacements"))
        content_type = self.string(obj, "contentType", path, required=True)
        payload = obj.get("payload")
        for where, text in _strings(payload, f"{path}.payload"):
            self._parse_string(text, where)
        replacements: list[Replacement] = []
        for index, raw_replacement in enumerate(self.listing(obj, "replacements", path)):
            where = f"{path}.replacements[{index}]"
            item = self.mapping(raw_replacement, where)
            if item is None:
                continue
            self.fields(item, where, ("target", "value"), ("target", "value"))
            target = self.string(item, "target", where)
            if target is None or "value" not in item:
                continue
            if target and not target.startswith("/"):
                self.problem(
                    f"{where}.target",
                    "must be a JSON pointer ('' or starting with '/'); XPath targets are not "
                    "supported",
                )
                continue
            for text_where, text in _strings(item["value"], f"{where}.value"):
                self._parse_string(text, text_where)
            replacements.append(Replacement(target=target, value=item["value"], where=where))
        return RequestBody(
            content_type=content_type,
            payload=payload,
            has_payload="payload" in obj,
            replacements=tuple(replacements),
            where=path,
        )

    def _criterion(self, raw: Any, path: str) -> Criterion | None:
        obj = self.mapping(raw, path)
        if obj is None:
            return None
        self.fields(obj, path, ("condition", "context", "type"), ("condition",))
        condition = self.string(obj, "condition", path, required=True)
        context = self.string(obj, "context", path, required=True)
        kind: str = "simple"
        version: str | None = None
        if "type" in obj:
            raw_type = obj["type"]
            if isinstance(raw_type, dict):
                self.fields(raw_type, f"{path}.type", ("type", "version"), ("type", "version"))
                declared = raw_type.get("type")
                kind = declared if isinstance(declared, str) else ""
                version = (
                    raw_type.get("version") if isinstance(raw_type.get("version"), str) else None
                )
                if kind not in ("jsonpath", "xpath"):
                    self.problem(f"{path}.type.type", "must be 'jsonpath' or 'xpath'")
                    return None
            elif isinstance(raw_type, str):
                kind = raw_type
            else:
                self.problem(
                    f"{path}.type", f"must be a string or an object, not {_kind(raw_type)}"
                )
                return None
            if kind not in ("simple", "regex", "jsonpath", "xpath"):
                self.problem(
                    f"{path}.type", f"must be simple, regex, jsonpath or xpath, not {kind!r}"
                )
                return None
            if context is None:
                self.problem(f"{path}.context", f"is required when type is given ({kind})")
        if kind == "xpath":
            self.problem(f"{path}.type", "xpath criteria are not supported by this executor")
        if kind == "jsonpath" and version is not None:
            self.problem(
                f"{path}.type.version",
                f"JSONPath version {version!r} is not supported; only RFC 9535 (omit the version)",
            )
        if condition is None:
            return None
        if context is not None:
            try:
                parse_expression(context)
            except ExpressionError as exc:
                self.problem(f"{path}.context", f"must be a runtime expression: {exc}")
        if kind == "simple":
            try:
                parsed = parse_condition(condition)
            except ExpressionError as exc:
                self.warnings.append(f"{path}.condition: {exc} (the criterion will always fail)")
            else:
                if parsed.braced:
                    self.warnings.append(
                        f"{path}.condition: written in braces {{…}}; evaluated without them"
                    )
        elif kind == "regex":
            try:
                re.compile(condition)
            except re.error as exc:
                self.warnings.append(
                    f"{path}.condition: invalid regular expression ({exc}); the criterion will "
                    "always fail"
                )
        elif kind == "jsonpath":
            try:
                parse_template(condition, bare=False)
            except ExpressionError as exc:
                self.problem(f"{path}.condition", str(exc))
        return Criterion(
            condition=condition,
            context=context,
            type=kind,  # type: ignore[arg-type]
            version=version,
            where=path,
        )

    # -- actions -----------------------------------------------------------------------------

    def _actions(
        self, obj: Mapping[str, Any], key: str, path: str, *, failure: bool
    ) -> tuple[Action, ...]:
        result: list[Action] = []
        names: set[str] = set()
        for index, raw in enumerate(self.listing(obj, key, path)):
            where = f"{path}.{key}[{index}]"
            action = self._action_or_reference(raw, where, failure=failure)
            if action is None:
                continue
            if action.name in names:
                self.problem(where, f"duplicate action name {action.name!r}")
                continue
            names.add(action.name)
            result.append(action)
        return tuple(result)

    def _action_or_reference(self, raw: Any, path: str, *, failure: bool) -> Action | None:
        obj = self.mapping(raw, path)
        if obj is None:
            return None
        if "reference" not in obj:
            return self._action_object(obj, path, failure=failure)
        section = "failureActions" if failure else "successActions"
        reference = self.string(obj, "reference", path, required=True)
        if reference is None:
            return None
        key = _component_key(reference, section)
        if key is None:
            self.problem(f"{path}.reference", f"must be $components.{section}.<key>")
            return None
        table = self.components.failure_actions if failure else self.components.success_actions
        if key not in table:
            self.problem(f"{path}.reference", f"unknown component {section[:-1]} {key!r}")
            return None
        return attrs.evolve(table[key], where=f"{path} (via {reference})")

    def _action_object(self, raw: Any, path: str, *, failure: bool) -> Action | None:
        obj = self.mapping(raw, path)
        if obj is None:
            return None
        allowed = ["name", "type", "stepId", "workflowId", "criteria"]
        if failure:
            allowed += ["retryAfter", "retryLimit"]
        self.fields(obj, path, allowed, ("name", "type"))
        name = self.string(obj, "name", path, required=True)
        kind = self.string(obj, "type", path)
        kinds = ("end", "goto", "retry") if failure else ("end", "goto")
        if kind is not None and kind not in kinds:
            self.problem(f"{path}.type", f"must be one of {', '.join(kinds)}, not {kind!r}")
            return None
        step_id = self.string(obj, "stepId", path, required=True)
        workflow_id = self.string(obj, "workflowId", path, required=True)
        if kind == "goto" and (step_id is None) == (workflow_id is None):
            self.problem(path, "a goto action needs exactly one of stepId and workflowId")
        if kind == "retry" and step_id is not None and workflow_id is not None:
            self.problem(path, "a retry action takes at most one of stepId and workflowId")
        if kind == "end" and (step_id is not None or workflow_id is not None):
            self.problem(path, "an end action takes no stepId or workflowId")
        retry_after: float | None = None
        retry_limit: int | None = None
        if "retryAfter" in obj:
            value = obj["retryAfter"]
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                self.problem(f"{path}.retryAfter", "must be a number of seconds >= 0")
            else:
                retry_after = float(value)
        if "retryLimit" in obj:
            value = obj["retryLimit"]
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                self.problem(f"{path}.retryLimit", "must be an integer >= 0")
            else:
                retry_limit = value
        if kind != "retry" and (retry_after is not None or retry_limit is not None):
            self.warnings.append(f"{path}: retryAfter/retryLimit only apply to retry actions")
        criteria: list[Criterion] = []
        for index, raw_criterion in enumerate(self.listing(obj, "criteria", path)):
            criterion = self._criterion(raw_criterion, f"{path}.criteria[{index}]")
            if criterion is not None:
                criteria.append(criterion)
        if name is None or kind is None:
            return None
        return Action(
            name=name,
            type=kind,  # type: ignore[arg-type]
            step_id=step_id,
            workflow_id=workflow_id,
            criteria=tuple(criteria),
            retry_after=retry_after,
            retry_limit=retry_limit,
            where=path,
        )

    # -- cross-references --------------------------------------------------------------------

    def _check_workflow_target(self, target: str, path: str) -> None:
        qualified = split_qualified(target)
        if qualified is not None:
            source = self.source_names.get(qualified[0])
            if source is None:
                self.problem(path, f"unknown source description {qualified[0]!r}")
            elif source.type != "arazzo":
                self.problem(
                    path, f"source {qualified[0]!r} is not an arazzo source; it has no workflows"
                )
            return
        if target not in self.workflow_ids:
            self.problem(path, f"unknown workflowId {target!r}")

    def _check_workflow_targets(self, workflow: Workflow) -> None:
        step_ids = {step.step_id for step in workflow.steps}
        for step in workflow.steps:
            if step.workflow_id is not None:
                self._check_workflow_target(step.workflow_id, f"{step.where}.workflowId")
                if step.workflow_id == workflow.workflow_id:
                    self.warnings.append(f"{step.where}.workflowId: the workflow calls itself")
            if step.operation_id is not None and step.operation_id.startswith("$"):
                qualified = split_qualified(step.operation_id)
                if qualified is None:
                    self.problem(
                        f"{step.where}.operationId",
                        "a qualified operationId is $sourceDescriptions.<name>.<operationId>",
                    )
                elif qualified[0] not in self.source_names:
                    self.problem(
                        f"{step.where}.operationId", f"unknown source description {qualified[0]!r}"
                    )
        actions: list[Action] = [*workflow.success_actions, *workflow.failure_actions]
        for step in workflow.steps:
            actions.extend(step.on_success)
            actions.extend(step.on_failure)
        for action in actions:
            if action.step_id is not None and action.step_id not in step_ids:
                self.problem(
                    f"{action.where}.stepId",
                    f"unknown stepId {action.step_id!r} in workflow {workflow.workflow_id!r}",
                )
            if action.workflow_id is not None:
                self._check_workflow_target(action.workflow_id, f"{action.where}.workflowId")

    def _check_dependencies(self, document: ArazzoDocument) -> None:
        graph: dict[str, list[str]] = {}
        for workflow in document.workflows:
            graph[workflow.workflow_id] = []
            for index, dependency in enumerate(workflow.depends_on):
                path = f"{workflow.where}.dependsOn[{index}]"
                if dependency == workflow.workflow_id:
                    self.problem(path, "a workflow cannot depend on itself")
                    continue
                self._check_workflow_target(dependency, path)
                if not qualified_reference(dependency):
                    graph[workflow.workflow_id].append(dependency)
        state: dict[str, int] = {}

        def visit(node: str, trail: list[str]) -> None:
            state[node] = 1
            for nxt in graph.get(node, []):
                if state.get(nxt) == 1:
                    cycle = " -> ".join([*trail[trail.index(nxt) :], nxt]) if nxt in trail else nxt
                    where = document.workflow(node).where
                    self.problem(f"{where}.dependsOn", f"dependency cycle: {cycle}")
                elif nxt in graph and state.get(nxt) is None:
                    visit(nxt, [*trail, nxt])
            state[node] = 2

        for node in graph:
            if state.get(node) is None:
                visit(node, [node])

    def _check_references(self, document: ArazzoDocument) -> None:
        for workflow in document.workflows:
            for expr, usage in self._workflow_expressions(document, workflow):
                self._check_expression(document, workflow, expr, usage)

    def _workflow_expressions(
        self, document: ArazzoDocument, workflow: Workflow
    ) -> Iterator[tuple[Expr, _Usage]]:
        def strings(value: Any, usage: _Usage) -> Iterator[tuple[Expr, _Usage]]:
            try:
                for expr in expressions_in(value):
                    yield expr, usage
            except ExpressionError:
                return  # reported when the field was built

        def criteria(
            items: Iterable[Criterion], workflow_step: bool
        ) -> Iterator[tuple[Expr, _Usage]]:
            for criterion in items:
                usage = _Usage(criterion.where, "criterion", workflow_step)
                if criterion.context is not None:
                    context = _parse_or_none(criterion.context)
                    if context is not None:
                        yield context, usage
                if criterion.type == "simple":
                    try:
                        parsed = parse_condition(criterion.condition)
                    except ExpressionError:
                        continue
                    for operand in parsed.operands():
                        yield operand.expr, usage
                elif criterion.type == "jsonpath":
                    yield from strings(criterion.condition, usage)

        for parameter in workflow.parameters:
            yield from strings(parameter.value, _Usage(parameter.where, "parameter"))
        for action in (*workflow.success_actions, *workflow.failure_actions):
            yield from criteria(action.criteria, False)
        for name, value in workflow.outputs.items():
            yield from strings(value, _Usage(f"{workflow.where}.outputs.{name}", "workflow-output"))
        for step in workflow.steps:
            calls_workflow = step.workflow_id is not None
            for parameter in step.parameters:
                yield from strings(
                    parameter.value, _Usage(parameter.where, "parameter", calls_workflow)
                )
            if step.request_body is not None:
                body = step.request_body
                yield from strings(body.payload, _Usage(f"{body.where}.payload", "body"))
                for replacement in body.replacements:
                    yield from strings(replacement.value, _Usage(replacement.where, "body"))
            yield from criteria(step.success_criteria, calls_workflow)
            for action in (*step.on_success, *step.on_failure):
                yield from criteria(action.criteria, calls_workflow)
            for name, value in step.outputs.items():
                yield from strings(
                    value, _Usage(f"{step.where}.outputs.{name}", "step-output", calls_workflow)
                )

    def _check_expression(
        self, document: ArazzoDocument, workflow: Workflow, expr: Expr, usage: _Usage
    ) -> None:
        path = usage.path
        if isinstance(expr, Scalar | Request | Response):
            if usage.kind in ("parameter", "body"):
                self.problem(path, f"{expr.text} is not available before the request is sent")
            return
        if isinstance(expr, StepOutput):
            try:
                step = workflow.step(expr.step_id)
            except KeyError:
                self.problem(
                    path,
                    f"{expr.text}: unknown stepId {expr.step_id!r} in workflow "
                    f"{workflow.workflow_id!r}",
                )
                return
            if expr.name not in step.outputs:
                self.problem(
                    path, f"{expr.text}: step {expr.step_id!r} has no output {expr.name!r}"
                )
            return
        if isinstance(expr, Inputs):
            names = _input_names(workflow.inputs)
            if workflow.inputs is None:
                self.problem(
                    path, f"{expr.text}: workflow {workflow.workflow_id!r} declares no inputs"
                )
            elif names is not None and expr.name not in names:
                self.problem(
                    path,
                    f"{expr.text}: workflow {workflow.workflow_id!r} has no input {expr.name!r}",
                )
            return
        if isinstance(expr, Outputs):
            if usage.kind == "workflow-output":
                if expr.name not in workflow.outputs:
                    self.problem(
                        path,
                        f"{expr.text}: workflow {workflow.workflow_id!r} has no output "
                        f"{expr.name!r}",
                    )
            elif usage.workflow_step and usage.kind in ("step-output", "criterion"):
                caller = _step_of(workflow, path)
                child = _local_workflow(document, caller.workflow_id) if caller else None
                if child is not None and expr.name not in child.outputs:
                    self.problem(
                        path,
                        f"{expr.text}: workflow {child.workflow_id!r} has no output {expr.name!r}",
                    )
            else:
                self.problem(
                    path,
                    f"{expr.text}: $outputs is only defined in workflow outputs and in steps "
                    "that call a workflow",
                )
            return
        if isinstance(expr, WorkflowRef):
            if qualified_reference(expr.workflow_id):
                return
            if not document.has_workflow(expr.workflow_id):
                self.problem(path, f"{expr.text}: unknown workflowId {expr.workflow_id!r}")
                return
            target = document.workflow(expr.workflow_id)
            if expr.field == "outputs" and expr.name not in target.outputs:
                self.problem(
                    path, f"{expr.text}: workflow {expr.workflow_id!r} has no output {expr.name!r}"
                )
            if expr.field == "inputs":
                names = _input_names(target.inputs)
                if names is not None and expr.name not in names:
                    self.problem(
                        path,
                        f"{expr.text}: workflow {expr.workflow_id!r} has no input {expr.name!r}",
                    )
            return
        if isinstance(expr, SourceRef):
            if expr.source not in self.source_names:
                self.problem(path, f"{expr.text}: unknown source description {expr.source!r}")
            elif expr.member not in ("url", "name", "type"):
                self.source_references.append((path, expr.source, expr.member))
            return
        if isinstance(expr, Component):
            table = {
                "inputs": self.components.inputs,
                "parameters": self.components.parameters,
                "successActions": self.components.success_actions,
                "failureActions": self.components.failure_actions,
            }[expr.kind]
            if expr.key not in table:
                self.problem(path, f"{expr.text}: unknown component {expr.kind}.{expr.key}")


def _parse_or_none(text: str) -> Expr | None:
    try:
        return parse_expression(text)
    except ExpressionError:
        return None


def _step_of(workflow: Workflow, path: str) -> Step | None:
    for step in workflow.steps:
        if path == step.where or path.startswith(step.where + "."):
            return step
    return None


def _local_workflow(document: ArazzoDocument, workflow_id: str | None) -> Workflow | None:
    if (
        workflow_id is None
        or qualified_reference(workflow_id)
        or not document.has_workflow(workflow_id)
    ):
        return None
    return document.workflow(workflow_id)


def _input_names(schema: Mapping[str, Any] | None) -> set[str] | None:
    """Declared input names, or ``None`` when the schema does not list its properties."""
    if schema is None:
        return set()
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return None
    if schema.get("additionalProperties", True) is not False and not properties:
        return None
    return set(properties)


def _component_key(reference: str, section: str) -> str | None:
    prefix = f"$components.{section}."
    if reference.startswith(prefix) and len(reference) > len(prefix):
        return reference[len(prefix) :]
    return None


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def build_document(
    data: Any, *, location: Path | None = None, source: str | None = None
) -> ArazzoDocument:
    """Validate raw Arazzo data and build the typed model; raises :class:`DocumentError`."""
    builder = _Builder(data, location)
    document = builder.build()
    if document is None or builder.problems:
        raise DocumentError(builder.problems or [Problem("", "invalid document")], source=source)
    return document
