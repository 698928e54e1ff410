"""P8 through qiskit-ibm-runtime: an iterative estimator loop in a session (run with an
interpreter that has qiskit-ibm-runtime: the peer's, or the project's when it is installed).

    python qiskit_loop.py '{"base_url": ..., "origin": ..., "iam_url": ..., "api_key": ...,
                            "service_crn": ..., "steps": 10, "rounds": 1,
                            "queue_seconds": 0.2, "run_seconds": 0.5}'

Each round opens a ``Session`` and runs ``steps`` estimator jobs one after the other
(``EstimatorV2(mode=session).run(...).result()``, a one-qubit ``rz(theta); sx`` circuit, the
angle moving each step, as a variational loop does). Prints one JSON object: the wall seconds
of each round's loop and, for every job, its pick-up latency -- the seconds between the
moment the emulator ends it (its ``created`` time plus the queue and run seconds) and the
moment ``result()`` returned. The service set-up, the backend read and one warm-up job are
not timed.
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings


def main() -> None:
    spec = json.loads(sys.argv[1])
    os.environ["IAM_URL"] = spec["iam_url"]
    os.environ["QISKIT_FUNCTIONS_EXPERIMENTAL"] = "1"
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    from qiskit import QuantumCircuit
    from qiskit.circuit import Parameter
    from qiskit.quantum_info import SparsePauliOp
    from qiskit_ibm_runtime import EstimatorV2, QiskitRuntimeService, Session

    api = spec["base_url"] + "/v1"
    service = QiskitRuntimeService(
        channel="ibm_quantum_platform",
        token=spec["api_key"],
        instance=spec["service_crn"],
        url=spec["origin"],
        url_resolver=lambda *_args: api,
    )
    backend = service.backend("ibm_fez")
    theta = Parameter("theta")
    circuit = QuantumCircuit(1)
    circuit.rz(theta, 0)
    circuit.sx(0)
    observable = SparsePauliOp("Z")
    ends_after = spec["queue_seconds"] + spec["run_seconds"]

    seen: list[tuple[object, float]] = []

    def step(estimator: EstimatorV2, angle: float) -> None:
        job = estimator.run([(circuit, observable, [angle])])
        job.result()
        seen.append((job, time.time()))

    with Session(backend=backend) as session:  # warm-up: connections, imports, token
        step(EstimatorV2(mode=session), 0.0)
    seen.clear()
    loops: list[float] = []
    for _ in range(spec["rounds"]):
        started = time.perf_counter()
        with Session(backend=backend) as session:
            estimator = EstimatorV2(mode=session)
            for number in range(spec["steps"]):
                step(estimator, 0.1 * number)
        loops.append(time.perf_counter() - started)
    latencies = []
    for job, when in seen:  # read after the timing: creation_date may cost a request
        created = job.creation_date  # type: ignore[attr-defined]
        latencies.append(when - (created.timestamp() + ends_after))
    sys.stdout.write(json.dumps({"loop_seconds": loops, "pickup_seconds": latencies}) + "\n")


if __name__ == "__main__":
    main()
