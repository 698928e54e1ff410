"""Arazzo runtime expressions: a hand-written parser and evaluator (no ``eval``, no ``exec``).

Three ways an expression appears in a document (see docs/workflows.md, "Runtime expressions"):

* **whole value**: the entire string is one expression (``$inputs.backend``). The value keeps
  its JSON type. Names are *delimited* here: they run to the end of the string or to ``#``,
  so an output key with dots (``a.b``, allowed by the key pattern) can be referred to.
* **embedded** ``{$…}`` inside a longer string: the value is inserted as text (strings as
  they are, other scalars in JSON spelling, objects and arrays as JSON text). Names run to
  the closing brace.
* **bare inside a string** (the seed's ``"Bearer $inputs.accessToken"``): a ``$`` at the
  start of the string or right after whitespace, followed by a *source name* (``url``,
  ``method``, ``statusCode``, ``request``, ``response``, ``inputs``, ``outputs``, ``steps``,
  ``workflows``, ``sourceDescriptions``, ``components``) that ends the identifier. Names
  are *undelimited*: ``[A-Za-z0-9_-]`` only (a header name also allows the other RFC 9110
  token characters except ``.``), a ``#`` pointer runs to the next whitespace. Anything
  else stays literal: ``costs $5``, ``$.items[*]``, ``$foo``, ``a$inputs.x``.
  A bare expression followed directly by ``.`` or ``[`` is an error (write ``{$…}``).

Evaluation raises ``Unresolved`` for a reference that does not resolve; callers decide
what that means (a criterion operand becomes null, a parameter is a step error).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Literal, Protocol

import attrs

from ._errors import ExpressionError

__all__ = [
    "MISSING",
    "Component",
    "Expr",
    "Inputs",
    "Outputs",
    "Request",
    "Response",
    "Scalar",
    "SourceRef",
    "StepOutput",
    "Template",
    "Unresolved",
    "WorkflowRef",
    "evaluate",
    "expressions_in",
    "parse_expression",
    "parse_template",
    "render",
    "resolve_pointer",
    "resolve_value",
    "stringify",
]


class _Missing:
    """The value of something that does not exist (distinct from JSON ``null``)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


class Unresolved(Exception):
    """An expression refers to something that does not exist (at this point of the run)."""

    def __init__(self, expression: str, reason: str) -> None:
        self.expression = expression
        self.reason = reason
        super().__init__(f"{expression}: {reason}")


# -- the expression tree ---------------------------------------------------------------------


@attrs.frozen
class Scalar:
    """``$url``, ``$method`` or ``$statusCode``."""

    name: Literal["url", "method", "statusCode"]
    text: str = attrs.field(eq=False, default="")


@attrs.frozen
class Request:
    """``$request.header.X`` / ``query.X`` / ``path.X`` / ``body[#ptr]``."""

    source: Literal["header", "query", "path", "body"]
    name: str | None
    pointer: str | None
    text: str = attrs.field(eq=False, default="")


@attrs.frozen
class Response:
    """``$response.header.X`` / ``body[#ptr]``."""

    source: Literal["header", "body"]
    name: str | None
    pointer: str | None
    text: str = attrs.field(eq=False, default="")


@attrs.frozen
class Inputs:
    name: str
    pointer: str | None
    text: str = attrs.field(eq=False, default="")


@attrs.frozen
class Outputs:
    name: str
    pointer: str | None
    text: str = attrs.field(eq=False, default="")


@attrs.frozen
class StepOutput:
    """``$steps.<id>.outputs.<name>[#ptr]``."""

    step_id: str
    name: str
    pointer: str | None
    text: str = attrs.field(eq=False, default="")


@attrs.frozen
class WorkflowRef:
    """``$workflows.<id>.outputs|inputs.<name>[#ptr]``."""

    workflow_id: str
    field: Literal["outputs", "inputs"]
    name: str
    pointer: str | None
    text: str = attrs.field(eq=False, default="")


