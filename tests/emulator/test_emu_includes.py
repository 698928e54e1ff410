"""Issue 15 item 4: a circuit cannot make the emulator read a file.

An OpenQASM ``include`` resolves only the standard libraries (``qelib1.inc``, ``stdgates.inc``,
built into the parsers); any other ends the job ``Failed`` before a parser sees the text, so no
file is opened (checked with spies on the parsers, and with an audit hook in a subprocess).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from qiskit import qasm2, qasm3

from qruntime_session.emulator import _qasm

from .emu_support import Client

pytest.importorskip("qiskit_aer")

SENTINEL = "sentinel-token-7d1f"


def qasm2_including(name: str) -> str:
    return (
        f'OPENQASM 2.0;\ninclude "{name}";\nqreg q[1];\ncreg c[1];\n'
        "rz(pi/2) q[0];\nsx q[0];\nrz(pi/2) q[0];\nmeasure q[0] -> c[0];\n"
    )


def qasm3_including(name: str) -> str:
    return (
        f'OPENQASM 3.0;\ninclude "{name}";\nbit[1] c;\nqubit[1] q;\n'
        "rz(pi/2) q[0];\nsx q[0];\nrz(pi/2) q[0];\nc[0] = measure q[0];\n"
    )


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.inc"
    path.write_text(f"{SENTINEL} q;\n")
    return path


@pytest.fixture
def parser_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every text handed to qiskit's OpenQASM parsers (the only code that opens includes)."""
    calls: list[str] = []
    for module in (qasm2, qasm3):
        real = module.loads

        def spy(text: str, *args: Any, _real: Any = real, **kwargs: Any) -> Any:
            calls.append(text)
            return _real(text, *args, **kwargs)

        monkeypatch.setattr(module, "loads", spy)
    return calls


async def final_job(api: Client, job_id: str) -> dict[str, Any]:
    async with asyncio.timeout(30):
        while True:
            job = await api.job(job_id)
            if job["status"] in ("Completed", "Failed", "Cancelled"):
                return job
            await asyncio.sleep(0.02)


@pytest.mark.parametrize("dialect", ["qasm2", "qasm3"])
@pytest.mark.parametrize("target", ["secret", "/etc/passwd", "relative"])
async def test_an_include_of_any_other_file_fails_the_job_unread(
    api: Client, secret_file: Path, parser_calls: list[str], dialect: str, target: str
) -> None:
    name = {"secret": str(secret_file), "/etc/passwd": "/etc/passwd", "relative": "x.inc"}[target]
    text = (qasm2_including if dialect == "qasm2" else qasm3_including)(name)
    created = await api.create_job(params={"pubs": [[text, None, 10]], "version": 2})
    job = await final_job(api, created["id"])
    assert job["status"] == "Failed"
    reason = job["state"]["reason"]
    assert "refused" in reason
    assert SENTINEL not in reason
    assert "root:" not in reason
    assert text not in parser_calls  # no parser saw it, so nothing was opened


@pytest.mark.parametrize(
    "text",
    [
        qasm2_including("qelib1.inc"),
        qasm3_including("stdgates.inc"),
    ],
    ids=["qelib1.inc", "stdgates.inc"],
)
async def test_the_standard_includes_still_simulate(
    api: Client, parser_calls: list[str], text: str
) -> None:
    created = await api.create_job(params={"pubs": [[text, None, 20]], "version": 2})
    job = await final_job(api, created["id"])
    assert job["status"] == "Completed", job["state"]
    assert text in parser_calls


