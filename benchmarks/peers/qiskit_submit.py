"""P2 through qiskit-ibm-runtime's REST layer (run with the peer's own interpreter).

    python qiskit_submit.py '{"base_url": ..., "origin": ..., "api_key": ..., "service_crn": ...,
                              "jobs": 1000, "threads": [8, 32]}'

For each thread count: open a session with ``RuntimeClient.create_session``, submit the jobs
with ``RuntimeClient.program_run`` from a thread pool, close the session; print one JSON
object mapping the thread count to the seconds that took (imports and the IAM token exchange,
done once beforehand, are not timed).
"""

from __future__ import annotations

import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor


def main() -> None:
    spec = json.loads(sys.argv[1])
    os.environ["IAM_URL"] = spec["origin"]
    from qiskit_ibm_runtime.api.client import RuntimeClient
    from qiskit_ibm_runtime.api.client_parameters import ClientParameters

    params = ClientParameters(
        channel="ibm_quantum_platform",
        token=spec["api_key"],
        url=spec["base_url"],
        instance=spec["service_crn"],
        # The REST layer appends "/sessions", "/jobs"... to this base.
        url_resolver=lambda *_args: spec["base_url"] + "/v1",
    )
    client = RuntimeClient(params)
    body = {"pubs": [["OPENQASM 3.0;", None, 16]], "version": 2}
    # Warm up: token exchange and the connection pool.
    warm = client.create_session(backend="ibm_fez", mode="batch")
    client.program_run("sampler", "ibm_fez", body, None, None, warm["id"])
    client.cancel_session(warm["id"])
    results: dict[str, float] = {}
    for threads in spec["threads"]:
        started = time.perf_counter()
        session = client.create_session(backend="ibm_fez", mode="batch")

        def submit(_index: int, session_id: str = session["id"]) -> None:
            client.program_run("sampler", "ibm_fez", body, None, None, session_id)

        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(submit, range(spec["jobs"])))
        client.cancel_session(session["id"])
        results[str(threads)] = time.perf_counter() - started
    sys.stdout.write(json.dumps(results) + "\n")


if __name__ == "__main__":
    main()
