"""Source Description Objects: unique names, ``openapi`` or ``arazzo``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._model import SourceDescription
from ._context import ID, Part


class SourceValidator(Part):
    """Checks and builds the source descriptions, recording their names in the context."""

    def sources(self, root: Mapping[str, Any]) -> list[SourceDescription]:
        result: list[SourceDescription] = []
        for index, raw in enumerate(self.listing(root, "sourceDescriptions", "", non_empty=True)):
            path = f"sourceDescriptions[{index}]"
            obj = self.checked_object(raw, path, ("name", "url", "type"), ("name", "url"))
            if obj is None:
                continue
            name = self.string(obj, "name", path, required=True)
            url = self.string(obj, "url", path, required=True)
            kind = self.string(obj, "type", path) or "openapi"
            if kind not in ("openapi", "arazzo"):
                self.problem(f"{path}.type", f"must be 'openapi' or 'arazzo', not {kind!r}")
                continue
            if name is None or url is None:
                continue
            if not ID.fullmatch(name):
                self.problem(f"{path}.name", "must match [A-Za-z0-9_-]+ so expressions can name it")
            if name in self.ctx.source_names:
                self.problem(f"{path}.name", f"duplicate source description name {name!r}")
                continue
            source = SourceDescription(name=name, url=url, type=kind, where=path)  # type: ignore[arg-type]
            self.ctx.source_names[name] = source
            result.append(source)
        return result
