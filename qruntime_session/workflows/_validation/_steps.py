"""Step Objects: the target, parameters, request body, criteria, actions and outputs."""

from __future__ import annotations

from typing import Any

from .._model import Criterion, Replacement, RequestBody, Step
from ._actions import ActionValidator
from ._context import ID, Context, Part, strings_in
from ._criteria import CriterionValidator
from ._parameters import ParameterValidator


class StepValidator(Part):
    """Checks and builds one Step Object (with its request body)."""

    def __init__(
        self,
        ctx: Context,
        parameters: ParameterValidator,
        criteria: CriterionValidator,
        actions: ActionValidator,
    ) -> None:
        super().__init__(ctx)
        self.parameters = parameters
        self.criteria = criteria
        self.actions = actions

    def step(self, raw: Any, path: str) -> Step | None:
        obj = self.checked_object(
            raw,
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
        if obj is None:
            return None
        step_id = self.string(obj, "stepId", path, required=True)
        if step_id and not ID.fullmatch(step_id):
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
        parameters = self.parameters.parameters(obj, path, workflow_step=targets_workflow)
        request_body = None
        if "requestBody" in obj:
            if targets_workflow:
                self.problem(
                    f"{path}.requestBody",
                    "a step that targets a workflow cannot have a requestBody",
                )
            request_body = self.request_body(obj["requestBody"], f"{path}.requestBody")
        criteria: list[Criterion] = []
        for index, raw_criterion in enumerate(
            self.listing(obj, "successCriteria", path, non_empty=True)
        ):
            criterion = self.criteria.criterion(raw_criterion, f"{path}.successCriteria[{index}]")
            if criterion is not None:
                criteria.append(criterion)
        on_success = self.actions.actions(obj, "onSuccess", path, failure=False)
        on_failure = self.actions.actions(obj, "onFailure", path, failure=True)
        outputs = self.outputs(obj, path)
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

    def request_body(self, raw: Any, path: str) -> RequestBody | None:
        obj = self.checked_object(raw, path, ("contentType", "payload", "replacements"))
        if obj is None:
            return None
        content_type = self.string(obj, "contentType", path, required=True)
        payload = obj.get("payload")
        for where, text in strings_in(payload, f"{path}.payload"):
            self.parse_string(text, where)
        replacements: list[Replacement] = []
        for index, raw_replacement in enumerate(self.listing(obj, "replacements", path)):
            where = f"{path}.replacements[{index}]"
            item = self.checked_object(
                raw_replacement, where, ("target", "value"), ("target", "value")
            )
            if item is None:
                continue
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
            for text_where, text in strings_in(item["value"], f"{where}.value"):
                self.parse_string(text, text_where)
            replacements.append(Replacement(target=target, value=item["value"], where=where))
        return RequestBody(
            content_type=content_type,
            payload=payload,
            has_payload="payload" in obj,
            replacements=tuple(replacements),
            where=path,
        )
