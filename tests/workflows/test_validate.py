"""Static validation before anything is sent: DOC-04..DOC-11, FLOW-16 and reference checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qruntime_session.workflows import DocumentError

from .support import arazzo, load, ok, openapi, step, workflow


def problems(tmp_path: Path, document: dict[str, Any], **kw: Any) -> list[str]:
    """Every problem of an invalid document, as 'path: message' strings."""
    with pytest.raises(DocumentError) as info:
        load(tmp_path, document, **kw)
    return [str(p) for p in info.value.problems]


def first_path(tmp_path: Path, document: dict[str, Any], **kw: Any) -> str:
    with pytest.raises(DocumentError) as info:
        load(tmp_path, document, **kw)
    return info.value.path


def test_duplicate_workflow_ids(tmp_path: Path) -> None:
    """DOC-04: a duplicate workflowId is an error at the second one."""
    document = arazzo([workflow([step("s")]), workflow([step("s")])])
    assert problems(tmp_path, document) == ["workflows[1].workflowId: duplicate workflowId 'w'"]


def test_duplicate_step_ids(tmp_path: Path) -> None:
    """DOC-04: a duplicate stepId within a workflow is an error."""
    document = arazzo([workflow([step("a"), step("b"), step("a")])])
    assert problems(tmp_path, document) == ["workflows[0].steps[2].stepId: duplicate stepId 'a'"]


def test_duplicate_source_names(tmp_path: Path) -> None:
    """DOC-04: a duplicate source description name is an error."""
    sources = [{"name": "api", "url": "api.openapi.json"}, {"name": "api", "url": "x.json"}]
    document = arazzo([workflow([step("s")])], sources=sources)
    assert first_path(tmp_path, document) == "sourceDescriptions[1].name"


@pytest.mark.parametrize(
    "targets",
    [
        {},
        {"operationId": "listItems", "workflowId": "w"},
        {
            "operationId": "listItems",
            "operationPath": "{$sourceDescriptions.api.url}#/paths/~1items/get",
            "workflowId": "w",
        },
    ],
)
def test_target_exclusivity(tmp_path: Path, targets: dict[str, str]) -> None:
    """DOC-05: zero, two or three of operationId/operationPath/workflowId is an error."""
    document = arazzo([workflow([{"stepId": "s", **targets}])])
    found = problems(tmp_path, document)
    assert any(p.startswith("workflows[0].steps[0]: a step needs exactly one of") for p in found), (
        found
    )


def test_parameter_without_in_on_operation_step(tmp_path: Path) -> None:
    """DOC-06: a parameter without `in` on an operation step is an error naming it."""
    document = arazzo([workflow([step("s", parameters=[{"name": "q", "value": "x"}])])])
    assert problems(tmp_path, document) == [
        "workflows[0].steps[0].parameters[0].in: is required on a step that targets an operation"
    ]


def test_parameter_without_in_on_workflow_step_is_fine(tmp_path: Path) -> None:
    """DOC-06: on a workflowId step, `in` may be omitted (parameters become inputs)."""
    child = workflow(
        [step("s")],
        workflow_id="child",
        inputs={"type": "object", "properties": {"q": {"type": "string"}}},
    )
    parent = workflow(
        [{"stepId": "call", "workflowId": "child", "parameters": [{"name": "q", "value": "x"}]}]
    )
    document = load(tmp_path, arazzo([parent, child]))
    (param,) = document.workflows[0].steps[0].parameters
    assert (param.name, param.location, param.value) == ("q", None, "x")


def test_body_location_removed_in_1_0_1(tmp_path: Path) -> None:
    """`in: body` was removed in 1.0.1: rejected with a hint."""
    document = arazzo([workflow([step("s", parameters=[{"name": "b", "in": "body", "value": 1}])])])
    assert "use requestBody" in problems(tmp_path, document)[0]


def test_unqualified_operation_id_in_two_sources(tmp_path: Path) -> None:
    """DOC-07: a plain operationId defined by two OpenAPI sources is an error naming the step."""
    sources = [
        {"name": "a", "url": "api.openapi.json"},
        {"name": "b", "url": "copy.json"},
    ]
    document = arazzo([workflow([step("s", "listItems")])], sources=sources)
    found = problems(tmp_path, document, extra_files={"copy.json": openapi()})
    assert found == [
        "workflows[0].steps[0].operationId: step 's': operationId 'listItems' is defined by "
        "several sources (a, b); qualify it as $sourceDescriptions.<name>.listItems"
    ]


def test_qualified_operation_id_disambiguates(tmp_path: Path) -> None:
    """DOC-07: the qualified form picks one source."""
    sources = [
        {"name": "a", "url": "api.openapi.json"},
        {"name": "b", "url": "copy.json"},
    ]
    document = arazzo([workflow([step("s", "$sourceDescriptions.b.listItems")])], sources=sources)
    loaded = load(tmp_path, document, extra_files={"copy.json": openapi()})
    assert loaded.operation("w", "s").source == "b"


def test_unknown_operation_id(tmp_path: Path) -> None:
    """An operationId no source defines is an error at the step."""
    document = arazzo([workflow([step("s", "nope")])])
    assert first_path(tmp_path, document) == "workflows[0].steps[0].operationId"


def test_spec_root_example_trap(tmp_path: Path) -> None:
    """DOC-08: the spec's own example errors (wrong source name, wrong stepId) are caught."""
    document = arazzo(
        [
            workflow(
                [
                    step("loginStep", outputs={"token": "$response.body#/t"}),
                    step(
                        "getPet",
                        "$sourceDescriptions.petstoreDescription.getItem",
                        parameters=[
                            {"name": "id", "in": "path", "value": "1"},
                            {
                                "name": "Authorization",
                                "in": "header",
                                "value": "$steps.loginUser.outputs.token",
                            },
                        ],
                    ),
                ]
            )
        ],
        sources=[{"name": "petStoreDescription", "url": "api.openapi.json"}],
    )
    found = problems(tmp_path, document)
    assert (
        "workflows[0].steps[1].operationId: unknown source description 'petstoreDescription'"
        in found
    )
    assert (
        "workflows[0].steps[1].parameters[1]: $steps.loginUser.outputs.token: unknown stepId "
        "'loginUser' in workflow 'w'" in found
    )


