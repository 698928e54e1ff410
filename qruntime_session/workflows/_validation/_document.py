"""The document: the root fields, then each part in order, then the cross-references."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from .._errors import DocumentError, Problem
from .._model import ArazzoDocument
from ._actions import ActionValidator
from ._components import ComponentsValidator
from ._context import VERSION, Context, Part
from ._criteria import CriterionValidator
from ._parameters import ParameterValidator
from ._references import ReferenceValidator
from ._sources import SourceValidator
from ._steps import StepValidator
from ._workflows import WorkflowValidator


class DocumentValidator(Part):
    """Checks a whole document and builds its typed model, with one validator per object."""

    def __init__(self, data: Any, location: Path | None) -> None:
        super().__init__(Context(data, location))
        ctx = self.ctx
        criteria = CriterionValidator(ctx)
        actions = ActionValidator(ctx, criteria)
        parameters = ParameterValidator(ctx)
        self.sources = SourceValidator(ctx)
        self.component_validator = ComponentsValidator(ctx, parameters, actions)
        steps = StepValidator(ctx, parameters, criteria, actions)
        self.workflows = WorkflowValidator(ctx, steps, parameters, actions)
        self.references = ReferenceValidator(ctx)

    def build(self) -> ArazzoDocument | None:
        root = self.mapping(self.ctx.data, "")
        if root is None:
            self.ctx.problems[-1] = Problem("", "the document must be an object")
            return None
        self.fields(
            root,
            "",
            ("arazzo", "info", "sourceDescriptions", "workflows", "components"),
            ("arazzo", "info", "sourceDescriptions", "workflows"),
        )
        version = self.string(root, "arazzo", "", required=True)
        if version is not None and version and not VERSION.fullmatch(version):
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
        sources = self.sources.sources(root)
        if "components" in root:
            self.ctx.components = self.component_validator.components(root["components"])
        raw_workflows = self.listing(root, "workflows", "", non_empty=True)
        for index, raw in enumerate(raw_workflows):
            if isinstance(raw, dict) and isinstance(raw.get("workflowId"), str):
                if raw["workflowId"] in self.ctx.workflow_ids:
                    self.problem(
                        f"workflows[{index}].workflowId",
                        f"duplicate workflowId {raw['workflowId']!r}",
                    )
                self.ctx.workflow_ids.add(raw["workflowId"])
        workflows = [
            w
            for w in (
                self.workflows.workflow(raw, f"workflows[{i}]")
                for i, raw in enumerate(raw_workflows)
            )
            if w is not None
        ]
        document = ArazzoDocument(
            arazzo=version or "",
            title=title,
            version=info_version,
            source_descriptions=tuple(sources),
            workflows=tuple(workflows),
            components=self.ctx.components,
            location=self.ctx.location,
            raw=root,
        )
        self.references.check_references(document)
        self.references.check_dependencies(document)
        if self.ctx.problems:
            return None
        return attrs.evolve(
            document,
            warnings=tuple(self.ctx.warnings),
            source_references=tuple(self.ctx.source_references),
        )


def build_document(
    data: Any, *, location: Path | None = None, source: str | None = None
) -> ArazzoDocument:
    """Validate raw Arazzo data and build the typed model; raises ``DocumentError``."""
    validator = DocumentValidator(data, location)
    document = validator.build()
    problems = validator.ctx.problems
    if document is None or problems:
        raise DocumentError(problems or [Problem("", "invalid document")], source=source)
    return document
