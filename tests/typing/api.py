"""Type-checked by mypy (``mypy --strict tests/typing``), never executed: the public API's types."""

from __future__ import annotations

from typing import Any, assert_type

import qruntime_session as qrs


async def uses_the_public_api(params: dict[str, Any]) -> None:
    async with qrs.RuntimeClient(access_token="t", service_crn="crn:v1:x") as client:
        backends = await client.backends()
        assert_type(backends, list[qrs.BackendInfo])
        assert_type(backends[0].pending_jobs, int | None)
        assert_type(backends[0].status, qrs.BackendStatus | None)
        config = await client.backend("ibm_fez")
        assert_type(config.n_qubits, int | None)
        assert_type(config.num_qubits, int | None)
        assert_type(backends[0].num_qubits, int | None)
        assert_type(config.coupling_map, tuple[tuple[int, int], ...])
        assert_type((await client.backend_status("ibm_fez")).operational, bool | None)
        assert_type(await client.least_busy(min_qubits=2), qrs.BackendInfo | None)
        async with client.session("ibm_fez", qrs.SessionMode.BATCH, on_exit="drain") as session:
            assert_type(session.id, str | None)
            job = await session.submit_job("sampler", params, tags=["a"])
            assert_type(job, qrs.Job)
            assert_type(await job.status(), qrs.JobStatus)
            assert_type(await job.wait(timeout=10), qrs.JobInfo)
            assert_type(await job.result(), Any)
            assert_type(await job.result_json(), Any)
            sampler_job = await session.run_sampler(["OPENQASM 3.0;"], shots=100)
            assert_type(sampler_job, qrs.primitives.SamplerJob)
            sampled = await sampler_job.result()
            assert_type(sampled, qrs.primitives.PrimitiveResult[qrs.primitives.SamplerPubResult])
            assert_type(len(sampled), int)
            first = sampled[0]
            assert_type(first, qrs.primitives.SamplerPubResult)
            either = first.join_data()
            assert_type(either, qrs.primitives.BitArray | qrs.primitives.NDArray)
            assert isinstance(either, qrs.primitives.BitArray)  # as in qiskit: registers join
            joined = either
            assert_type(joined.get_counts(), dict[str, int])
            assert_type(joined.get_counts(loc=(0,)), dict[str, int])
            assert_type(joined.get_int_counts(), dict[int, int])
            assert_type(joined.get_bitstrings(0), list[str])
            assert_type(joined.shape, tuple[int, ...])
            assert_type(first.data, qrs.primitives.DataBin)
            assert_type(first.metadata, dict[str, Any])
            for pub in sampled:
                assert_type(pub, qrs.primitives.SamplerPubResult)
            estimator_job = await session.run_estimator(
                [("OPENQASM 3.0;", ["ZZ", {"XX": 0.5}])], precision=0.01
            )
            estimated = await estimator_job.result()
            assert_type(estimated[0], qrs.primitives.PubResult)
            evs = estimated[0].data["evs"]
            assert_type(evs, Any)
            assert_type(estimated.to_qiskit(), Any)
            assert_type(await session.details(), qrs.SessionDetails)
            infos = await session.wait_all([job])
            assert_type(infos, list[qrs.JobInfo])
            async for info in qrs.as_completed([job], timeout=5.0):
                assert_type(info, qrs.JobInfo)
        assert_type(client.open_session_ids, tuple[str, ...])
        assert_type(await client.close_all_sessions(drain=True), tuple[str, ...])
    try:
        pass
    except qrs.APIStatusError as exc:
        assert_type(exc.status, int | None)
        assert_type(exc.codes, tuple[str, ...])
    except qrs.ResultDecodeError as exc:
        assert_type(exc.job_id, str | None)
    except qrs.ExtraNotInstalledError as exc:
        assert_type(exc.extra, str)


def reads_arrays(array: qrs.primitives.NDArray, bits: qrs.primitives.BitArray) -> None:
    assert_type(float(array), float)
    assert_type(bits.array, qrs.primitives.NDArray)
    assert_type(bits.num_bits, int)
    assert_type(bits.shape, tuple[int, ...])
    assert_type(bits.get_counts(), dict[str, int])
    assert_type(bits.get_int_counts((0,)), dict[int, int])
    assert_type(bits.slice_bits([0, 1]), qrs.primitives.BitArray)
    assert_type(bits.expectation_values("ZZ"), qrs.primitives.NDArray)
    limits = qrs.primitives.DecodeLimits(max_array_bytes=1 << 30)
    assert_type(qrs.primitives.set_decode_limits(limits), qrs.primitives.DecodeLimits)
