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
uses. Samplex items (randomized programs built with samplomatic) need samplomatic installed
(the official client depends on it): one randomization is drawn per element of the item's
shape, the template circuit runs with the drawn parameters, and the samplex's other outputs
(e.g. ``measurement_flips.meas``) are returned beside the classical registers. A program the
emulator cannot run makes ``GET .../results`` answer 500 with the reason.
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
#: Wider circuits are simulated as matrix product states rather than state vectors.
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
    """The circuit on only the qubits that affect its measurements: the measured qubits and
    every qubit joined to them (transitively) by a multi-qubit operation. Operations on the
    other qubits cannot change what is measured, and barriers change nothing in simulation.
    """
    from qiskit import QuantumCircuit, QuantumRegister

    def indices(instruction: Any) -> list[int]:
        return [circuit.find_bit(qubit).index for qubit in instruction.qubits]

    parent = list(range(circuit.num_qubits))

    def root(qubit: int) -> int:
        while parent[qubit] != qubit:
            parent[qubit] = parent[parent[qubit]]
            qubit = parent[qubit]
        return qubit

    measured: set[int] = set()
    for instruction in circuit.data:
        touched = indices(instruction)
        if instruction.operation.name == "barrier":
            continue
        if instruction.clbits:
            measured.update(touched)
        for other in touched[1:]:
            parent[root(other)] = root(touched[0])
    roots = {root(qubit) for qubit in measured}
    used = [qubit for qubit in range(circuit.num_qubits) if root(qubit) in roots]
    index = {old: new for new, old in enumerate(used)}
    register = QuantumRegister(max(len(used), 1), "q")
    compact = QuantumCircuit(register, *circuit.cregs)
    for instruction in circuit.data:
        touched = indices(instruction)
        if instruction.operation.name == "barrier" or not all(q in index for q in touched):
            continue
        compact.append(
            instruction.operation, [register[index[q]] for q in touched], instruction.clbits
        )
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

    if item.get("item_type", "circuit") == "samplex":
        return _run_samplex_item(circuit, item, shots, seed)
    if item.get("item_type", "circuit") != "circuit":
        raise ExecutorInputError(f"unknown item_type {item.get('item_type')!r}")
    arguments = decode_tensor(item.get("circuit_arguments"))
    if arguments.ndim == 0 or arguments.shape[-1] != circuit.num_parameters:
        raise ExecutorInputError(
            f"circuit_arguments must end with the circuit's {circuit.num_parameters} parameters"
        )
    shape = _broadcast_shape(arguments.shape[:-1], item.get("shape", []))
    values = np.broadcast_to(arguments, (*shape, circuit.num_parameters)).astype(float)
    results: dict[str, Any] = {}
    if circuit.cregs:
        data = _sample(circuit, values, shots, seed)
        for register in circuit.cregs:
            bits = getattr(data, register.name)
            array = bits.to_bool_array(order="little").reshape((*shape, shots, register.size))
            results[register.name] = encode_bool_tensor(array)
    return {"results": results, "metadata": {}}, shape


def _samplex_argument(value: Any) -> Any:
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping) and "sparse_terms" in value:
        from qiskit.quantum_info import PauliLindbladMap

        terms = [(str(p), [int(q) for q in qs], float(r)) for p, qs, r in value["sparse_terms"]]
        return PauliLindbladMap.from_sparse_list(terms, int(value["num_qubits"]))
    return decode_tensor(value)


def _sample(template: Any, values: Any, shots: int, seed: int) -> Any:
    """Aer's sampler on the compacted circuit; a wide one as a matrix product state (exact,
    and cheap while the circuit entangles few qubits)."""
    from qiskit_aer.primitives import SamplerV2 as AerSampler

    compact = _compact(template)
    options = (
        {"backend_options": {"method": "matrix_product_state"}}
        if compact.num_qubits > _MAX_QUBITS
        else None
    )
    sampler = AerSampler(seed=seed, options=options)
    return sampler.run([(compact, values, shots)]).result()[0].data


def _run_samplex_item(
    template: Any, item: Mapping[str, Any], shots: int, seed: int
) -> tuple[dict[str, Any], tuple[int, ...]]:
    """A samplex item: one randomization drawn per element of the item's shape (with
    samplomatic, when installed), the template run with each drawn parameter set."""
    import numpy as np

    try:
        from samplomatic.serialization import samplex_from_json
    except ImportError as exc:
        raise ExecutorInputError("samplex items need samplomatic installed") from exc
    model = item.get("samplex")
    if not isinstance(model, Mapping) or not isinstance(model.get("samplex_json"), str):
        raise ExecutorInputError("a samplex item needs samplex.samplex_json")
    samplex = samplex_from_json(model["samplex_json"])
    samplex.finalize()
    raw = item.get("samplex_arguments")
    arguments = (
        {name: _samplex_argument(value) for name, value in (raw or {}).items()}
        if isinstance(raw, Mapping)
        else {}
    )
    # Each tensor argument may carry leading axes beyond its specified core shape; those
    # broadcast together (and with the item's shape) into the item's shape.
    core = {spec.name: spec.ndim for spec in samplex.inputs().specs if hasattr(spec, "ndim")}
    leading = [
        value.shape[: value.ndim - core[name]]
        for name, value in arguments.items()
        if isinstance(value, np.ndarray) and name in core and value.ndim >= core[name]
    ]
    shape = _broadcast_shape(
        tuple(np.broadcast_shapes(*leading)) if leading else (), item.get("shape", [])
    )
    for name, value in list(arguments.items()):
        if isinstance(value, np.ndarray) and name in core and value.ndim >= core[name]:
            tail = value.shape[value.ndim - core[name] :]
            arguments[name] = np.broadcast_to(value, (*shape, *tail))
    rng = np.random.default_rng(seed)
    drawn: dict[str, list[Any]] = {}
    for index in np.ndindex(*shape):
        bound = {
            name: value[index] if isinstance(value, np.ndarray) and name in core else value
            for name, value in arguments.items()
        }
        output = samplex.sample(samplex.inputs().bind(**bound), num_randomizations=1, rng=rng)
        for name, array in output.items():
            drawn.setdefault(name, []).append(np.asarray(array)[0])
    stacked = {
        name: np.stack(arrays).reshape((*shape, *arrays[0].shape)) for name, arrays in drawn.items()
    }
    parameters = stacked.pop("parameter_values", np.zeros((*shape, 0)))
    results: dict[str, Any] = {}
    if template.cregs:
        data = _sample(template, parameters.astype(float), shots, seed)
        for register in template.cregs:
            bits = getattr(data, register.name)
            array = bits.to_bool_array(order="little").reshape((*shape, shots, register.size))
            results[register.name] = encode_bool_tensor(array)
    for name, array in stacked.items():
        results[name] = encode_bool_tensor(array) if array.dtype == bool else encode_tensor(array)
    return {"results": results, "metadata": {}}, shape


def encode_tensor(array: Any) -> dict[str, Any]:
    """A numeric NumPy array as a tensor model (little-endian bytes, zlib, base64)."""
    names = {value: key for key, value in _DTYPES.items()}
    kind = f"<{array.dtype.kind}{array.dtype.itemsize}"
    if kind not in names:
        raise ExecutorInputError(f"cannot encode an array of dtype {array.dtype}")
    raw = array.astype(kind).tobytes()
    return {
        "data": base64.b64encode(zlib.compress(raw)).decode("ascii"),
        "shape": list(array.shape),
        "dtype": names[kind],
    }


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
