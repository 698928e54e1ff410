"""Criterion evaluation: simple conditions (own grammar), regex, RFC 9535 JSONPath.

Simple-condition grammar (loosest first):

```text
condition  := or
or         := and ( "||" and )*
and        := unary ( "&&" unary )*
unary      := "!" unary | primary
primary    := "(" or ")" | operand [ cmp operand ]
cmp        := "==" | "!=" | "<" | "<=" | ">" | ">="
operand    := literal | expression navigation*
navigation := "." name | "[" digits "]"
literal    := "true" | "false" | "null" | JSON number | 'single ''quoted'' string'
```

A comparison cannot be chained (``a < b < c`` is a syntax error). Anything else — double
quotes, identifiers, function calls — is a syntax error: nothing is ever executed.

Evaluation (the Arazzo 1.1 rules, adopted for 1.0.x): the condition passes only if it is
``true``. Strings compare case-insensitively (``casefold``); a numeric string compared with a
number is converted first; ``null`` equals only ``null`` and every ordering comparison with
``null`` is false; an unresolvable operand is ``null`` (so ``$x != null`` tests presence); a
bare operand is true only when it is the boolean ``true``. Syntax and evaluation errors make
the criterion fail with a diagnostic; they never raise.
"""

from __future__ import annotations

import functools
import importlib
import logging
import re
from typing import Any

import attrs

from ._errors import ExpressionError, MissingExtraError
from ._expressions import (
    MISSING,
    Context,
    Expr,
    Unresolved,
    evaluate,
    navigate,
    parse_condition_operand,
    parse_expression,
    parse_template,
    render,
    stringify,
)
from ._model import Criterion

__all__ = [
    "CriterionOutcome",
    "ParsedCondition",
    "evaluate_criterion",
    "jsonpath_module",
    "parse_condition",
]

log = logging.getLogger("qruntime_session.workflows")

_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_NAV_NAME = re.compile(r"[A-Za-z0-9_\-]+")
_KEYWORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_COMPARISONS = ("==", "!=", "<=", ">=", "<", ">")


# -- syntax tree -----------------------------------------------------------------------------


@attrs.frozen
class Literal:
    value: Any


@attrs.frozen
class Operand:
    expr: Expr
    path: tuple[str | int, ...]
    text: str


@attrs.frozen
class Compare:
    op: str
    left: Literal | Operand
    right: Literal | Operand


@attrs.frozen
class Truth:
    operand: Literal | Operand


@attrs.frozen
class Not:
    node: Node


@attrs.frozen
class And:
    nodes: tuple[Node, ...]


@attrs.frozen
class Or:
    nodes: tuple[Node, ...]


Node = Compare | Truth | Not | And | Or


@attrs.frozen
class ParsedCondition:
    """A parsed simple condition; ``braced`` when it was written ``{…}`` (accepted, noted)."""

    root: Node
    braced: bool = False

    def operands(self) -> list[Operand]:
        found: list[Operand] = []
        stack: list[Node] = [self.root]
        while stack:
            node = stack.pop()
            if isinstance(node, Compare):
                found.extend(o for o in (node.left, node.right) if isinstance(o, Operand))
            elif isinstance(node, Truth):
                if isinstance(node.operand, Operand):
                    found.append(node.operand)
            elif isinstance(node, Not):
                stack.append(node.node)
            else:
                stack.extend(node.nodes)
        return found


# -- lexer and parser ------------------------------------------------------------------------


@attrs.frozen
class _Token:
    kind: str  # "op", "lit", "operand", "end"
    value: Any
    pos: int


def _syntax(text: str, pos: int, message: str) -> ExpressionError:
    return ExpressionError(
        f"syntax error at offset {pos} in condition {text!r}: {message}",
        expression=text,
        position=pos,
    )


