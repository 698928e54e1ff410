"""The runtime-expression parser: forms, templates, bare expressions in strings, literals."""

from __future__ import annotations

import pytest

from qruntime_session.workflows import ExpressionError
from qruntime_session.workflows._expressions import (
    Component,
    Inputs,
    Outputs,
    Request,
    Response,
    Scalar,
    SourceRef,
    StepOutput,
    Template,
    Unresolved,
    WorkflowRef,
    parse_expression,
    parse_template,
    resolve_pointer,
    stringify,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$url", Scalar("url")),
        ("$method", Scalar("method")),
        ("$statusCode", Scalar("statusCode")),
        ("$request.header.X-Foo", Request("header", "X-Foo", None)),
        ("$request.query.q", Request("query", "q", None)),
        ("$request.path.id", Request("path", "id", None)),
        ("$request.body", Request("body", None, None)),
        ("$request.body#/a/0/b", Request("body", None, "/a/0/b")),
        ("$response.header.X-Session-Id", Response("header", "X-Session-Id", None)),
        ("$response.body#", Response("body", None, "")),
        ("$response.body#/a~1b/c~0d", Response("body", None, "/a~1b/c~0d")),
        ("$inputs.accessToken", Inputs("accessToken", None)),
        ("$inputs.order#/items/0", Inputs("order", "/items/0")),
        ("$outputs.x", Outputs("x", None)),
        ("$steps.s1.outputs.id", StepOutput("s1", "id", None)),
        ("$steps.s1.outputs.obj#/k", StepOutput("s1", "obj", "/k")),
        ("$steps.s1.outputs.a.b", StepOutput("s1", "a.b", None)),
        ("$workflows.w1.outputs.x", WorkflowRef("w1", "outputs", "x", None)),
        ("$workflows.w1.inputs.y", WorkflowRef("w1", "inputs", "y", None)),
        ("$sourceDescriptions.api.url", SourceRef("api", "url")),
        ("$sourceDescriptions.api.createSession", SourceRef("api", "createSession")),
        ("$components.parameters.page.size", Component("parameters", "page.size")),
        ("$components.failureActions.retry", Component("failureActions", "retry")),
    ],
)
def test_every_expression_form_parses(text: str, expected: object) -> None:
    """Each 1.0.1 expression form parses into its node (delimited, whole-value mode)."""
    assert parse_expression(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "$",
        "$foo",
        "$request.cookie.x",
        "$response.query.x",
        "$steps.a",
        "$steps.a.inputs.x",
        "$workflows.w.steps.x",
        "$components.schemas.x",
        "$response.body#a",
        "$response.body#/~2",
        "$inputs.",
        "$statusCode.x",
    ],
)
def test_malformed_expressions(text: str) -> None:
    """Malformed expressions raise ExpressionError (never evaluated as something else)."""
    with pytest.raises(ExpressionError):
        parse_expression(text)


def test_whole_value_string_is_an_expression() -> None:
    """A string that is entirely one expression is that expression (type preserved)."""
    assert parse_template("$inputs.backend") == Inputs("backend", None)


def test_bare_expression_after_whitespace() -> None:
    """The seed's form: 'Bearer $inputs.accessToken' is text then an expression."""
    parsed = parse_template("Bearer $inputs.accessToken")
    assert parsed == Template(("Bearer ", Inputs("accessToken", None)))


def test_bare_expression_ends_at_a_non_name_character() -> None:
    """A bare expression's name ends at the first character outside [A-Za-z0-9_-]."""
    parsed = parse_template("$inputs.a, $inputs.b;x")
    assert parsed == Template((Inputs("a", None), ", ", Inputs("b", None), ";x"))


def test_bare_pointer_runs_to_whitespace() -> None:
    """A bare body pointer runs to the next whitespace."""
    parsed = parse_template("id $response.body#/a/b done")
    assert parsed == Template(("id ", Response("body", None, "/a/b"), " done"))


@pytest.mark.parametrize(
    "text",
    ["costs $5", "$.items[*]", "$[?@.a]", "$foo bar", "a$inputs.x", "100$", "$statusCodes", "$"],
)
def test_literals_that_look_like_expressions(text: str) -> None:
    """EXPR-18: `$` not followed by a source name, or not at a token start, stays literal."""
    assert parse_template(text) == Template((text,))


def test_embedded_expressions() -> None:
    """EXPR-16: several {$…} in one string; names run to the closing brace."""
    parsed = parse_template("{$steps.a.outputs.tok}-{$statusCode}/{$steps.a.outputs.x.y}")
    assert parsed == Template(
        (
            StepOutput("a", "tok", None),
            "-",
            Scalar("statusCode"),
            "/",
            StepOutput("a", "x.y", None),
        )
    )


def test_braces_without_expression_are_literal() -> None:
    """JSON-ish text with braces but no {$source is literal."""
    text = '{"a": {"b": 1}} {$} {$5}'
    assert parse_template(text) == Template((text,))


def test_bad_embedded_expression_is_an_error() -> None:
    """A {$source…} that does not parse, or is unclosed, is an error."""
    with pytest.raises(ExpressionError):
        parse_template("x {$steps.a} y")
    with pytest.raises(ExpressionError, match="unclosed"):
        parse_template("x {$inputs.a")


def test_bare_expression_followed_by_dot_or_bracket() -> None:
    """A bare expression followed by '.' or '[' is ambiguous: an error suggesting {$…}."""
    with pytest.raises(ExpressionError, match="write it as"):
        parse_template("Bearer $inputs.token.")
    with pytest.raises(ExpressionError, match="write it as"):
        parse_template("$response.body[0]")


def test_json_pointer_resolution() -> None:
    """EXPR-09: ~0/~1 escapes, array indexes, the empty pointer, missing paths."""
    document = {"a/b": {"m~n": [10, {"k": None}]}, "": 5}
    assert resolve_pointer(document, "") is document
    assert resolve_pointer(document, "/a~1b/m~0n/0") == 10
    assert resolve_pointer(document, "/a~1b/m~0n/1/k") is None
    assert resolve_pointer(document, "/") == 5
    for missing in ("/zz", "/a~1b/m~0n/2", "/a~1b/m~0n/01", "/a~1b/m~0n/0/x"):
        with pytest.raises(Unresolved):
            resolve_pointer(document, missing)


def test_stringify_rules() -> None:
    """EXPR-16: strings as-is, numbers/booleans/null in JSON spelling, objects as JSON."""
    assert stringify("x") == "x"
    assert stringify(5) == "5"
    assert stringify(True) == "true"
    assert stringify(None) == "null"
    assert stringify({"a": [1, "b"]}) == '{"a":[1,"b"]}'
