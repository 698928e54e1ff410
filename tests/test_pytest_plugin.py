"""The pytest plugin (``pytest11`` entry point, ``pytest`` extra) and its fixtures."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import pytest

import qruntime_session as qrs
from qruntime_session.emulator import Emulator, ManualClock


def test_registered_as_a_pytest11_entry_point() -> None:
    (entry,) = [e for e in entry_points(group="pytest11") if e.name == "qruntime_session"]
    assert entry.value == "qruntime_session.pytest_plugin"


async def test_fixtures_give_an_emulator_and_a_client_pointed_at_it(
    runtime_emulator: Emulator, runtime_client: qrs.RuntimeClient, runtime_clock: ManualClock
) -> None:
    assert runtime_emulator.clock is runtime_clock
    assert runtime_client.config.base_url == runtime_emulator.base_url
    assert qrs.testing.is_testing()  # waiting is switched off while the test runs
    runtime_emulator.faults.add("create_session", status=503, headers={"Retry-After": "30"})
    async with qrs.Session("ibm_fez", "batch", client=runtime_client) as session:
        job = await session.submit_job("sampler", {"pubs": [], "version": 2})
        info = await job.wait()
    assert info.status is qrs.JobStatus.COMPLETED
    statuses = [r.status for r in runtime_emulator.requests_for("create_session")]
    assert statuses == [503, 200]


def test_testing_mode_is_off_again_after_the_fixture() -> None:
    assert not qrs.testing.is_testing()


def test_without_pytest_asyncio_the_plugin_defines_nothing() -> None:
    code = (
        "import sys; sys.modules['pytest_asyncio'] = None\n"
        "import importlib.util\n"
        "real = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda name, *a: None if name == 'pytest_asyncio' else real(name, *a)\n"
        "import qruntime_session.pytest_plugin as plugin\n"
        "print(plugin.ACTIVE, [n for n in dir(plugin) if n.startswith('runtime_')])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "False []"


@pytest.mark.parametrize("name", ["runtime_emulator", "runtime_client", "runtime_clock"])
def test_fixtures_are_documented(name: str, pytestconfig: pytest.Config) -> None:
    from qruntime_session import pytest_plugin

    assert pytest_plugin.ACTIVE
    assert name in pytest_plugin.__all__
    assert name in (pytest_plugin.__doc__ or "")
