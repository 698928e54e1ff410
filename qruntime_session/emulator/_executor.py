"""Results of the ``executor`` program: a quantum program in, a ``QuantumProgramResult`` out.

Input (``params``, IBM's executor schema ``v2.0``): ``quantum_program`` with ``shots``,
``circuits`` (one zlib-compressed, base64 QPY blob holding one circuit per item), ``items``
(each ``{"item_type": "circuit", "circuit_arguments": <f64 tensor>, "shape": [...]}``),
``passthrough_data`` and ``semantic_role``. Tensors are ``{"data", "shape", "dtype"}``: the
little-endian array bytes (booleans bit-packed, little bit order), zlib-compressed, base64.

Output (schema ``v2.0``): per item ``{"results": {<creg>: <bool tensor of shape
item_shape + (shots, creg_size)>}, "metadata": {}}``, ``metadata.chunk_timing`` (one chunk
per item, spanning the job's run), and ``passthrough_data``/``semantic_role`` echoed.

Circuit items are simulated with qiskit-aer (the ``sim`` extra) on the qubits the circuit
uses. Samplex items (randomized programs built with samplomatic) are refused: the job ends
``Failed`` with the reason, as are circuits the emulator cannot simulate.
"""

from __future__ import annotations

import base64
import io
import math
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["PROGRAM_ID", "SCHEMA_VERSION", "ExecutorInputError", "executor_result"]

PROGRAM_ID = "executor"
SCHEMA_VERSION = "v2.0"
#: Qubits simulated at most (state vector) in one circuit item.
_MAX_QUBITS = 24

_DTYPES = {
    "f16": "<f2",
    "f32": "<f4",
    "f64": "<f8",
    "i8": "<i1",
    "i16": "<i2",
    "i32": "<i4",
    "i64": "<i8",
    "u8": "<u1",
    "u16": "<u2",
    "u32": "<u4",
    "u64": "<u8",
    "c64": "<c8",
    "c128": "<c16",
}


class ExecutorInputError(ValueError):
    """The quantum program cannot be run by the emulator (the reason is the message)."""


def decode_tensor(model: Any) -> Any:
    """A tensor model as a NumPy array."""
    import numpy as np

    if not isinstance(model, Mapping):
        raise ExecutorInputError("a tensor must be an object with data, shape and dtype")
    shape = tuple(int(n) for n in model.get("shape", ()))
    raw = zlib.decompress(base64.b64decode(str(model.get("data", ""))))
    dtype = model.get("dtype")
    if dtype == "bool":
        count = math.prod(shape)
        bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8), bitorder="little")[:count]
        return bits.astype(bool).reshape(shape)
    if dtype not in _DTYPES:
        raise ExecutorInputError(f"unsupported tensor dtype {dtype!r}")
    return np.frombuffer(raw, dtype=_DTYPES[dtype]).reshape(shape)


def encode_bool_tensor(array: Any) -> dict[str, Any]:
    """A boolean NumPy array as a tensor model (bit-packed, little bit order)."""
    import numpy as np

    packed = np.packbits(array.astype(np.uint8), bitorder="little").tobytes()
    return {
        "data": base64.b64encode(zlib.compress(packed)).decode("ascii"),
        "shape": list(array.shape),
        "dtype": "bool",
    }


def _circuits(model: Any) -> list[Any]:
    from qiskit import qpy

    if not isinstance(model, Mapping) or not isinstance(model.get("b64_data"), str):
        raise ExecutorInputError("quantum_program.circuits must hold QPY (b64_data)")
    raw = zlib.decompress(base64.b64decode(model["b64_data"]))
    return list(qpy.load(io.BytesIO(raw)))


