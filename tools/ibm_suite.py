"""Run IBM's integration suite (qiskit-ibm-runtime's ``test/integration/``) against the emulator.

    python tools/ibm_suite.py [--version 0.51.0] [--threshold-file .ci/ibm-suite-threshold]

What it does, in order:

1. downloads the sdist of the pinned qiskit-ibm-runtime version from the package index
   (``pip download --no-deps --no-binary :all:``) into a cache directory (``.ci/ibm-suite/``,
   git-ignored: IBM's code is never committed here) and extracts its ``test/`` tree and
   ``pyproject.toml`` (for the suite's pytest markers);
2. serves a fresh emulator on 127.0.0.1 (a free port) on its own event loop in a background
   thread (``qruntime_session.emulator.emulator_thread``), with a queue delay of 0;
3. runs the suite *unmodified* with pytest in a subprocess, pointed at the emulator by the
   environment only — ``QISKIT_IBM_URL=http://experimental@127.0.0.1:<port>/api/v1`` (the
   client leaves a URL containing "experimental" as it is), ``QISKIT_IBM_TOKEN`` (the
   emulator's API key), ``QISKIT_IBM_INSTANCE`` (its CRN), ``QISKIT_IBM_QPU``, ``IAM_URL``
   and ``QISKIT_FUNCTIONS_EXPERIMENTAL=1`` —, each test bounded by pytest-timeout and the
   whole run by ``--total-timeout``;
4. prints passed / failed / skipped per file and in total, and exits 1 when fewer tests pass
   than the threshold kept in the repository (a number that only ever rises).

The installed qiskit-ibm-runtime must be the pinned version: the suite tests that client.
"""

# A command-line tool: it prints, runs pip and pytest, and reads the JUnit report pytest wrote.
# ruff: noqa: T201, S603, S314

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

from qruntime_session.emulator import (
    DEFAULT_DEVICES,
    BackendSpec,
    Emulator,
    EmulatorConfig,
    emulator_thread,
)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VERSION = "0.51.0"
DEFAULT_CACHE = ROOT / ".ci" / "ibm-suite"
DEFAULT_THRESHOLD = ROOT / ".ci" / "ibm-suite-threshold"
#: The device the suite's ``QISKIT_IBM_QPU`` names.
DEFAULT_QPU = "ibm_fez"


def fetch_suite(version: str, cache: Path) -> Path:
    """The extracted sdist directory of qiskit-ibm-runtime ``version`` (downloaded once)."""
    cache.mkdir(parents=True, exist_ok=True)
    name = f"qiskit_ibm_runtime-{version}"
    target = cache / name
    if (target / "test" / "integration").is_dir():
        return target
    archive = cache / f"{name}.tar.gz"
    if not archive.exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--no-binary",
                ":all:",
                f"qiskit-ibm-runtime=={version}",
                "--dest",
                str(cache),
            ],
            check=True,
        )
    wanted = (f"{name}/test/", f"{name}/pyproject.toml")
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(wanted) or m.name in wanted]
        tar.extractall(cache, members=members, filter="data")
    return target


@contextlib.contextmanager
def served_emulator(run_seconds: float) -> Iterator[Emulator]:
    """A fresh emulator for the suite: no queue delay, jobs run ``run_seconds``."""
    # The suite's ``backend_test`` fixture looks for a device whose name starts "test_eagle".
    eagle = BackendSpec(
        name="test_eagle",
        num_qubits=127,
        processor_family="Eagle",
        processor_revision="3",
        two_qubit_gate="ecr",
    )
    # Its fractional-gate flag test looks for a device named "alt_fez" offering rx and rzz.
    # (Not "ibm_miami": the suite's cache test there expects the client to return the same
    # backend object twice, which qiskit-ibm-runtime 0.51.0 does not do; it skips without it.)
    fractional = BackendSpec(name="alt_fez", fractional_gates=True)
    config = EmulatorConfig(
        queue_seconds=0,
        run_seconds=run_seconds,
        devices=(*DEFAULT_DEVICES, eagle, fractional),
    )
    with emulator_thread(config) as emu:
        _job_history(emu)
        yield emu