@attrs.frozen
class SourceRef:
    """``$sourceDescriptions.<name>.<field-or-operationId-or-workflowId>``."""

    source: str
    member: str
    text: str = attrs.field(eq=False, default="")


@attrs.frozen
class Component:
    """``$components.<kind>.<key>``."""

    kind: str
    key: str
    text: str = attrs.field(eq=False, default="")


Expr = (
    Scalar
    | Request
    | Response
    | Inputs
    | Outputs
    | StepOutput
    | WorkflowRef
    | SourceRef
    | Component
)


@attrs.frozen
class Template:
    """A string with embedded expressions: literal text and expressions, in order."""

    parts: tuple[str | Expr, ...]

    @property
    def is_literal(self) -> bool:
        return all(isinstance(p, str) for p in self.parts)


# -- parsing ---------------------------------------------------------------------------------

SOURCE_NAMES = (
    "url",
    "method",
    "statusCode",
    "request",
    "response",
    "inputs",
    "outputs",
    "steps",
    "workflows",
    "sourceDescriptions",
    "components",
)
_FIXED = {"url", "method", "statusCode"}
_COMPONENT_KINDS = ("inputs", "parameters", "successActions", "failureActions")
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_TCHAR = _NAME_CHARS | frozenset("!#$%&'*+.^`|~")
_UNDELIMITED_HEADER = _TCHAR - frozenset(".#")
_IDENT = re.compile(r"[A-Za-z]+")

Mode = Literal["delimited", "bare", "condition"]