def test_unknown_output_of_known_step(tmp_path: Path) -> None:
    """DOC-08: $steps.<id>.outputs.<name> must name a declared output."""
    document = arazzo(
        [
            workflow(
                [step("a", outputs={"id": "$response.body#/id"}), step("b")],
                outputs={"x": "$steps.a.outputs.idd"},
            )
        ]
    )
    assert problems(tmp_path, document) == [
        "workflows[0].outputs.x: $steps.a.outputs.idd: step 'a' has no output 'idd'"
    ]


def test_unknown_goto_targets(tmp_path: Path) -> None:
    """FLOW-16: an unknown goto stepId or workflowId is a validation error, not a crash."""
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "s",
                        onSuccess=[{"name": "g", "type": "goto", "stepId": "nowhere"}],
                        onFailure=[{"name": "h", "type": "goto", "workflowId": "nobody"}],
                    )
                ]
            )
        ]
    )
    assert problems(tmp_path, document) == [
        "workflows[0].steps[0].onSuccess[0].stepId: unknown stepId 'nowhere' in workflow 'w'",
        "workflows[0].steps[0].onFailure[0].workflowId: unknown workflowId 'nobody'",
    ]


def test_unknown_components(tmp_path: Path) -> None:
    """DOC-08: a reference to an unknown component is caught."""
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "s",
                        parameters=[{"reference": "$components.parameters.missing"}],
                        onFailure=[{"reference": "$components.failureActions.gone"}],
                    )
                ]
            )
        ],
        components={"parameters": {}},
    )
    assert problems(tmp_path, document) == [
        "workflows[0].steps[0].parameters[0].reference: unknown component parameter 'missing'",
        "workflows[0].steps[0].onFailure[0].reference: unknown component failureAction 'gone'",
    ]