def _compact(circuit: Any) -> Any:
    """The circuit on only the qubits its instructions touch (same registers of bits)."""
    from qiskit import QuantumCircuit, QuantumRegister

    used = sorted(
        {
            circuit.find_bit(qubit).index
            for instruction in circuit.data
            for qubit in instruction.qubits
        }
    )
    if len(used) > _MAX_QUBITS:
        raise ExecutorInputError(
            f"a circuit uses {len(used)} qubits; the emulator simulates at most {_MAX_QUBITS}"
        )
    index = {old: new for new, old in enumerate(used)}
    register = QuantumRegister(max(len(used), 1), "q")
    compact = QuantumCircuit(register, *circuit.cregs)
    for instruction in circuit.data:
        qubits = [register[index[circuit.find_bit(qubit).index]] for qubit in instruction.qubits]
        compact.append(instruction.operation, qubits, instruction.clbits)
    return compact


def _broadcast_shape(argument_shape: Sequence[int], item_shape: Sequence[int]) -> tuple[int, ...]:
    import numpy as np

    try:
        return tuple(np.broadcast_shapes(tuple(argument_shape), tuple(item_shape)))
    except ValueError as exc:
        raise ExecutorInputError(
            f"item shape {list(item_shape)} does not extend the arguments' {list(argument_shape)}"
        ) from exc


def _run_item(
    circuit: Any, item: Mapping[str, Any], shots: int, seed: int
) -> tuple[dict[str, Any], tuple[int, ...]]:
    import numpy as np
    from qiskit_aer.primitives import SamplerV2 as AerSampler

    if item.get("item_type", "circuit") != "circuit":
        raise ExecutorInputError(
            "samplex items (randomized programs) are not simulated by the emulator"
        )
    arguments = decode_tensor(item.get("circuit_arguments"))
    if arguments.ndim == 0 or arguments.shape[-1] != circuit.num_parameters:
        raise ExecutorInputError(
            f"circuit_arguments must end with the circuit's {circuit.num_parameters} parameters"
        )
    shape = _broadcast_shape(arguments.shape[:-1], item.get("shape", []))
    values = np.broadcast_to(arguments, (*shape, circuit.num_parameters)).astype(float)
    results: dict[str, Any] = {}
    if circuit.cregs:
        compact = _compact(circuit)
        data = AerSampler(seed=seed).run([(compact, values, shots)]).result()[0].data
        for register in circuit.cregs:
            bits = getattr(data, register.name)
            array = bits.to_bool_array(order="little").reshape((*shape, shots, register.size))
            results[register.name] = encode_bool_tensor(array)
    return {"results": results, "metadata": {}}, shape


def executor_result(
    params: Mapping[str, Any] | None, *, seed: int, started: str, finished: str
) -> dict[str, Any]:
    """The ``executor`` result body (``ExecutorInputError`` when it cannot be run)."""
    program = (params or {}).get("quantum_program")
    if not isinstance(program, Mapping):
        raise ExecutorInputError("params.quantum_program is required")
    shots = program.get("shots")
    items = program.get("items")
    if not isinstance(shots, int) or shots < 1 or not isinstance(items, list):
        raise ExecutorInputError("quantum_program needs shots >= 1 and a list of items")
    circuits = _circuits(program.get("circuits"))
    if len(circuits) != len(items):
        raise ExecutorInputError(
            f"{len(circuits)} circuits for {len(items)} items: there must be one per item"
        )
    data = []
    parts = []
    for index, (circuit, item) in enumerate(zip(circuits, items, strict=True)):
        if not isinstance(item, Mapping):
            raise ExecutorInputError(f"item {index} must be an object")
        out, shape = _run_item(circuit, item, shots, seed + index)
        data.append(out)
        size = math.prod(shape)
        parts.append(
            {
                "idx_item": index,
                "size": size,
                "permutation": list(range(len(shape))),
                "element_range": [0, size, 1],
            }
        )
    return {
        "schema_version": SCHEMA_VERSION,
        "data": data,
        "metadata": {"chunk_timing": [{"start": started, "stop": finished, "parts": parts}]},
        "passthrough_data": program.get("passthrough_data"),
        "semantic_role": program.get("semantic_role"),
    }