class _Parser:
    """Parses one expression starting at ``pos`` of ``text``.

    In ``delimited`` mode the expression must extend to ``end``; in ``bare`` and
    ``condition`` mode it ends where the name characters end.
    """

    def __init__(self, text: str, pos: int, end: int, mode: Mode) -> None:
        self.text = text
        self.pos = pos
        self.end = end
        self.mode = mode
        self.start = pos

    def fail(self, message: str) -> ExpressionError:
        return ExpressionError(
            f"{message} at offset {self.pos} in {self.text[self.start : self.end]!r}",
            expression=self.text,
            position=self.pos,
        )

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < self.end else ""

    def expect(self, literal: str) -> None:
        if not self.text.startswith(literal, self.pos) or self.pos + len(literal) > self.end:
            raise self.fail(f"expected {literal!r}")
        self.pos += len(literal)

    def word(self, chars: frozenset[str] = _NAME_CHARS) -> str:
        begin = self.pos
        while self.pos < self.end and self.text[self.pos] in chars:
            self.pos += 1
        if self.pos == begin:
            raise self.fail("expected a name")
        return self.text[begin : self.pos]

    def name(self, *, last: bool, chars: frozenset[str] = _NAME_CHARS) -> str:
        """A name; in delimited mode the last name runs to ``#`` or the end."""
        if self.mode == "delimited" and last:
            stop = self.pos
            while (
                stop < self.end and self.text[stop] not in "#{}" and not self.text[stop].isspace()
            ):
                stop += 1
            value = self.text[self.pos : stop]
            if not value:
                raise self.fail("expected a name")
            self.pos = stop
            return value
        return self.word(chars)

    def pointer(self) -> str | None:
        if self.peek() != "#":
            return None
        self.pos += 1
        begin = self.pos
        if self.mode == "delimited":
            self.pos = self.end
        else:
            while self.pos < self.end and not self._pointer_stop(self.text[self.pos]):
                self.pos += 1
        pointer = self.text[begin : self.pos]
        if pointer and not pointer.startswith("/"):
            raise self.fail("a JSON pointer must be empty or start with '/'")
        _check_pointer_escapes(pointer, self)
        return pointer

    def _pointer_stop(self, char: str) -> bool:
        if char.isspace():
            return True
        return self.mode == "condition" and char in "()=!<>&|"

    def parse(self) -> Expr:
        self.expect("$")
        match = _IDENT.match(self.text, self.pos, self.end)
        if match is None:
            raise self.fail("expected an expression source after '$'")
        source = match.group()
        if source not in SOURCE_NAMES:
            raise self.fail(f"unknown expression source '${source}'")
        self.pos = match.end()
        expr = self._parse_source(source)
        if self.mode == "delimited" and self.pos != self.end:
            raise self.fail("unexpected text after the expression")
        return expr

    def _parse_source(self, source: str) -> Expr:
        if source in _FIXED:
            return Scalar(source, self.text[self.start : self.pos])  # type: ignore[arg-type]
        self.expect(".")
        if source == "request" or source == "response":
            return self._parse_message(source)
        if source in ("inputs", "outputs"):
            name = self.name(last=True)
            pointer = self.pointer()
            text = self.text[self.start : self.pos]
            return (
                Inputs(name, pointer, text) if source == "inputs" else Outputs(name, pointer, text)
            )
        if source == "steps":
            step_id = self.word()
            self.expect(".outputs.")
            name = self.name(last=True)
            pointer = self.pointer()
            return StepOutput(step_id, name, pointer, self.text[self.start : self.pos])
        if source == "workflows":
            workflow_id = self.word()
            self.expect(".")
            field = self.word()
            if field not in ("outputs", "inputs"):
                raise self.fail("expected 'outputs' or 'inputs' after the workflow id")
            self.expect(".")
            name = self.name(last=True)
            pointer = self.pointer()
            text = self.text[self.start : self.pos]
            if field == "outputs":
                return WorkflowRef(workflow_id, "outputs", name, pointer, text)
            return WorkflowRef(workflow_id, "inputs", name, pointer, text)
        if source == "sourceDescriptions":
            name = self.word()
            self.expect(".")
            member = self.name(last=True)
            if "#" in member:
                raise self.fail("unexpected '#'")
            return SourceRef(name, member, self.text[self.start : self.pos])
        # components
        kind = self.word()
        if kind not in _COMPONENT_KINDS:
            raise self.fail(f"unknown component kind {kind!r}")
        self.expect(".")
        key = self.name(last=True, chars=_NAME_CHARS | frozenset("."))
        return Component(kind, key, self.text[self.start : self.pos])

    def _parse_message(self, which: str) -> Expr:
        kind = self.word()
        allowed = ("header", "query", "path", "body") if which == "request" else ("header", "body")
        if kind not in allowed:
            raise self.fail(f"expected one of {', '.join(allowed)} after '${which}.'")
        name: str | None = None
        pointer: str | None = None
        if kind == "body":
            pointer = self.pointer()
        else:
            self.expect(".")
            if kind == "header":
                chars = _TCHAR - frozenset("#") if self.mode == "delimited" else _UNDELIMITED_HEADER
                name = self.word(chars)
            else:
                name = self.name(last=True)
        text = self.text[self.start : self.pos]
        if which == "request":
            return Request(kind, name, pointer, text)  # type: ignore[arg-type]
        return Response(kind, name, pointer, text)  # type: ignore[arg-type]


def _check_pointer_escapes(pointer: str, parser: _Parser) -> None:
    for index, char in enumerate(pointer):
        if char == "~" and pointer[index + 1 : index + 2] not in ("0", "1"):
            raise parser.fail("'~' in a JSON pointer must be followed by 0 or 1")


def parse_expression(text: str) -> Expr:
    """Parse ``text`` as one whole runtime expression (delimited names)."""
    return _Parser(text, 0, len(text), "delimited").parse()


def parse_condition_operand(text: str, pos: int) -> tuple[Expr, int]:
    """Parse an expression inside a simple condition; returns it and where it ended."""
    parser = _Parser(text, pos, len(text), "condition")
    expr = parser.parse()
    return expr, parser.pos


