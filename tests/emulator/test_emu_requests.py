"""The request log, serving (run_emulator, create_app, serve) and the public surface."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

import qruntime_session.emulator as emulator_package
from qruntime_session.emulator import (
    EMULATOR_KEY,
    Emulator,
    EmulatorConfig,
    ManualClock,
    create_app,
    serve,
)

from .emu_support import API_VERSION, Client

PACKAGE_DIR = Path(emulator_package.__file__).resolve().parent


async def test_request_log_records_everything(api: Client, emu: Emulator) -> None:
    """Each request is recorded with method, path, query, headers, parsed body and operation."""
    session = await api.create_session(mode="batch")
    await api.call("GET", "/v1/jobs", params=[("tags", "a"), ("tags", "b"), ("limit", "5")])
    await api.call("GET", "/v1/nowhere")
    first, second, third = emu.requests
    assert (first.method, first.path, first.operation, first.status) == (
        "POST",
        "/api/v1/sessions",
        "create_session",
        200,
    )
    assert first.body == {"mode": "batch", "backend": "ibm_fez"}
    assert first.headers["service-crn"] == emu.service_crn
    assert first.headers["IBM-API-Version"] == API_VERSION
    assert (second.operation, second.query.getall("tags"), second.query["limit"]) == (
        "list_jobs",
        ["a", "b"],
        "5",
    )
    assert second.body is None
    assert (third.operation, third.status) == ("unknown", 404)
    assert session["id"]


async def test_request_log_includes_faulted_and_refused_requests(
    api: Client, emu: Emulator
) -> None:
    """Faulted and refused requests are recorded with the status actually answered."""
    emu.faults.add("create_session", status=503)
    await api.call("POST", "/v1/sessions", json_body={"mode": "batch"})
    await api.call("GET", "/v1/jobs", headers={"Authorization": None})
    statuses = [(record.operation, record.status, record.fault) for record in emu.requests]
    assert statuses == [("create_session", 503, "status"), ("list_jobs", 401, None)]


async def test_request_log_clear_and_filter(api: Client, emu: Emulator) -> None:
    """clear_requests empties the log; requests_for filters by operation; the log is a copy."""
    await api.call("GET", "/v1/versions")
    await api.call("GET", "/v1/jobs")
    assert [record.operation for record in emu.requests_for("list_jobs")] == ["list_jobs"]
    snapshot = emu.requests
    emu.clear_requests()
    assert emu.requests == []
    assert len(snapshot) == 2


async def test_request_log_of_iam_form(api: Client, emu: Emulator) -> None:
    """The IAM call is recorded as iam_token with its form text; its repr hides the key."""
    async with api.http.post(
        f"{emu.iam_url}/identity/token",
        data={"grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": emu.api_key},
    ):
        pass
    (record,) = emu.requests
    assert record.operation == "iam_token"
    assert isinstance(record.body, str)
    assert "grant_type=" in record.body
    assert emu.api_key not in repr(record)
    assert emu.token not in repr(emu.requests)
    assert emu.token not in repr(emu)
    assert emu.api_key not in repr(emu.config)


async def test_run_emulator_urls(emu: Emulator) -> None:
    """base_url is <origin>/api on 127.0.0.1 and iam_url is the origin."""
    assert emu.base_url.startswith("http://127.0.0.1:")
    assert emu.base_url.endswith("/api")
    assert emu.iam_url == emu.base_url[: -len("/api")]


async def test_create_app_can_be_embedded(http: aiohttp.ClientSession, clock: ManualClock) -> None:
    """create_app gives an aiohttp app whose handle is app[EMULATOR_KEY]."""
    app = create_app(EmulatorConfig(clock=clock))
    handle = app[EMULATOR_KEY]
    async with TestServer(app, host="127.0.0.1") as server:
        handle.bind(str(server.make_url("")))
        client = Client(http, handle)
        created = await client.create_session()
    assert handle.session_ids == [created["id"]]
    unbound = Emulator()
    with pytest.raises(RuntimeError, match="not served"):
        _ = unbound.base_url


async def test_serve_prints_credentials_and_runs_until_cancelled(
    http: aiohttp.ClientSession,
) -> None:
    """serve() prints base URL, IAM URL, token, API key and CRN, answers, and stops on cancel."""
    lines: list[str] = []
    config = EmulatorConfig(token="tok-123", api_key="key-456")
    task = asyncio.create_task(serve("127.0.0.1", 0, config, out=lines.append))
    for _ in range(200):
        if len(lines) >= 7:
            break
        await asyncio.sleep(0.01)
    text = "\n".join(lines)
    assert "tok-123" in text
    assert "key-456" in text
    assert config.service_crn in text
    base = next(line.split(": ", 1)[1] for line in lines if "API base URL" in line)
    assert base.startswith("http://127.0.0.1:")
    async with http.get(f"{base}/v1/versions") as response:
        assert response.status == 200
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(aiohttp.ClientConnectionError):
        async with http.get(f"{base}/v1/versions"):
            pass


def _outside_emulator(name: str) -> bool:
    inside = name == "qruntime_session.emulator" or name.startswith("qruntime_session.emulator.")
    return (name == "qruntime_session" or name.startswith("qruntime_session.")) and not inside


def import_violations(source: str) -> list[str]:
    """Imports in ``source`` (a module of the emulator package) that leave the emulator."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if _outside_emulator(alias.name)]
        elif isinstance(node, ast.ImportFrom):
            if node.level >= 2:
                found.append("." * node.level + (node.module or ""))
            elif node.level == 0 and _outside_emulator(node.module or ""):
                found.append(node.module or "")
        elif isinstance(node, ast.Call):
            func = node.func
            called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if called in ("__import__", "import_module"):
                found += [
                    arg.value
                    for arg in node.args
                    if isinstance(arg, ast.Constant)
                    and isinstance(arg.value, str)
                    and _outside_emulator(arg.value)
                ]
    return found


