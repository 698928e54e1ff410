"""What the emulator reads from OpenQASM 2/3 text without qiskit: its classical registers.

Only declarations are read (``bit[n] name;``, ``bit name;``, ``output bit[n] name;``,
``creg name[n];``), in the order they appear, after comments are removed. This is enough to
name and size the ``data`` fields of a sampler result, as the service does from the circuit.

:func:`check_includes` keeps circuits away from the host's files: an ``include`` may name only
the standard library (``qelib1.inc``, ``stdgates.inc``, which the parsers hold built in);
any other ends the job ``Failed`` before a parser sees the text, so nothing is opened.
"""

from __future__ import annotations

import re

__all__ = [
    "STANDARD_INCLUDES",
    "ForbiddenIncludeError",
    "check_includes",
    "classical_registers",
    "is_qasm",
    "qubit_count",
]

_LINE_COMMENT = re.compile(r"//[^\n]*")
_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
# A declaration starts a statement: text start, or after ";", "{" or "}".
_QASM3_BITS = re.compile(
    r"(?:^|(?<=[;{}]))\s*(?:output\s+)?bit\s*(?:\[\s*(\d+)\s*\])?\s+([A-Za-z_]\w*)(?=\s*[;=])"
)
_QASM2_CREG = re.compile(r"(?:^|(?<=[;{}]))\s*creg\s+([A-Za-z_]\w*)\s*\[\s*(\d+)\s*\](?=\s*;)")
_QASM3_QUBITS = re.compile(
    r"(?:^|(?<=[;{}]))\s*qubit\s*(?:\[\s*(\d+)\s*\])?\s+[A-Za-z_]\w*(?=\s*;)"
)
_QASM2_QREG = re.compile(r"(?:^|(?<=[;{}]))\s*qreg\s+[A-Za-z_]\w*\s*\[\s*(\d+)\s*\](?=\s*;)")
_PHYSICAL = re.compile(r"\$(\d+)")
_HEADER = re.compile(r"^\s*OPENQASM\s+[23](?:\.\d+)?\s*;")

#: The only files an ``include`` may name: OpenQASM 2's and 3's standard gate libraries.
STANDARD_INCLUDES = frozenset({"qelib1.inc", "stdgates.inc"})
# Every occurrence of the word, comments and strings included: a checker that skipped
# comments could disagree with a parser about where one ends, so none is skipped.
_INCLUDE_WORD = re.compile(r"\binclude\b")
_INCLUDE_STATEMENT = re.compile(r'include\s*"([^"\n]{0,200})"\s*;')


class ForbiddenIncludeError(ValueError):
    """A circuit names a file other than a standard include (the job ends ``Failed``)."""


def _strip_comments(text: str) -> str:
    return _LINE_COMMENT.sub("", _BLOCK_COMMENT.sub(" ", text))


def is_qasm(text: str) -> bool:
    """Whether ``text`` starts (after comments) with an ``OPENQASM 2`` or ``3`` header."""
    return bool(_HEADER.match(_strip_comments(text)))


def classical_registers(text: str) -> list[tuple[str, int]]:
    """``(name, width)`` of every classical register, in declaration order."""
    code = _strip_comments(text)
    found: list[tuple[int, str, int]] = []
    for match in _QASM3_BITS.finditer(code):
        size, name = match.groups()
        found.append((match.start(), name, int(size) if size else 1))
    for match in _QASM2_CREG.finditer(code):
        name, size = match.groups()
        found.append((match.start(), name, int(size)))
    found.sort()
    return [(name, width) for _, name, width in found]


def qubit_count(text: str) -> int:
    """Qubits the text declares (or, for physical ``$n`` qubits, the highest index + 1)."""
    code = _strip_comments(text)
    declared = sum(int(size) if size else 1 for size in _QASM3_QUBITS.findall(code))
    declared += sum(int(size) for size in _QASM2_QREG.findall(code))
    physical = [int(index) for index in _PHYSICAL.findall(code)]
    return max([declared, *(index + 1 for index in physical)])


def check_includes(text: str) -> None:
    """Refuse ``text`` unless every ``include`` in it is ``include "qelib1.inc";`` or
    ``include "stdgates.inc";`` (``ForbiddenIncludeError``). Reads no file: run it before
    any parser, which would open the file named (and follow include loops)."""
    for word in _INCLUDE_WORD.finditer(text):
        statement = _INCLUDE_STATEMENT.match(text, word.start())
        name = statement.group(1) if statement else None
        if name not in STANDARD_INCLUDES:
            shown = repr(name[:60]) if name is not None else "a malformed include"
            raise ForbiddenIncludeError(
                f"include of {shown} refused: the emulator reads no file; only "
                f"{' and '.join(sorted(STANDARD_INCLUDES))} may be included"
            )