def _lex(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    size = len(text)
    while pos < size:
        char = text[pos]
        if char.isspace():
            pos += 1
            continue
        two = text[pos : pos + 2]
        if two in ("&&", "||", "==", "!=", "<=", ">="):
            tokens.append(_Token("op", two, pos))
            pos += 2
            continue
        if char in "()<>!":
            tokens.append(_Token("op", char, pos))
            pos += 1
            continue
        if char == "'":
            pos, value = _lex_string(text, pos)
            tokens.append(_Token("lit", value, pos))
            continue
        if char == "$":
            start = pos
            try:
                expr, pos = parse_condition_operand(text, pos)
            except ExpressionError as exc:
                raise _syntax(text, exc.position, str(exc)) from exc
            path: list[str | int] = []
            while pos < size and text[pos] in ".[":
                if text[pos] == ".":
                    match = _NAV_NAME.match(text, pos + 1)
                    if match is None:
                        raise _syntax(text, pos, "expected a member name after '.'")
                    path.append(match.group())
                    pos = match.end()
                else:
                    close = text.find("]", pos)
                    index = text[pos + 1 : close] if close > 0 else ""
                    if not re.fullmatch(r"0|[1-9][0-9]*", index):
                        raise _syntax(
                            text, pos, "expected '[' index ']' with a non-negative integer"
                        )
                    path.append(int(index))
                    pos = close + 1
            tokens.append(_Token("operand", Operand(expr, tuple(path), text[start:pos]), start))
            continue
        match = _NUMBER.match(text, pos)
        if match is not None and (char.isdigit() or char == "-"):
            end = match.end()
            if end < size and (text[end].isalnum() or text[end] in "_.$"):
                raise _syntax(text, pos, "malformed number")
            literal = match.group()
            number: int | float = (
                int(literal) if re.fullmatch(r"-?[0-9]+", literal) else float(literal)
            )
            tokens.append(_Token("lit", number, pos))
            pos = end
            continue
        match = _KEYWORD.match(text, pos)
        if match is not None and match.group() in ("true", "false", "null"):
            word = match.group()
            tokens.append(_Token("lit", {"true": True, "false": False, "null": None}[word], pos))
            pos = match.end()
            continue
        if char == '"':
            raise _syntax(text, pos, "strings are written in single quotes ('…')")
        if match is not None:
            raise _syntax(text, pos, f"unexpected word {match.group()!r}")
        raise _syntax(text, pos, f"unexpected character {char!r}")
    tokens.append(_Token("end", None, size))
    return tokens


def _lex_string(text: str, pos: int) -> tuple[int, str]:
    chars: list[str] = []
    index = pos + 1
    while index < len(text):
        if text[index] == "'":
            if text[index + 1 : index + 2] == "'":
                chars.append("'")
                index += 2
                continue
            return index + 1, "".join(chars)
        chars.append(text[index])
        index += 1
    raise _syntax(text, pos, "unterminated string")


class _ConditionParser:
    def __init__(self, text: str, tokens: list[_Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.index = 0

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def parse(self) -> Node:
        node = self.parse_or()
        token = self.peek()
        if token.kind != "end":
            if token.kind == "op" and token.value in _COMPARISONS:
                raise _syntax(self.text, token.pos, "comparisons cannot be chained; use &&")
            raise _syntax(self.text, token.pos, f"unexpected {self._describe(token)}")
        return node

    def parse_or(self) -> Node:
        nodes = [self.parse_and()]
        while self.peek().kind == "op" and self.peek().value == "||":
            self.take()
            nodes.append(self.parse_and())
        return nodes[0] if len(nodes) == 1 else Or(tuple(nodes))

    def parse_and(self) -> Node:
        nodes = [self.parse_unary()]
        while self.peek().kind == "op" and self.peek().value == "&&":
            self.take()
            nodes.append(self.parse_unary())
        return nodes[0] if len(nodes) == 1 else And(tuple(nodes))

    def parse_unary(self) -> Node:
        token = self.peek()
        if token.kind == "op" and token.value == "!":
            self.take()
            return Not(self.parse_unary())
        return self.parse_primary()

    def parse_primary(self) -> Node:
        token = self.take()
        if token.kind == "op" and token.value == "(":
            node = self.parse_or()
            closing = self.take()
            if not (closing.kind == "op" and closing.value == ")"):
                raise _syntax(self.text, closing.pos, "expected ')'")
            return node
        left = self._operand(token)
        following = self.peek()
        if following.kind == "op" and following.value in _COMPARISONS:
            self.take()
            right = self._operand(self.take())
            return Compare(following.value, left, right)
        return Truth(left)

    def _operand(self, token: _Token) -> Literal | Operand:
        if token.kind == "lit":
            return Literal(token.value)
        if token.kind == "operand":
            operand: Operand = token.value
            return operand
        raise _syntax(self.text, token.pos, f"expected a value, found {self._describe(token)}")

    @staticmethod
    def _describe(token: _Token) -> str:
        if token.kind == "end":
            return "the end of the condition"
        if token.kind == "op":
            return f"{token.value!r}"
        return "a value"


@functools.lru_cache(maxsize=512)
def parse_condition(text: str) -> ParsedCondition:
    """Parse a simple condition; raises ``ExpressionError`` on a syntax error.

    A condition wrapped whole in braces (``{$statusCode == 401}``, as in the spec's JSON
    example) is accepted and marked ``braced``.
    """
    stripped = text.strip()
    braced = False
    if (
        stripped.startswith("{")
        and stripped.endswith("}")
        and stripped[1:].lstrip().startswith("$")
    ):
        stripped = stripped[1:-1]
        braced = True
    if not stripped.strip():
        raise _syntax(text, 0, "empty condition")
    return ParsedCondition(_ConditionParser(stripped, _lex(stripped)).parse(), braced)


# -- evaluation of simple conditions ---------------------------------------------------------


def _as_number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        return float(value) if re.search(r"[.eE]", value) else int(value)
    return None


def _json_equal(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, str) and isinstance(right, str):
        return left.casefold() == right.casefold()
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_json_equal(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(_json_equal, left, right))
    return left is None and right is None


def compare(op: str, left: Any, right: Any) -> bool:
    """One comparison under the rules in the module docstring."""
    if left is MISSING:
        left = None
    if right is MISSING:
        right = None
    if left is None or right is None:
        if op == "==":
            return left is None and right is None
        if op == "!=":
            return not (left is None and right is None)
        return False
    if op in ("==", "!="):
        equal = _equal(left, right)
        return equal if op == "==" else not equal
    ordered = _order(left, right)
    if ordered is None:
        return False
    a, b = ordered
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    return bool(a >= b)


def _equal(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return _json_equal(left, right)
    left_number, right_number = _as_number(left), _as_number(right)
    mixed = isinstance(left, str) != isinstance(right, str)
    if mixed and left_number is not None and right_number is not None:
        return left_number == right_number
    return _json_equal(left, right)


def _order(left: Any, right: Any) -> tuple[Any, Any] | None:
    if isinstance(left, bool) or isinstance(right, bool):
        return None
    if isinstance(left, str) and isinstance(right, str):
        return left.casefold(), right.casefold()
    left_number, right_number = _as_number(left), _as_number(right)
    if left_number is not None and right_number is not None:
        return left_number, right_number
    return None


class _SimpleEvaluator:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.notes: list[str] = []

    def value(self, operand: Literal | Operand) -> Any:
        if isinstance(operand, Literal):
            return operand.value
        try:
            return navigate(
                evaluate(operand.expr, self.context), operand.path, expression=operand.text
            )
        except Unresolved as exc:
            self.notes.append(f"{operand.text} is unresolved ({exc.reason}); treated as null")
            return None

    def run(self, node: Node) -> bool:
        if isinstance(node, Compare):
            return compare(node.op, self.value(node.left), self.value(node.right))
        if isinstance(node, Truth):
            return self.value(node.operand) is True
        if isinstance(node, Not):
            return not self.run(node.node)
        if isinstance(node, And):
            return all(self.run(n) for n in node.nodes)
        return any(self.run(n) for n in node.nodes)


# -- criterion outcomes ----------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class CriterionOutcome:
    """The result of one criterion: ``passed``, a ``diagnostic`` and the JSONPath ``mode``.

    One per criterion evaluated, in the ``criteria`` of an
    [`AttemptTrace`][qruntime_session.workflows.AttemptTrace]. A criterion
    that cannot be evaluated (a syntax error, an unresolvable value) fails with a diagnostic;
    it never raises.
    """

    condition: str
    """The criterion's ``condition`` as written in the document."""
    type: str
    """``"simple"``, ``"regex"`` or ``"jsonpath"``."""
    passed: bool
    """Whether the criterion is met."""
    diagnostic: str | None = None
    """Why it failed (or how a JSONPath matched), or ``None``."""
    mode: str | None = None
    """For ``jsonpath`` criteria, how the query was applied: ``"strict"`` (RFC 9535) or
    ``"root-wrap-fallback"`` (the root-filter compatibility rule); else ``None``.
    """

    def as_json(self) -> dict[str, Any]:
        """This outcome as JSON-compatible data (keys as in the JSON trace).

        Returns:
            ``condition``, ``type``, ``passed``, ``diagnostic`` and ``mode``.
        """
        return {
            "condition": self.condition,
            "type": self.type,
            "passed": self.passed,
            "diagnostic": self.diagnostic,
            "mode": self.mode,
        }


@functools.lru_cache(maxsize=256)
def _compile_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def jsonpath_module() -> Any:
    """The ``jsonpath`` module of python-jsonpath, imported on first use."""
    try:
        return importlib.import_module("jsonpath")
    except ImportError as exc:
        raise MissingExtraError("python-jsonpath", "a jsonpath criterion") from exc


@functools.lru_cache(maxsize=1)
def _jsonpath_env() -> Any:
    return jsonpath_module().JSONPathEnvironment(strict=True)


def evaluate_criterion(
    criterion: Criterion,
    context: Context,
    *,
    jsonpath_root_fallback: bool = True,
) -> CriterionOutcome:
    """Evaluate one criterion; never raises (except for a missing optional library)."""
    kind = criterion.type
    if kind == "simple":
        return _evaluate_simple(criterion, context)
    if kind == "xpath":
        return CriterionOutcome(
            condition=criterion.condition,
            type=kind,
            passed=False,
            diagnostic="xpath criteria are not supported by this executor",
        )
    context_value: Any
    if criterion.context is None:
        return CriterionOutcome(
            condition=criterion.condition, type=kind, passed=False, diagnostic="no context"
        )
    try:
        context_value = evaluate(parse_expression(criterion.context), context)
    except ExpressionError as exc:
        return CriterionOutcome(
            condition=criterion.condition, type=kind, passed=False, diagnostic=f"context: {exc}"
        )
    except Unresolved as exc:
        return CriterionOutcome(
            condition=criterion.condition,
            type=kind,
            passed=False,
            diagnostic=f"context {criterion.context} is unresolved ({exc.reason})",
        )
    if kind == "regex":
        return _evaluate_regex(criterion, context_value)
    return _evaluate_jsonpath(criterion, context_value, context, jsonpath_root_fallback)


def _evaluate_simple(criterion: Criterion, context: Context) -> CriterionOutcome:
    try:
        parsed = parse_condition(criterion.condition)
    except ExpressionError as exc:
        return CriterionOutcome(
            condition=criterion.condition, type="simple", passed=False, diagnostic=str(exc)
        )
    evaluator = _SimpleEvaluator(context)
    passed = evaluator.run(parsed.root)
    notes = list(evaluator.notes)
    if parsed.braced:
        notes.insert(0, "condition written in braces {…}; evaluated without them")
    return CriterionOutcome(
        condition=criterion.condition,
        type="simple",
        passed=passed,
        diagnostic="; ".join(notes) or None,
    )


def _evaluate_regex(criterion: Criterion, value: Any) -> CriterionOutcome:
    def fail(message: str) -> CriterionOutcome:
        return CriterionOutcome(
            condition=criterion.condition, type="regex", passed=False, diagnostic=message
        )

    if value is None or value is MISSING:
        return fail("the context is null")
    try:
        pattern = _compile_regex(criterion.condition)
    except re.error as exc:
        return fail(f"invalid regular expression: {exc}")
    passed = pattern.search(stringify(value)) is not None
    return CriterionOutcome(condition=criterion.condition, type="regex", passed=passed)


def _evaluate_jsonpath(
    criterion: Criterion, value: Any, context: Context, root_fallback: bool
) -> CriterionOutcome:
    def outcome(
        passed: bool, diagnostic: str | None = None, mode: str | None = None
    ) -> CriterionOutcome:
        return CriterionOutcome(
            condition=criterion.condition,
            type="jsonpath",
            passed=passed,
            diagnostic=diagnostic,
            mode=mode,
        )

    if not isinstance(value, dict | list):
        return outcome(False, "jsonpath needs a JSON object or array as its context")
    try:
        query = render(parse_template(criterion.condition, bare=False), context)
    except ExpressionError as exc:
        return outcome(False, f"embedded expression: {exc}")
    except Unresolved as exc:
        return outcome(False, f"embedded expression {exc.expression} is unresolved ({exc.reason})")
    module = jsonpath_module()
    env = _jsonpath_env()
    try:
        compiled = env.compile(query)
        matches = compiled.findall(value)
        if matches:
            return outcome(True, mode="strict")
        if root_fallback and query.replace(" ", "").startswith("$[?"):
            if compiled.findall([value]):
                return outcome(
                    True,
                    "matched only with the root-filter compatibility fallback (context wrapped "
                    "in [ ])",
                    mode="root-wrap-fallback",
                )
            return outcome(False, mode="root-wrap-fallback")
    except module.JSONPathError as exc:
        return outcome(False, f"invalid JSONPath query: {exc}".splitlines()[0])
    return outcome(False, mode="strict")
