"""A qiskit ``Target`` from a backend's configuration and properties (the ``qiskit`` extra).

The target names the backend's instructions (basis gates on the qubits or pairs the
configuration lists them for, ``measure``, ``reset``, ``delay`` and the control flow the
backend supports) with each one's error and duration from the properties, plus each qubit's
T1, T2 and frequency. ``generate_preset_pass_manager(optimization_level=1, target=target)``
then turns a circuit into one the service accepts (an ISA circuit: without it a job fails
with error 1517).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from . import errors

__all__ = ["build_target", "require_qiskit"]

_UNITS = {"": 1.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9, "dt": 1.0}
_FREQUENCY = {"hz": 1.0, "khz": 1e3, "mhz": 1e6, "ghz": 1e9}
_CONTROL_FLOW = ("if_else", "while_loop", "for_loop", "switch_case")
_ALL_QUBITS = ("measure", "reset", "delay")


def require_qiskit() -> None:
    try:
        import qiskit  # noqa: F401
    except ImportError as exc:
        raise errors.ExtraNotInstalledError(
            "a backend target needs qiskit",
            extra="qiskit",
        ) from exc


def _value(entry: Mapping[str, Any]) -> float | None:
    """An ``{"name", "value", "unit"}`` entry's value in SI units (seconds, hertz)."""
    value = entry.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    unit = str(entry.get("unit") or "").strip().lower()
    if unit in _FREQUENCY:
        return float(value) * _FREQUENCY[unit]
    return float(value) * _UNITS.get(unit, 1.0)


def _named(entries: object) -> dict[str, float]:
    out: dict[str, float] = {}
    if isinstance(entries, list):
        for entry in entries:
            if isinstance(entry, Mapping) and isinstance(entry.get("name"), str):
                value = _value(entry)
                if value is not None:
                    out[entry["name"]] = value
    return out


def _gate_calibrations(properties: Mapping[str, Any]) -> dict[str, dict[tuple[int, ...], Any]]:
    """``{gate: {qubits: (error, duration)}}`` from the properties' ``gates`` list."""
    out: dict[str, dict[tuple[int, ...], Any]] = {}
    gates = properties.get("gates")
    for item in gates if isinstance(gates, list) else []:
        if not isinstance(item, Mapping) or not isinstance(item.get("gate"), str):
            continue
        qubits = item.get("qubits")
        if not isinstance(qubits, list) or not all(isinstance(q, int) for q in qubits):
            continue
        values = _named(item.get("parameters"))
        out.setdefault(item["gate"], {})[tuple(qubits)] = (
            values.get("gate_error"),
            values.get("gate_length"),
        )
    return out


def _sites(
    name: str, arity: int, config: Mapping[str, Any], num_qubits: int
) -> list[tuple[int, ...]]:
    """Where a gate acts: the configuration's per-gate coupling map, else every qubit (one-qubit
    gates) or every coupling-map pair (two-qubit gates)."""
    for gate in config.get("gates") or []:
        if isinstance(gate, Mapping) and gate.get("name") == name:
            listed = gate.get("coupling_map")
            if isinstance(listed, list) and listed:
                return [tuple(site) for site in listed if isinstance(site, list)]
    if arity == 1:
        return [(q,) for q in range(num_qubits)]
    pairs = config.get("coupling_map")
    if arity == 2 and isinstance(pairs, list):
        return [tuple(pair) for pair in pairs if isinstance(pair, list) and len(pair) == 2]
    return []


def build_target(config: Mapping[str, Any], properties: Mapping[str, Any] | None = None) -> Any:
    """A ``qiskit.transpiler.Target`` from a configuration document (``n_qubits``,
    ``basis_gates``, ``gates``, ``coupling_map``, ``supported_instructions``, ``dt``) and,
    when given, a properties document (per-gate ``gate_error``/``gate_length``, per-qubit
    ``T1``, ``T2``, ``frequency``, ``readout_error``, ``readout_length``)."""
    require_qiskit()
    from qiskit.circuit import IfElseOp, SwitchCaseOp, WhileLoopOp
    from qiskit.circuit.controlflow import ForLoopOp
    from qiskit.circuit.library import get_standard_gate_name_mapping
    from qiskit.transpiler import InstructionProperties, QubitProperties, Target

    num_qubits = config.get("n_qubits", config.get("num_qubits"))
    if isinstance(num_qubits, bool) or not isinstance(num_qubits, int) or num_qubits < 1:
        raise errors.InvalidInputError("the configuration names no qubit count (n_qubits)")
    props = properties or {}
    rows = props.get("qubits")
    qubit_rows: list[Any] = rows if isinstance(rows, list) else []
    per_qubit = [_named(row) for row in qubit_rows[:num_qubits]]
    per_qubit += [{}] * (num_qubits - len(per_qubit))
    dt = config.get("dt")
    target = Target(
        description=str(config.get("backend_name") or ""),
        num_qubits=num_qubits,
        dt=float(dt) if isinstance(dt, int | float) and not isinstance(dt, bool) else None,
        qubit_properties=[
            QubitProperties(t1=q.get("T1"), t2=q.get("T2"), frequency=q.get("frequency"))
            for q in per_qubit
        ],
    )
    standard = get_standard_gate_name_mapping()
    calibrations = _gate_calibrations(props)
    basis: Sequence[Any] = config.get("basis_gates") or []
    supported = {*basis, *(config.get("supported_instructions") or [])}
    for name in dict.fromkeys(n for n in basis if isinstance(n, str)):
        if name in _ALL_QUBITS or name not in standard:
            continue
        gate = standard[name]
        known = calibrations.get(name, {})
        sites = _sites(name, gate.num_qubits, config, num_qubits)
        target.add_instruction(
            gate,
            {
                site: InstructionProperties(
                    error=known.get(site, (None, None))[0],
                    duration=known.get(site, (None, None))[1],
                )
                for site in sites
                if all(0 <= q < num_qubits for q in site)
            },
        )
    for name in _ALL_QUBITS:
        if name == "reset" and name not in supported:
            continue
        measured = {
            (q,): InstructionProperties(
                error=per_qubit[q].get("readout_error") if name == "measure" else None,
                duration=per_qubit[q].get("readout_length") if name == "measure" else None,
            )
            for q in range(num_qubits)
        }
        target.add_instruction(standard[name], measured)
    flow = {"if_else": IfElseOp, "while_loop": WhileLoopOp, "for_loop": ForLoopOp}
    flow["switch_case"] = SwitchCaseOp
    for name in _CONTROL_FLOW:
        if name in supported:
            target.add_instruction(flow[name], name=name)
    return target