def looks_like_expression(text: str, pos: int = 0) -> bool:
    """True if ``text[pos:]`` starts with ``$`` and a known source name (an intended expression)."""
    if not text.startswith("$", pos):
        return False
    match = _IDENT.match(text, pos + 1)
    return match is not None and match.group() in SOURCE_NAMES


def is_whole_expression(text: str) -> bool:
    """True if the entire string is one runtime expression."""
    if not looks_like_expression(text):
        return False
    try:
        parse_expression(text)
    except ExpressionError:
        return False
    return True


def parse_template(text: str, *, bare: bool = True) -> Expr | Template:
    """Parse a string value: a whole-value expression, or a template (maybe all literal).

    Raises ``ExpressionError`` when a ``{$source…}`` or bare ``$source…`` that is clearly
    meant as an expression does not follow the grammar. With ``bare=False`` only ``{$…}``
    counts (used for JSONPath queries, which start with ``$`` themselves).

    The results are immutable and remembered per text: a workflow run many times parses each
    of its strings once.
    """
    return _parse_template(text, bare)


@functools.lru_cache(maxsize=4096)
def _parse_template(text: str, bare: bool) -> Expr | Template:
    if bare and looks_like_expression(text):
        try:
            return parse_expression(text)
        except ExpressionError:
            pass  # maybe a bare expression followed by literal text
    parts: list[str | Expr] = []
    literal: list[str] = []
    pos = 0
    size = len(text)
    while pos < size:
        char = text[pos]
        if char == "{" and looks_like_expression(text, pos + 1):
            close = text.find("}", pos + 1)
            if close < 0:
                raise ExpressionError(
                    f"unclosed '{{' of an embedded expression at offset {pos} in {text!r}",
                    expression=text,
                    position=pos,
                )
            expr = _Parser(text, pos + 1, close, "delimited").parse()
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(expr)
            pos = close + 1
            continue
        if (
            bare
            and char == "$"
            and (pos == 0 or text[pos - 1].isspace())
            and looks_like_expression(text, pos)
        ):
            parser = _Parser(text, pos, size, "bare")
            expr = parser.parse()
            following = text[parser.pos : parser.pos + 1]
            if following in (".", "["):
                raise ExpressionError(
                    f"the expression {text[pos : parser.pos]!r} is followed by {following!r}; "
                    "write it as {$…} to say where it ends",
                    expression=text,
                    position=parser.pos,
                )
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(expr)
            pos = parser.pos
            continue
        literal.append(char)
        pos += 1
    if literal:
        parts.append("".join(literal))
    return Template(tuple(parts))


def expressions_in(value: Any) -> Iterator[Expr]:
    """Every expression in a JSON value's strings (for validation)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            parsed = parse_template(item)
            if isinstance(parsed, Template):
                yield from (p for p in parsed.parts if not isinstance(p, str))
            else:
                yield parsed
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


# -- evaluation ------------------------------------------------------------------------------


def unescape_token(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def resolve_pointer(document: Any, pointer: str, *, expression: str = "") -> Any:
    """RFC 6901: ``""`` is the whole document; raises ``Unresolved`` if a part is missing."""
    if pointer == "":
        return document
    if not pointer.startswith("/"):
        raise Unresolved(expression, f"JSON pointer {pointer!r} must start with '/'")
    current = document
    for raw in pointer[1:].split("/"):
        token = unescape_token(raw)
        if isinstance(current, dict):
            if token not in current:
                raise Unresolved(expression, f"no member {token!r} at pointer {pointer!r}")
            current = current[token]
        elif isinstance(current, list):
            if not re.fullmatch(r"0|[1-9][0-9]*", token) or int(token) >= len(current):
                raise Unresolved(expression, f"no array element {token!r} at pointer {pointer!r}")
            current = current[int(token)]
        else:
            raise Unresolved(expression, f"pointer {pointer!r} goes into a non-container value")
    return current


def stringify(value: Any) -> str:
    """How a value is inserted into a string: strings as-is, others in JSON spelling."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class Context(Protocol):
    """What an expression can see. Each method raises ``Unresolved`` when absent."""

    def scalar(self, name: str, expr: Expr) -> Any: ...
    def request(self, source: str, name: str | None, expr: Expr) -> Any: ...
    def response(self, source: str, name: str | None, expr: Expr) -> Any: ...
    def input(self, name: str, expr: Expr) -> Any: ...
    def output(self, name: str, expr: Expr) -> Any: ...
    def step_output(self, step_id: str, name: str, expr: Expr) -> Any: ...
    def workflow_value(self, workflow_id: str, field: str, name: str, expr: Expr) -> Any: ...
    def source_value(self, source: str, member: str, expr: Expr) -> Any: ...
    def component(self, kind: str, key: str, expr: Expr) -> Any: ...


