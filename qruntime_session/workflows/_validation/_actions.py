"""Success and Failure Action Objects, inline or ``$components`` references."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .._model import Action, Criterion
from ._context import Context, Part, component_key
from ._criteria import CriterionValidator


class ActionValidator(Part):
    """Checks and builds action lists (names unique), references and action objects."""

    def __init__(self, ctx: Context, criteria: CriterionValidator) -> None:
        super().__init__(ctx)
        self.criteria = criteria

    def actions(
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
            return self.action_object(obj, path, failure=failure)
        section = "failureActions" if failure else "successActions"
        reference = self.string(obj, "reference", path, required=True)
        if reference is None:
            return None
        key = component_key(reference, section)
        if key is None:
            self.problem(f"{path}.reference", f"must be $components.{section}.<key>")
            return None
        table = (
            self.ctx.components.failure_actions if failure else self.ctx.components.success_actions
        )
        if key not in table:
            self.problem(f"{path}.reference", f"unknown component {section[:-1]} {key!r}")
            return None
        return attrs.evolve(table[key], where=f"{path} (via {reference})")

    def action_object(self, raw: Any, path: str, *, failure: bool) -> Action | None:
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
            criterion = self.criteria.criterion(raw_criterion, f"{path}.criteria[{index}]")
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