def test_depends_on_checks(tmp_path: Path) -> None:
    """dependsOn entries must exist, must not be the workflow itself, and must not cycle."""
    document = arazzo(
        [
            workflow([step("s")], workflow_id="a", dependsOn=["b", "ghost"]),
            workflow([step("s")], workflow_id="b", dependsOn=["a"]),
            workflow([step("s")], workflow_id="c", dependsOn=["c"]),
        ]
    )
    found = problems(tmp_path, document)
    assert "workflows[0].dependsOn[1]: unknown workflowId 'ghost'" in found
    assert "workflows[2].dependsOn[0]: a workflow cannot depend on itself" in found
    assert any(p.startswith("workflows[1].dependsOn: dependency cycle: a -> b -> a") for p in found)


def test_workflow_step_target_must_exist(tmp_path: Path) -> None:
    """A workflowId step must name a workflow of the document."""
    document = arazzo([workflow([{"stepId": "call", "workflowId": "missing"}])])
    assert problems(tmp_path, document) == [
        "workflows[0].steps[0].workflowId: unknown workflowId 'missing'"
    ]


@pytest.mark.parametrize("key", ["bad key", "a/b", "x$"])
def test_output_key_pattern(tmp_path: Path, key: str) -> None:
    """DOC-09: output keys must match ^[a-zA-Z0-9.\\-_]+$."""
    document = arazzo([workflow([step("s")], outputs={key: "$inputs.x"})])
    assert any("output names must match" in p for p in problems(tmp_path, document))


def test_component_key_pattern(tmp_path: Path) -> None:
    """DOC-09: component keys must match ^[a-zA-Z0-9.\\-_]+$."""
    document = arazzo(
        [workflow([step("s")])],
        components={"parameters": {"bad key": {"name": "q", "in": "query", "value": 1}}},
    )
    assert first_path(tmp_path, document) == "components.parameters.bad key"


def test_dotted_output_key_is_fine(tmp_path: Path) -> None:
    """DOC-09: dots, dashes and underscores are allowed in output keys."""
    document = load(
        tmp_path,
        arazzo(
            [
                workflow(
                    [step("s", outputs={"a.b-c_d": "$statusCode"})],
                    outputs={"x": "$steps.s.outputs.a.b-c_d"},
                )
            ]
        ),
    )
    assert dict(document.workflows[0].steps[0].outputs) == {"a.b-c_d": "$statusCode"}
    assert dict(document.workflows[0].outputs) == {"x": "$steps.s.outputs.a.b-c_d"}


def test_criterion_type_without_context(tmp_path: Path) -> None:
    """DOC-10: a criterion with `type` but no `context` is an error."""
    document = arazzo(
        [workflow([step("s", successCriteria=[{"condition": "^2", "type": "regex"}])])]
    )
    assert problems(tmp_path, document) == [
        "workflows[0].steps[0].successCriteria[0].context: is required when type is given (regex)"
    ]


@pytest.mark.parametrize(
    "action",
    [
        {"name": "g", "type": "goto"},
        {"name": "g", "type": "goto", "stepId": "s", "workflowId": "w"},
    ],
)
def test_goto_needs_exactly_one_target(tmp_path: Path, action: dict[str, Any]) -> None:
    """DOC-10: a goto with both or neither of stepId/workflowId is an error."""
    document = arazzo([workflow([step("s", onSuccess=[action])])])
    assert (
        "workflows[0].steps[0].onSuccess[0]: a goto action needs exactly one of stepId and "
        "workflowId" in problems(tmp_path, document)
    )


def test_bare_retry_is_valid(tmp_path: Path) -> None:
    """DOC-10: a bare retry (no target, no retryAfter) is valid despite the archived schema."""
    document = load(
        tmp_path, arazzo([workflow([step("s", onFailure=[{"name": "r", "type": "retry"}])])])
    )
    (action,) = document.workflows[0].steps[0].on_failure
    assert (action.name, action.type, action.step_id, action.retry_after) == (
        "r",
        "retry",
        None,
        None,
    )


def test_retry_is_not_a_success_action(tmp_path: Path) -> None:
    """A success action cannot be a retry; retry fields are checked."""
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "s",
                        onSuccess=[{"name": "r", "type": "retry"}],
                        onFailure=[{"name": "f", "type": "retry", "retryLimit": -1}],
                    )
                ]
            )
        ]
    )
    found = problems(tmp_path, document)
    assert "workflows[0].steps[0].onSuccess[0].type: must be one of end, goto, not 'retry'" in found
    assert "workflows[0].steps[0].onFailure[0].retryLimit: must be an integer >= 0" in found


