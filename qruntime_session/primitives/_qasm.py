"""What a pub needs to know about an OpenQASM program, read by a tokenizer.

Comments (``//``, ``/* */``) and strings are skipped as tokens, so a program on one line, a
declaration after a comment, or a ``;`` inside a string read as they should. Only top-level
statements (outside ``{ }`` blocks such as gate definitions) count:

- ``input float[64] theta;``, ``input angle theta;`` … declare a circuit parameter each;
- ``qubit q;``, ``qubit[5] q;``, ``qreg q[5];`` declare qubits (the circuit's width);
- ``$3`` names a physical qubit (a circuit already laid out on a backend): the width is
  then at least the highest index plus one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["QasmFacts", "read_qasm"]

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<line>//[^\n]*)
  | (?P<block>/\*.*?\*/)
  | (?P<string>"[^"\n]*"|'[^'\n]*')
  | (?P<physical>\$[0-9]+)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<number>[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_SKIP = frozenset({"space", "line", "block", "string"})
_PARAMETER_TYPES = frozenset({"float", "angle"})


class QasmError(ValueError):
    """The program cannot be tokenized (an unterminated comment or string)."""


@dataclass(frozen=True, slots=True)
class QasmFacts:
    """``num_parameters``; ``num_qubits`` (declared, or ``None``); ``min_qubits`` (a lower
    bound from physical qubits ``$n``, 0 if none)."""

    num_parameters: int
    num_qubits: int | None
    min_qubits: int


def _statements(text: str) -> tuple[list[list[str]], int]:
    """Top-level statements as lexeme lists, and the highest physical qubit index + 1."""
    statements: list[list[str]] = []
    current: list[str] = []
    depth = 0
    physical = 0
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        lexeme = match.group()
        if kind in _SKIP:
            continue
        if kind == "other" and lexeme in "/\"'" and _unterminated(text, match.start(), lexeme):
            raise QasmError("the OpenQASM program has an unterminated comment or string")
        if kind == "physical":
            physical = max(physical, int(lexeme[1:]) + 1)
        if lexeme == "{":
            depth += 1
            current = []
        elif lexeme == "}":
            depth = max(depth - 1, 0)
            current = []
        elif lexeme == ";":
            if depth == 0 and current:
                statements.append(current)
            current = []
        else:
            current.append(lexeme)
    return statements, physical


def _unterminated(text: str, at: int, lexeme: str) -> bool:
    if lexeme == "/":
        return text.startswith("/*", at)
    return True  # a quote the string pattern did not close


def _size(tokens: list[str], at: int) -> int | None:
    """The integer inside ``[n]`` starting at ``tokens[at]``, or ``None``."""
    if at + 2 < len(tokens) and tokens[at] == "[" and tokens[at + 2] == "]":
        text = tokens[at + 1].replace("_", "")
        if text.isdigit():
            return int(text)
    return None


def read_qasm(text: str) -> QasmFacts:
    """Parameters and qubits of an OpenQASM 2 or 3 program."""
    statements, physical = _statements(text)
    parameters: set[str] = set()
    qubits = 0
    known = True
    declared = False
    for tokens in statements:
        head = tokens[0]
        if head == "input" and len(tokens) >= 3 and tokens[1] in _PARAMETER_TYPES:
            parameters.add(tokens[-1])
        elif head == "qubit":
            declared = True
            size = 1 if len(tokens) == 2 else _size(tokens, 1)
            known = known and size is not None
            qubits += size or 0
        elif head == "qreg":
            declared = True
            size = 1 if len(tokens) == 2 else _size(tokens, 2)
            known = known and size is not None
            qubits += size or 0
    return QasmFacts(
        num_parameters=len(parameters),
        num_qubits=qubits if declared and known else None,
        min_qubits=physical,
    )
