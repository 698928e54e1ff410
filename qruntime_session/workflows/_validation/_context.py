"""The shared state of one validation and the field checks every validator uses."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from .._errors import ExpressionError, Problem
from .._expressions import parse_template
from .._model import Components, SourceDescription

VERSION = re.compile(r"1\.0\.(?:0|[1-9][0-9]*)")
ID = re.compile(r"[A-Za-z0-9_\-]+")
KEY = re.compile(r"[a-zA-Z0-9.\-_]+")
_QUALIFIED = re.compile(r"\$sourceDescriptions\.([A-Za-z0-9_\-]+)\.(.+)")
LOCATIONS = ("path", "query", "header", "cookie")
UNSET: Any = object()


def split_qualified(text: str) -> tuple[str, str] | None:
    """``$sourceDescriptions.<name>.<id>`` → (name, id); ``None`` for a plain id."""
    match = _QUALIFIED.fullmatch(text)
    return (match.group(1), match.group(2)) if match else None


def qualified_reference(text: str) -> bool:
    return split_qualified(text) is not None


def field_path(base: str, key: str) -> str:
    return f"{base}.{key}" if base else key


def component_key(reference: str, section: str) -> str | None:
    prefix = f"$components.{section}."
    if reference.startswith(prefix) and len(reference) > len(prefix):
        return reference[len(prefix) :]
    return None


def strings_in(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings_in(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings_in(item, f"{path}[{index}]")


def kind_of(value: Any) -> str:
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


class Context:
    """What one validation shares: the problems and warnings found so far, the raw data, and
    the names declared (sources, workflow ids, components) that later objects refer to."""

    def __init__(self, data: Any, location: Path | None) -> None:
        self.data = data
        self.location = location
        self.problems: list[Problem] = []
        self.warnings: list[str] = []
        self.source_names: dict[str, SourceDescription] = {}
        self.components = Components()
        self.workflow_ids: set[str] = set()
        self.source_references: list[tuple[str, str, str]] = []

    # -- field checks ------------------------------------------------------------------------

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def mapping(self, value: Any, path: str) -> dict[str, Any] | None:
        if isinstance(value, dict):
            return value
        self.problem(path, f"must be an object, not {kind_of(value)}")
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
                self.problem(field_path(path, key), "unknown field")
        for key in required:
            if key not in obj:
                self.problem(field_path(path, key), "is required")

    def checked_object(
        self, value: Any, path: str, allowed: Iterable[str], required: Iterable[str] = ()
    ) -> dict[str, Any] | None:
        """``value`` if it is an object (its fields checked with ``fields``), else ``None``."""
        obj = self.mapping(value, path)
        if obj is not None:
            self.fields(obj, path, allowed, required)
        return obj

    def string(
        self, obj: Mapping[str, Any], key: str, path: str, *, required: bool = False
    ) -> str | None:
        if key not in obj:
            return None
        value = obj[key]
        if isinstance(value, str):
            if required and not value:
                self.problem(field_path(path, key), "must not be empty")
            return value
        hint = (
            " (quote it in YAML)"
            if isinstance(value, int | float) and not isinstance(value, bool)
            else ""
        )
        self.problem(field_path(path, key), f"must be a string, not {kind_of(value)}{hint}")
        return None

    def listing(
        self, obj: Mapping[str, Any], key: str, path: str, *, non_empty: bool = False
    ) -> list[Any]:
        if key not in obj:
            return []
        value = obj[key]
        if not isinstance(value, list):
            self.problem(field_path(path, key), f"must be a list, not {kind_of(value)}")
            return []
        if non_empty and not value:
            self.problem(field_path(path, key), "must have at least one entry")
        return value

    def parse_string(self, value: str, path: str) -> bool:
        try:
            parse_template(value)
        except ExpressionError as exc:
            self.problem(path, str(exc))
            return False
        return True

    def outputs(self, obj: Mapping[str, Any], path: str) -> dict[str, str]:
        if "outputs" not in obj:
            return {}
        raw = self.mapping(obj["outputs"], f"{path}.outputs")
        outputs: dict[str, str] = {}
        for key, value in (raw or {}).items():
            where = f"{path}.outputs.{key}"
            if not KEY.fullmatch(key):
                self.problem(where, "output names must match ^[a-zA-Z0-9.\\-_]+$")
                continue
            if not isinstance(value, str):
                self.problem(where, f"must be a runtime expression string, not {kind_of(value)}")
                continue
            if self.parse_string(value, where):
                outputs[key] = value
        return outputs

    def check_workflow_target(self, target: str, path: str) -> None:
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


class Part:
    """A validator of one kind of object: the shared ``Context`` and its field checks."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.problem = ctx.problem
        self.mapping = ctx.mapping
        self.fields = ctx.fields
        self.checked_object = ctx.checked_object
        self.string = ctx.string
        self.listing = ctx.listing
        self.parse_string = ctx.parse_string
        self.outputs = ctx.outputs
        self.check_workflow_target = ctx.check_workflow_target
        self.warnings = ctx.warnings
