"""Criteria: simple conditions (CRIT-01..12), regex (CRIT-20/21), JSONPath (CRIT-22..26)."""

from __future__ import annotations

from typing import Any

import pytest

from qruntime_session.workflows._criteria import evaluate_criterion
from qruntime_session.workflows._expressions import Expr, Unresolved
from qruntime_session.workflows._model import Criterion


class Context:
    """A minimal expression context: a status code, a response body, inputs."""

    def __init__(self, status: int | None = 200, body: Any = None, **inputs: Any) -> None:
        self.status = status
        self.body = body
        self.inputs = inputs

    def scalar(self, name: str, expr: Expr) -> Any:
        if name == "statusCode" and self.status is not None:
            return self.status
        if name == "method":
            return "POST"
        raise Unresolved(expr.text, "absent")

    def request(self, source: str, name: str | None, expr: Expr) -> Any:
        raise Unresolved(expr.text, "absent")

    def response(self, source: str, name: str | None, expr: Expr) -> Any:
        if source == "body":
            return self.body
        raise Unresolved(expr.text, "absent")

    def input(self, name: str, expr: Expr) -> Any:
        if name in self.inputs:
            return self.inputs[name]
        raise Unresolved(expr.text, "absent")

    def output(self, name: str, expr: Expr) -> Any:
        raise Unresolved(expr.text, "absent")

    def step_output(self, step_id: str, name: str, expr: Expr) -> Any:
        raise Unresolved(expr.text, "absent")

    def workflow_value(self, workflow_id: str, field: str, name: str, expr: Expr) -> Any:
        raise Unresolved(expr.text, "absent")

    def source_value(self, source: str, member: str, expr: Expr) -> Any:
        raise Unresolved(expr.text, "absent")

    def component(self, kind: str, key: str, expr: Expr) -> Any:
        raise Unresolved(expr.text, "absent")


def simple(condition: str, context: Context | None = None) -> bool:
    outcome = evaluate_criterion(Criterion(condition=condition, context=None), context or Context())
    return outcome.passed


BODY = {
    "n": "5",
    "count": 3,
    "items": [{"id": 11}, {"id": 2}],
    "ok": True,
    "no": False,
    "name": "O'Brien",
    "mode": "Batch",
    "length": 7,
    "nothing": None,
}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("$statusCode == 201", True),
        ("$statusCode != 201", False),
        ("$statusCode < 202", True),
        ("$statusCode <= 201", True),
        ("$statusCode > 201", False),
        ("$statusCode >= 201", True),
        ("$statusCode < 201", False),
        ("$statusCode>=200&&$statusCode<300", True),
        ("1.5 < 2", True),
        ("-1 < 0", True),
        ("2e2 == 200", True),
    ],
)
def test_comparison_operators_on_numbers(condition: str, expected: bool) -> None:
    """CRIT-01: each operator on numbers."""
    assert simple(condition, Context(201)) is expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("true && false", False),
        ("true || false", True),
        ("!false", True),
        ("!!true", True),
        ("true || true && false", True),
        ("(true || true) && false", False),
        ("false || false && true || true", True),
        ("!(1 == 1 && (2 == 3 || !(4 == 4)))", True),
        ("((((true))))", True),
    ],
)
def test_logic_and_precedence(condition: str, expected: bool) -> None:
    """CRIT-02: && binds tighter than ||; ! and nested parentheses."""
    assert simple(condition) is expected


def test_strings_compare_case_insensitively() -> None:
    """CRIT-03: 'batch' matches "Batch"; ordering is case-insensitive too."""
    context = Context(body=BODY)
    assert simple("$response.body#/mode == 'batch'", context)
    assert simple("$response.body#/mode != 'BATCH'", context) is False
    assert simple("'a' < 'B'")
    assert simple("'straße' == 'STRASSE'")


def test_quote_escape() -> None:
    """CRIT-04: 'O''Brien' matches O'Brien."""
    assert simple("$response.body#/name == 'O''Brien'", Context(body=BODY))


def test_numeric_string_against_number() -> None:
    """CRIT-05: a numeric string compared with a number is converted first."""
    context = Context(200, BODY)
    assert simple("$response.body#/n == 5", context)
    assert simple("$response.body#/n > 4", context)
    assert simple("'200' == $statusCode", context)
    assert simple("'2e2' == $statusCode", context)
    assert simple("'abc' == 5") is False
    assert simple("'abc' != 5")
    assert simple("'abc' < 5") is False
    assert simple("'5' == '5.0'") is False  # two strings compare as strings


