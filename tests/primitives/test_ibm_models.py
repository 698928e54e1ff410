"""Every params body the SDK builds validates against IBM's own Pydantic models
(``ibm-quantum-schemas``: ``sampler``/``estimator`` ``version_0_1`` ``ParamsModel``)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ibm_quantum_schemas.estimator.version_0_1.params import ParamsModel as EstimatorParams
from ibm_quantum_schemas.sampler.version_0_1.params import ParamsModel as SamplerParams
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.quantum_info import SparsePauliOp

from qruntime_session.primitives import estimator_params, sampler_params

FIXED = """OPENQASM 3.0; include "stdgates.inc"; bit[2] meas; qubit[2] q; h q[0];
cx q[0], q[1]; meas[0] = measure q[0]; meas[1] = measure q[1];"""
ONE_LINE = (
    'OPENQASM 3.0; include "stdgates.inc"; input float[64] theta; input angle phi; '
    "qubit[2] q; bit[2] c; rx(theta) q[0]; rz(phi) q[1]; c = measure q;"
)


def _qiskit_circuit() -> QuantumCircuit:
    a, b = Parameter("a"), Parameter("b")
    circuit = QuantumCircuit(2, 2)
    circuit.rx(a, 0)
    circuit.ry(b, 1)
    circuit.cx(0, 1)
    circuit.measure([0, 1], [0, 1])
    return circuit


QISKIT = _qiskit_circuit()
#: (circuit, number of parameters)
CIRCUITS = [(FIXED, 0), (ONE_LINE, 2), (QISKIT, 2)]
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

sweep_shapes = st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple)


@st.composite
def parameter_values(draw: st.DrawFn, count: int) -> tuple[Any, tuple[int, ...]]:
    if count == 0:
        return draw(st.sampled_from([None, [], np.zeros(0)])), ()
    shape = draw(sweep_shapes)
    values = np.asarray(
        draw(
            st.lists(
                st.floats(-10, 10, allow_nan=False),
                min_size=int(np.prod(shape)) * count,
                max_size=int(np.prod(shape)) * count,
            )
        )
    ).reshape((*shape, count))
    form = draw(st.sampled_from(["numpy", "lists"]))
    return (values if form == "numpy" else values.tolist()), shape


@st.composite
def sampler_pub(draw: st.DrawFn) -> Any:
    circuit, count = draw(st.sampled_from(CIRCUITS))
    values, _ = draw(parameter_values(count))
    shots = draw(st.one_of(st.none(), st.integers(1, 10_000)))
    form = draw(st.integers(0, 3))
    if count == 0 and form == 0:
        return circuit
    if count == 0 and form == 1:
        return (circuit,)
    if form == 2 and shots is None:
        return (circuit, values)
    return (circuit, values, shots)


def _observable(draw: st.DrawFn) -> Any:
    label = "".join(draw(st.lists(st.sampled_from("IXYZ"), min_size=2, max_size=2)))
    form = draw(st.integers(0, 2))
    if form == 0:
        return label
    if form == 1:
        return {label: draw(st.floats(-2, 2, allow_nan=False)), "ZZ": 1.0}
    return SparsePauliOp.from_list([(label, 0.5), ("XX", -0.25)])


@st.composite
def estimator_pub(draw: st.DrawFn) -> Any:
    circuit, count = draw(st.sampled_from(CIRCUITS))
    values, shape = draw(parameter_values(count))
    obs_shape = shape[-1:] if draw(st.booleans()) else ()  # the model: one or a flat list
    flat = [_observable(draw) for _ in range(int(np.prod(obs_shape)))]
    grid = np.empty(len(flat), dtype=object)
    grid[:] = flat if flat else grid[:]
    observables: Any = grid.reshape(obs_shape).tolist() if obs_shape else flat[0]
    precision = draw(st.one_of(st.none(), st.floats(0.001, 1)))
    if precision is None and values is None and draw(st.booleans()):
        return (circuit, observables)
    if precision is None and draw(st.booleans()):
        return (circuit, observables, values)
    return (circuit, observables, values, precision)


def _sent(params: dict[str, Any]) -> Any:
    return json.loads(json.dumps(params))  # as the transport serialises it


@SETTINGS
@given(
    pubs=st.lists(sampler_pub(), min_size=1, max_size=3),
    shots=st.one_of(st.none(), st.integers(1, 100_000)),
    options=st.one_of(
        st.none(),
        st.just({}),
        st.integers(1, 5000).map(lambda n: {"default_shots": n}),
    ),
    support_qiskit=st.booleans(),
)
def test_every_sampler_body_validates(
    pubs: list[Any], shots: int | None, options: dict[str, Any] | None, support_qiskit: bool
) -> None:
    params = sampler_params(pubs, shots=shots, options=options, support_qiskit=support_qiskit)
    model = SamplerParams.model_validate(_sent(params))
    assert len(model.pubs) == len(pubs)


@SETTINGS
@given(
    pubs=st.lists(estimator_pub(), min_size=1, max_size=3),
    precision=st.one_of(st.none(), st.floats(0.001, 1)),
    options=st.one_of(st.none(), st.just({"default_precision": 0.05})),
    support_qiskit=st.booleans(),
)
def test_every_estimator_body_validates(
    pubs: list[Any],
    precision: float | None,
    options: dict[str, Any] | None,
    support_qiskit: bool,
) -> None:
    params = estimator_params(
        pubs, precision=precision, options=options, support_qiskit=support_qiskit
    )
    model = EstimatorParams.model_validate(_sent(params))
    assert len(model.pubs) == len(pubs)


def test_the_short_forms_of_the_readme_validate() -> None:
    """The forms the README shows, one by one (a regression list beside the property test)."""
    for params in (
        sampler_params([FIXED], shots=100),
        sampler_params([(ONE_LINE, [0.1, 0.2])]),
        sampler_params([(QISKIT, [[0.1, 0.2], [0.3, 0.4]], 10)], support_qiskit=True),
    ):
        SamplerParams.model_validate(_sent(params))
    for params in (
        estimator_params([(FIXED, "ZZ")]),
        estimator_params([(FIXED, ["ZZ", "XX"])], precision=0.01),
        estimator_params([(ONE_LINE, ["ZI", "IZ"], [[0.1, 0.2]], 0.1)]),
    ):
        EstimatorParams.model_validate(_sent(params))
