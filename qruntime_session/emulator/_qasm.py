"""What the emulator reads from OpenQASM 2/3 text without qiskit: its classical registers.

Only declarations are read (``bit[n] name;``, ``bit name;``, ``output bit[n] name;``,
``creg name[n];``), in the order they appear, after comments are removed. This is enough to
name and size the ``data`` fields of a sampler result, as the service does from the circuit.
"""

from __future__ import annotations

import re

__all__ = ["classical_registers", "is_qasm", "qubit_count"]

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