def test_null_rules() -> None:
    """CRIT-06: null equals only null, presence tests work, ordering with null is false."""
    context = Context(body=BODY)
    assert simple("null == null")
    assert simple("$response.body#/nothing == null", context)
    assert simple("$response.body#/missing == null", context)
    assert simple("$response.body#/count != null", context)
    assert simple("$response.body#/missing != null", context) is False
    assert simple("$response.body#/missing < 3", context) is False
    assert simple("$response.body#/missing >= 3", context) is False
    assert simple("null < 1") is False
    assert simple("0 == null") is False
    assert simple("false == null") is False
    assert simple("'' == null") is False


def test_booleans_do_not_equal_numbers() -> None:
    """true is not 1 and false is not 0 (no Python or JS coercion)."""
    assert simple("true == 1") is False
    assert simple("false == 0") is False
    assert simple("true == true")
    assert simple("true < 2") is False


def test_navigation_after_an_expression() -> None:
    """CRIT-07: .member and [index] after an expression; .length is an object property."""
    context = Context(body=BODY)
    assert simple("$response.body.items[0].id > 10", context)
    assert simple("$response.body.items[1].id == 2", context)
    assert simple("$response.body.length == 7", context)
    assert simple("$response.body.items.length == 2", context) is False  # no JS length
    assert simple("$response.body.items[5].id == null", context)


def test_bare_operand_truth() -> None:
    """CRIT-08: a bare operand passes only when it is boolean true; ! negates."""
    context = Context(body=BODY)
    assert simple("$response.body#/ok", context)
    assert simple("!$response.body#/ok", context) is False
    assert simple("$response.body#/no", context) is False
    assert simple("!$response.body#/no", context)
    assert simple("$response.body#/count", context) is False  # 3 is not true
    assert simple("$response.body#/missing", context) is False


@pytest.mark.parametrize(
    "condition",
    [
        "1 < 2 < 3",
        "(1 == 1",
        "1 == 1)",
        '"a" == "a"',
        "'unterminated == 'x'",
        "== 1",
        "1 ==",
        "",
        "1 = 1",
        "$statusCode === 200",
        "$statusCode == 200 and true",
        "01 == 1",
    ],
)
def test_syntax_errors_fail_with_a_diagnostic(condition: str) -> None:
    """CRIT-09: syntax errors fail the criterion with a diagnostic and never raise."""
    outcome = evaluate_criterion(Criterion(condition=condition, context=None), Context())
    assert outcome.passed is False
    assert outcome.diagnostic is not None
    assert "syntax error" in outcome.diagnostic


def test_braced_condition_is_accepted_with_a_note() -> None:
    """CRIT-10: {$statusCode == 401} (the spec's JSON example) is accepted, with a note."""
    outcome = evaluate_criterion(
        Criterion(condition="{$statusCode == 401}", context=None), Context(401)
    )
    assert outcome.passed
    assert outcome.diagnostic is not None
    assert "braces" in outcome.diagnostic


@pytest.mark.parametrize(
    "condition",
    [
        "__import__('os').system('true')",
        "exec('1')",
        "$statusCode == 200; import os",
        "constructor.constructor('return 1')()",
        "1 if True else 0",
        "[x for x in ()]",
        "$inputs.a + 1",
    ],
)
def test_injection_attempts_are_syntax_errors(condition: str) -> None:
    """CRIT-12: Python or JS fragments are syntax errors, never executed."""
    outcome = evaluate_criterion(Criterion(condition=condition, context=None), Context())
    assert outcome.passed is False
    assert outcome.diagnostic is not None
    assert "syntax error" in outcome.diagnostic


def test_navigation_is_member_lookup_not_attribute_access() -> None:
    """CRIT-12: `.name` after an expression looks up a JSON member, never a Python attribute."""
    context = Context(201, {"a": {}})
    assert simple("$statusCode.__class__ == null", context)
    assert simple("$response.body.a.__class__ == null", context)
    assert simple("$response.body.keys == null", context)