def test_emulator_imports_nothing_else_from_the_package() -> None:
    """No module of the emulator imports qruntime_session outside qruntime_session.emulator."""
    files = sorted(PACKAGE_DIR.glob("*.py"))
    assert len(files) >= 8
    offenders = {path.name: import_violations(path.read_text(encoding="utf-8")) for path in files}
    assert {name: found for name, found in offenders.items() if found} == {}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from qruntime_session import errors", ["qruntime_session"]),
        ("import qruntime_session.errors", ["qruntime_session.errors"]),
        ("from qruntime_session._transport import Transport", ["qruntime_session._transport"]),
        ("from .. import _auth", [".."]),
        ("from ..errors import QRuntimeError", ["..errors"]),
        ("importlib.import_module('qruntime_session.errors')", ["qruntime_session.errors"]),
        ("from qruntime_session.emulator import run_emulator", []),
        ("from ._state import Store", []),
        ("import aiohttp", []),
    ],
)
def test_import_scan_flags_only_escaping_imports(source: str, expected: list[str]) -> None:
    """The import scan flags absolute/parent-relative imports of the rest of the package only."""
    assert import_violations(source) == expected


def test_public_names() -> None:
    """__all__ is sorted (constants, classes, functions), importable, and has the entry points."""
    names = emulator_package.__all__
    assert names == sorted(names, key=lambda n: (not n.isupper(), not n[:1].isupper(), n))
    assert len(set(names)) == len(names)
    for name in names:
        assert hasattr(emulator_package, name), name
    entry_points = {"run_emulator", "emulator_thread", "EmulatorConfig", "create_app", "serve"}
    assert {*entry_points, "JobOutcome"} <= set(names)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"queue_seconds": -1.0},
        {"run_seconds": -0.5},
        {"token_lifetime": 0},
        {"job_rate_limit": 0},
        {"job_rate_period": 0.0},
        {"closed_session_status": 200},
        {"interactive_ttl": 0},
    ],
)
def test_config_rejects_invalid_values(kwargs: dict[str, object]) -> None:
    """EmulatorConfig refuses negative durations, zero limits and non-error statuses."""
    with pytest.raises(ValueError, match=r"."):
        EmulatorConfig(**kwargs)  # type: ignore[arg-type]


def test_manual_clock_only_moves_forward() -> None:
    """ManualClock.advance/set move time forward and refuse to go back."""
    clock = ManualClock(100.0)
    assert clock.advance(5) == 105.0
    clock.set(200.0)
    assert clock.now() == 200.0
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="backwards"):
        clock.set(150.0)
