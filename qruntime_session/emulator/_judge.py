"""Judging a primitive job's params as the service does, when the job runs.

Two layers, both run in the worker thread (never on the event loop):

1. Hand-written rules, always: the job's JSON nests no deeper than ``max_nesting``; the params
   are an object with ``pubs`` (a list of at most ``max_pubs``); no field outside IBM's model
   (``pubs``, ``options``, ``version``, ``support_qiskit``; the estimator adds
   ``resilience_level``) except the short forms IBM's REST guides send (``shots`` for the
   sampler, ``precision`` for the estimator); ``version`` is 2; ``support_qiskit`` a boolean;
   ``options`` an object; each pub a list of 1 to 3 (sampler) or 2 to 4 (estimator) items whose
   circuit is text or a ``QuantumCircuit`` envelope, whose shots are integers > 0 and whose
   precision is a number > 0; ``resilience_level`` within 0..2.
2. With ``ibm-quantum-schemas`` installed (the ``sim`` extra), IBM's own Pydantic models
   (``sampler``/``estimator`` ``version_0_1.params.ParamsModel``) validate the params after the
   short forms are written in the canonical form (3-tuples and 4-tuples, shots moved into the
   pubs). Run only after the size limits passed (the models inflate circuits unbounded).

A refusal raises :class:`JobRejected`: the job ends ``Failed`` with reason code 1002 (IBM's
registry: "Error in the validation process of the job.") and the model's message.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import Any

from ._limits import JobRejected, Limits, nesting_depth

__all__ = ["SCHEMAS_AVAILABLE", "judge_params"]

SCHEMAS_AVAILABLE = importlib.util.find_spec("ibm_quantum_schemas") is not None

_FIELDS = {
    "sampler": frozenset({"pubs", "options", "version", "support_qiskit"}),
    "estimator": frozenset({"pubs", "options", "version", "support_qiskit", "resilience_level"}),
}
#: Fields IBM's REST guides send that the models do not list (job-wide defaults).
_SHORT_FORMS = {"sampler": frozenset({"shots"}), "estimator": frozenset({"precision"})}
_PUB_LENGTHS = {"sampler": (1, 3), "estimator": (2, 4)}
# A stand-in for parameter values the short forms leave out (the models only check the type).
_NO_VALUES = {"__type__": "ndarray", "__value__": ""}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _refuse(message: str) -> JobRejected:
    return JobRejected(f"Invalid input: {message}")


def _check_circuit(circuit: Any, where: str) -> None:
    if isinstance(circuit, str):
        return
    if (
        isinstance(circuit, Mapping)
        and circuit.get("__type__") == "QuantumCircuit"
        and isinstance(circuit.get("__value__"), str)
    ):
        return
    raise _refuse(f"{where}: the circuit must be OpenQASM text or a QuantumCircuit envelope.")


def _check_pub(program_id: str, index: int, pub: Any, params: Mapping[str, Any]) -> None:
    where = f"pubs.{index}"
    low, high = _PUB_LENGTHS[program_id]
    items = pub if isinstance(pub, list) else [pub]
    if not low <= len(items) <= high:
        raise _refuse(f"{where}: a {program_id} pub has {low} to {high} items, not {len(items)}.")
    _check_circuit(items[0], where)
    if program_id == "sampler":
        shots = items[2] if len(items) == 3 else None
        if shots is not None and not (_is_int(shots) and shots > 0):
            raise _refuse(f"{where}.2: shots must be an integer greater than 0.")
    else:
        precision = items[3] if len(items) == 4 else None
        if precision is not None and not (_is_number(precision) and precision > 0):
            raise _refuse(f"{where}.3: precision must be a number greater than 0.")


def _check_fields(program_id: str, params: Mapping[str, Any]) -> None:
    allowed = _FIELDS[program_id] | _SHORT_FORMS[program_id]
    extra = sorted(set(params) - allowed)
    if extra:
        raise _refuse(f"{extra[0]}: extra inputs are not permitted.")
    if "version" in params and (not _is_int(params["version"]) or params["version"] != 2):
        raise _refuse("version: input should be 2.")
    if "support_qiskit" in params and not isinstance(params["support_qiskit"], bool):
        raise _refuse("support_qiskit: input should be a valid boolean.")
    if "options" in params and not isinstance(params["options"], Mapping):
        raise _refuse("options: input should be a valid dictionary.")
    level = params.get("resilience_level")
    if "resilience_level" in params and not (_is_int(level) and level in (0, 1, 2)):
        raise _refuse("resilience_level: input should be an integer within 0..2.")
    shots = params.get("shots")
    if shots is not None and not (_is_int(shots) and shots > 0):
        raise _refuse("shots: input should be an integer greater than 0.")
    precision = params.get("precision")
    if precision is not None and not (_is_number(precision) and precision > 0):
        raise _refuse("precision: input should be a number greater than 0.")


def judge_params(program_id: str, params: Any, limits: Limits) -> None:
    """Refuse params IBM's models refuse (``JobRejected``); accept the REST guides' forms."""
    if program_id not in _FIELDS:
        return
    depth = nesting_depth(params, limits.max_nesting)
    if depth > limits.max_nesting:
        raise JobRejected(
            f"Invalid input: the params nest deeper than {limits.max_nesting} levels "
            "(EmulatorConfig.max_nesting)."
        )
    if not isinstance(params, Mapping):
        raise _refuse("params: field required.")
    pubs = params.get("pubs")
    if not isinstance(pubs, list):
        raise _refuse("pubs: field required (a list of pubs).")
    if len(pubs) > limits.max_pubs:
        raise JobRejected(
            f"Invalid input: the job has {len(pubs):,} pubs; the emulator runs at most "
            f"{limits.max_pubs:,} (EmulatorConfig.max_pubs)."
        )
    _check_fields(program_id, params)
    for index, pub in enumerate(pubs):
        _check_pub(program_id, index, pub, params)


def canonical(program_id: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The params with the REST guides' short forms written as IBM's models expect them."""
    from ._pubs import DEFAULT_SAMPLER_SHOTS

    body = {key: value for key, value in params.items() if key not in ("shots", "precision")}
    options = params.get("options")
    default_shots = options.get("default_shots") if isinstance(options, Mapping) else None
    pubs: list[Any] = []
    for pub in params.get("pubs", ()):
        items = list(pub) if isinstance(pub, list) else [pub]
        if program_id == "sampler":
            items += [None] * (3 - len(items))
            if items[2] is None:
                shots = params.get("shots") or default_shots or DEFAULT_SAMPLER_SHOTS
                items[2] = shots
        else:
            items += [None] * (4 - len(items))
            items[1] = _canonical_observables(items[1])
            if items[3] is None:
                items[3] = params.get("precision")
        at = 1 if program_id == "sampler" else 2
        values = items[at]
        if not (isinstance(values, Mapping) and values.get("__type__") == "ndarray"):
            # Short forms: none, nested lists, or {parameter: values}; read as the pub's values.
            items[at] = _NO_VALUES
        pubs.append(items)
    body["pubs"] = pubs
    return body


def _canonical_observables(value: Any) -> Any:
    """One observable, or a flat list of them (the REST guides nest lists to the pub's shape;
    the model knows one level)."""
    if isinstance(value, Mapping) and "__type__" in value:
        value = value.get("__value__")
    if isinstance(value, str):
        return {value: 1.0}
    if isinstance(value, list):
        flat: list[Any] = []
        stack: list[Any] = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(reversed(item))
            else:
                flat.append(_canonical_observables(item))
        return flat
    return value


def validate_with_models(program_id: str, params: Mapping[str, Any]) -> None:
    """IBM's own Pydantic models (``ibm-quantum-schemas``) on the canonical params."""
    if not SCHEMAS_AVAILABLE or program_id not in _FIELDS:
        return
    import importlib

    import pydantic

    module = importlib.import_module(f"ibm_quantum_schemas.{program_id}.version_0_1.params")
    model: Any = module.ParamsModel
    try:
        model.model_validate(canonical(program_id, params))
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        raise _refuse(f"{where}: {first.get('msg', 'invalid')}.") from exc