def test_unresolved_operand_is_noted() -> None:
    """An unresolvable operand is null and the diagnostic says so."""
    outcome = evaluate_criterion(Criterion(condition="$inputs.x == null", context=None), Context())
    assert outcome.passed
    assert outcome.diagnostic is not None
    assert "$inputs.x is unresolved" in outcome.diagnostic


def regex(pattern: str, context_expr: str, context: Context) -> tuple[bool, str | None]:
    outcome = evaluate_criterion(
        Criterion(condition=pattern, context=context_expr, type="regex"), context
    )
    return outcome.passed, outcome.diagnostic


def test_regex_on_status_code() -> None:
    """CRIT-20: ^2\\d\\d$ passes for 201 (the integer is turned into a string)."""
    assert regex(r"^2\d\d$", "$statusCode", Context(201)) == (True, None)
    assert regex(r"^2\d\d$", "$statusCode", Context(404))[0] is False


def test_regex_search_semantics_and_failures() -> None:
    """CRIT-21: search semantics; null context fails; invalid regex fails with a diagnostic."""
    context = Context(body={"msg": "the job is Queued now", "none": None, "obj": {"a": 1}})
    assert regex("Queued", "$response.body#/msg", context)[0]
    assert regex("^Queued", "$response.body#/msg", context)[0] is False
    assert regex('"a":1', "$response.body#/obj", context)[0]
    assert regex(".*", "$response.body#/none", context) == (False, "the context is null")
    passed, diagnostic = regex(".*", "$response.body#/missing", context)
    assert passed is False
    assert diagnostic is not None
    assert "unresolved" in diagnostic
    passed, diagnostic = regex("([a-", "$response.body#/msg", context)
    assert passed is False
    assert diagnostic is not None
    assert diagnostic.startswith("invalid regular expression")


def jsonpath(
    query: str, body: Any, *, fallback: bool = True, **inputs: Any
) -> tuple[bool, str | None, str | None]:
    outcome = evaluate_criterion(
        Criterion(condition=query, context="$response.body", type="jsonpath"),
        Context(body=body, **inputs),
        jsonpath_root_fallback=fallback,
    )
    return outcome.passed, outcome.mode, outcome.diagnostic


def test_jsonpath_wildcard() -> None:
    """CRIT-22: $.pets[*] passes on a non-empty list and fails on an empty one."""
    assert jsonpath("$.pets[*]", {"pets": [1]})[:2] == (True, "strict")
    assert jsonpath("$.pets[*]", {"pets": []})[:2] == (False, "strict")


def test_jsonpath_root_filter_fallback() -> None:
    """CRIT-23: strict RFC 9535 misses the spec example; the fallback matches and says so."""
    body = {"pets": [{"name": "a"}]}
    passed, mode, diagnostic = jsonpath("$[?count(@.pets) > 0]", body)
    assert (passed, mode) == (True, "root-wrap-fallback")
    assert diagnostic is not None
    assert "fallback" in diagnostic
    assert jsonpath("$[?count(@.pets) > 0]", body, fallback=False)[:2] == (False, "strict")


def test_jsonpath_count_counts_nodes() -> None:
    """CRIT-24: count(@.pets) counts nodes (an empty list still counts); length() tests size."""
    assert jsonpath("$[?count(@.pets) > 0]", {"pets": []})[0] is True
    assert jsonpath("$[?length(@.pets) > 0]", {"pets": []})[0] is False
    assert jsonpath("$[?length(@.pets) > 0]", {"pets": [1]})[0] is True


def test_jsonpath_embedded_expression() -> None:
    """CRIT-25: {$inputs.status} inside the query is substituted before it runs."""
    body = {"pets": [{"status": "sold"}, {"status": "free"}]}
    query = "$.pets[?@.status == '{$inputs.wanted}']"
    assert jsonpath(query, body, wanted="free")[0] is True
    assert jsonpath(query, body, wanted="lost")[0] is False


def test_jsonpath_invalid_and_text_context() -> None:
    """CRIT-26: an invalid query fails with a diagnostic; a text body fails."""
    passed, _, diagnostic = jsonpath("$[?(", {"a": 1})
    assert passed is False
    assert diagnostic is not None
    assert diagnostic.startswith("invalid JSONPath query")
    passed, _, diagnostic = jsonpath("$.a", "just text")
    assert passed is False
    assert diagnostic == "jsonpath needs a JSON object or array as its context"
