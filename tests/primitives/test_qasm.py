"""OpenQASM read by a tokenizer: parameters, qubits, comments and strings, one-line programs."""

from __future__ import annotations

import pytest

from qruntime_session import errors
from qruntime_session.primitives import estimator_params, sampler_params
from qruntime_session.primitives._qasm import QasmError, read_qasm

ONE_LINE = (
    'OPENQASM 3.0; include "stdgates.inc"; input float[64] theta; qubit[2] q; bit[2] c; '
    "rx(theta) q[0]; cx q[0], q[1]; c = measure q;"
)


@pytest.mark.parametrize(
    ("program", "parameters", "qubits"),
    [
        (ONE_LINE, 1, 2),
        ("OPENQASM 3.0; input angle a; input angle[32] b; input float c; qubit q;", 3, 1),
        ("OPENQASM 3.0;\n  input   float[32]\n theta ;\nqubit[3] q;", 1, 3),
        ('OPENQASM 2.0; include "qelib1.inc"; qreg q[4]; qreg r[1]; creg c[4];', 0, 5),
        ("OPENQASM 3.0; qubit a; qubit[2] b; qreg c[3];", 0, 6),
        # comments and strings hide what looks like declarations
        ("OPENQASM 3.0; // input float x; qubit[9] q;\nqubit[2] q;", 0, 2),
        ("OPENQASM 3.0; /* input float x;\n qubit[9] w; */ input float y; qubit[2] q;", 1, 2),
        ('OPENQASM 3.0; include "input float z; qubit[7] r;"; qubit q;', 0, 1),
        # declarations inside a gate body or a block do not count
        ("OPENQASM 3.0; gate g(p) a { rz(p) a; } qubit[2] q; input float t;", 1, 2),
        # the same parameter twice counts once; an int input is not a circuit parameter
        ("OPENQASM 3.0; input float t; input float t; input int n; qubit q;", 1, 1),
    ],
)
def test_reads_parameters_and_qubits(program: str, parameters: int, qubits: int) -> None:
    facts = read_qasm(program)
    assert (facts.num_parameters, facts.num_qubits) == (parameters, qubits)


def test_physical_qubits_give_a_lower_bound() -> None:
    facts = read_qasm("OPENQASM 3.0; bit[2] c; rz(0.1) $3; cz $3, $7; c[0] = measure $7;")
    assert (facts.num_qubits, facts.min_qubits) == (None, 8)
    with pytest.raises(errors.InvalidInputError, match=r"\$7"):
        estimator_params([("OPENQASM 3.0; cz $3, $7;", "ZZ")])
    estimator_params([("OPENQASM 3.0; cz $3, $7;", "Z" * 8)])


def test_unterminated_comment_or_string_is_refused() -> None:
    with pytest.raises(QasmError):
        read_qasm("OPENQASM 3.0; /* never closed qubit q;")
    with pytest.raises(errors.InvalidInputError, match="unterminated"):
        sampler_params(['OPENQASM 3.0; include "stdgates.inc; qubit q;'])


def test_one_line_program_sweeps_and_width_checks() -> None:
    """The README's one-line form: its parameter is seen and Pauli lengths are checked."""
    params = sampler_params([(ONE_LINE, [[0.1], [0.2]])])
    assert params["pubs"][0][2] == 4096
    with pytest.raises(errors.InvalidInputError, match="1 parameter"):
        sampler_params([(ONE_LINE, [[0.1, 0.2]])])
    with pytest.raises(errors.InvalidInputError, match="expected 2"):
        estimator_params([(ONE_LINE, "ZZZ", [0.1])])
    estimator_params([(ONE_LINE, "ZZ", [0.1])])
