"""The dry run: the requests a workflow would send, in document order, with nothing sent.

Steps are assumed to succeed and follow each other (no actions); dependencies and nested
workflows are planned in place. Values only a response can provide become ``<$expr>``
placeholders; secrets are masked.
"""

from __future__ import annotations

from typing import Any

import attrs

from ._expressions import Expr, Unresolved, resolve_value
from ._flow import MAX_DEPTH
from ._model import ArazzoDocument, Workflow, merged_parameters
from ._outputs import body_for_trace
from ._request import PlaceholderText
from ._state import Run, Scope, find_workflow, inputs_for
from ._steps import StepExecutor
from ._trace import PlannedRequest

__all__ = ["DryRun"]


def _placeholder(expr: Expr, _: Unresolved) -> Any:
    return PlaceholderText(f"<{expr.text}>")


@attrs.frozen
class DryRun:
    """Plans a workflow's requests into ``run.planned`` with the executor's request building."""

    steps: StepExecutor

    async def workflow(
        self,
        run: Run,
        document: ArazzoDocument,
        workflow: Workflow,
        inputs: dict[str, Any],
        *,
        depth: int,
    ) -> None:
        if depth > MAX_DEPTH:
            return
        state = run.enter(document, workflow, inputs)

        for dependency in workflow.depends_on:
            target_document, target = find_workflow(document, dependency)
            await self.workflow(
                run, target_document, target, inputs_for(target, inputs), depth=depth + 1
            )
        for step in workflow.steps:
            if step.workflow_id is not None:
                target_document, target = find_workflow(document, step.workflow_id)
                scope = Scope(run, state)
                child_inputs = {
                    p.name: resolve_value(p.value, scope, fallback=_placeholder)
                    for p in merged_parameters(workflow, step)
                }
                await self.workflow(run, target_document, target, child_inputs, depth=depth + 1)
                continue
            prepared = self.steps.prepare(run, state, step, fallback=_placeholder)
            headers = list(prepared.headers)
            if prepared.content_type is not None:
                headers.append(("Content-Type", prepared.content_type))
            run.planned.append(
                PlannedRequest(
                    workflow_id=workflow.workflow_id,
                    step_id=step.step_id,
                    operation_id=prepared.operation_id,
                    method=prepared.method,
                    url=run.masker.url(prepared.full_url),
                    headers=run.masker.headers(headers),
                    body=run.masker.json(body_for_trace(prepared)),
                )
            )
