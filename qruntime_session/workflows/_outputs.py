"""Outputs and trace: what a run computes and records, and the result it returns.

Step and workflow outputs are rendered from their expressions; every attempt and every step
execution is recorded (masked) as it happens; at the end the resources left open are found
(docs/workflows.md, "The seed's gap") and the ``WorkflowResult`` is assembled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ._errors import OpenResource, StepFailedError, StepLimitError, WorkflowFailedError
from ._expressions import MISSING, Unresolved, parse_template, render
from ._model import Step
from ._request import PreparedRequest
from ._results import StepResult, WorkflowResult
from ._state import AttemptResult, Run, Scope, Sent, WorkflowState
from ._trace import AttemptTrace, RequestRecord, is_secret_name

__all__ = ["RunRecorder", "body_for_trace"]


@attrs.frozen(kw_only=True)
class RunRecorder:
    """Computes outputs, records attempts and steps, and builds the run's result.

    ``resource_suffixes``: output names (lower-cased, ``-``/``_`` removed) ending in one of
    these name resources the left-open rule watches.
    """

    resource_suffixes: tuple[str, ...]

    # -- outputs -----------------------------------------------------------------------------

    def step_outputs(
        self, run: Run, state: WorkflowState, step: Step, result: AttemptResult
    ) -> tuple[dict[str, Any], list[str]]:
        """The step's outputs that could be rendered, and a problem text for each other one."""
        scope = Scope(run, state, result.exchange, child_outputs=result.child_outputs)
        outputs: dict[str, Any] = {}
        problems: list[str] = []
        for name, text in step.outputs.items():
            try:
                outputs[name] = render(parse_template(text), scope)
            except Unresolved as exc:
                problems.append(f"output {name!r}: {exc.expression} is unresolved ({exc.reason})")
        return outputs, problems

    @staticmethod
    def keep_step_outputs(
        run: Run, state: WorkflowState, step: Step, outputs: dict[str, Any]
    ) -> None:
        """Store a succeeded step's outputs; secret-named ones are masked from now on."""
        state.step_outputs[step.step_id] = outputs
        run.masker.add(
            str(v) for k, v in outputs.items() if is_secret_name(k) and isinstance(v, str)
        )

    @staticmethod
    def finish_outputs(run: Run, state: WorkflowState) -> None:
        """Render the workflow's outputs (those unresolved go to ``diagnostics``)."""
        scope = Scope(run, state, own_outputs=True)
        for name, text in state.workflow.outputs.items():
            try:
                state.outputs[name] = render(parse_template(text), scope)
            except Unresolved as exc:
                state.diagnostics.append(
                    f"output {name!r}: {exc.expression} is unresolved ({exc.reason})"
                )

    # -- the trace ---------------------------------------------------------------------------

    @staticmethod
    def record_attempt(
        run: Run,
        state: WorkflowState,
        step: Step,
        attempt: int,
        started: float,
        elapsed: float,
        result: AttemptResult,
        action: str,
        sleep: float | None,
        note: str | None,
    ) -> None:
        masker = run.masker
        request = result.exchange.request
        response = result.exchange.response
        record = None
        if request is not None:
            headers = list(request.headers)
            if request.content_type is not None:
                headers.append(("Content-Type", request.content_type))
            record = RequestRecord(
                method=request.method,
                url=masker.url(result.exchange.url or request.full_url),
                headers=masker.headers(headers),
                body=masker.json(body_for_trace(request)),
            )
        notes = list(result.notes)
        if note:
            notes.append(note)
        run.trace.append(
            AttemptTrace(
                workflow_id=state.workflow.workflow_id,
                step_id=step.step_id,
                attempt=attempt,
                started=started,
                elapsed=elapsed,
                request=record,
                status=response.status if response is not None else None,
                response_headers=masker.headers(list(response.headers.items()))
                if response is not None
                else {},
                response_body=masker.json(_jsonish(result.exchange.body()))
                if response is not None
                else None,
                error=masker.text(result.error) if result.error else None,
                error_type=result.error_type,
                criteria=tuple(
                    c
                    if c.diagnostic is None
                    else attrs.evolve(
                        c, diagnostic=masker.text(c.diagnostic) if c.diagnostic else None
                    )
                    for c in (*result.criteria, *result.action_criteria)
                ),
                success=result.success,
                action=action,
                sleep=sleep,
                notes=tuple(masker.text(n) for n in notes),
            )
        )

    @staticmethod
    def record_step(
        run: Run,
        state: WorkflowState,
        step: Step,
        result: AttemptResult,
        attempts: int,
        action: str,
        error: str | None,
    ) -> None:
        response = result.exchange.response
        run.step_results.append(
            StepResult(
                workflow_id=state.workflow.workflow_id,
                step_id=step.step_id,
                status="succeeded" if result.success else "failed",
                status_code=response.status if response is not None else None,
                outputs=dict(result.outputs),
                attempts=attempts,
                action=action,
                error=run.masker.text(error) if error else None,
            )
        )

    # -- the result --------------------------------------------------------------------------

    def left_open(self, run: Run) -> tuple[OpenResource, ...]:
        found: list[OpenResource] = []
        for step_result in run.step_results:
            if not step_result.ok:
                continue
            for name, value in step_result.outputs.items():
                normal = name.lower().replace("_", "").replace("-", "")
                if (
                    not isinstance(value, str)
                    or not value
                    or not normal.endswith(self.resource_suffixes)
                ):
                    continue
                if any(r.value == value for r in found):
                    continue
                if _released(run.sent, value):
                    continue
                found.append(
                    OpenResource(
                        workflow_id=step_result.workflow_id,
                        step_id=step_result.step_id,
                        output=name,
                        value=value,
                    )
                )
        return tuple(found)

    def result(self, run: Run, state: WorkflowState, *, limit: bool = False) -> WorkflowResult:
        left_open = self.left_open(run)
        error: WorkflowFailedError | None = None
        if state.status != "succeeded":
            cls = StepLimitError if limit else StepFailedError
            error = cls(
                state.error_message or f"workflow {state.workflow.workflow_id!r} failed",
                workflow_id=state.workflow.workflow_id,
                step_id=state.failed_step,
                status=state.status_code,
                step_outputs=state.step_outputs,
                left_open=left_open,
            )
        return WorkflowResult(
            workflow_id=state.workflow.workflow_id,
            status="succeeded" if state.status == "succeeded" else "failed",
            outputs=dict(state.outputs),
            steps=tuple(run.step_results),
            trace=tuple(run.trace),
            step_outputs={k: dict(v) for k, v in state.step_outputs.items()},
            workflow_outputs={wid: dict(s.outputs) for (_, wid), s in run.states.items()},
            left_open=left_open,
            failed_step=state.failed_step,
            status_code=state.status_code,
            ended_by_action=state.ended_by_action,
            error=error,
            diagnostics=tuple(d for s in run.states.values() for d in s.diagnostics),
        )


def _jsonish(value: Any) -> Any:
    return None if value is MISSING else value


def body_for_trace(request: PreparedRequest) -> Any:
    """The request body as the trace shows it (JSON data, or text)."""
    if request.body is None:
        return None
    value = request.body_value
    if isinstance(value, dict | list | str | int | float | bool) or value is None:
        return value
    return request.body.decode("utf-8", errors="replace")


def _released(sent: Sequence[Sent], value: str) -> bool:
    """A later successful DELETE, ``…/close`` request, or ``accepting_jobs: false`` PATCH on it."""
    for record in sent:
        if not record.step_succeeded:
            continue
        path = record.url.split("?", 1)[0]
        if value not in path:
            continue
        if record.method == "DELETE" or path.rstrip("/").endswith("/close"):
            return True
        if (
            record.method == "PATCH"
            and isinstance(record.body, Mapping)
            and record.body.get("accepting_jobs") is False
        ):
            return True
    return False
