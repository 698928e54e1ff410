"""The params qiskit-ibm-runtime's SamplerV2 sends for an ISA Bell pair (P7's body).

    python -m benchmarks.peers.official_params > benchmarks/data/official_sampler_params.json

Built as ``SamplerV2.run`` builds them in qiskit-ibm-runtime 0.51.0: the pub coerced with
``SamplerPub.coerce`` (no shots given), the options' program inputs
(``SamplerOptions._get_program_inputs``: ``options``, ``version``, ``support_qiskit``), the
whole encoded with the client's ``RuntimeEncoder`` (the circuit as zlib-compressed QPY,
version 17). Needs the ``sim`` extra and qiskit-ibm-runtime; ``tests/test_benchmarks_smoke.py``
checks the stored file still matches what the installed client sends.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import asdict
from typing import Any


def bell_isa() -> Any:
    """A Bell pair in ibm_fez's basis (cz id rz sx x), measured: an ISA circuit."""
    from qiskit import QuantumCircuit

    circuit = QuantumCircuit(2, name="bell")  # a fixed name: the default counts circuits
    for qubit, gates in ((0, "h"), (1, "h")):
        del gates
        circuit.rz(math.pi / 2, qubit)
        circuit.sx(qubit)
        circuit.rz(math.pi / 2, qubit)
    circuit.cz(0, 1)
    circuit.rz(math.pi / 2, 1)
    circuit.sx(1)
    circuit.rz(math.pi / 2, 1)
    circuit.measure_all()
    return circuit


def official_params() -> dict[str, Any]:
    """The JSON params the official SamplerV2 posts for ``bell_isa()`` (decoded back)."""
    from qiskit.primitives.containers.sampler_pub import SamplerPub
    from qiskit_ibm_runtime import RuntimeEncoder
    from qiskit_ibm_runtime.options import SamplerOptions

    options = SamplerOptions()
    pub = SamplerPub.coerce(bell_isa(), None)  # run([circuit]) with no shots
    inputs: dict[str, Any] = {"pubs": [pub]}
    inputs.update(SamplerOptions._get_program_inputs(asdict(options)))
    return dict(json.loads(json.dumps(inputs, cls=RuntimeEncoder)))


if __name__ == "__main__":
    sys.stdout.write(json.dumps(official_params(), indent=1, sort_keys=True) + "\n")