def test_duplicate_action_names(tmp_path: Path) -> None:
    """An action list must not contain duplicate names."""
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "s",
                        onFailure=[{"name": "x", "type": "end"}, {"name": "x", "type": "retry"}],
                    )
                ]
            )
        ]
    )
    assert problems(tmp_path, document) == [
        "workflows[0].steps[0].onFailure[1]: duplicate action name 'x'"
    ]


def test_duplicate_parameters_compare_headers_case_insensitively(tmp_path: Path) -> None:
    """Parameters are unique by (name, in); header names compare case-insensitively."""
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "s",
                        parameters=[
                            {"name": "X-Id", "in": "header", "value": "1"},
                            {"name": "x-id", "in": "header", "value": "2"},
                            {"name": "x-id", "in": "query", "value": "3"},
                        ],
                    )
                ]
            )
        ]
    )
    found = problems(tmp_path, document)
    assert len(found) == 1
    assert found[0].startswith("workflows[0].steps[0].parameters[1]: duplicate parameter 'x-id'")


def test_inputs_ref_resolves(tmp_path: Path) -> None:
    """DOC-11: inputs {$ref: '#/components/inputs/x'} resolves (nested refs too)."""
    document = arazzo(
        [workflow([step("s")], inputs={"$ref": "#/components/inputs/base"})],
        components={
            "inputs": {
                "base": {
                    "type": "object",
                    "properties": {"n": {"$ref": "#/components/inputs/count"}},
                },
                "count": {"type": "integer", "default": 3},
            }
        },
    )
    loaded = load(tmp_path, document)
    assert loaded.workflows[0].inputs == {
        "type": "object",
        "properties": {"n": {"type": "integer", "default": 3}},
    }


def test_inputs_ref_unknown(tmp_path: Path) -> None:
    """DOC-11: an inputs $ref that does not resolve is an error."""
    document = arazzo([workflow([step("s")], inputs={"$ref": "#/components/inputs/nope"})])
    assert problems(tmp_path, document) == [
        "workflows[0].inputs.$ref: '#/components/inputs/nope' does not resolve"
    ]


def test_unknown_input_reference(tmp_path: Path) -> None:
    """$inputs.<name> must be declared by the workflow's inputs schema."""
    document = arazzo(
        [
            workflow(
                [step("s", parameters=[{"name": "q", "in": "query", "value": "$inputs.qq"}])],
                inputs={"type": "object", "properties": {"q": {"type": "string"}}},
            )
        ]
    )
    assert problems(tmp_path, document) == [
        "workflows[0].steps[0].parameters[0]: $inputs.qq: workflow 'w' has no input 'qq'"
    ]


def test_response_in_a_parameter_is_an_error(tmp_path: Path) -> None:
    """$response/$statusCode cannot feed a parameter: they do not exist before sending."""
    document = arazzo(
        [workflow([step("s", parameters=[{"name": "q", "in": "query", "value": "$statusCode"}])])]
    )
    assert problems(tmp_path, document) == [
        "workflows[0].steps[0].parameters[0]: $statusCode is not available before the request is sent"
    ]


def test_outputs_outside_outputs_is_an_error(tmp_path: Path) -> None:
    """$outputs only has a meaning in workflow outputs and in steps that call a workflow."""
    document = arazzo([workflow([step("s", successCriteria=[{"condition": "$outputs.x == 1"}])])])
    assert "$outputs is only defined" in problems(tmp_path, document)[0]


def test_unknown_fields_are_typos(tmp_path: Path) -> None:
    """Unknown fields (not x-…) are reported: a misspelt successCriteria is not ignored."""
    document = arazzo([workflow([{**step("s", sucessCriteria=ok()), "x-note": 1}])])
    assert problems(tmp_path, document) == ["workflows[0].steps[0].sucessCriteria: unknown field"]


def test_path_parameter_coverage(tmp_path: Path) -> None:
    """Every {placeholder} of the operation path needs a path parameter, and only those."""
    document = arazzo(
        [
            workflow(
                [
                    step("a", "getItem"),
                    step("b", "listItems", parameters=[{"name": "id", "in": "path", "value": 1}]),
                ]
            )
        ]
    )
    assert problems(tmp_path, document) == [
        "workflows[0].steps[0]: no value for path parameter 'id' of GET /items/{id}",
        "workflows[0].steps[1].parameters[0]: /items has no path parameter 'id'",
    ]


