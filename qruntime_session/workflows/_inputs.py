"""Workflow inputs: defaults from the JSON Schema, then validation with ``jsonschema``.

Defaults are applied first (a property's ``default`` when the input is absent, recursively
into object properties that are present or defaulted), then the inputs are validated
against the schema (JSON Schema 2020-12; ``format`` is an annotation, as the dialect says,
so ``int32``/``int64``/``float``/``double``/``password`` are accepted and not checked).
Error messages name the failing rule and the input's path, never the rejected value.
"""

from __future__ import annotations

import copy
import functools
import importlib
from collections.abc import Mapping
from typing import Any

from ._errors import DocumentError, MissingExtraError, WorkflowInputError

__all__ = ["apply_defaults", "check_schema", "compile_schema", "prepare_inputs"]


@functools.cache
def _jsonschema() -> Any:
    try:
        return importlib.import_module("jsonschema")
    except ImportError as exc:
        raise MissingExtraError("jsonschema", "validating workflow inputs") from exc


def apply_defaults(schema: Mapping[str, Any], value: Any) -> Any:
    """A copy of ``value`` with the schema's property defaults filled in."""
    if not isinstance(value, dict):
        return value
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return dict(value)
    result = dict(value)
    for name, spec in properties.items():
        if not isinstance(spec, Mapping):
            continue
        if name not in result and "default" in spec:
            result[name] = copy.deepcopy(spec["default"])
        if name in result and isinstance(result[name], dict):
            result[name] = apply_defaults(spec, result[name])
    return result


def check_schema(schema: Mapping[str, Any], where: str) -> None:
    """Reject an input schema that is not a valid JSON Schema (a document error)."""
    jsonschema = _jsonschema()
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        location = "/".join(str(p) for p in exc.path)
        raise DocumentError.single(
            where + (f" ({location})" if location else ""), f"invalid JSON Schema: {exc.message}"
        ) from exc


def compile_schema(schema: Mapping[str, Any], where: str) -> Any:
    """Check ``schema`` once and return a reusable validator for it (a document error if bad).

    Checking a schema against the 2020-12 meta-schema is the expensive part of input
    validation: do it once per document, then validate every run's inputs with the result.
    """
    check_schema(schema, where)
    return _jsonschema().Draft202012Validator(schema)


def _describe(error: Any, instance: Any) -> str:
    rule = error.validator
    path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    if rule == "required":
        present = error.instance if isinstance(error.instance, Mapping) else {}
        missing = [name for name in error.validator_value if name not in present]
        return f"{path}: missing required input(s) {', '.join(map(repr, missing))}"
    if rule == "type":
        return f"{path}: must be of type {error.validator_value!r}"
    if rule == "additionalProperties":
        return f"{path}: unexpected input(s) (additionalProperties is false)"
    if rule in ("enum", "const"):
        return f"{path}: must be one of the values the schema allows ({rule})"
    value = error.validator_value
    shown = (
        value
        if isinstance(value, int | float | bool) or (isinstance(value, str) and len(value) < 80)
        else "…"
    )
    return f"{path}: does not satisfy {rule!r} ({shown})"


def prepare_inputs(
    workflow_id: str,
    schema: Mapping[str, Any] | None,
    inputs: Mapping[str, Any],
    *,
    validator: Any = None,
) -> dict[str, Any]:
    """Apply defaults and validate; raises ``WorkflowInputError``.

    ``validator`` is the result of ``compile_schema`` for ``schema`` (built here if not
    given).
    """
    values = dict(inputs)
    if schema is None:
        return values
    values = dict(apply_defaults(schema, values))
    if validator is None:
        validator = _jsonschema().Draft202012Validator(schema)
    errors = sorted(
        validator.iter_errors(values), key=lambda e: (list(e.absolute_path), e.validator)
    )
    if errors:
        first = errors[0]
        descriptions = list(dict.fromkeys(_describe(e, values) for e in errors))
        message = f"inputs of workflow {workflow_id!r} rejected: {descriptions[0]}"
        if len(descriptions) > 1:
            message += f" (and {len(descriptions) - 1} more problem(s))"
        path = "$" + "".join(
            f"[{p}]" if isinstance(p, int) else f".{p}" for p in first.absolute_path
        )
        raise WorkflowInputError(message, workflow_id=workflow_id, path=path)
    return values
