"""Does a circuit match the device's target (ISA)? And what does a QPY file claim?

The service fails a primitive job whose circuits do not match the backend's target — a gate
outside the basis, a two-qubit gate on qubits the coupling map does not join, more qubits than
the device has — with reason code 1517 (see ``_limits.ISA_MESSAGE``). Three readers:

- :func:`check_circuit`: a loaded qiskit circuit (the ``sim`` extra), control-flow blocks
  included, qubit ``i`` of the circuit being device qubit ``i`` (as for an ISA circuit).
- :func:`check_qasm_text`: OpenQASM 2/3 text without qiskit. Gate calls, measurements,
  resets, barriers and delays on physical qubits (``$n``) or declared registers are checked;
  statements it cannot place (classical expressions, control flow) are skipped.
- :func:`qpy_header`: the counts a QPY file declares (qubits, clbits, instructions), read with
  ``struct`` before anything is allocated, so a file claiming 2**31 qubits is refused cheaply.
"""

from __future__ import annotations

import re
import struct
from typing import Any

from ._limits import JobRejected, Limits

__all__ = ["NON_GATES", "check_circuit", "check_qasm_text", "qpy_header"]

#: Instructions every device accepts besides its basis gates (its ``supported_instructions``).
NON_GATES = frozenset(
    {"measure", "reset", "barrier", "delay", "if_else", "for_loop", "switch_case", "while_loop",
     "box", "store"}
)  # fmt: skip
_QPY_MIN, _QPY_MAX = 13, 17


def _refuse_gate(name: str, qubits: tuple[int, ...]) -> JobRejected:
    return JobRejected.isa(
        f"The instruction {name} on qubits {qubits} is not supported by the target system."
    )


def _check_instruction(name: str, qubits: tuple[int, ...], limits: Limits) -> None:
    if name in NON_GATES:
        return
    if name not in limits.basis_gates:
        raise _refuse_gate(name, qubits)
    if len(qubits) == 2 and (min(qubits), max(qubits)) not in limits.coupling:
        raise _refuse_gate(name, qubits)
    if len(qubits) > 2:
        raise _refuse_gate(name, qubits)


def _check_width(num_qubits: int, limits: Limits) -> None:
    if limits.num_qubits is not None and num_qubits > limits.num_qubits:
        raise JobRejected.isa(
            f"The circuit has {num_qubits} qubits; the device has {limits.num_qubits}."
        )


def check_circuit(circuit: Any, limits: Limits) -> None:
    """``JobRejected`` (1517) unless every instruction of a qiskit circuit is in the target."""
    _check_width(circuit.num_qubits, limits)
    stack: list[tuple[Any, list[int]]] = [(circuit, list(range(circuit.num_qubits)))]
    while stack:
        current, outer = stack.pop()
        for instruction in current.data:
            qubits = tuple(outer[current.find_bit(q).index] for q in instruction.qubits)
            operation = instruction.operation
            _check_instruction(operation.name, qubits, limits)
            for block in getattr(operation, "blocks", ()) or ():
                stack.append((block, list(qubits)))


# ----------------------------------------------------------------------- OpenQASM text

_COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_REGISTER = re.compile(
    r"^(?:qubit\s*(?:\[\s*(\d+)\s*\])?\s+([A-Za-z_]\w*)|qreg\s+([A-Za-z_]\w*)\s*\[\s*(\d+)\s*\])$"
)
_CALL = re.compile(r"^([A-Za-z_]\w*)\s*(?:\([^;]*?\))?\s*(?:\[[^\]]*\])?\s*(.*)$", re.DOTALL)
_OPERAND = re.compile(r"^(?:\$(\d+)|([A-Za-z_]\w*)\s*(?:\[\s*(\d+)\s*\])?)$")
_SKIP = frozenset(
    {"OPENQASM", "include", "bit", "creg", "input", "output", "const", "int", "uint", "float",
     "angle", "bool", "duration", "stretch", "complex", "let", "defcalgrammar", "cal", "defcal",
     "extern", "return", "break", "continue", "end", "opaque", "pragma", "array", "gphase"}
)  # fmt: skip
_MEASURE_ASSIGN = re.compile(r"=\s*measure\s+(.+)$", re.DOTALL)