@pytest.mark.parametrize(
    "text",
    [
        'OPENQASM 2.0;\ninclude "qelib1.inc"; include "/etc/passwd";\nqreg q[1];',
        'OPENQASM 2.0;\ninclude\n"/etc/passwd"\n;\nqreg q[1];',
        'OPENQASM 2.0;\n// include "qelib1.inc";\n/* */ include "/etc/hosts";\nqreg q[1];',
        'OPENQASM 2.0;\ninclude "qelib1.inc"\n;include"../../etc/passwd";',
        'OPENQASM 3.0;\ninclude "stdgates.inc/../../etc/passwd";',
        "OPENQASM 3.0;\ninclude stdgates.inc;",
    ],
)
def test_check_includes_refuses_every_other_form(text: str) -> None:
    with pytest.raises(_qasm.ForbiddenIncludeError):
        _qasm.check_includes(text)


@pytest.mark.parametrize(
    "text",
    [
        'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];',
        'OPENQASM 3.0;\ninclude  "stdgates.inc" ;\ngate include_me q { h q; }',
        "OPENQASM 3.0;\nqubit q;",
    ],
)
def test_check_includes_accepts_the_standard_ones(text: str) -> None:
    _qasm.check_includes(text)


async def test_an_include_loop_cannot_exhaust_file_descriptors(
    api: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "loop.inc").write_text('include "loop.inc";\n')
    monkeypatch.chdir(tmp_path)
    before = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0
    created = await api.create_job(
        params={"pubs": [[qasm2_including("loop.inc"), None, 10]], "version": 2}
    )
    job = await final_job(api, created["id"])
    assert job["status"] == "Failed"
    assert "refused" in job["state"]["reason"]
    if before:
        assert len(os.listdir("/proc/self/fd")) <= before + 5


AUDIT_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    target = sys.argv[1]
    opened = []
    def hook(event, args):
        if event == "open" and args and str(args[0]).endswith(("secret.inc", "/etc/passwd")):
            opened.append(str(args[0]))
    sys.addaudithook(hook)

    import aiohttp
    from qruntime_session.emulator import run_emulator

    async def main():
        async with run_emulator() as emu, aiohttp.ClientSession() as http:
            headers = {"Authorization": "Bearer " + emu.token, "Service-CRN": emu.service_crn,
                       "IBM-API-Version": "2025-05-01"}
            states = []
            for text in (
                'OPENQASM 2.0;\\ninclude "%s";\\nqreg q[1];\\ncreg c[1];\\nmeasure q[0] -> c[0];\\n' % target,
                'OPENQASM 3.0;\\ninclude "%s";\\nbit[1] c;\\nqubit[1] q;\\nc[0] = measure q[0];\\n' % target,
                'OPENQASM 2.0;\\ninclude "/etc/passwd";\\nqreg q[1];\\n',
            ):
                body = {"program_id": "sampler", "backend": "ibm_fez",
                        "params": {"pubs": [[text, None, 10]], "version": 2}}
                async with http.post(emu.base_url + "/v1/jobs", json=body, headers=headers) as r:
                    job_id = (await r.json())["id"]
                for _ in range(1500):
                    async with http.get(emu.base_url + "/v1/jobs/" + job_id, headers=headers) as r:
                        status = (await r.json())["status"]
                    if status in ("Completed", "Failed", "Cancelled"):
                        break
                    await asyncio.sleep(0.02)
                states.append(status)
            print("STATES", states, "OPENED", opened)

    asyncio.run(main())
    """
)


def test_no_file_outside_the_standard_includes_is_opened(secret_file: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QRUNTIME_", "QISKIT_"))}
    proc = subprocess.run(
        [sys.executable, "-c", AUDIT_SCRIPT, str(secret_file)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert "STATES ['Failed', 'Failed', 'Failed'] OPENED []" in proc.stdout, (
        proc.stdout + proc.stderr
    )


def test_the_audit_hook_sees_a_file_the_emulator_would_open(secret_file: Path) -> None:
    """The audit check above can fail: the same hook does see a Python-level open."""
    script = AUDIT_SCRIPT.replace(
        "asyncio.run(main())", f"open({str(secret_file)!r}).close()\nprint('OPENED', opened)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(secret_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert str(secret_file) in proc.stdout, proc.stdout + proc.stderr