def _pointer_of(expr: Expr) -> str | None:
    return getattr(expr, "pointer", None)


def evaluate(expr: Expr, context: Context) -> Any:
    """The value of one expression (JSON type preserved); raises ``Unresolved``."""
    value: Any
    if isinstance(expr, Scalar):
        value = context.scalar(expr.name, expr)
    elif isinstance(expr, Request):
        value = context.request(expr.source, expr.name, expr)
    elif isinstance(expr, Response):
        value = context.response(expr.source, expr.name, expr)
    elif isinstance(expr, Inputs):
        value = context.input(expr.name, expr)
    elif isinstance(expr, Outputs):
        value = context.output(expr.name, expr)
    elif isinstance(expr, StepOutput):
        value = context.step_output(expr.step_id, expr.name, expr)
    elif isinstance(expr, WorkflowRef):
        value = context.workflow_value(expr.workflow_id, expr.field, expr.name, expr)
    elif isinstance(expr, SourceRef):
        value = context.source_value(expr.source, expr.member, expr)
    else:
        value = context.component(expr.kind, expr.key, expr)
    pointer = _pointer_of(expr)
    if pointer is not None:
        value = resolve_pointer(value, pointer, expression=expr.text)
    return value


Fallback = Callable[[Expr, Unresolved], Any]


def _evaluate_with(expr: Expr, context: Context, fallback: Fallback | None) -> Any:
    if fallback is None:
        return evaluate(expr, context)
    try:
        return evaluate(expr, context)
    except Unresolved as exc:
        return fallback(expr, exc)


def render(parsed: Expr | Template, context: Context, *, fallback: Fallback | None = None) -> Any:
    """Evaluate a parsed string value: a whole expression keeps its type, a template is text.

    ``fallback`` (used by dry runs) supplies a value for an unresolvable expression instead
    of letting ``Unresolved`` propagate.
    """
    if isinstance(parsed, Template):
        pieces = []
        for part in parsed.parts:
            if isinstance(part, str):
                pieces.append(part)
            else:
                pieces.append(stringify(_evaluate_with(part, context, fallback)))
        return "".join(pieces)
    return _evaluate_with(parsed, context, fallback)


def resolve_value(value: Any, context: Context, *, fallback: Fallback | None = None) -> Any:
    """Resolve every string in a JSON value (objects and arrays recursively)."""
    if isinstance(value, str):
        return render(parse_template(value), context, fallback=fallback)
    if isinstance(value, dict):
        return {key: resolve_value(item, context, fallback=fallback) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve_value(item, context, fallback=fallback) for item in value]
    return value


def navigate(value: Any, path: Sequence[str | int], *, expression: str = "") -> Any:
    """``.member`` / ``[index]`` navigation used after an expression in a condition."""
    current = value
    for step in path:
        if isinstance(step, int):
            if isinstance(current, list) and 0 <= step < len(current):
                current = current[step]
                continue
            raise Unresolved(expression, f"no element [{step}]")
        if isinstance(current, Mapping) and step in current:
            current = current[step]
            continue
        raise Unresolved(expression, f"no member {step!r}")
    return current