def _registers(statements: list[str]) -> dict[str, tuple[int, int]]:
    """Quantum register name -> (first device qubit, size), in declaration order."""
    found: dict[str, tuple[int, int]] = {}
    offset = 0
    for statement in statements:
        match = _REGISTER.match(statement)
        if match is None:
            continue
        size_a, name_a, name_b, size_b = match.groups()
        name = name_a or name_b
        size = int(size_a or size_b or 1)
        found[name] = (offset, size)
        offset += size
    return found


def _operands(text: str, registers: dict[str, tuple[int, int]]) -> list[list[int]] | None:
    """Each operand's device qubits (a whole register gives several); ``None``: unplaceable."""
    out: list[list[int]] = []
    for part in text.split(","):
        match = _OPERAND.match(part.strip())
        if match is None:
            return None
        physical, name, index = match.groups()
        if physical is not None:
            out.append([int(physical)])
            continue
        if name not in registers:
            return None
        start, size = registers[name]
        out.append([start + int(index)] if index is not None else list(range(start, start + size)))
    return out


def check_qasm_text(text: str, limits: Limits) -> None:
    """``JobRejected`` (1517) for what OpenQASM text shows to be outside the target."""
    code = _COMMENTS.sub(" ", text)
    if "{" in code:
        # Gate definitions and control flow: check only the statements outside braces.
        depth, kept = 0, []
        for char in code:
            if char == "{":
                depth += 1
                kept.append(";")
            elif char == "}":
                depth = max(depth - 1, 0)
                kept.append(";")
            elif depth == 0:
                kept.append(char)
        defined = set(re.findall(r"\bgate\s+([A-Za-z_]\w*)", code))
        code = "".join(kept)
    else:
        defined = set()
    statements = [part.strip() for part in code.split(";") if part.strip()]
    registers = _registers(statements)
    width = sum(size for _, size in registers.values())
    physical = [int(index) for index in re.findall(r"\$(\d+)", code)]
    _check_width(max([width, *(index + 1 for index in physical)]), limits)
    for statement in statements:
        head = statement.split(None, 1)[0].split("(", 1)[0].split("[", 1)[0]
        if head in _SKIP or _REGISTER.match(statement) or head in ("gate", "qubit", "qreg"):
            continue
        assigned = _MEASURE_ASSIGN.search(statement)
        if assigned is not None:
            name, rest = "measure", assigned.group(1)
        else:
            match = _CALL.match(statement)
            if match is None:
                continue
            name, rest = match.group(1), match.group(2)
            rest = rest.split("->", 1)[0]
        if name in ("if", "for", "while", "switch", "def", "box") or "=" in rest:
            continue
        operands = _operands(rest, registers) if rest.strip() else []
        if operands is None:
            continue
        if name in defined:
            raise _refuse_gate(name, tuple(q[0] for q in operands if q))
        if name in NON_GATES or not operands:
            _check_instruction(name, (), limits)
            continue
        count = max(len(qubits) for qubits in operands)
        for position in range(count):
            qubits = tuple(q[position] if len(q) > 1 else q[0] for q in operands)
            _check_instruction(name, qubits, limits)


# --------------------------------------------------------------------------------- QPY


def qpy_header(data: bytes) -> tuple[int, int, int, int]:
    """``(qpy_version, num_qubits, num_clbits, num_instructions)`` of a one-circuit QPY file."""
    if len(data) < 19 or not data.startswith(b"QISKIT"):
        raise ValueError("not a QPY file")
    version = data[6]
    if not _QPY_MIN <= version <= _QPY_MAX:
        raise JobRejected(
            f"Invalid input: the qpy_version is {version} but the service reads versions "
            f"{_QPY_MIN} to {_QPY_MAX}."
        )
    (num_programs,) = struct.unpack_from("!Q", data, 10)
    if num_programs != 1:
        raise JobRejected(
            f"Invalid input: expected exactly one encoded quantum circuit, received {num_programs}."
        )
    position = 19 + 1  # file header V10, then the program's type key
    if version >= 16:
        (position,) = struct.unpack_from("!Q", data, position)
    try:
        fields = struct.unpack_from("!H1cHIIQIQI", data, position)
    except struct.error as exc:
        raise ValueError("truncated QPY circuit header") from exc
    num_qubits, num_clbits, num_instructions = fields[3], fields[4], fields[7]
    return version, num_qubits, num_clbits, num_instructions
