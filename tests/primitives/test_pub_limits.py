"""Issue 15: values no float holds, absurd shot counts and circuits that are neither OpenQASM nor
QPY are refused with ``InvalidInputError`` before sending — never an ``OverflowError``."""

from __future__ import annotations

import base64
import io
import zlib
from typing import Any

import numpy as np
import pytest
from qiskit import QuantumCircuit, qpy

import qruntime_session as qrs
from qruntime_session import errors
from qruntime_session._checks import MAX_SHOTS
from qruntime_session.emulator import run_emulator
from qruntime_session.primitives import estimator_params, sampler_params

HUGE = 10**400
ENORMOUS = 10**5000  # past the digits str() converts by default
BELL = 'OPENQASM 3.0;\ninclude "stdgates.inc";\nbit[2] c;\nqubit[2] q;\nh q[0];\ncx q[0], q[1];\n'
SWEEP = (
    'OPENQASM 3.0;\ninclude "stdgates.inc";\ninput float[64] theta;\nbit[1] c;\nqubit[1] q;\n'
    "rx(theta) q[0];\nc[0] = measure q[0];\n"
)


def qpy_bytes() -> bytes:
    circuit = QuantumCircuit(1)
    circuit.h(0)
    buffer = io.BytesIO()
    qpy.dump(circuit, buffer)
    return buffer.getvalue()


REFUSED: list[tuple[str, Any]] = [
    ("parameter value 10**400", lambda: sampler_params([(SWEEP, [HUGE])])),
    ("parameter value 10**5000", lambda: sampler_params([(SWEEP, [[ENORMOUS]])])),
    ("estimator parameter", lambda: estimator_params([(SWEEP, "Z", [HUGE])])),
    ("coefficient 10**400", lambda: estimator_params([(BELL, {"ZZ": HUGE})])),
    ("coefficient 10**5000", lambda: estimator_params([(BELL, {"ZZ": -ENORMOUS})])),
    ("precision 10**400", lambda: estimator_params([(BELL, "ZZ")], precision=HUGE)),
    ("pub precision 10**400", lambda: estimator_params([(BELL, "ZZ", None, HUGE)])),
    ("shots 10**400", lambda: sampler_params([BELL], shots=HUGE)),
    ("pub shots 10**400", lambda: sampler_params([(BELL, None, HUGE)])),
    ("shots 10**5000", lambda: sampler_params([BELL], shots=ENORMOUS)),
    ("shots past MAX_SHOTS", lambda: sampler_params([BELL], shots=MAX_SHOTS + 1)),
    ("numpy shots past MAX_SHOTS", lambda: sampler_params([BELL], shots=np.int64(2**62))),
    ("circuit 'hello'", lambda: sampler_params(["hello"])),
    ("circuit 'hellohello=='", lambda: sampler_params(["aGVsbG8="])),  # base64 of "hello"
    ("estimator circuit 'hello'", lambda: estimator_params([("hello", "Z")])),
    (
        "base64 of zlib of not-QPY",
        lambda: sampler_params([base64.b64encode(zlib.compress(b"hello")).decode()]),
    ),
]


@pytest.mark.parametrize("call", [call for _, call in REFUSED], ids=[n for n, _ in REFUSED])
def test_refused_with_the_typed_error(call: Any) -> None:
    with pytest.raises(errors.InvalidInputError) as caught:
        call()
    assert not isinstance(caught.value, OverflowError)
    assert len(str(caught.value)) < 300  # a 5000-digit number is not spelled out


def test_the_limits_themselves_are_accepted() -> None:
    assert sampler_params([BELL], shots=MAX_SHOTS)["pubs"][0][2] == MAX_SHOTS
    envelope = sampler_params([(SWEEP, [1e308])])["pubs"][0][1]
    values = np.load(io.BytesIO(zlib.decompress(base64.b64decode(envelope["__value__"]))))
    assert values.tolist() == [1e308]
    assert estimator_params([(BELL, {"ZZ": 10**300})])["pubs"][0][1] == {"ZZ": 1e300}


@pytest.mark.parametrize("compress", [False, True], ids=["qpy", "zlib-qpy"])
def test_base64_qpy_strings_are_accepted(compress: bool) -> None:
    raw = qpy_bytes()
    text = base64.b64encode(zlib.compress(raw) if compress else raw).decode()
    assert sampler_params([text])["pubs"][0][0] == text


async def test_nothing_is_sent_for_a_refused_pub() -> None:
    async with run_emulator() as emu:
        async with (
            qrs.RuntimeClient(
                base_url=emu.base_url, access_token=emu.token, service_crn=emu.service_crn
            ) as client,
            client.session("ibm_fez", "batch") as session,
        ):
            for pubs, shots in (([BELL], HUGE), (["hello"], None), ([(SWEEP, [HUGE])], None)):
                with pytest.raises(errors.InvalidInputError):
                    await session.run_sampler(pubs, shots=shots)
            with pytest.raises(errors.InvalidInputError):
                await session.run_estimator([(BELL, {"ZZ": HUGE})])
        assert emu.requests_for("create_job") == []