def _job_history(emu: Emulator) -> None:
    """One finished job in the account, as any account that has used the service has: the
    suite's first job tests (``test_jobs_before_backend``) list the account's jobs before
    submitting any."""
    import json
    import urllib.request

    body = {
        "program_id": "sampler",
        "backend": DEFAULT_QPU,
        "params": {"pubs": [["OPENQASM 3.0; bit[1] c;", None, 10]], "version": 2},
    }
    request = urllib.request.Request(  # noqa: S310 - the local emulator's http URL
        f"{emu.base_url}/v1/jobs",
        data=json.dumps(body).encode(),
        headers={
            "Authorization": f"Bearer {emu.token}",
            "Service-CRN": emu.service_crn,
            "IBM-API-Version": "2026-04-15",
            "Content-Type": "application/json",
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        response.read()


def suite_environment(emu: Emulator, qpu: str) -> dict[str, str]:
    """The process environment that routes the suite's client to ``emu`` (nothing else)."""
    origin: str = emu.origin
    host = origin.removeprefix("http://")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("QISKIT_", "QRUNTIME_", "IAM_URL"))
    }
    env.update(
        QISKIT_IBM_URL=f"http://experimental@{host}/api/v1",
        QISKIT_IBM_TOKEN=emu.api_key,
        QISKIT_IBM_INSTANCE=emu.service_crn,
        QISKIT_IBM_QPU=qpu,
        IAM_URL=emu.iam_url,
        # The IBM Cloud account services' hosts are derived from the URL's host name without
        # its port (iam.127.0.0.1, resource-controller.127.0.0.1, ...): all plain-HTTP traffic
        # goes through the emulator as the proxy, which answers for those hosts itself
        # (qruntime_session/emulator/_account.py). Nothing leaves 127.0.0.1.
        HTTP_PROXY=origin,
        http_proxy=origin,
    )
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        env.pop(name, None)
    return env


Counts = dict[str, collections.Counter[str]]


def read_junit(path: Path) -> Counts:
    """passed / failed / skipped per test file, from pytest's JUnit XML report."""
    counts: Counts = collections.defaultdict(collections.Counter)
    for case in ET.parse(path).getroot().iter("testcase"):
        module = case.get("classname", "").split(".")
        # "test.integration.test_x.TestClass" -> "test_x.py"
        name = next((part for part in module if part.startswith("test_")), module[-1])
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed"
            elif child.tag == "skipped":
                outcome = "skipped"
        counts[f"{name}.py"][outcome] += 1
    return counts


def print_table(counts: Counts) -> collections.Counter[str]:
    total: collections.Counter[str] = collections.Counter()
    print(f"{'file':<36} {'passed':>6} {'failed':>6} {'skipped':>7}")
    for name in sorted(counts):
        row = counts[name]
        total.update(row)
        print(f"{name:<36} {row['passed']:>6} {row['failed']:>6} {row['skipped']:>7}")
    print(f"{'total':<36} {total['passed']:>6} {total['failed']:>6} {total['skipped']:>7}")
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", default=DEFAULT_VERSION, help="qiskit-ibm-runtime version")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="sdist cache directory")
    parser.add_argument("--threshold-file", type=Path, default=DEFAULT_THRESHOLD)
    parser.add_argument("--qpu", default=DEFAULT_QPU, help="the device QISKIT_IBM_QPU names")
    parser.add_argument(
        "--run-seconds",
        type=float,
        default=1.0,
        help="how long each job runs (the suite's timeout tests poll a job 0.5 s after it was "
        "submitted and need it still running)",
    )
    parser.add_argument("--test-timeout", type=float, default=240.0, help="seconds per test")
    parser.add_argument("--total-timeout", type=float, default=1800.0, help="seconds in all")
    parser.add_argument("-k", dest="keyword", help="only tests matching this pytest -k")
    parser.add_argument(
        "--select", nargs="+", help="run only these paths (e.g. test/integration/test_job.py)"
    )
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)

    from importlib.metadata import version as installed_version

    installed = installed_version("qiskit-ibm-runtime")
    if installed != args.version:
        print(f"installed qiskit-ibm-runtime is {installed}, the suite is {args.version}")
        return 2
    sdist = fetch_suite(args.version, args.cache)
    started = time.monotonic()
    with served_emulator(args.run_seconds) as emu, tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        command = [
            sys.executable,
            "-m",
            "pytest",
            *(args.select or ["test/integration"]),
            "-q",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:qruntime_session",
            f"--timeout={args.test_timeout:g}",
            f"--junitxml={report}",
            "-o",
            "junit_family=xunit2",
            "-W",
            "ignore::DeprecationWarning",
        ]
        if args.keyword:
            command += ["-k", args.keyword]
        command += args.pytest_args
        try:
            result = subprocess.run(
                command,
                cwd=sdist,
                env=suite_environment(emu, args.qpu),
                timeout=args.total_timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            print(f"IBM's suite did not finish within {args.total_timeout:g} s")
            return 1
        if not report.exists():
            print(f"pytest wrote no report (exit status {result.returncode})")
            return 1
        counts = read_junit(report)
    elapsed = time.monotonic() - started
    print(
        f"\nIBM's integration suite (qiskit-ibm-runtime {args.version}) against the emulator, "
        f"{elapsed:.0f} s:"
    )
    total = print_table(counts)
    threshold = (
        int(args.threshold_file.read_text().split()[0]) if args.threshold_file.exists() else 0
    )
    if args.keyword or args.pytest_args or args.select:
        return 0
    if total["passed"] < threshold:
        print(
            f"FAILED: {total['passed']} passed, below the threshold of {threshold} "
            f"({args.threshold_file.relative_to(ROOT)})"
        )
        return 1
    print(f"{total['passed']} passed (threshold {threshold})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