def test_xpath_and_goessner_rejected(tmp_path: Path) -> None:
    """CRIT-27/28: xpath and the Goessner JSONPath draft are rejected cleanly (unsupported)."""
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "s",
                        successCriteria=[
                            {"condition": "/a", "context": "$response.body", "type": "xpath"},
                            {
                                "condition": "$.a",
                                "context": "$response.body",
                                "type": {
                                    "type": "jsonpath",
                                    "version": "draft-goessner-dispatch-jsonpath-00",
                                },
                            },
                        ],
                    )
                ]
            )
        ]
    )
    assert problems(tmp_path, document) == [
        "workflows[0].steps[0].successCriteria[0].type: xpath criteria are not supported by this "
        "executor",
        "workflows[0].steps[0].successCriteria[1].type.version: JSONPath version "
        "'draft-goessner-dispatch-jsonpath-00' is not supported; only RFC 9535 (omit the version)",
    ]


def test_condition_syntax_error_is_only_a_warning(tmp_path: Path) -> None:
    """CRIT-09: a simple-condition syntax error is a warning at load (the criterion will fail)."""
    document = load(
        tmp_path, arazzo([workflow([step("s", successCriteria=[{"condition": "1 < 2 < 3"}])])])
    )
    assert len(document.warnings) == 1
    assert document.warnings[0].startswith("workflows[0].steps[0].successCriteria[0].condition:")


def test_bad_bare_expression_in_a_string(tmp_path: Path) -> None:
    """A `$source…` meant as an expression that does not parse is a document error."""
    document = arazzo(
        [
            workflow(
                [
                    step(
                        "s",
                        parameters=[
                            {"name": "q", "in": "query", "value": "$response.body.items"},
                        ],
                    )
                ]
            )
        ]
    )
    assert "write it as {$…}" in problems(tmp_path, document)[0]


def test_operation_path_resolution(tmp_path: Path) -> None:
    """operationPath {$sourceDescriptions.api.url}#/paths/~1items~1{id}/get resolves."""
    document = arazzo(
        [
            workflow(
                [
                    {
                        "stepId": "s",
                        "operationPath": "{$sourceDescriptions.api.url}#/paths/~1items~1{id}/get",
                        "parameters": [{"name": "id", "in": "path", "value": 1}],
                    }
                ]
            )
        ]
    )
    assert load(tmp_path, document).operation("w", "s").operation_id == "getItem"


def test_operation_path_errors(tmp_path: Path) -> None:
    """operationPath pointers that are malformed or point nowhere are errors."""
    document = arazzo(
        [
            workflow(
                [
                    {"stepId": "a", "operationPath": "#/paths/~1items/get"},
                    {
                        "stepId": "b",
                        "operationPath": "{$sourceDescriptions.api.url}#/paths/~1zz/get",
                    },
                ]
            )
        ]
    )
    found = problems(tmp_path, document)
    assert found[0].startswith("workflows[0].steps[0].operationPath: must be")
    assert found[1] == (
        "workflows[0].steps[1].operationPath: source 'api' has no operation at '/paths/~1zz/get'"
    )


def test_all_problems_reported_together(tmp_path: Path) -> None:
    """Every problem is collected; the error's path is the first one's."""
    document = arazzo([workflow([{"stepId": "a"}, {"stepId": "a", "operationId": "listItems"}])])
    with pytest.raises(DocumentError) as info:
        load(tmp_path, document)
    assert len(info.value.problems) == 2
    assert info.value.path == "workflows[0].steps[0]"
    assert "(and 1 more problem(s))" in str(info.value)


def test_unknown_source_member(tmp_path: Path) -> None:
    """EXPR-14: $sourceDescriptions.<name>.<member> must be a field, operation or workflow."""
    document = arazzo([workflow([step("s", outputs={"o": "$sourceDescriptions.api.nope"})])])
    assert problems(tmp_path, document) == [
        "workflows[0].steps[0].outputs.o: $sourceDescriptions.api.nope: no such operation or "
        "workflow"
    ]
