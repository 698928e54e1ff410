"""Isolation for the pure unit tests: no ambient configuration, no global testing mode."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from qruntime_session import _retry

_OWN_PREFIXES = ("QRUNTIME_", "QISKIT_")
_ALSO_CLEARED = ("XDG_CONFIG_HOME",)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Remove our environment variables and point HOME at an empty temporary directory."""
    for name in list(os.environ):
        if name.startswith(_OWN_PREFIXES) or name in _ALSO_CLEARED:
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    return home


@pytest.fixture(autouse=True)
def _testing_mode_off() -> Iterator[None]:
    """Run each unit test with the retry testing mode off, and restore whatever was set."""
    previous = (_retry.is_testing(), _retry._TESTING.attempts)
    _retry.set_testing(False)
    try:
        yield
    finally:
        _retry.set_testing(previous[0], attempts=previous[1])


@pytest.fixture
def home(_clean_environment: Path) -> Path:
    """The temporary home directory of the test."""
    return _clean_environment
